"""A 410 Gone from a follower's inbox: the follower is gone; from a shared inbox, only the inbox."""

from __future__ import annotations

from sqlalchemy import select
from test_delivery_queue import deliveries, note_activity, org_actor

from federation.delivery import DeliveryWorker
from federation.models import Follower


async def publish(node, n):
    actor = await org_actor(node)
    async with node.db.transaction() as session:
        await node.federation.enqueue(
            session,
            note_activity(node, actor, n),
            actor=actor,
            followers_of=[actor],
        )


async def followers(node):
    async with node.db.read() as session:
        rows = (await session.execute(select(Follower).order_by(Follower.actor_uri))).scalars()
        return {row.actor_uri.rpartition("/")[2]: row.shared_inbox for row in rows}


async def test_a_gone_inbox_removes_its_follower_and_a_gone_shared_inbox_only_itself(
    start_node, sink_factory
):
    node = await start_node("alpha", workers=0)
    lone, crowd, alive = sink_factory(), sink_factory(), sink_factory()
    lone.status = crowd.status = 410
    for sink in (lone, crowd, alive):
        await sink.start()
    actor = await org_actor(node)
    async with node.db.transaction() as session:
        for name, sink, shared in (
            ("lone", lone, None),
            ("b", crowd, crowd.url("/inbox")),
            ("c", crowd, crowd.url("/inbox")),
            ("alive", alive, alive.url("/inbox")),
        ):
            session.add(
                Follower(
                    local_actor_id=actor.id,
                    actor_uri=sink.url(f"/users/{name}"),
                    inbox=sink.url(f"/users/{name}/inbox"),
                    shared_inbox=shared,
                    follow_activity_uri=sink.url(f"/follows/{name}"),
                    state="accepted",
                )
            )
    worker = DeliveryWorker(node.federation)

    await publish(node, 1)
    assert await worker.run_once() == 3
    # The lone actor's own inbox is gone: so is that follower. The shared inbox is gone, but
    # b and c may still be there: they stay, without it.
    assert await followers(node) == {"alive": alive.url("/inbox"), "b": None, "c": None}

    await publish(node, 2)
    assert await worker.run_once() == 3
    assert sorted(path for path, _ in crowd.received) == [
        "/inbox",
        "/users/b/inbox",
        "/users/c/inbox",
    ]
    assert await followers(node) == {"alive": alive.url("/inbox")}

    await publish(node, 3)
    assert await worker.run_once() == 1  # only the follower that is still there
    assert [path for path, _ in lone.received] == ["/users/lone/inbox"]
    assert len(alive.received) == 3
    assert {r.state for r in await deliveries(node) if r.host == f"127.0.0.1:{alive.port}"} == {
        "delivered"
    }
