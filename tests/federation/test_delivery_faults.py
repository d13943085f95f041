"""Delivery against receivers that misbehave: drip their answer, stall, or hold every slot."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from remote_servers import SlowInbox
from support import eventually
from test_delivery_queue import Clock, deliveries, send

from federation.db import utcnow
from federation.delivery import DeliveryWorker


@pytest.fixture
async def slow_inboxes() -> AsyncIterator[Callable[..., Any]]:
    started: list[SlowInbox] = []

    async def make(**kwargs: Any) -> SlowInbox:
        inbox = SlowInbox(**kwargs)
        await inbox.start()
        started.append(inbox)
        return inbox

    yield make
    for inbox in started:
        await inbox.stop()


def short_deadline(node, monkeypatch, seconds: float) -> None:
    client = node.federation.client
    monkeypatch.setattr(
        client, "config", dataclasses.replace(client.config, delivery_timeout=seconds)
    )


async def test_a_dripping_receiver_is_cut_off_and_retried_not_delivered(
    start_node, slow_inboxes, monkeypatch
):
    node = await start_node("alpha", workers=0)
    # One byte every 0.1 s: each read comes well inside any per-read timeout, and the whole
    # answer takes ~4 s, far past the 0.5 s the whole POST may take.
    dripping = await slow_inboxes(drip=0.1)
    short_deadline(node, monkeypatch, 0.5)
    await send(node, [dripping.url("/inbox")])
    clock = Clock()
    worker = DeliveryWorker(node.federation, clock=clock)

    assert await worker.run_once() == 1
    (row,) = await deliveries(node)
    assert (row.state, row.attempts, row.delivered_at) == ("pending", 1, None)
    assert row.last_error.startswith("timeout")
    assert row.next_attempt_at > clock.now

    clock.now = row.next_attempt_at
    assert await worker.run_once() == 1
    (row,) = await deliveries(node)
    assert (row.state, row.attempts) == ("pending", 2)
    assert dripping.received == ["/inbox", "/inbox"]


async def test_stalled_servers_hold_only_their_own_slots(start_node, sink_factory, slow_inboxes):
    node = await start_node("alpha", workers=0)
    stalled = [await slow_inboxes() for _ in range(2)]  # hold every request until released
    healthy = [sink_factory() for _ in range(6)]
    for sink in healthy:
        await sink.start()
    # The stalled servers' rows are claimed first, three each.
    for inbox in stalled:
        await send(node, [inbox.url(path) for path in ("/a", "/b", "/c")])
    await send(node, [sink.url("/inbox") for sink in healthy], n=1)
    # Two ordinary slots, one per host: without the bounds both would sit on the first
    # stalled server and nothing else would move until it answered.
    worker = DeliveryWorker(
        node.federation, concurrency=2, per_host=1, slow_concurrency=2, slow_after=1.0
    )
    run = asyncio.create_task(worker.run_until_idle())
    try:

        async def healthy_delivered():
            rows = await deliveries(node)
            return sum(1 for r in rows if r.host not in stalled_hosts and r.state == "delivered")

        stalled_hosts = {inbox.host for inbox in stalled}
        await eventually(healthy_delivered, expect=6)
        # Meanwhile the stalled servers still hold one request each, and only one.
        assert [(inbox.held, len(inbox.received)) for inbox in stalled] == [(1, 1), (1, 1)]
        assert all(len(sink.received) == 1 for sink in healthy)
        assert not [
            r for r in await deliveries(node) if r.host in stalled_hosts and r.state != "pending"
        ]
    finally:
        for inbox in stalled:
            inbox.release.set()
    assert await asyncio.wait_for(run, 30) == 12
    assert {r.state for r in await deliveries(node)} == {"delivered"}
    for inbox in stalled:
        assert sorted(inbox.received) == ["/a", "/b", "/c"]


async def test_a_stopping_worker_cuts_off_stalled_sends_and_hands_them_back(
    start_node, slow_inboxes
):
    node = await start_node("alpha", workers=0)
    stalled = await slow_inboxes()
    await send(node, [stalled.url("/inbox")])
    worker = DeliveryWorker(node.federation, name="w", stop_grace=0.2)
    stop = asyncio.Event()
    run = asyncio.create_task(worker.run(stop))
    await eventually(lambda: asyncio.sleep(0, stalled.held))
    stop.set()
    # The receiver never answers: the worker stops anyway (the deadline only keeps a
    # regression from hanging the suite).
    await asyncio.wait_for(run, 10)
    assert stalled.held == 1
    (row,) = await deliveries(node)
    assert (row.state, row.attempts, row.lease_owner, row.delivered_at) == (
        "pending",
        0,
        None,
        None,
    )
    assert row.next_attempt_at <= utcnow()  # still due: the next worker sends it at once
