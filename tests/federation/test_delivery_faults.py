"""Delivery against receivers that misbehave: drip their answer, stall, or hold every slot."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from remote_servers import SlowInbox
from test_delivery_queue import Clock, deliveries, send

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
