"""Housekeeping that keeps the queues and the dedupe log from growing without bound."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete

from federation.db import Database, rowcount, utcnow
from federation.models import Delivery, DeliveryState, ReceivedActivity

# Senders retry for days (Mastodon about a week): a redelivery inside this window is still
# recognised as a duplicate; past it, the activity would be stale anyway.
KEEP_RECEIVED = timedelta(days=14)
# Kept for operators to read what happened; the counts in `iwsn deliveries` cover this span.
KEEP_DELIVERED = timedelta(days=7)
KEEP_DEAD = timedelta(days=30)


@dataclass(frozen=True)
class Pruned:
    received: int
    delivered: int
    dead: int


async def prune(db: Database, *, now: datetime | None = None) -> Pruned:
    now = now or utcnow()
    async with db.transaction() as session:
        received = await session.execute(
            delete(ReceivedActivity).where(ReceivedActivity.received_at < now - KEEP_RECEIVED)
        )
        delivered = await session.execute(
            delete(Delivery).where(
                Delivery.state == DeliveryState.DELIVERED,
                Delivery.delivered_at < now - KEEP_DELIVERED,
            )
        )
        dead = await session.execute(
            delete(Delivery).where(
                Delivery.state == DeliveryState.DEAD, Delivery.last_attempt_at < now - KEEP_DEAD
            )
        )
    return Pruned(rowcount(received), rowcount(delivered), rowcount(dead))
