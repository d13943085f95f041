"""Short leases renewed by a heartbeat: a dead holder's rows go to another within one lease,
a live holder keeps its rows however long it takes. Clocks are fake; "dying" is claiming and
then doing nothing more (no work, no heartbeat, no release), as a killed process does."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import httpx
from remote_servers import SlowInbox
from sqlalchemy import select
from support import eventually

from federation.db import utcnow
from federation.delivery import DeliveryWorker
from federation.delivery_fanout import expand_fanouts
from federation.inbox_queue import InboxProcessor
from federation.models import Delivery, Follower, ReceivedActivity
from federation.signatures import sign_request


class Clock:
    def __init__(self, now=None) -> None:
        self.now = now or utcnow()

    def __call__(self):
        return self.now

    def advance(self, **kwargs) -> None:
        self.now += timedelta(**kwargs)


async def local(node, username):
    async with node.db.read() as session:
        return await node.federation.local_actor_by_username(session, username)


async def fan_out(node, inboxes):
    actor = await local(node, "alpha")
    activity = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": node.federation.new_id(),
        "type": "Create",
        "actor": actor.uri,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": {"id": node.federation.new_id("notes"), "type": "Note", "content": "x"},
    }
    async with node.db.transaction() as session:
        await node.federation.enqueue(session, activity, actor=actor, inboxes=inboxes)
    # Into one row per inbox now, so that a bare claim() finds them.
    await expand_fanouts(node.db, node.federation.own_host, now=utcnow(), limit=len(inboxes))


async def deliveries(node):
    async with node.db.read() as session:
        return (await session.execute(select(Delivery).order_by(Delivery.id))).scalars().all()


async def test_a_dead_workers_deliveries_go_to_another_after_one_lease(start_node, sink_factory):
    node = await start_node("alpha", workers=0)
    sink = sink_factory()
    await sink.start()
    await fan_out(node, [sink.url(f"/inbox/{n}") for n in range(5)])
    lease = timedelta(seconds=node.federation.config.lease_seconds)
    clock = Clock()
    dead = DeliveryWorker(node.federation, clock=clock, name="dead")
    assert len(await dead.claim()) == 5  # ...and it is killed before sending anything

    survivor = DeliveryWorker(node.federation, clock=clock, name="survivor")
    clock.advance(seconds=lease.total_seconds() - 1)
    assert await survivor.run_once() == 0  # not before the lease is over: it may be alive
    clock.advance(seconds=2)
    assert await survivor.run_once() == 5
    assert sorted(path for path, _ in sink.received) == [f"/inbox/{n}" for n in range(5)]
    assert {(r.state, r.lease_owner) for r in await deliveries(node)} == {("delivered", None)}


async def test_a_live_worker_keeps_its_deliveries_past_the_lease_while_sending(start_node):
    node = await start_node("alpha", workers=0)
    stalled = SlowInbox()  # holds its answer until released: a send far longer than a lease
    await stalled.start()
    try:
        await fan_out(node, [stalled.url("/inbox")])
        clock = Clock()
        # A lease of a fraction of a second: the heartbeat, every third of it, runs at once.
        live = DeliveryWorker(
            node.federation, clock=clock, name="live", lease=timedelta(seconds=0.6)
        )
        sending = asyncio.create_task(live.run_until_idle())
        await eventually(lambda: asyncio.sleep(0, stalled.held == 1))
        clock.advance(minutes=10)  # many leases later, on the worker's own clock

        async def renewed():
            (row,) = await deliveries(node)
            return row.lease_owner == "live" and row.lease_until > clock.now

        await eventually(renewed)
        other = DeliveryWorker(node.federation, clock=clock, name="other")
        assert await other.claim() == []
        stalled.release.set()
        assert await sending == 1
    finally:
        await stalled.stop()
    (row,) = await deliveries(node)
    assert (row.state, row.attempts, row.lease_owner) == ("delivered", 1, None)
    assert stalled.received == ["/inbox"]


async def test_a_worker_never_claims_again_a_row_it_still_holds(start_node, sink_factory):
    """Its heartbeat late (a loaded machine), a worker's own lease lapses while it sends: the
    row is another worker's to take, never its own a second time."""
    node = await start_node("alpha", workers=0)
    sink = sink_factory()
    await sink.start()
    await fan_out(node, [sink.url("/inbox/1")])
    clock = Clock()
    busy = DeliveryWorker(node.federation, clock=clock, name="busy")
    assert len(await busy.claim()) == 1
    clock.advance(seconds=node.federation.config.lease_seconds + 1)
    assert await busy.claim() == []
    other = DeliveryWorker(node.federation, clock=clock, name="other")
    assert len(await other.claim()) == 1


def note(sender, n):
    base = sender.uri.rsplit("/actors/", 1)[0]
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{base}/activities/{n}",
        "type": "Create",
        "actor": sender.uri,
        "object": {"id": f"{base}/notes/{n}", "type": "Note", "attributedTo": sender.uri},
    }


async def deliver(client, inbox, sender, activity):
    body = json.dumps(activity).encode()
    headers = sign_request(
        "POST", inbox, key_id=sender.key_id, private_key_pem=sender.private_key_pem, body=body
    )
    return await client.post(inbox, content=body, headers=headers)


async def received(node):
    async with node.db.read() as session:
        return (
            (await session.execute(select(ReceivedActivity).order_by(ReceivedActivity.received_at)))
            .scalars()
            .all()
        )


async def queued_for_tests(a, b, handler, count):
    """Store `count` activities in b's inbox, kept from its own background processor: the
    handler fails each one's first time, so that each waits for a retry only the test's
    processors (on clocks past it) reach. Returns the activities' ids and that time."""
    first_calls: set[str] = set()

    async def fails_first(ctx):
        if ctx.activity["id"] not in first_calls:
            first_calls.add(ctx.activity["id"])
            raise RuntimeError("fails once, so that the activity waits for its retry")
        await handler(ctx)

    b.federation.registry.add("Create", fails_first)
    sender = await local(a, "alpha")
    activities = [note(sender, n) for n in range(count)]
    async with httpx.AsyncClient() as client:
        for activity in activities:
            assert (await deliver(client, b.url("/inbox"), sender, activity)).status_code == 202

    async def all_failed_once():
        rows = await received(b)
        return rows if len(rows) == count and {r.attempts for r in rows} == {1} else None

    rows = await eventually(all_failed_once)
    return [act["id"] for act in activities], max(r.next_attempt_at for r in rows)


async def test_a_dead_processors_activities_go_to_another_after_one_lease(start_node):
    a = await start_node("alpha", workers=0)
    b = await start_node("beta", workers=0)
    handled: list[tuple[str, str]] = []

    async def record(ctx):
        handled.append((ctx.lease_owner, ctx.activity["id"]))

    ids, due = await queued_for_tests(a, b, record, 3)
    lease = timedelta(seconds=b.federation.config.lease_seconds)
    clock = Clock(due + timedelta(seconds=1))
    dead = InboxProcessor(b.federation, clock=clock, name="dead")
    assert len(await dead.claim()) == 3  # ...and it is killed before handling any

    survivor = InboxProcessor(b.federation, clock=clock, name="survivor")
    clock.advance(seconds=lease.total_seconds() - 1)
    assert await survivor.run_once() == 0  # not before the lease is over: it may be alive
    clock.advance(seconds=2)
    assert await survivor.run_once() == 3
    assert handled == [("survivor", uri) for uri in ids]  # in the order they came
    assert {(r.state, r.lease_owner) for r in await received(b)} == {("done", None)}


async def test_a_live_processor_keeps_an_activity_past_the_lease_while_its_handler_waits(
    start_node,
):
    a = await start_node("alpha", workers=0)
    b = await start_node("beta", workers=0)
    target = await local(b, "beta")
    handling = asyncio.Event()
    release = asyncio.Event()
    seen: list[str | None] = []

    async def slow_then_writes(ctx):
        seen.append(ctx.lease_owner)
        handling.set()
        await release.wait()  # a fetch that takes many leases
        async with ctx.transaction() as session:
            session.add(
                Follower(
                    local_actor_id=target.id,
                    actor_uri=ctx.actor.uri,
                    inbox=ctx.actor.inbox,
                    follow_activity_uri=ctx.activity["id"],
                    state="accepted",
                )
            )

    _ids, due = await queued_for_tests(a, b, slow_then_writes, 1)
    clock = Clock(due + timedelta(seconds=1))
    live = InboxProcessor(b.federation, clock=clock, lease=timedelta(seconds=0.6), name="live")
    handled = asyncio.create_task(live.run_once())
    await handling.wait()
    clock.advance(minutes=10)

    async def renewed():
        (row,) = await received(b)
        return row.lease_owner == "live" and row.lease_until > clock.now

    await eventually(renewed)
    other = InboxProcessor(b.federation, clock=clock, name="other")
    assert await other.run_once() == 0
    release.set()
    assert await handled == 1
    # The handler's commit guard found the lease still held: its writes landed.
    async with b.db.read() as session:
        assert len((await session.execute(select(Follower))).scalars().all()) == 1
    (row,) = await received(b)
    assert (row.state, row.lease_owner) == ("done", None)
    assert seen == ["live"]
