"""Pruning keeps recent evidence and drops what is past its use."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from federation.db import utcnow
from federation.delivery import expand_fanouts
from federation.maintenance import prune
from federation.models import Delivery, ReceivedActivity


async def test_prune_drops_only_old_rows(start_node):
    node = await start_node("alpha", workers=0)
    now = utcnow()
    async with node.db.read() as session:
        actor = await node.federation.local_actor_by_username(session, "alpha")
    async with node.db.transaction() as session:
        for age in (1, 20):
            session.add(
                ReceivedActivity(
                    uri=f"http://127.0.0.1:1/a/{age}",
                    actor_uri="http://127.0.0.1:1/u",
                    activity_type="Create",
                    body={},
                    received_at=now - timedelta(days=age),
                )
            )
        await node.federation.enqueue(
            session,
            {"id": node.federation.new_id(), "type": "Create", "actor": actor.uri},
            actor=actor,
            inboxes=[f"http://127.0.0.1:1/{n}" for n in range(4)],
        )
    await expand_fanouts(node.db, node.federation.own_host)
    async with node.db.transaction() as session:
        rows = (await session.execute(select(Delivery).order_by(Delivery.id))).scalars().all()
        states = [("delivered", 2), ("delivered", 10), ("dead", 10), ("dead", 40)]
        for row, (state, age) in zip(rows, states, strict=True):
            row.state = state
            row.delivered_at = now - timedelta(days=age) if state == "delivered" else None
            row.last_attempt_at = now - timedelta(days=age)

    pruned = await prune(node.db, now=now)

    assert (pruned.received, pruned.delivered, pruned.dead) == (1, 1, 1)
    async with node.db.read() as session:
        kept = (await session.execute(select(ReceivedActivity.uri))).scalars().all()
        left = (await session.execute(select(Delivery.state, Delivery.inbox))).all()
    assert kept == ["http://127.0.0.1:1/a/1"]
    assert sorted(left) == [("dead", "http://127.0.0.1:1/2"), ("delivered", "http://127.0.0.1:1/0")]
