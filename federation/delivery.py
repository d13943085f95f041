"""The delivery queue: one row per (activity, inbox), claimed with a lease, retried by policy."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import ssl
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import aiohttp
import httpx
from sqlalchemy import and_, event, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from federation.client import PostResult, Signer
from federation.db import utcnow
from federation.models import Delivery, DeliveryHost, Follower, LocalActor, OutboxActivity
from federation.netguard import ForbiddenAddress
from federation.remote_actors import host_of
from federation.retry import FailureKind, Outcome, host_unavailable_until, next_delay

if TYPE_CHECKING:
    from federation.node import Federation

log = logging.getLogger(__name__)

LANE_NORMAL = 0
# Alerts: claimed before any backlog of ordinary deliveries.
LANE_PRIORITY = 10

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


async def follower_inboxes(session: AsyncSession, actor: LocalActor) -> list[str]:
    """Accepted followers' inboxes, one per server where it offers a shared inbox."""
    return sorted(await _inboxes_of_followers(session, [actor.id]))


async def _inboxes_of_followers(session: AsyncSession, actor_ids: Iterable[int]) -> set[str]:
    ids = list(actor_ids)
    if not ids:
        return set()
    rows = await session.execute(
        select(Follower.inbox, Follower.shared_inbox).where(
            Follower.local_actor_id.in_(ids), Follower.state == "accepted"
        )
    )
    return {shared or inbox for inbox, shared in rows}


def is_public(activity: dict[str, Any]) -> bool:
    audience: list[Any] = []
    for key in ("to", "cc"):
        value = activity.get(key)
        audience.extend(value if isinstance(value, list) else [value])
    return PUBLIC in audience or "as:Public" in audience or "Public" in audience


async def enqueue(
    session: AsyncSession,
    activity: dict[str, Any],
    *,
    actor: LocalActor,
    own_host: str,
    inboxes: Iterable[str] = (),
    followers_of: Iterable[LocalActor] = (),
    except_followers_of: Iterable[LocalActor] = (),
    priority: int = LANE_NORMAL,
) -> OutboxActivity:
    """Store the activity and its audience, in the caller's transaction.

    Called inside the transaction that makes the change it announces, so a crash can never
    publish a change that was not stored, nor store one that is never published. The audience
    (explicit inboxes, plus the followers of some of our actors) becomes one delivery row per
    distinct inbox when a worker expands it: see `expand_fanouts`.
    """
    obj = activity.get("object")
    object_uri = obj.get("id") if isinstance(obj, dict) else obj if isinstance(obj, str) else None
    outbox = OutboxActivity(
        uri=activity["id"],
        local_actor_id=actor.id,
        activity_type=activity["type"],
        object_uri=object_uri,
        body=activity,
        public=is_public(activity),
        fanout_pending=True,
        priority=priority,
        audience_inboxes=sorted({i for i in inboxes if host_of(i) != own_host}),
        audience_followers_of=sorted({a.id for a in followers_of}),
        audience_except_followers_of=sorted({a.id for a in except_followers_of}),
    )
    session.add(outbox)
    await session.flush()
    _wake_workers_after_commit(session)
    return outbox


async def expand_fanouts(
    db: Any, own_host: str, *, now: datetime | None = None, limit: int = 20
) -> int:
    """Stage two: turn pending audiences into delivery rows. Returns how many were expanded."""
    async with db.transaction() as session:
        pending = (
            (
                await session.execute(
                    select(OutboxActivity)
                    .where(OutboxActivity.fanout_pending.is_(True))
                    .order_by(OutboxActivity.priority.desc(), OutboxActivity.id)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            )
            .scalars()
            .all()
        )
        now = now or utcnow()
        for outbox in pending:
            targets = set(outbox.audience_inboxes)
            targets |= await _inboxes_of_followers(session, outbox.audience_followers_of)
            targets -= await _inboxes_of_followers(session, outbox.audience_except_followers_of)
            targets = {inbox for inbox in targets if host_of(inbox) != own_host}
            session.add_all(
                Delivery(
                    activity_id=outbox.id,
                    inbox=inbox,
                    host=host_of(inbox),
                    priority=outbox.priority,
                    next_attempt_at=now,
                    created_at=now,
                )
                for inbox in sorted(targets)
            )
            outbox.fanout_pending = False
        return len(pending)


def _wake_workers_after_commit(session: AsyncSession) -> None:
    waker = session.info.get("delivery_waker")
    if waker is not None:
        event.listen(session.sync_session, "after_commit", lambda _s: waker(), once=True)


def classify(exc: BaseException) -> Outcome:
    """Map a network failure to the policy's vocabulary.

    The innermost cause decides: httpx-aiohttp re-raises a refused connection as
    httpx.ConnectTimeout, which would otherwise read as a timeout.
    """
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and seen not in chain:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    for cause in reversed(chain):
        outcome = _classify_one(cause)
        if outcome is not None:
            return outcome
    return Outcome(FailureKind.OTHER)


def _classify_one(exc: BaseException) -> Outcome | None:
    if isinstance(exc, ForbiddenAddress):
        return Outcome(FailureKind.FORBIDDEN_ADDRESS)
    if isinstance(exc, socket.gaierror):
        # Only "no such name" is final; a resolver failing is our problem, retried.
        final = exc.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME))
        return Outcome(FailureKind.DNS if final else FailureKind.OTHER)
    if isinstance(exc, aiohttp.ClientConnectorCertificateError | ssl.SSLError):
        return Outcome(FailureKind.TLS)
    if isinstance(exc, asyncio.TimeoutError | TimeoutError | aiohttp.ServerTimeoutError):
        return Outcome(FailureKind.TIMEOUT)
    if isinstance(exc, ConnectionError | aiohttp.ClientConnectionError):
        return Outcome(FailureKind.CONNECTION)
    if isinstance(exc, httpx.TimeoutException):
        return Outcome(FailureKind.TIMEOUT)
    if isinstance(exc, httpx.TransportError):
        return Outcome(FailureKind.CONNECTION)
    return None


class DeliveryWorker:
    """Claims due rows, sends them concurrently, records each attempt's evidence."""

    def __init__(
        self,
        federation: Federation,
        *,
        name: str | None = None,
        batch_size: int = 200,
        concurrency: int = 64,
        lease: timedelta = timedelta(minutes=5),
        clock: Callable[[], datetime] = utcnow,
        poll_interval: float = 1.0,
    ) -> None:
        self.federation = federation
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"[:64]
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.lease = lease
        self.clock = clock
        self.poll_interval = poll_interval

    async def claim(self) -> list[int]:
        now = self.clock()
        host_down = exists().where(
            and_(DeliveryHost.host == Delivery.host, DeliveryHost.unavailable_until > now)
        )
        due = (
            select(Delivery.id)
            .where(
                Delivery.state == "pending",
                Delivery.next_attempt_at <= now,
                or_(Delivery.lease_until.is_(None), Delivery.lease_until < now),
                ~host_down,
            )
            # New deliveries before backlogged retries: a host that was down for a day must
            # not delay what is published now (GoToSocial's rule).
            .order_by(
                Delivery.priority.desc(),
                Delivery.attempts > 0,
                Delivery.next_attempt_at,
                Delivery.id,
            )
            .limit(self.batch_size)
            # Several workers on PostgreSQL: each takes rows nobody else has locked.
            .with_for_update(skip_locked=True)
        )
        async with self.federation.db.transaction() as session:
            result = await session.execute(
                update(Delivery)
                .where(Delivery.id.in_(due.scalar_subquery()))
                .values(lease_until=now + self.lease, lease_owner=self.name)
                .returning(Delivery.id)
                .execution_options(synchronize_session=False)
            )
            return sorted(result.scalars())

    async def run_once(self) -> int:
        """One cycle: expand new fan-outs, claim, send, record. Returns rows tried."""
        await expand_fanouts(self.federation.db, self.federation.own_host, now=self.clock())
        ids = await self.claim()
        if not ids:
            return 0
        async with self.federation.db.read() as session:
            rows = (
                await session.execute(
                    select(Delivery, OutboxActivity, LocalActor)
                    .join(OutboxActivity, Delivery.activity_id == OutboxActivity.id)
                    .join(LocalActor, OutboxActivity.local_actor_id == LocalActor.id)
                    .where(Delivery.id.in_(ids))
                    .order_by(Delivery.id)
                )
            ).all()
            rows = await self._one_probe_per_recovering_host(session, rows)
        bodies: dict[int, bytes] = {}
        semaphore = asyncio.Semaphore(self.concurrency)

        async def send(delivery: Delivery, activity: OutboxActivity, actor: LocalActor) -> Any:
            body = bodies.get(activity.id)
            if body is None:
                body = bodies[activity.id] = json.dumps(activity.body).encode()
            async with semaphore:
                try:
                    return await self.federation.client.post_activity(
                        delivery.inbox, body, Signer(actor.key_id, actor.private_key_pem)
                    )
                except Exception as exc:  # every failure is evidence to keep, none is fatal
                    return exc

        results = await asyncio.gather(*(send(d, a, actor) for d, a, actor in rows))
        await self._record([row[0] for row in rows], results)
        return len(rows)

    async def _one_probe_per_recovering_host(
        self, session: AsyncSession, rows: list[Any]
    ) -> list[Any]:
        """A host back from 'unavailable' gets one delivery first, not its whole backlog.

        The rest of its rows are handed back for a minute: if the probe succeeds the host is
        healthy again and they follow; if it fails the host is marked down once more.
        """
        hosts = {row[0].host for row in rows}
        recovering = set(
            (
                await session.execute(
                    select(DeliveryHost.host).where(
                        DeliveryHost.host.in_(hosts), DeliveryHost.unavailable_until.is_not(None)
                    )
                )
            ).scalars()
        )
        if not recovering:
            return rows
        kept, held_back, probed = [], [], set()
        for row in rows:
            host = row[0].host
            if host in recovering and host in probed:
                held_back.append(row[0].id)
            else:
                probed.add(host)
                kept.append(row)
        if held_back:
            async with self.federation.db.transaction() as write:
                await write.execute(
                    update(Delivery)
                    .where(Delivery.id.in_(held_back), Delivery.lease_owner == self.name)
                    .values(
                        lease_until=None,
                        lease_owner=None,
                        next_attempt_at=self.clock() + timedelta(minutes=1),
                    )
                )
        return kept

    async def _record(self, deliveries: list[Delivery], results: list[Any]) -> None:
        now = self.clock()
        host_ok: dict[str, bool] = {}
        async with self.federation.db.transaction() as session:
            for delivery, result in zip(deliveries, results, strict=True):
                values: dict[str, Any] = {
                    "attempts": delivery.attempts + 1,
                    "last_attempt_at": now,
                    "lease_until": None,
                    "lease_owner": None,
                }
                if isinstance(result, PostResult) and 200 <= result.status < 300:
                    values.update(state="delivered", delivered_at=now, last_status=result.status)
                    values["last_error"] = None
                    host_ok[delivery.host] = True
                else:
                    if isinstance(result, PostResult):
                        outcome = Outcome(
                            FailureKind.HTTP_STATUS, result.status, result.retry_after
                        )
                        values["last_status"] = result.status
                        values["last_error"] = f"HTTP {result.status} {result.body_excerpt}"[:1000]
                        # An HTTP answer means the host is up, whatever it thought of us.
                        host_ok.setdefault(delivery.host, result.status < 500)
                    else:
                        outcome = classify(result)
                        values["last_error"] = f"{outcome.kind.value}: {result!r}"[:1000]
                        host_ok.setdefault(delivery.host, False)
                    delay = next_delay(values["attempts"], outcome, now=now)
                    if delay is None:
                        values["state"] = "dead"
                    else:
                        values["next_attempt_at"] = now + timedelta(seconds=delay)
                    log.info(
                        "delivery %s to %s failed (%s), %s",
                        delivery.id,
                        delivery.inbox,
                        values["last_error"],
                        "dead" if delay is None else f"retry in {delay:.0f}s",
                    )
                await session.execute(
                    update(Delivery)
                    .where(Delivery.id == delivery.id, Delivery.lease_owner == self.name)
                    .values(**values)
                )
            for host, ok in host_ok.items():
                await self._record_host(session, host, ok, now)

    async def _record_host(self, session: AsyncSession, host: str, ok: bool, now: datetime) -> None:
        row = await session.get(DeliveryHost, host)
        if row is None:
            if ok:
                return  # healthy hosts need no row until they first fail
            row = DeliveryHost(host=host, consecutive_failures=0)
            session.add(row)
        if ok:
            row.consecutive_failures = 0
            row.first_failure_at = None
            row.unavailable_until = None
            row.last_success_at = now
            return
        if row.consecutive_failures == 0 or row.first_failure_at is None:
            row.first_failure_at = now
        row.consecutive_failures += 1
        row.unavailable_until = host_unavailable_until(
            row.consecutive_failures, row.first_failure_at, now
        )

    async def release_abandoned_leases(self) -> int:
        """Free rows leased by worker processes of this host that no longer exist.

        After a crash or kill the rows would otherwise wait out their lease; a worker on
        another host cannot tell whether its peer is alive, so those leases simply expire.
        """
        prefix = f"{socket.gethostname()}:"
        async with self.federation.db.transaction() as session:
            owners = (
                (
                    await session.execute(
                        select(Delivery.lease_owner)
                        .where(Delivery.state == "pending", Delivery.lease_owner.startswith(prefix))
                        .distinct()
                    )
                )
                .scalars()
                .all()
            )
            dead = [owner for owner in owners if not _process_alive(owner, prefix)]
            if not dead:
                return 0
            result = await session.execute(
                update(Delivery)
                .where(Delivery.state == "pending", Delivery.lease_owner.in_(dead))
                .values(lease_until=None, lease_owner=None)
                .execution_options(synchronize_session=False)
            )
            return result.rowcount or 0

    async def run(self, stop: asyncio.Event, wake: asyncio.Event | None = None) -> None:
        """Work until stopped; sleep between empty cycles unless woken by a new enqueue."""
        wake = wake or asyncio.Event()
        released = await self.release_abandoned_leases()
        if released:
            log.info("released %d deliveries leased by a worker that is gone", released)
        while not stop.is_set():
            try:
                tried = await self.run_once()
            except Exception:
                log.exception("delivery cycle failed; trying again shortly")
                tried = 0
            if tried:
                continue
            wake.clear()
            stopper = asyncio.ensure_future(stop.wait())
            waker = asyncio.ensure_future(wake.wait())
            await asyncio.wait(
                {stopper, waker}, timeout=self.poll_interval, return_when=asyncio.FIRST_COMPLETED
            )
            stopper.cancel()
            waker.cancel()


def _process_alive(owner: str, prefix: str) -> bool:
    pid_text = owner[len(prefix) :].split(":", 1)[0]
    if not pid_text.isdigit():
        return True
    pid = int(pid_text)
    if pid == os.getpid():
        return True  # another worker of this very process: its leases are live
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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
        if state == "pending":
            bucket = "due" if due and not tried else "retrying"
        else:
            bucket = state
        per_host[bucket] += count
        totals[bucket] += count
    unavailable = {
        host: until
        for host, until in await session.execute(
            select(DeliveryHost.host, DeliveryHost.unavailable_until).where(
                DeliveryHost.unavailable_until > now
            )
        )
    }
    return {"totals": totals, "hosts": hosts, "unavailable": unavailable}
