"""Health of the remote hosts we deliver to, one row per host that ever failed.

Two levels. The circuit breaker (`unavailable_until`): a host failing for an hour is left
alone for a while, then probed with one delivery. Given up (`unavailable_since`): a host
whose deliveries failed on 7 different days is unavailable; nothing more is queued for it
and what waits for it is dropped, until it sends us something signed or an admin resumes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Exists, and_, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from federation.db import Database, rowcount
from federation.models import Delivery, DeliveryHost, DeliveryState, ReceivedActivity
from federation.retry import (
    RETRY_SPAN,
    UNAVAILABLE_AFTER_FAILING_DAYS,
    failing_days,
    host_unavailable_until,
)


def host_resting(now: datetime) -> Exists:
    """For a claim: the row's host is behind its breaker, or given up on."""
    return exists().where(
        and_(
            DeliveryHost.host == Delivery.host,
            or_(DeliveryHost.unavailable_until > now, DeliveryHost.unavailable_since.is_not(None)),
        )
    )


async def unavailable_hosts(session: AsyncSession) -> set[str]:
    """The hosts given up on (a few at most): nothing is queued for them."""
    rows = await session.execute(
        select(DeliveryHost.host).where(DeliveryHost.unavailable_since.is_not(None))
    )
    return set(rows.scalars())


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
    counts one more failure towards its breaker, and perhaps one more failing day."""
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
                failure_days=0,
                unavailable_since=None,
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
            row = DeliveryHost(host=host, consecutive_failures=0, failure_days=0)
            session.add(row)
        if row.consecutive_failures == 0 or row.first_failure_at is None:
            row.first_failure_at = now
        row.consecutive_failures += 1
        row.unavailable_until = host_unavailable_until(
            row.consecutive_failures, row.first_failure_at, now
        )
        row.failure_days = failing_days(row.failure_days or 0, row.last_failure_at, now)
        row.last_failure_at = now
        if row.failure_days >= UNAVAILABLE_AFTER_FAILING_DAYS and row.unavailable_since is None:
            row.unavailable_since = now


@dataclass(frozen=True)
class Swept:
    too_old: int  # deliveries past the retry span, given up on
    unavailable: int  # deliveries to hosts given up on, dropped
    resumed: list[str]  # hosts given up on that have since sent us something signed


async def sweep(session: AsyncSession, now: datetime) -> Swept:
    """Give up on what can no longer be delivered, and resume hosts that are back."""
    resumed = await _heard_from(session)
    if resumed:
        await resume(session, resumed)
    too_old = await session.execute(
        update(Delivery)
        .where(
            Delivery.state == DeliveryState.PENDING,
            Delivery.created_at < now - RETRY_SPAN,
            _not_in_flight(now),
        )
        .values(
            state=DeliveryState.DEAD, last_error=f"gave up: not delivered within {_span_text()}"
        )
        .execution_options(synchronize_session=False)
    )
    given_up = select(DeliveryHost.host).where(DeliveryHost.unavailable_since.is_not(None))
    unavailable = await session.execute(
        update(Delivery)
        .where(
            Delivery.state == DeliveryState.PENDING,
            Delivery.host.in_(given_up),
            _not_in_flight(now),
        )
        .values(state=DeliveryState.DEAD, last_error="gave up: the server is unavailable")
        .execution_options(synchronize_session=False)
    )
    return Swept(rowcount(too_old), rowcount(unavailable), resumed)


async def resume(session: AsyncSession, hosts: list[str]) -> list[str]:
    """Deliver to these hosts again as to any other; returns those that were held back
    (given up on, or behind their breaker)."""
    if not hosts:
        return []
    rows = await session.execute(
        update(DeliveryHost)
        .where(
            DeliveryHost.host.in_(hosts),
            or_(
                DeliveryHost.unavailable_since.is_not(None),
                DeliveryHost.unavailable_until.is_not(None),
            ),
        )
        .values(
            consecutive_failures=0,
            first_failure_at=None,
            unavailable_until=None,
            failure_days=0,
            unavailable_since=None,
        )
        .returning(DeliveryHost.host)
        .execution_options(synchronize_session=False)
    )
    return sorted(rows.scalars())


async def resume_host(db: Database, host: str) -> bool:
    """An admin's "deliver to it again": False if the host was not held back at all."""
    async with db.transaction() as session:
        return bool(await resume(session, [host.strip().lower()]))


async def _heard_from(session: AsyncSession) -> list[str]:
    """Hosts given up on from which a verified activity has come in since."""
    given_up = (
        await session.execute(
            select(DeliveryHost.host, DeliveryHost.unavailable_since).where(
                DeliveryHost.unavailable_since.is_not(None)
            )
        )
    ).all()
    if not given_up:
        return []
    # Only verified activities are stored: an actor on that host signed it, so the host is
    # up and speaking to us. Actor ids are URLs: the host follows the scheme. One query for
    # all of them, once a minute, and only while some host is given up on.
    since_by_prefix = {
        f"{scheme}://{host}/": since for host, since in given_up for scheme in ("https", "http")
    }
    heard_from = or_(
        *(
            and_(
                ReceivedActivity.actor_uri.startswith(prefix, autoescape=True),
                ReceivedActivity.received_at > since,
            )
            for prefix, since in since_by_prefix.items()
        )
    )
    actors = (
        (
            await session.execute(
                select(ReceivedActivity.actor_uri).where(heard_from).distinct().limit(1000)
            )
        )
        .scalars()
        .all()
    )
    hosts = {host for host, _since in given_up}
    return sorted({host for host in hosts for uri in actors if _on_host(uri, host)})


def _on_host(uri: str, host: str) -> bool:
    return uri.startswith((f"https://{host}/", f"http://{host}/"))


def _not_in_flight(now: datetime) -> ColumnElement[bool]:
    # A row a worker holds is that worker's to record.
    return or_(Delivery.lease_until.is_(None), Delivery.lease_until < now)


def _span_text() -> str:
    return f"{RETRY_SPAN.total_seconds() / 3600:.0f} hours"
