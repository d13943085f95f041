"""The delivery queue against real HTTP receivers, driven one worker cycle at a time."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select
from support import eventually

from federation.db import utcnow
from federation.delivery import LANE_PRIORITY, DeliveryWorker
from federation.models import Delivery, DeliveryHost, LocalActor


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self):
        return self.now

    def advance(self, **kwargs) -> None:
        self.now += timedelta(**kwargs)


async def org_actor(node) -> LocalActor:
    async with node.db.read() as session:
        return await node.federation.local_actor_by_username(session, "alpha")


def note_activity(node, actor, n=0):
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": node.federation.new_id(),
        "type": "Create",
        "actor": actor.uri,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": {"id": node.federation.new_id("notes"), "type": "Note", "content": f"n{n}"},
    }


async def send(node, inboxes, *, priority=0, n=0):
    actor = await org_actor(node)
    async with node.db.transaction() as session:
        await node.federation.enqueue(
            session,
            note_activity(node, actor, n),
            actor=actor,
            inboxes=inboxes,
            priority=priority,
        )


async def deliveries(node):
    async with node.db.read() as session:
        return (await session.execute(select(Delivery).order_by(Delivery.id))).scalars().all()


async def test_a_receiver_down_then_up_gets_the_delivery_after_retries(start_node, sink_factory):
    node = await start_node("alpha", workers=0)
    sink = sink_factory()  # not started: connections are refused
    await send(node, [sink.url("/inbox")])
    clock = Clock()
    worker = DeliveryWorker(node.federation, clock=clock)

    assert await worker.run_once() == 1
    (row,) = await deliveries(node)
    assert (row.state, row.attempts) == ("pending", 1)
    assert row.last_error.startswith("connection")
    assert row.next_attempt_at > clock.now
    assert await worker.run_once() == 0  # not due yet

    clock.now = row.next_attempt_at
    assert await worker.run_once() == 1
    (row,) = await deliveries(node)
    assert (row.state, row.attempts) == ("pending", 2)

    await sink.start()
    clock.now = row.next_attempt_at
    assert await worker.run_once() == 1
    (row,) = await deliveries(node)
    assert (row.state, row.attempts, row.last_status) == ("delivered", 3, 202)
    assert len(sink.received) == 1
    async with node.db.read() as session:
        host = await session.get(DeliveryHost, f"127.0.0.1:{sink.port}")
    assert host.consecutive_failures == 0


async def test_gone_and_not_found_stop_at_once(start_node, sink_factory):
    node = await start_node("alpha", workers=0)
    gone, missing = sink_factory(), sink_factory()
    gone.status, missing.status = 410, 404
    await gone.start()
    await missing.start()
    worker = DeliveryWorker(node.federation)
    await send(node, [gone.url("/inbox"), missing.url("/inbox")])
    assert await worker.run_once() == 2
    rows = await deliveries(node)
    assert [(r.state, r.attempts, r.last_status) for r in rows] == [
        ("dead", 1, 410),
        ("dead", 1, 404),
    ] or [(r.state, r.attempts, r.last_status) for r in rows] == [
        ("dead", 1, 404),
        ("dead", 1, 410),
    ]
    assert await worker.run_once() == 0


async def test_retry_after_is_honoured(start_node, sink_factory):
    node = await start_node("alpha", workers=0)
    busy = sink_factory()
    busy.status, busy.headers = 429, {"Retry-After": "7200"}
    await busy.start()
    await send(node, [busy.url("/inbox")])
    clock = Clock()
    worker = DeliveryWorker(node.federation, clock=clock)
    await worker.run_once()
    (row,) = await deliveries(node)
    assert row.state == "pending"
    assert row.next_attempt_at - clock.now >= timedelta(hours=2)


async def test_a_host_failing_for_long_is_skipped_until_its_probe(start_node, sink_factory):
    node = await start_node("alpha", workers=0)
    down = sink_factory()
    for n in range(6):
        await send(node, [down.url("/inbox")], n=n)
    clock = Clock()
    worker = DeliveryWorker(node.federation, clock=clock)
    # Six rows fail together, five times over four hours: the host is marked down.
    for attempt in range(5):
        if attempt:
            clock.advance(hours=1)
            async with node.db.transaction() as session:
                for row in (await session.execute(select(Delivery))).scalars():
                    row.next_attempt_at = clock.now
        assert await worker.run_once() == 6
    async with node.db.read() as session:
        host = await session.get(DeliveryHost, f"127.0.0.1:{down.port}")
    assert host.unavailable_until is not None and host.unavailable_until > clock.now
    assert await worker.run_once() == 0  # due rows wait for the host's probe time
    clock.now = host.unavailable_until + timedelta(seconds=1)
    await down.start()
    # One probe first; the backlog follows once the host has answered.
    assert await worker.run_once() == 1
    assert len(down.received) == 1
    clock.advance(minutes=1)
    assert await worker.run_once() == 5
    assert {r.state for r in await deliveries(node)} == {"delivered"}


async def test_priority_lane_goes_before_a_backlog(start_node, sink_factory):
    node = await start_node("alpha", workers=0)
    sink = sink_factory()
    await sink.start()
    for n in range(30):
        await send(node, [sink.url(f"/backlog/{n}")], n=n)
    await send(node, [sink.url("/urgent")], priority=LANE_PRIORITY)
    worker = DeliveryWorker(node.federation, batch_size=5)
    await worker.run_once()
    assert "/urgent" in [path for path, _ in sink.received]
    assert len(sink.received) == 5


async def test_concurrent_workers_never_send_a_delivery_twice(start_node, sink_factory):
    """Several workers with their own connections (as separate processes would have)."""
    node = await start_node("alpha", workers=0)
    sink = sink_factory()
    await sink.start()
    for n in range(40):
        await send(node, [sink.url(f"/inbox/{n}/{m}") for m in range(5)], n=n)

    from federation.db import Database
    from federation.node import Federation

    stacks = []
    for _ in range(3):
        db = Database(node.node.settings.database_url)
        federation = Federation(node.federation.config, db)
        stacks.append((db, federation))
    workers = [DeliveryWorker(f, batch_size=7, name=f"w{i}") for i, (_, f) in enumerate(stacks)]

    async def drain(worker):
        while await worker.run_once():
            pass

    try:
        await asyncio.gather(*(drain(w) for w in workers))
    finally:
        for db, federation in stacks:
            await federation.aclose()
            await db.dispose()
    paths = [path for path, _ in sink.received]
    assert len(paths) == 200
    assert len(set(paths)) == 200
    assert {r.state for r in await deliveries(node)} == {"delivered"}


async def test_new_deliveries_go_before_due_retries(start_node, sink_factory):
    node = await start_node("alpha", workers=0)
    flaky = sink_factory()
    await send(node, [flaky.url("/old")])
    clock = Clock()
    worker = DeliveryWorker(node.federation, clock=clock, batch_size=1)
    assert await worker.run_once() == 1  # refused: now a retry
    await flaky.start()
    clock.advance(days=1)  # the retry is long due
    await send(node, [flaky.url("/new")])
    assert await worker.run_once() == 1
    assert [path for path, _ in flaky.received] == ["/new"]
    assert await worker.run_once() == 1
    assert [path for path, _ in flaky.received] == ["/new", "/old"]


# --- the pipeline: run_until_idle(), what run() does in production --------------------------


class Gate:
    """Holds every POST of a node until opened: a send stays in flight as long as a test needs."""

    def __init__(self, node, monkeypatch) -> None:
        self.opened = asyncio.Event()
        self.started = 0
        real = node.federation.client.post_activity

        async def gated(*args, **kwargs):
            self.started += 1
            await self.opened.wait()
            return await real(*args, **kwargs)

        monkeypatch.setattr(node.federation.client, "post_activity", gated)


async def leased_count(node, owner):
    rows = await deliveries(node)
    return sum(1 for r in rows if r.lease_owner == owner)


async def test_the_pipeline_delivers_every_row_once(start_node, sink_factory):
    node = await start_node("alpha", workers=0)
    sink = sink_factory()
    await sink.start()
    for n in range(12):
        await send(node, [sink.url(f"/inbox/{n}/{m}") for m in range(5)], n=n)
    # Small batches, few sends at once and small flushes: many claims overlap the sends.
    worker = DeliveryWorker(node.federation, batch_size=7, concurrency=3, flush_size=4)
    assert await worker.run_until_idle() == 60
    paths = [path for path, _ in sink.received]
    assert len(paths) == len(set(paths)) == 60
    rows = await deliveries(node)
    assert {(r.state, r.attempts, r.last_status, r.lease_owner) for r in rows} == {
        ("delivered", 1, 202, None)
    }
    assert await worker.run_until_idle() == 0


async def test_the_pipeline_records_failures_as_a_cycle_does(start_node, sink_factory):
    node = await start_node("alpha", workers=0)
    ok, gone, busy, down = (sink_factory() for _ in range(4))
    gone.status, busy.status = 410, 503
    for sink in (ok, gone, busy):
        await sink.start()
    await send(node, [s.url("/inbox") for s in (ok, gone, busy, down)])
    clock = Clock()
    worker = DeliveryWorker(node.federation, clock=clock)
    assert await worker.run_until_idle() == 4
    by_port = {int(r.host.rpartition(":")[2]): r for r in await deliveries(node)}
    assert (by_port[ok.port].state, by_port[ok.port].last_status) == ("delivered", 202)
    assert (by_port[gone.port].state, by_port[gone.port].last_status) == ("dead", 410)
    retried = by_port[busy.port]
    assert (retried.state, retried.attempts, retried.last_status) == ("pending", 1, 503)
    assert retried.next_attempt_at > clock.now
    refused = by_port[down.port]
    assert (refused.state, refused.attempts, refused.last_status) == ("pending", 1, None)
    assert refused.last_error.startswith("connection")
    assert {r.lease_owner for r in by_port.values()} == {None}
    async with node.db.read() as session:
        hosts = {h.host: h for h in (await session.execute(select(DeliveryHost))).scalars()}
    # Only hosts that failed to answer get a row; a 410 still means the host is up.
    assert set(hosts) == {f"127.0.0.1:{busy.port}", f"127.0.0.1:{down.port}"}
    assert {h.consecutive_failures for h in hosts.values()} == {1}


async def test_the_pipeline_sends_one_probe_while_the_probe_is_in_flight(
    start_node, sink_factory, monkeypatch
):
    node = await start_node("alpha", workers=0)
    sink = sink_factory()
    await sink.start()
    host = f"127.0.0.1:{sink.port}"
    for n in range(6):
        await send(node, [sink.url(f"/inbox/{n}")], n=n)
    clock = Clock()
    async with node.db.transaction() as session:
        session.add(
            DeliveryHost(
                host=host,
                consecutive_failures=6,
                first_failure_at=clock.now - timedelta(hours=3),
                unavailable_until=clock.now - timedelta(seconds=1),  # its wait is over
            )
        )
    gate = Gate(node, monkeypatch)
    # Batches of two: the later claims see the host still recovering while its probe waits.
    worker = DeliveryWorker(node.federation, clock=clock, batch_size=2, name="w")
    run = asyncio.create_task(worker.run_until_idle())

    async def handed_back():
        rows = await deliveries(node)
        return sum(1 for r in rows if r.lease_owner is None and r.next_attempt_at > clock.now)

    await eventually(handed_back, expect=5)
    assert gate.started == 1
    gate.opened.set()
    assert await run == 1
    assert len(sink.received) == 1
    async with node.db.read() as session:
        assert (await session.get(DeliveryHost, host)).unavailable_until is None
    clock.advance(minutes=1)
    assert await worker.run_until_idle() == 5
    assert {r.state for r in await deliveries(node)} == {"delivered"}


async def test_a_stopped_pipeline_hands_back_what_it_did_not_send(
    start_node, sink_factory, monkeypatch
):
    node = await start_node("alpha", workers=0)
    sink = sink_factory()
    await sink.start()
    await send(node, [sink.url(f"/inbox/{n}") for n in range(10)])
    gate = Gate(node, monkeypatch)
    worker = DeliveryWorker(node.federation, batch_size=5, concurrency=1, name="w")
    stop = asyncio.Event()
    run = asyncio.create_task(worker.run_until_idle(stop))
    # One send in flight, the rest claimed ahead of it and waiting.
    await eventually(lambda: leased_count(node, "w"), expect=10)
    assert gate.started == 1
    stop.set()
    await eventually(lambda: leased_count(node, "w"), expect=1)
    gate.opened.set()
    assert await run == 1
    rows = await deliveries(node)
    assert (
        sorted((r.state, r.attempts, r.lease_owner) for r in rows)
        == [("delivered", 1, None)] + [("pending", 0, None)] * 9
    )
