"""Health of the remote hosts we deliver to: the circuit breaker's memory, one row per host."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from federation.models import DeliveryHost
from federation.retry import host_unavailable_until


async def recovering_hosts(session: AsyncSession, hosts: set[str]) -> set[str]:
    """Hosts once marked unavailable whose wait is over (the claim skipped the others)."""
    rows = await session.execute(
        select(DeliveryHost.host).where(
            DeliveryHost.host.in_(hosts), DeliveryHost.unavailable_until.is_not(None)
        )
    )
    return set(rows.scalars())


async def record_hosts(session: AsyncSession, host_up: dict[str, bool], now: datetime) -> None:
    """One flush's verdict per host: a host that answered is healthy, one that did not
    counts one more failure towards being marked unavailable."""
    # Sorted, so that two workers touching the same hosts lock their rows in the same order.
    up = sorted(host for host, ok in host_up.items() if ok)
    down = sorted(host for host, ok in host_up.items() if not ok)
    if up:
        # Healthy hosts need no row until they first fail: this touches only those that have.
        await session.execute(
            update(DeliveryHost)
            .where(DeliveryHost.host.in_(up))
            .values(
                consecutive_failures=0,
                first_failure_at=None,
                unavailable_until=None,
                last_success_at=now,
            )
            .execution_options(synchronize_session=False)
        )
    if not down:
        return
    rows = {
        row.host: row
        for row in (
            await session.execute(select(DeliveryHost).where(DeliveryHost.host.in_(down)))
        ).scalars()
    }
    for host in down:
        row = rows.get(host)
        if row is None:
            row = DeliveryHost(host=host, consecutive_failures=0)
            session.add(row)
        if row.consecutive_failures == 0 or row.first_failure_at is None:
            row.first_failure_at = now
        row.consecutive_failures += 1
        row.unavailable_until = host_unavailable_until(
            row.consecutive_failures, row.first_failure_at, now
        )
