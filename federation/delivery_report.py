"""The delivery queue as operators see it (`iwsn deliveries`, the admin dashboard)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.db import utcnow
from federation.models import Delivery, DeliveryHost, DeliveryState


async def queue_status(session: AsyncSession, *, now: datetime | None = None) -> dict[str, Any]:
    """Counts for operators: what is due, retrying, dead; and the same per host."""
    now = now or utcnow()
    # Labelled once and grouped by label: PostgreSQL sees each bound `now` as a new parameter,
    # so repeating the expression in GROUP BY would not match the one in SELECT.
    tried_column = (Delivery.attempts > 0).label("tried")
    due_column = (Delivery.next_attempt_at <= now).label("due")
    rows = await session.execute(
        select(
            Delivery.host, Delivery.state, tried_column, due_column, func.count(Delivery.id)
        ).group_by(Delivery.host, Delivery.state, tried_column, due_column)
    )
    totals = {"due": 0, "retrying": 0, "dead": 0, "delivered": 0}
    hosts: dict[str, dict[str, int]] = {}
    for host, state, tried, due, count in rows:
        per_host = hosts.setdefault(host, {"due": 0, "retrying": 0, "dead": 0, "delivered": 0})
        if state is DeliveryState.PENDING:
            bucket = "due" if due and not tried else "retrying"
        else:
            bucket = state.value
        per_host[bucket] += count
        totals[bucket] += count
    unavailable: dict[str, datetime] = {}
    given_up: dict[str, datetime] = {}
    for host, until, since in await session.execute(
        select(
            DeliveryHost.host, DeliveryHost.unavailable_until, DeliveryHost.unavailable_since
        ).where(
            or_(DeliveryHost.unavailable_until > now, DeliveryHost.unavailable_since.is_not(None))
        )
    ):
        if since is not None:
            # Shown even once its rows are pruned: the admin is the one who can resume it.
            given_up[host] = since
            hosts.setdefault(host, {"due": 0, "retrying": 0, "dead": 0, "delivered": 0})
        elif until is not None:
            unavailable[host] = until
    # unavailable: behind the breaker, probed again at that time; given_up: nothing is sent
    # until the host is heard from or an admin resumes it.
    return {"totals": totals, "hosts": hosts, "unavailable": unavailable, "given_up": given_up}
