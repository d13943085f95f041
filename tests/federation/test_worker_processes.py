"""Delivery across process boundaries: separate worker processes, and a node killed mid-fan-out."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import httpx
from remote_servers import SlowInbox
from sqlalchemy import func, select
from support import eventually, free_socket

from federation.models import Delivery

IWSN = str(Path(sys.executable).parent / "iwsn")


async def fan_out(node, inboxes):
    async with node.db.read() as session:
        actor = await node.federation.local_actor_by_username(session, "alpha")
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


async def count_state(node, state):
    async with node.db.read() as session:
        return (
            await session.execute(select(func.count()).where(Delivery.state == state))
        ).scalar_one()


async def spawn(*args, env):
    return await asyncio.create_subprocess_exec(
        IWSN,
        *args,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


async def stop(process):
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 20)
        except TimeoutError:
            process.kill()
            await process.wait()


async def test_two_worker_processes_never_send_the_same_delivery_twice(start_node, sink_factory):
    node = await start_node("alpha", workers=0)
    sink = sink_factory()
    await sink.start()
    inboxes = [sink.url(f"/users/{n}/inbox") for n in range(300)]
    await fan_out(node, inboxes)

    workers = [await spawn("worker", "--workers", "2", env=node.env) for _ in range(2)]
    try:
        await eventually(lambda: count_state(node, "delivered"), expect=300, timeout=60)
    finally:
        for process in workers:
            await stop(process)
    paths = [path for path, _ in sink.received]
    assert sorted(paths) == sorted(f"/users/{n}/inbox" for n in range(300))


async def test_a_node_killed_during_fan_out_delivers_the_rest_after_restart(
    start_node, sink_factory
):
    # The in-process node only prepares the database; the subprocess is the node that dies.
    prepared = await start_node("alpha", workers=0)
    sink = sink_factory()
    sink.delay = 0.2  # slow receivers keep the fan-out in flight long enough to kill it
    await sink.start()
    inboxes = [sink.url(f"/users/{n}/inbox") for n in range(120)]
    await fan_out(prepared, inboxes)

    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    serve_args = ("serve", "--port", str(port))

    async def up():
        try:
            async with httpx.AsyncClient() as client:
                return (await client.get(f"http://127.0.0.1:{port}/nodeinfo/2.1")).status_code
        except httpx.HTTPError:
            return None

    process = await spawn(*serve_args, env=prepared.env)
    await eventually(lambda: asyncio.sleep(0, len(sink.received) >= 10), timeout=60)
    process.send_signal(signal.SIGKILL)
    await process.wait()
    delivered_before = await count_state(prepared, "delivered")
    assert delivered_before < 120, "the kill came too late to interrupt the fan-out"

    process = await spawn(*serve_args, env=prepared.env)
    try:
        await eventually(up, expect=200, timeout=30)
        await eventually(lambda: count_state(prepared, "delivered"), expect=120, timeout=90)
    finally:
        await stop(process)
    # At least once: every inbox got it; only those in flight at the kill may have it twice.
    received = [path for path, _ in sink.received]
    assert set(received) == {f"/users/{n}/inbox" for n in range(120)}
    assert len(received) - 120 <= 120 - delivered_before


async def test_a_node_stops_on_sigterm_with_a_send_stalled_in_flight(start_node):
    prepared = await start_node("alpha", workers=0)
    stalled = SlowInbox()  # reads the POST and never answers
    await stalled.start()
    try:
        await fan_out(prepared, [stalled.url("/inbox")])
        sock = free_socket()
        port = sock.getsockname()[1]
        sock.close()
        process = await spawn("serve", "--port", str(port), env=prepared.env)
        try:
            await eventually(lambda: asyncio.sleep(0, stalled.held), timeout=60)
            process.send_signal(signal.SIGTERM)
            # Well inside the 15 s delivery deadline: the stop itself cuts the send off.
            await asyncio.wait_for(process.wait(), 10)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        assert stalled.held == 1  # it never answered
        async with prepared.db.read() as session:
            (row,) = (await session.execute(select(Delivery))).scalars().all()
        assert (row.state, row.attempts, row.lease_owner) == ("pending", 0, None)
    finally:
        await stalled.stop()


async def leased_by(node, process, host: str) -> int:
    """Pending deliveries under the lease of one worker process (its owner is host:pid:…)."""
    async with node.db.read() as session:
        return (
            await session.execute(
                select(func.count()).where(
                    Delivery.state == "pending",
                    Delivery.lease_owner.like(f"{host}:{process.pid}:%"),
                )
            )
        ).scalar_one()


async def test_a_worker_takes_over_the_deliveries_of_a_killed_one_on_another_machine(
    start_node, sink_factory
):
    """Two worker processes on two machines share one database; one is killed in the middle of
    its fan-out. The other cannot ask whether a process on another machine is alive, so it
    takes over the dead one's deliveries when their short lease runs out, not minutes later.
    The other machine is this one under another host name (a UTS namespace)."""
    prepared = await start_node("alpha", workers=0)
    # A 2 s lease, so the test shows the take-over without waiting out the default 30 s; the
    # poll makes the survivor look for leases run out (nothing announces them).
    env = {**prepared.env, "IWSN_LEASE_SECONDS": "2", "IWSN_POLL_SECONDS": "0.2"}
    sink = sink_factory()
    sink.delay = 0.2  # slow receivers keep the fan-out in flight long enough to kill it
    await sink.start()
    inboxes = [sink.url(f"/users/{n}/inbox") for n in range(120)]
    await fan_out(prepared, inboxes)

    elsewhere = "iwsn-test-elsewhere"
    doomed = await asyncio.create_subprocess_exec(
        "unshare",
        "--uts",
        "sh",
        "-c",
        f'hostname {elsewhere} && exec "$0" worker',
        IWSN,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    survivor = None
    try:
        await eventually(lambda: leased_by(prepared, doomed, elsewhere), timeout=60)
        survivor = await spawn("worker", env=env)
        doomed.send_signal(signal.SIGKILL)
        await doomed.wait()
        orphaned = await leased_by(prepared, doomed, elsewhere)
        delivered_before = await count_state(prepared, "delivered")
        assert orphaned > 0, "the kill came too late: the dead worker held nothing"
        await eventually(lambda: count_state(prepared, "delivered"), expect=120, timeout=60)
    finally:
        if doomed.returncode is None:
            doomed.kill()
            await doomed.wait()
        if survivor is not None:
            await stop(survivor)
    # At least once: every inbox got it; only those in flight at the kill may have it twice.
    received = [path for path, _ in sink.received]
    assert set(received) == {f"/users/{n}/inbox" for n in range(120)}
    assert len(received) - 120 <= 120 - delivered_before
