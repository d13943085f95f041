"""The delivery worker: claims due rows with a lease, sends them, records each attempt."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Integer, Row, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from federation.client import PostResult, Signer
from federation.db import UTCDateTime, utcnow
from federation.delivery_errors import classify
from federation.delivery_fanout import FANOUT_BATCH, expand_fanouts
from federation.delivery_lane import HostPace, SendLane
from federation.follows import inbox_gone
from federation.host_health import Swept, host_resting, record_hosts, recovering_hosts
from federation.host_health import sweep as sweep_queue
from federation.lease_loop import LeaseLoop
from federation.models import Delivery, DeliveryState, LocalActor, OutboxActivity
from federation.retry import FailureKind, Outcome, next_delay

if TYPE_CHECKING:
    from federation.node import Federation

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Job:
    """One claimed row, ready to send: what the POST needs and what its record needs."""

    id: int
    inbox: str
    host: str
    attempts: int
    body: bytes
    signer: Signer


def _host_of_job(job: _Job) -> str:
    return job.host


# A sent job and what came back: a PostResult, or the exception the POST raised.
_Done = tuple[_Job, Any]

_table = Delivery.__table__
# One statement for every failed row of a flush, run as an executemany. COALESCE keeps the
# previous status after a network error (the last HTTP answer is still evidence) and the due
# time of a row that is now dead.
_RECORD_FAILURE = (
    update(_table)
    .where(_table.c.id == bindparam("b_id"), _table.c.lease_owner == bindparam("b_owner"))
    .values(
        state=bindparam("b_state"),
        attempts=bindparam("b_attempts"),
        last_attempt_at=bindparam("b_now", type_=UTCDateTime()),
        last_status=func.coalesce(bindparam("b_status", type_=Integer), _table.c.last_status),
        last_error=bindparam("b_error"),
        next_attempt_at=func.coalesce(
            bindparam("b_next", type_=UTCDateTime()), _table.c.next_attempt_at
        ),
        lease_until=None,
        lease_owner=None,
    )
)


class DeliveryWorker:
    """Claims due rows, sends them concurrently, records each attempt's evidence.

    `run()` is the production loop, a pipeline: up to `concurrency` POSTs stay in flight
    while the next batch is claimed and finished ones are recorded in bulk, so the network
    never waits for the database nor the database for the slowest inbox. `run_once()` is one
    strict claim -> send -> record cycle, for tests that move a fake clock between cycles.
    """

    def __init__(
        self,
        federation: Federation,
        *,
        name: str | None = None,
        batch_size: int = 200,
        concurrency: int = 64,
        lease: timedelta | None = None,
        clock: Callable[[], datetime] = utcnow,
        poll_interval: float = 1.0,
        flush_size: int = 100,
        flush_interval: float = 0.05,
        per_host: int = 8,
        slow_concurrency: int = 16,
        slow_after: float = 2.0,
        stop_grace: float = 2.0,
    ) -> None:
        self.federation = federation
        self.batch_size = batch_size
        self.concurrency = concurrency
        # Short, and renewed while the rows are worked on: see federation/leases.py.
        self.lease = lease or timedelta(seconds=federation.config.lease_seconds)
        self.clock = clock
        self.poll_interval = poll_interval
        # The lease heartbeat is the one database write outside `_drive`: one small UPDATE
        # every third of a lease.
        self.loop = LeaseLoop(
            federation.db,
            Delivery.id,
            kind="delivery",
            lease=self.lease,
            clock=clock,
            poll_interval=poll_interval,
            name=name,
        )
        # Results are written when this many are waiting, or when the oldest has waited this
        # long: a few statements per ~100 rows instead of one per row, and a quiet queue's
        # rows are still marked delivered within a blink.
        self.flush_size = flush_size
        self.flush_interval = flush_interval
        # Slots: see federation/delivery_lane.py. `per_host` matches the connection pool's
        # own limit per host; the slow lane is a quarter of the ordinary one.
        self.per_host = per_host
        self.slow_concurrency = slow_concurrency
        self.pace = HostPace(slow_after)
        # On stop, sends in flight get this long to finish; the rest are cut short and their
        # rows handed back, still due: a dripping receiver must not hold up a shutdown.
        self.stop_grace = stop_grace
        # The pipeline sweeps this often (run_once at every cycle).
        self.sweep_interval = 60.0
        self._sweep_at = 0.0

    @property
    def name(self) -> str:
        """The lease owner this worker's claims are written under."""
        return self.loop.name

    async def claim(self, *, skip_hosts: Collection[str] = ()) -> list[Row[Any]]:
        """Lease up to `batch_size` due rows; returns them in the order they should go out.

        `skip_hosts`: hosts whose sends already fill their slots in this worker.
        """
        now = self.clock()
        conditions = [
            Delivery.state == DeliveryState.PENDING,
            Delivery.next_attempt_at <= now,
            self.loop.free(now),
            ~host_resting(now),
        ]
        if skip_hosts:
            conditions.append(Delivery.host.not_in(list(skip_hosts)))
        due = (
            select(Delivery.id)
            .where(*conditions)
            # New deliveries before backlogged retries: a host that was down for a day must
            # not delay what is published now (GoToSocial's rule).
            .order_by(
                Delivery.priority.desc(),
                Delivery.attempts > 0,
                Delivery.next_attempt_at,
                Delivery.id,
            )
            .limit(self.batch_size)
        )
        claimed = await self.loop.claim(
            due,
            Delivery.id,
            Delivery.inbox,
            Delivery.host,
            Delivery.attempts,
            Delivery.activity_id,
            Delivery.priority,
            now=now,
        )
        # RETURNING has no order: restore the claim's own, so the lane and new rows still go
        # out first within the batch.
        return sorted(claimed, key=lambda r: (-r.priority, r.attempts > 0, r.id))

    async def sweep(self) -> Swept:
        """Give up on rows past their retry span or to hosts given up on; resume hosts that
        have sent us something since."""
        async with self.federation.db.transaction() as session:
            swept = await sweep_queue(session, self.clock())
        if swept.too_old or swept.unavailable:
            log.info(
                "gave up on %d deliveries past their retry span and %d to unavailable servers",
                swept.too_old,
                swept.unavailable,
            )
        if swept.resumed:
            log.info("delivering again to %s: heard from them", ", ".join(swept.resumed))
        return swept

    async def run_once(self) -> int:
        """One cycle: sweep, expand new fan-outs, claim, send, record. Returns rows tried."""
        await self.sweep()
        async with self.loop.holding():
            jobs, _more = await self._next_jobs(probing={})
            if not jobs:
                return 0
            semaphore = asyncio.Semaphore(self.concurrency)

            async def limited(job: _Job) -> Any:
                async with semaphore:
                    return await self._send(job)

            results = await asyncio.gather(*(limited(job) for job in jobs))
            await self._record(list(zip(jobs, results, strict=True)))
            return len(jobs)

    async def run_until_idle(
        self, stop: asyncio.Event | None = None, wake: asyncio.Event | None = None
    ) -> int:
        """Pipeline until nothing is due and nothing is in flight, or `stop`; rows sent.

        On `stop` no more rows are claimed, those claimed but not sent are handed back, and
        the sends in flight get `stop_grace` seconds to finish and be recorded; those still
        out then are cut short and handed back.
        """
        lane: SendLane[_Job] = SendLane(
            self._send,
            key=_host_of_job,
            per_host=self.per_host,
            slow_concurrency=self.slow_concurrency,
            pace=self.pace,
            concurrency=self.concurrency,
            look_ahead=self.batch_size,
            flush_size=self.flush_size,
            flush_interval=self.flush_interval,
            poll_interval=self.poll_interval,
        )
        try:
            async with self.loop.holding():
                return await self._drive(lane, stop or asyncio.Event(), wake or asyncio.Event())
        finally:
            lane.cancel()  # only an error or a cancellation leaves sends behind

    async def run(self, stop: asyncio.Event, wake: asyncio.Event | None = None) -> None:
        """Work until stopped; sleep between idle passes unless woken by a new enqueue."""
        wake = wake or asyncio.Event()
        released = await self.release_abandoned_leases()
        if released:
            log.info("released %d deliveries leased by a worker that is gone", released)

        async def drain() -> bool:
            # A pass ends when nothing is due; what it sent may have been followed by more.
            return await self.run_until_idle(stop, wake) > 0

        await self.loop.run(drain, stop, wake)

    async def _drive(self, lane: SendLane[_Job], stop: asyncio.Event, wake: asyncio.Event) -> int:
        """The pipeline's one database task: claim while sends run, record as they finish.

        All database work stays in this one coroutine, so a worker's claims and records never
        wait on each other's write lock (SQLite has one), while the POSTs run in their tasks.
        """
        probing: dict[str, int] = {}  # recovering host -> its probe's row, until recorded
        sent = 0
        while True:
            lane.progress.clear()  # before looking, so a send finishing meanwhile is not missed
            if lane.should_claim(stop, wake):
                expand = lane.should_expand(wake)
                wake.clear()
                jobs, more = await self._next_jobs(
                    probing, expand=expand, skip_hosts=lane.busy_hosts()
                )
                lane.add(jobs, more=more, expanded=expand)
            if lane.flush_due():
                sent += await self._flush(lane.take_done(), probing)
            # Rows parked behind a slow host go back after a third of a lease: the heartbeat
            # keeps them ours, but another worker with a free slot for that host may take them.
            unsent = lane.take_overdue(self.lease.total_seconds() / 3)
            if stop.is_set():
                lane.stop(self.stop_grace)
                unsent += lane.take_waiting()
            unsent += lane.take_interrupted()
            if unsent:
                await self._release(unsent, probing)
            if lane.finished(stop):
                return sent
            await lane.wait(stop)

    async def _flush(self, done: list[_Done], probing: dict[str, int]) -> int:
        await self._record(done)
        # A recovering host's probe is answered: its other rows may be claimed again.
        recorded = {job.id for job, _ in done}
        for host, probe_id in list(probing.items()):
            if probe_id in recorded:
                del probing[host]
        return len(done)

    def _loop_time(self) -> float:
        return asyncio.get_running_loop().time()

    async def _release(self, jobs: list[_Job], probing: dict[str, int]) -> None:
        """Hand back rows claimed but not sent (or cut short by a stop): still due."""
        ids = {job.id for job in jobs}
        for host, probe_id in list(probing.items()):
            if probe_id in ids:
                del probing[host]
        await self._hand_back(sorted(ids))

    async def _next_jobs(
        self, probing: dict[str, int], *, expand: bool = True, skip_hosts: Collection[str] = ()
    ) -> tuple[list[_Job], bool]:
        """Expand, claim and prepare the next batch; also says whether more may be waiting.

        A claim smaller than the batch took everything due: looking again at once would be
        an empty write transaction. What comes later is announced by a wake-up or found by
        the poll (retries coming due).
        """
        if self._loop_time() >= self._sweep_at:
            self._sweep_at = self._loop_time() + self.sweep_interval
            await self.sweep()
        expanded = 0
        if expand:
            expanded = await expand_fanouts(
                self.federation.db, self.federation.own_host, now=self.clock(), limit=FANOUT_BATCH
            )
        claimed = await self.claim(skip_hosts=skip_hosts)
        more = len(claimed) >= self.batch_size or expanded >= FANOUT_BATCH
        if not claimed:
            return [], more
        return await self._prepare(claimed, probing), more

    async def _prepare(self, claimed: list[Row[Any]], probing: dict[str, int]) -> list[_Job]:
        """Body and signer for each claimed row; all but one row of a recovering host go back.

        A host back from 'unavailable' gets one delivery first, not its whole backlog: the
        rest of its rows are handed back for a minute. If the probe succeeds the host is
        healthy again and they follow; if it fails the host is marked down once more. A host
        whose probe is still in flight (`probing`, host -> row id) gets no second one.
        """
        async with self.federation.db.read() as session:
            sources = await _sources(session, {row.activity_id for row in claimed})
            recovering = await recovering_hosts(session, {row.host for row in claimed})
        kept: list[_Job] = []
        held_back: list[int] = []
        for row in claimed:
            source = sources.get(row.activity_id)
            if source is None:
                self.loop.held.discard(row.id)
                continue  # the activity was deleted meanwhile; its rows go with it
            if row.host in recovering:
                if row.host in probing:
                    held_back.append(row.id)
                    continue
                probing[row.host] = row.id
            kept.append(_Job(row.id, row.inbox, row.host, row.attempts, *source))
        if held_back:
            await self._hand_back(held_back, retry_at=self.clock() + timedelta(minutes=1))
        return kept

    async def _hand_back(self, ids: list[int], *, retry_at: datetime | None = None) -> None:
        """Give up the lease of rows not sent, so they are claimed again (after `retry_at`)."""
        values = {} if retry_at is None else {"next_attempt_at": retry_at}
        await self.loop.hand_back(ids, **values)

    async def _send(self, job: _Job) -> Any:
        try:
            # The client bounds the HTTP exchange; this bounds the whole attempt (signing
            # included), so no send can hold a slot, or its lease, past twice that.
            async with asyncio.timeout(2 * self.federation.config.delivery_timeout):
                return await self.federation.client.post_activity(job.inbox, job.body, job.signer)
        except Exception as exc:  # every failure is evidence to keep, none is fatal
            return exc

    async def _record(self, done: list[_Done]) -> None:
        """Write a batch of attempts: one UPDATE per status for the delivered rows, one
        executemany for the failed ones, then the health of the hosts they went to.

        Only rows still leased to this worker are written: a row whose lease ran out may
        already have been sent and recorded by another worker.
        """
        now = self.clock()
        self.loop.held.difference_update(job.id for job, _ in done)
        delivered: dict[int, list[int]] = {}
        failed: list[dict[str, Any]] = []
        host_up: dict[str, bool] = {}
        gone: set[str] = set()
        for job, result in done:
            if isinstance(result, PostResult) and 200 <= result.status < 300:
                delivered.setdefault(result.status, []).append(job.id)
                host_up[job.host] = True
            else:
                params, up = _failure_params(job, result, now)
                failed.append(params | {"b_owner": self.name})
                host_up.setdefault(job.host, up)
                if isinstance(result, PostResult) and result.status == 410:
                    gone.add(job.inbox)
        async with self.federation.db.transaction() as session:
            for status, ids in delivered.items():
                await session.execute(
                    update(Delivery)
                    .where(Delivery.id.in_(ids), self.loop.ours())
                    .values(
                        state=DeliveryState.DELIVERED,
                        attempts=Delivery.attempts + 1,
                        last_attempt_at=now,
                        delivered_at=now,
                        last_status=status,
                        last_error=None,
                        lease_until=None,
                        lease_owner=None,
                    )
                    .execution_options(synchronize_session=False)
                )
            if failed:
                await session.execute(_RECORD_FAILURE, failed)
            await record_hosts(session, host_up, now)
            for inbox in sorted(gone):
                await inbox_gone(session, inbox)

    async def release_abandoned_leases(self) -> int:
        """Free pending rows leased by worker processes of this host that no longer exist."""
        return await self.loop.release_abandoned(Delivery.state == DeliveryState.PENDING)


async def _sources(
    session: AsyncSession, activity_ids: set[int]
) -> dict[int, tuple[bytes, Signer]]:
    """Each activity's body, serialized once per batch, and its actor's signer."""
    rows = await session.execute(
        select(OutboxActivity.id, OutboxActivity.body, LocalActor)
        .join(LocalActor, OutboxActivity.local_actor_id == LocalActor.id)
        .where(OutboxActivity.id.in_(activity_ids))
    )
    return {
        activity_id: (json.dumps(body).encode(), Signer(actor.key_id, actor.private_key_pem))
        for activity_id, body, actor in rows
    }


def _failure_params(job: _Job, result: Any, now: datetime) -> tuple[dict[str, Any], bool]:
    """The failed row's new values (as `_RECORD_FAILURE` parameters), and whether the host
    answered at all."""
    attempts = job.attempts + 1
    if isinstance(result, PostResult):
        outcome = Outcome(FailureKind.HTTP_STATUS, result.status, result.retry_after)
        status: int | None = result.status
        error = f"HTTP {result.status} {result.body_excerpt}"[:1000]
        # An HTTP answer means the host is up, whatever it thought of us.
        up = result.status < 500
    else:
        outcome = classify(result)
        status, error, up = None, f"{outcome.kind.value}: {result!r}"[:1000], False
    delay = next_delay(attempts, outcome, now=now)
    log.info(
        "delivery %s to %s failed (%s), %s",
        job.id,
        job.inbox,
        error,
        "dead" if delay is None else f"retry in {delay:.0f}s",
    )
    params = {
        "b_id": job.id,
        "b_state": DeliveryState.DEAD if delay is None else DeliveryState.PENDING,
        "b_attempts": attempts,
        "b_now": now,
        "b_status": status,
        "b_error": error,
        "b_next": None if delay is None else now + timedelta(seconds=delay),
    }
    return params, up
