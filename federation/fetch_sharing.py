"""Sparing remote servers (and ourselves) repeated fetches: shared, remembered, bounded.

Anyone can make an inbox fetch: a POST names a keyId, and we must look at it before we know
whether the sender is who it says. These keep that from multiplying: concurrent requests for
one document share one fetch, a failure is remembered for a while, and one host gets only a
few of our fetches at a time.

All of it lives in the memory of one process. With several web processes, each asks on its
own, so a failing key is fetched at most once per process per memory span: still a small,
fixed number, which is all this is for; nothing here decides what is true.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


class SingleFlight(Generic[T]):
    """One run per key at a time; whoever asks while it runs gets the same task's outcome."""

    def __init__(self) -> None:
        self._running: dict[Hashable, asyncio.Task[T]] = {}

    def run(self, key: Hashable, start: Callable[[], Awaitable[T]]) -> asyncio.Task[T]:
        """The running task for `key`, or a new one. Await it through `asyncio.shield`:
        one caller giving up must not cancel the work the others wait for."""
        task = self._running.get(key)
        if task is None:
            task = asyncio.ensure_future(start())
            self._running[key] = task
            task.add_done_callback(lambda done: self._finished(key, done))
        return task

    def _finished(self, key: Hashable, task: asyncio.Task[T]) -> None:
        if self._running.get(key) is task:
            del self._running[key]
        # Everyone may have stopped waiting (deadlines); the outcome is still looked at.
        if not task.cancelled():
            task.exception()

    async def aclose(self) -> None:
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


@dataclass(frozen=True)
class Failure:
    message: str
    status: int | None


class Recent(Generic[T]):
    """Values by URL (or key), each forgotten `seconds` after it was remembered."""

    def __init__(self, seconds: float, *, size: int = 10_000) -> None:
        self.seconds = seconds
        self.size = size
        self._entries: OrderedDict[str, tuple[float, T]] = OrderedDict()

    def remember(self, key: str, value: T) -> None:
        self._entries[key] = (time.monotonic() + self.seconds, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def recall(self, key: str) -> T | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        until, value = entry
        if time.monotonic() >= until:
            del self._entries[key]
            return None
        return value


class HostSlots:
    """At most `per_host` of our requests to one host at a time; the rest wait their turn."""

    def __init__(self, per_host: int) -> None:
        self.per_host = per_host
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._users: dict[str, int] = {}

    @asynccontextmanager
    async def slot(self, host: str) -> AsyncIterator[None]:
        semaphore = self._slots.setdefault(host, asyncio.Semaphore(self.per_host))
        self._users[host] = self._users.get(host, 0) + 1
        try:
            async with semaphore:
                yield
        finally:
            self._users[host] -= 1
            if not self._users[host]:
                # Only hosts in use keep a semaphore: one per host ever seen would grow forever.
                del self._users[host], self._slots[host]
