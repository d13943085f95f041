"""Wake-ups across processes: committed work is announced to the listeners, and only that."""

from __future__ import annotations

import asyncio
import os

from support import PG_URL, create_database, drop_database, eventually

from federation.db import Database
from federation.wakeups import KINDS, Wakeups, notify_with_commit, sqlite_socket_dir


class Listener:
    def __init__(self, url: str) -> None:
        self.heard: list[str] = []
        self.changed = asyncio.Event()
        self.wakeups = Wakeups(url, self._woken)
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(self.wakeups.listen(self.stop))

    def _woken(self, kind: str) -> None:
        self.heard.append(kind)
        self.changed.set()

    async def ready(self) -> None:
        """Listening: it says so by waking for every kind once (work committed before)."""
        while set(self.heard) != KINDS:
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), 30)
        self.heard.clear()

    async def next(self) -> str:
        while not self.heard:
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), 30)
        return self.heard.pop(0)

    async def close(self) -> None:
        self.stop.set()
        await self.task


async def test_committed_work_is_announced_and_rolled_back_work_is_not(tmp_path):
    url = await create_database() or f"sqlite+aiosqlite:///{tmp_path / 'shared.sqlite3'}"
    db = Database(url)
    teller = Wakeups(url, lambda _kind: None)
    listener = Listener(url)

    async def commit(kind: str, *, roll_back: bool = False) -> None:
        try:
            async with db.transaction() as session:
                await notify_with_commit(session, kind)
                if roll_back:
                    raise LookupError("changed our mind")
        except LookupError:
            return
        teller.after_commit(kind)  # what the Federation does after every commit

    try:
        await listener.ready()
        await commit("delivery", roll_back=True)
        await commit("inbox")
        # Heard in commit order: had the rolled-back one been told, it would come first.
        assert await listener.next() == "inbox"
        await commit("delivery")
        assert await listener.next() == "delivery"
        assert listener.heard == []
    finally:
        await listener.close()
        teller.close()
        await db.dispose()
        if PG_URL:
            await drop_database(url)


async def test_a_listener_that_died_without_cleaning_up_is_forgotten(tmp_path):
    """SQLite: a killed process leaves its socket file; telling it fails once, then it is gone."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.sqlite3'}"
    place = sqlite_socket_dir(url)
    assert place is not None and len(str(place)) < 80  # a socket path must stay under 108
    place.mkdir(mode=0o700, exist_ok=True)
    dead = place / "999999999-1"
    dead.touch()  # a socket file nobody reads any more
    teller = Wakeups(url, lambda _kind: None)
    listener = Listener(url)
    try:
        await listener.ready()
        teller.after_commit("delivery")
        assert await listener.next() == "delivery"
        assert not dead.exists()
    finally:
        await listener.close()
        teller.close()
    assert list(place.iterdir()) == []  # the listener took its own socket away


async def test_a_closed_teller_still_tells_and_keeps_no_socket_open(tmp_path):
    """A node closed and still committing (a one-off command, a test after stopping its node)
    wakes the others, and leaves no socket behind for the garbage collector to find."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.sqlite3'}"
    teller = Wakeups(url, lambda _kind: None)
    listener = Listener(url)
    try:
        await listener.ready()
        teller.after_commit("delivery")
        assert await listener.next() == "delivery"
        teller.close()
        open_before = len(os.listdir("/proc/self/fd"))
        teller.after_commit("inbox")
        assert await listener.next() == "inbox"
        assert len(os.listdir("/proc/self/fd")) == open_before
    finally:
        await listener.close()
        teller.close()


async def test_a_listener_that_cannot_reach_postgresql_says_so_and_the_poll_carries_on(caplog):
    heard: list[str] = []
    stop = asyncio.Event()
    # Nothing listens on port 1: the node must go on (polling), not crash or hang.
    wakeups = Wakeups("postgresql+asyncpg://postgres@127.0.0.1:1/iwsn?ssl=disable", heard.append)
    task = asyncio.create_task(wakeups.listen(stop))

    async def warned() -> bool:
        return any("cannot LISTEN" in record.getMessage() for record in caplog.records)

    await eventually(warned)
    stop.set()
    await asyncio.wait_for(task, 10)
    assert heard == []  # no wake-up is made up
