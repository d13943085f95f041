"""The delivery worker's pipeline mechanics, with no database and no HTTP in them.

A lane keeps sends in flight, holds the claimed jobs waiting behind them, gathers finished
sends for recording in bulk, and tells its one driver (the worker's database coroutine) when
to claim, when to flush and when it is done. The sends' completion callbacks and the driver
share it on one event loop, so it needs no lock.

A few slow or hostile servers must not hold the slots everyone else needs, so the slots are
bounded three ways:
- `concurrency` sends at once to ordinary hosts;
- `per_host` of them to any one host (more would only queue inside the connection pool,
  which opens as many connections per host);
- hosts that answered slowly of late (`HostPace`) go to a separate, smaller lane of
  `slow_concurrency` slots, one send at a time per host; a host not heard from lately also
  gets one send at a time, until it answers within `slow_after`. A send to an ordinary host that
  overruns `slow_after` moves to that lane if it has room, and is cut short otherwise
  (a time-out, retried later): so a slow host unknown so far holds an ordinary slot for
  `slow_after` at most.
Jobs whose host is at its bound are parked, in order, and go first when a slot frees; once a
batch's worth is parked for one host, claims leave that host's rows in the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

Job = TypeVar("Job")

# How long the driver sleeps at most with nothing finishing: bounds how late it notices a
# stop or a wake.
_LONGEST_PAUSE = 0.25
# The claim's list of hosts to leave alone stays a reasonable SQL parameter list.
_MOST_EXCLUDED = 500


class HostPace:
    """Hosts whose recent deliveries were slow, remembered for `memory` seconds.

    Kept by the worker across its lanes, in memory: a restart forgets it, and the first send
    to each slow host finds out again within `slow_after`.
    """

    def __init__(self, slow_after: float = 2.0, memory: float = 600.0) -> None:
        self.slow_after = slow_after
        self.memory = memory
        self._slow: dict[str, float] = {}
        self._quick: dict[str, float] = {}

    def is_slow(self, host: str) -> bool:
        return self._remembered(self._slow, host)

    def is_quick(self, host: str) -> bool:
        """Answered within `slow_after` of late; a host not heard from is neither."""
        return self._remembered(self._quick, host)

    def mark_slow(self, host: str) -> None:
        self._quick.pop(host, None)
        self._slow[host] = time.monotonic() + self.memory

    def mark_quick(self, host: str) -> None:
        self._slow.pop(host, None)
        if len(self._quick) > 50_000:
            now = time.monotonic()
            self._quick = {h: until for h, until in self._quick.items() if until >= now}
        self._quick[host] = time.monotonic() + self.memory

    def _remembered(self, memory: dict[str, float], host: str) -> bool:
        until = memory.get(host)
        if until is None:
            return False
        if until < time.monotonic():
            del memory[host]
            return False
        return True

    def slow_hosts(self) -> list[str]:
        now = time.monotonic()
        return [host for host, until in self._slow.items() if until >= now]


@dataclass(eq=False)
class _Slot:
    host: str
    slow: bool
    started: float
    timeout: asyncio.Timeout | None = None
    watch: asyncio.TimerHandle | None = None
    cut_reason: str | None = None  # set when the lane ends the send early
    interrupted: bool = False  # cut short by a stop: hand the job back, record nothing


class SendLane(Generic[Job]):
    def __init__(
        self,
        send: Callable[[Job], Awaitable[Any]],
        *,
        key: Callable[[Job], str],
        concurrency: int,
        look_ahead: int,
        flush_size: int,
        flush_interval: float,
        poll_interval: float,
        per_host: int | None = None,
        slow_concurrency: int = 0,
        pace: HostPace | None = None,
    ) -> None:
        self._send = send
        self._key = key
        self.concurrency = concurrency
        self.per_host = per_host or concurrency
        self.slow_concurrency = slow_concurrency
        self.pace = pace or HostPace()
        self.look_ahead = look_ahead
        self.flush_size = flush_size
        self.flush_interval = flush_interval
        self.poll_interval = poll_interval
        self.waiting: deque[Job] = deque()
        self.parked: dict[str, deque[tuple[Job, float]]] = {}
        self.in_flight: dict[asyncio.Task[Any], _Slot] = {}
        self.done: list[tuple[Job, Any]] = []
        self.interrupted: list[Job] = []
        self.progress = asyncio.Event()
        self._per_host_count: Counter[str] = Counter()
        self._ordinary = 0  # sends in ordinary slots
        self._slow = 0  # sends in the slow lane
        self._first_done_at = 0.0
        self._exhausted = False  # the last claim took all that was due: wait for a wake or a poll
        self._look_again_at = 0.0
        self._expand_at = 0.0
        self._stopping: asyncio.TimerHandle | None = None
        self._skipped: set[str] = set()  # hosts the last claim left alone
        self._skipped_slow = False  # ... because the slow lane was full
        self._freed_during_claim = False  # one of those freed up while the claim ran

    # --- claiming ---------------------------------------------------------------------------

    def should_claim(self, stop: asyncio.Event, wake: asyncio.Event) -> bool:
        if stop.is_set() or not self._wants_more():
            return False
        return not self._exhausted or wake.is_set() or self._now() >= self._look_again_at

    def should_expand(self, wake: asyncio.Event) -> bool:
        # New audiences are expanded when an enqueue in this process woke us, or once per
        # poll for those of other processes; not before every claim of a long backlog.
        return wake.is_set() or self._now() >= self._expand_at

    def busy_hosts(self) -> list[str]:
        """Hosts a claim should leave alone for now: a batch of their rows is parked already,
        or they are slow and the slow lane is full. When one of them frees up, the lane
        claims again even if the last claim took everything it was offered."""
        busy = {host for host, queue in self.parked.items() if len(queue) >= self.look_ahead}
        self._skipped_slow = bool(self.slow_concurrency) and self._slow >= self.slow_concurrency
        if self._skipped_slow:
            busy.update(self.pace.slow_hosts())
        self._skipped = set(sorted(busy)[:_MOST_EXCLUDED])
        self._freed_during_claim = False
        return sorted(self._skipped)

    def add(self, jobs: list[Job], *, more: bool, expanded: bool) -> None:
        """Jobs from one claim (`more`: it was full, so more rows may be due now)."""
        now = self._now()
        # A host the claim left alone that freed up while it ran has rows it did not look at.
        self._exhausted = not more and not self._freed_during_claim
        self._look_again_at = now + self.poll_interval
        if expanded:
            self._expand_at = now + self.poll_interval
        self.waiting.extend(jobs)
        self._start()

    def take_waiting(self) -> list[Job]:
        """Every job not started: waiting, and parked behind a busy host."""
        jobs = [job for queue in self.parked.values() for job, _ in queue]
        jobs.extend(self.waiting)
        self.waiting.clear()
        self.parked.clear()
        return jobs

    def take_overdue(self, longest: float) -> list[Job]:
        """Parked jobs that waited `longest` seconds: to hand back before their lease ends."""
        limit = self._now() - longest
        overdue: list[Job] = []
        for host in list(self.parked):
            queue = self.parked[host]
            while queue and queue[0][1] <= limit:
                overdue.append(queue.popleft()[0])
            if not queue:
                del self.parked[host]
        return overdue

    # --- recording --------------------------------------------------------------------------

    def flush_due(self) -> bool:
        """Enough results for one bulk write, the oldest waited long enough, or the end."""
        if not self.done:
            return False
        return (
            len(self.done) >= self.flush_size
            or self._now() - self._first_done_at >= self.flush_interval
            or self._drained()
        )

    def take_done(self) -> list[tuple[Job, Any]]:
        done, self.done = self.done, []
        return done

    def take_interrupted(self) -> list[Job]:
        interrupted, self.interrupted = self.interrupted, []
        return interrupted

    # --- stopping ---------------------------------------------------------------------------

    def stop(self, grace: float) -> None:
        """Sends in flight get `grace` seconds to finish, then are cut short and handed back."""
        if self._stopping is None:
            self._stopping = asyncio.get_running_loop().call_later(grace, self._interrupt_all)

    def _interrupt_all(self) -> None:
        for slot in self.in_flight.values():
            slot.interrupted = True
            self._cut(slot, "the worker is stopping")

    # --- the driver's loop ------------------------------------------------------------------

    def finished(self, stop: asyncio.Event) -> bool:
        """Nothing waiting, sending or unrecorded, and nothing more to claim (or stopping)."""
        return (
            self._drained()
            and not self.done
            and not self.interrupted
            and (self._exhausted or stop.is_set())
        )

    async def wait(self, stop: asyncio.Event) -> None:
        """Until a send finishes or the next flush or claim is due."""
        if not self._exhausted and self._wants_more() and not stop.is_set():
            return  # the claim was smaller than the look-ahead: claim again now
        pause = _LONGEST_PAUSE
        now = self._now()
        if self.done:
            pause = min(pause, self._first_done_at + self.flush_interval - now)
        if self._wants_more() and not stop.is_set():
            # (Stopping, nothing more is claimed: waiting for the next look would spin.)
            pause = min(pause, self._look_again_at - now)
        if pause <= 0 or self.progress.is_set():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.progress.wait(), pause)

    def cancel(self) -> None:
        """After an error or a cancellation: drop what waits, stop what is in flight."""
        self.waiting.clear()
        self.parked.clear()
        if self._stopping is not None:
            self._stopping.cancel()
        for task, slot in self.in_flight.items():
            if slot.watch is not None:
                slot.watch.cancel()
            task.cancel()

    # --- internals --------------------------------------------------------------------------

    def _wants_more(self) -> bool:
        # Claim the next batch while a whole one still waits: under load a claim takes tens
        # of milliseconds (its awaits queue behind the sends' callbacks), and the sends must
        # not run dry meanwhile. At most two batches wait, far inside a lease. Parked jobs
        # do not count: they wait for their host, and the other hosts must keep moving.
        return len(self.waiting) < self.look_ahead

    def _drained(self) -> bool:
        return not self.waiting and not self.parked and not self.in_flight

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    def _host_cap(self, host: str) -> int:
        if not self.slow_concurrency:
            return self.per_host
        # A host gets its full share once it has answered quickly: until then one send finds
        # out its pace, instead of several at once finding a slow host the hard way.
        return self.per_host if self.pace.is_quick(host) else 1

    def _room(self, host: str) -> bool | None:
        """True: start it now; False: park it; None: no ordinary slot free, stop starting."""
        slow = bool(self.slow_concurrency) and self.pace.is_slow(host)
        if self._per_host_count[host] >= self._host_cap(host):
            return False
        if slow:
            return self._slow < self.slow_concurrency
        return None if self._ordinary >= self.concurrency else True

    def _start(self) -> None:
        self._start_parked()
        while self.waiting:
            job = self.waiting[0]
            host = self._key(job)
            room = False if host in self.parked else self._room(host)
            if room is None:
                return
            self.waiting.popleft()
            if room:
                self._launch(job, host)
            else:
                self.parked.setdefault(host, deque()).append((job, self._now()))

    def _start_parked(self) -> None:
        for host in list(self.parked):
            queue = self.parked[host]
            while queue and self._room(host):
                self._launch(queue.popleft()[0], host)
            if not queue:
                del self.parked[host]

    def _launch(self, job: Job, host: str) -> None:
        slow = bool(self.slow_concurrency) and self.pace.is_slow(host)
        slot = _Slot(host, slow, self._now())
        task = asyncio.create_task(self._run(job, slot))
        self.in_flight[task] = slot
        self._per_host_count[host] += 1
        if slow:
            self._slow += 1
        else:
            self._ordinary += 1
        if not slow and self.slow_concurrency:
            slot.watch = asyncio.get_running_loop().call_later(
                self.pace.slow_after, self._overran, task
            )
        task.add_done_callback(functools.partial(self._finished, job))

    async def _run(self, job: Job, slot: _Slot) -> Any:
        try:
            async with asyncio.timeout(None) as timeout:
                slot.timeout = timeout
                if slot.cut_reason is not None:
                    timeout.reschedule(self._now())
                return await self._send(job)
        except TimeoutError as exc:
            if slot.cut_reason is None:
                return exc
            return TimeoutError(slot.cut_reason)

    def _freed_skipped(self, slot: _Slot) -> bool:
        if slot.slow and self._skipped_slow:
            self._skipped_slow = False
            return True
        if slot.host in self._skipped and len(self.parked.get(slot.host, ())) < self.look_ahead:
            self._skipped.discard(slot.host)
            return True
        return False

    def _cut(self, slot: _Slot, reason: str) -> None:
        if slot.cut_reason is None:
            slot.cut_reason = reason
        if slot.timeout is not None:
            slot.timeout.reschedule(self._now())

    def _overran(self, task: asyncio.Task[Any]) -> None:
        """An ordinary send is still out after `slow_after`: its host is slow."""
        slot = self.in_flight.get(task)
        if slot is None or slot.slow:
            return
        slot.watch = None
        self.pace.mark_slow(slot.host)
        if self.slow_concurrency and self._slow < self.slow_concurrency:
            slot.slow = True
            self._ordinary -= 1
            self._slow += 1
            self._start()  # its ordinary slot is free
        else:
            self._cut(slot, f"no answer within {self.pace.slow_after:g}s, slow lane full")

    def _finished(self, job: Job, task: asyncio.Task[Any]) -> None:
        slot = self.in_flight.pop(task)
        if slot.watch is not None:
            slot.watch.cancel()
        self._per_host_count[slot.host] -= 1
        if not self._per_host_count[slot.host]:
            del self._per_host_count[slot.host]
        if slot.slow:
            self._slow -= 1
        else:
            self._ordinary -= 1
        if task.cancelled():
            return
        if slot.interrupted:
            self.interrupted.append(job)
        else:
            if self._now() - slot.started < self.pace.slow_after:
                self.pace.mark_quick(slot.host)
            if not self.done:
                self._first_done_at = self._now()
            self.done.append((job, task.result()))
        self._start()
        if self._freed_skipped(slot):
            self._exhausted = False  # rows the last claim left alone may go now
            self._freed_during_claim = True
        # Wake the driver only when it has something to do: arm the flush timer, flush a
        # full batch, claim more, hand back, or finish.
        if (
            len(self.done) == 1
            or len(self.done) >= self.flush_size
            or self._wants_more()
            or slot.interrupted
            or not self._exhausted
            or not self.in_flight
        ):
            self.progress.set()
