"""The delivery worker's pipeline mechanics, with no database and no HTTP in them.

A lane keeps up to `concurrency` sends in flight, holds the claimed jobs waiting behind
them, gathers finished sends for recording in bulk, and tells its one driver (the worker's
database coroutine) when to claim, when to flush and when it is done. The sends'
completion callbacks and the driver share it on one event loop, so it needs no lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

Job = TypeVar("Job")

# How long the driver sleeps at most with nothing finishing: bounds how late it notices a
# stop or a wake.
_LONGEST_PAUSE = 0.25


class SendLane(Generic[Job]):
    def __init__(
        self,
        send: Callable[[Job], Awaitable[Any]],
        *,
        concurrency: int,
        look_ahead: int,
        flush_size: int,
        flush_interval: float,
        poll_interval: float,
    ) -> None:
        self._send = send
        self.concurrency = concurrency
        self.look_ahead = look_ahead
        self.flush_size = flush_size
        self.flush_interval = flush_interval
        self.poll_interval = poll_interval
        self.waiting: deque[Job] = deque()
        self.in_flight: set[asyncio.Task[Any]] = set()
        self.done: list[tuple[Job, Any]] = []
        self.progress = asyncio.Event()
        self._first_done_at = 0.0
        self._exhausted = False  # the last claim took all that was due: wait for a wake or a poll
        self._look_again_at = 0.0
        self._expand_at = 0.0

    # --- claiming ---------------------------------------------------------------------------

    def should_claim(self, stop: asyncio.Event, wake: asyncio.Event) -> bool:
        if stop.is_set() or not self._wants_more():
            return False
        return not self._exhausted or wake.is_set() or self._now() >= self._look_again_at

    def should_expand(self, wake: asyncio.Event) -> bool:
        # New audiences are expanded when an enqueue in this process woke us, or once per
        # poll for those of other processes; not before every claim of a long backlog.
        return wake.is_set() or self._now() >= self._expand_at

    def add(self, jobs: list[Job], *, more: bool, expanded: bool) -> None:
        """Jobs from one claim (`more`: it was full, so more rows may be due now)."""
        now = self._now()
        self._exhausted, self._look_again_at = not more, now + self.poll_interval
        if expanded:
            self._expand_at = now + self.poll_interval
        self.waiting.extend(jobs)
        self._start()

    def take_waiting(self) -> list[Job]:
        jobs = list(self.waiting)
        self.waiting.clear()
        return jobs

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

    # --- the driver's loop ------------------------------------------------------------------

    def finished(self, stop: asyncio.Event) -> bool:
        """Nothing waiting, sending or unrecorded, and nothing more to claim (or stopping)."""
        return self._drained() and not self.done and (self._exhausted or stop.is_set())

    async def wait(self, stop: asyncio.Event) -> None:
        """Until a send finishes or the next flush or claim is due."""
        if not self._exhausted and self._wants_more() and not stop.is_set():
            return  # the claim was smaller than the look-ahead: claim again now
        pause = _LONGEST_PAUSE
        now = self._now()
        if self.done:
            pause = min(pause, self._first_done_at + self.flush_interval - now)
        if self._wants_more():
            pause = min(pause, self._look_again_at - now)
        if pause <= 0 or self.progress.is_set():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.progress.wait(), pause)

    def cancel(self) -> None:
        """After an error or a cancellation: drop what waits, stop what is in flight."""
        self.waiting.clear()
        for task in self.in_flight:
            task.cancel()

    # --- internals --------------------------------------------------------------------------

    def _wants_more(self) -> bool:
        # Claim the next batch while a whole one still waits: under load a claim takes tens
        # of milliseconds (its awaits queue behind the sends' callbacks), and the sends must
        # not run dry meanwhile. At most two batches wait, far inside a lease.
        return len(self.waiting) < self.look_ahead

    def _drained(self) -> bool:
        return not self.waiting and not self.in_flight

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    def _start(self) -> None:
        while self.waiting and len(self.in_flight) < self.concurrency:
            job = self.waiting.popleft()
            task = asyncio.create_task(self._send(job))
            self.in_flight.add(task)
            task.add_done_callback(functools.partial(self._finished, job))

    def _finished(self, job: Job, task: asyncio.Task[Any]) -> None:
        self.in_flight.discard(task)
        if task.cancelled():
            return
        if not self.done:
            self._first_done_at = self._now()
        self.done.append((job, task.result()))
        self._start()
        # Wake the driver only when it has something to do: arm the flush timer, flush a
        # full batch, claim more, or finish.
        if (
            len(self.done) == 1
            or len(self.done) >= self.flush_size
            or self._wants_more()
            or not self.in_flight
        ):
            self.progress.set()
