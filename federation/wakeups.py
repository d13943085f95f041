"""Wake-ups across processes: work committed by one process starts another's workers at once.

Within a process an asyncio.Event per queue does it. But work is also committed by other
processes: the CLI raising an alert, or a web process handing inbox activities to a separate
worker process (docker-compose). Without a signal that work waits for the next poll, and hop
by hop across a network the polls add up. PostgreSQL sends a NOTIFY with the commit that
holds the work; SQLite, whose processes share one machine, gets a datagram to each listening
process's socket. Polling stays as the safety net: a lost wake-up costs one poll interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import logging
import os
import socket
import tempfile
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

log = logging.getLogger(__name__)

CHANNEL = "iwsn_wake"
KINDS = frozenset({"delivery", "inbox", "blocks"})
RECONNECT_SECONDS = 5.0
_listener_numbers = itertools.count(1)
_NOTIFY = text("SELECT pg_notify(:channel, :kind)")


async def notify_with_commit(executor: AsyncSession | AsyncConnection, kind: str) -> None:
    """On PostgreSQL, listeners hear of `kind` work when (and only if) this transaction commits.

    SQLite has no such thing; its wake-ups go out after the commit (`Wakeups.after_commit`).
    """
    bind = executor.get_bind() if isinstance(executor, AsyncSession) else executor
    if bind.dialect.name == "postgresql":
        await executor.execute(_NOTIFY, {"channel": CHANNEL, "kind": kind})


def sqlite_socket_dir(database_url: str) -> Path | None:
    """Where the processes on one SQLite file meet: short, so a socket path always fits."""
    database = make_url(database_url).database
    if not database or database == ":memory:":
        return None
    key = hashlib.sha256(os.path.realpath(database).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"iwsn-wake-{key}"


class Wakeups:
    """Tells other processes on the same database that work waits, and hears them say it."""

    def __init__(self, database_url: str, on_wake: Callable[[str], None]) -> None:
        self.database_url = database_url
        self.on_wake = on_wake
        self.is_postgresql = make_url(database_url).get_backend_name() == "postgresql"
        # The queues of this layer, and any a layer above adds (Federation.wake_event).
        self.kinds: set[str] = set(KINDS)
        self._dir = None if self.is_postgresql else sqlite_socket_dir(database_url)
        self._own: Path | None = None
        self._sender: socket.socket | None = None
        self._closed = False

    # --- telling ------------------------------------------------------------------------

    def after_commit(self, kind: str) -> None:
        """SQLite: a datagram to every other process listening on this database."""
        if self._dir is None:
            return
        try:
            sockets = [p for p in self._dir.iterdir() if p != self._own]
        except OSError:
            return  # nobody has listened here yet
        if not sockets:
            return
        if self._closed:
            # Closed, and still committing (a one-off command or a test finishing its work):
            # a socket for this once, not one left open for nobody to close.
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as once:
                once.setblocking(False)
                self._send(once, kind, sockets)
            return
        if self._sender is None:
            self._sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._sender.setblocking(False)
        self._send(self._sender, kind, sockets)

    @staticmethod
    def _send(sender: socket.socket, kind: str, sockets: list[Path]) -> None:
        for path in sockets:
            try:
                sender.sendto(kind.encode(), str(path))
            except (ConnectionRefusedError, FileNotFoundError):
                # Its process ended without cleaning up (killed): nobody will read it.
                with contextlib.suppress(OSError):
                    path.unlink()
            except OSError:
                pass  # its buffer is full, so it has wake-ups waiting already

    # --- hearing ------------------------------------------------------------------------

    async def listen(self, stop: asyncio.Event) -> None:
        """Runs until `stop`: passes every wake-up heard to `on_wake`."""
        if self.is_postgresql:
            await self._listen_postgresql(stop)
        elif self._dir is not None:
            await self._listen_sqlite(stop)

    def _heard(self, kind: str) -> None:
        if kind in self.kinds:
            self.on_wake(kind)

    def _heard_everything(self) -> None:
        """Once listening: work committed before that moment would otherwise wait for a poll."""
        for kind in sorted(self.kinds):
            self.on_wake(kind)

    async def _listen_sqlite(self, stop: asyncio.Event) -> None:
        assert self._dir is not None
        try:
            self._dir.mkdir(mode=0o700, exist_ok=True)
            own = self._dir / f"{os.getpid()}-{next(_listener_numbers)}"
            receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            receiver.setblocking(False)
            receiver.bind(str(own))
        except OSError as exc:
            log.warning("no wake-ups from other processes (%s); polling only", exc)
            return
        self._own = own
        loop = asyncio.get_running_loop()

        def readable() -> None:
            while True:
                try:
                    data = receiver.recv(64)
                except (BlockingIOError, InterruptedError):
                    return
                except OSError:
                    return
                self._heard(data.decode("ascii", "replace"))

        loop.add_reader(receiver.fileno(), readable)
        self._heard_everything()
        try:
            await stop.wait()
        finally:
            loop.remove_reader(receiver.fileno())
            receiver.close()
            with contextlib.suppress(OSError):
                own.unlink()
            self._own = None

    async def _listen_postgresql(self, stop: asyncio.Event) -> None:
        import asyncpg
        from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg

        # The arguments SQLAlchemy itself gives asyncpg for this URL (ssl, port, password
        # with odd characters...), so the listener connects wherever the node's pool does.
        dialect = PGDialect_asyncpg()  # type: ignore[no-untyped-call]
        args, options = dialect.create_connect_args(make_url(self.database_url))  # type: ignore[no-untyped-call]
        warned = False
        while not stop.is_set():
            lost = asyncio.Event()
            try:
                connection = await asyncpg.connect(*args, **options)
            except (OSError, asyncpg.PostgresError) as exc:
                if not warned:
                    log.warning("cannot LISTEN for wake-ups (%s); polling until it can", exc)
                    warned = True
                await _wait(stop, RECONNECT_SECONDS)
                continue
            warned = False
            try:
                connection.add_termination_listener(lambda _c, lost=lost: lost.set())
                await connection.add_listener(
                    CHANNEL, lambda _c, _pid, _channel, payload: self._heard(payload)
                )
                self._heard_everything()
                await _first(stop, lost)
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("wake-up listener lost (%s); reconnecting", exc)
            finally:
                with contextlib.suppress(Exception):
                    await connection.close(timeout=5)
            if not stop.is_set():
                await _wait(stop, RECONNECT_SECONDS)

    def close(self) -> None:
        self._closed = True
        if self._sender is not None:
            self._sender.close()
            self._sender = None


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def _first(*events: asyncio.Event) -> None:
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
