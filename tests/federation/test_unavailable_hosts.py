"""A host down for days: its deliveries are given up on, then the host itself, until it speaks.

The node's own worker on a fake clock, one cycle an hour, nine days long.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from remote_servers import RemoteServer
from sqlalchemy import func, select
from support import free_socket, run_iwsn
from test_delivery_queue import Clock, deliveries, send

from federation.db import utcnow
from federation.delivery import DeliveryWorker, queue_status
from federation.models import Delivery, DeliveryHost
from federation.retry import RETRY_SPAN


async def host_row(node, host):
    async with node.db.read() as session:
        return await session.get(DeliveryHost, host)


async def too_old_pending(node, now):
    async with node.db.read() as session:
        return await session.scalar(
            select(func.count(Delivery.id)).where(
                Delivery.state == "pending",
                Delivery.created_at < now - RETRY_SPAN - timedelta(hours=1),
            )
        )


async def test_a_dead_host_is_given_up_on_and_resumed_when_it_speaks(start_node):
    node = await start_node("alpha", workers=0)
    sock = free_socket()
    remote = RemoteServer("mastodon.example", node.base_url, port=sock.getsockname()[1])
    sock.close()  # down: connections to it are refused
    host = f"127.0.0.1:{remote.port}"
    inbox = f"{remote.base}/inbox"
    clock = Clock()
    clock.now = utcnow() - timedelta(days=9)  # so that what it sends later is "since"
    worker = DeliveryWorker(node.federation, clock=clock)
    start = clock.now

    given_up_at = None
    for hour in range(24 * 8 + 12):
        if hour % 24 == 0:
            await send(node, [inbox], n=hour)  # one activity a day
        await worker.run_once()
        # Whatever the breaker does, no delivery outlives its retry span.
        assert await too_old_pending(node, clock.now) == 0
        row = await host_row(node, host)
        if given_up_at is None and row is not None and row.unavailable_since is not None:
            given_up_at = hour
        clock.advance(hours=1)

    # Given up on during its seventh failing day (UTC days; the first counts), and all that
    # waited for it dropped; the activities published afterwards were not queued for it.
    seventh_day = datetime.combine(start.date() + timedelta(days=6), time(), UTC)
    hours_to_seventh_day = (seventh_day - start) / timedelta(hours=1)
    assert given_up_at is not None
    assert hours_to_seventh_day <= given_up_at < hours_to_seventh_day + 24
    rows = await deliveries(node)
    published = range(0, 24 * 8 + 12, 24)
    assert len(rows) == len([hour for hour in published if hour <= given_up_at]) < len(published)
    assert {r.state for r in rows} == {"dead"}
    assert rows[0].last_error.startswith("gave up: not delivered within")
    assert rows[-1].last_error == "gave up: the server is unavailable"
    async with node.db.read() as session:
        status = await queue_status(session, now=clock.now)
    assert host in status["given_up"] and host not in status["unavailable"]
    listing = await run_iwsn(node.env, "deliveries")
    assert f"{host}\t" in listing.stdout and "unavailable since" in listing.stdout

    # The server comes back and sends us something signed: it is delivered to again.
    remote.serve_document("mastodon_actor.json")
    await remote.start()
    try:
        rosa = f"{remote.base}/users/rosa"
        answer = await remote.deliver(
            node.url("/inbox"),
            {
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": f"{rosa}#follows/1",
                "type": "Follow",
                "actor": rosa,
                "object": node.url("/actors/alpha"),
            },
        )
        assert answer.status_code == 202
        clock.now = utcnow()
        await worker.run_once()
        assert (await host_row(node, host)).unavailable_since is None
        await send(node, [inbox], n=99)
        assert await worker.run_once() >= 1
        assert any(r.host == host and r.state == "delivered" for r in await deliveries(node))
    finally:
        await remote.stop()


async def given_up(node, host):
    now = utcnow()
    async with node.db.transaction() as session:
        session.add(
            DeliveryHost(
                host=host,
                consecutive_failures=30,
                first_failure_at=now - timedelta(days=8),
                failure_days=7,
                last_failure_at=now - timedelta(hours=2),
                unavailable_since=now - timedelta(hours=2),
            )
        )


async def test_an_admin_resumes_a_server_from_the_command_line(start_node, sink_factory):
    node = await start_node("alpha", workers=0)
    sink = sink_factory()
    await sink.start()
    host = f"127.0.0.1:{sink.port}"
    await given_up(node, host)
    worker = DeliveryWorker(node.federation)
    await send(node, [sink.url("/inbox")])
    assert await worker.run_once() == 0  # nothing queued for it
    assert await deliveries(node) == []

    refused = await run_iwsn(node.env, "deliveries", "resume", "elsewhere.example", check=False)
    assert refused.returncode == 1
    assert "elsewhere.example is not marked unavailable" in refused.stderr
    resumed = await run_iwsn(node.env, "deliveries", "resume", host)
    assert resumed.stdout == f"{host}\tdeliveries resumed\n"

    await send(node, [sink.url("/inbox")], n=1)
    assert await worker.run_once() == 1
    assert [r.state for r in await deliveries(node)] == ["delivered"]
    assert (await host_row(node, host)).unavailable_since is None
