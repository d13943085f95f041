"""Engine, sessions and column types shared by every layer's tables."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar, TypeVar, cast

from sqlalchemy import CursorResult, DateTime, Engine, Result, String, Table, create_engine, event
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import (
    DeclarativeBase,
    ORMExecuteState,
    Session,
    UOWTransaction,
    sessionmaker,
)
from sqlalchemy.types import TypeDecorator

from federation.content_version import ContentVersion, is_shown


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Always aware UTC in Python; SQLite would otherwise hand back naive datetimes."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        # SQLite compares timestamps as text: one fixed format keeps ordering right.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


E = TypeVar("E", bound=StrEnum)


class EnumText(TypeDecorator[E]):
    """A StrEnum stored as its value in a plain text column, read back as the enum.

    Not SQLAlchemy's Enum: the column keeps the strings it held before the enum existed, with
    no CHECK constraint to migrate; a value the enum does not know fails on write instead.
    """

    impl = String
    cache_ok = True

    def __init__(self, enum: type[E], length: int = 16) -> None:
        super().__init__(length)
        self.enum = enum

    def process_bind_param(self, value: E | str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> E | None:
        return None if value is None else self.enum(value)


T = TypeVar("T")


class Base(DeclarativeBase):
    # Every model here maps one table, which Core statements (bulk inserts) take as such.
    __table__: ClassVar[Table]


class Database:
    """One engine per node; nodes in one test process each have their own.

    `content_version` is the count that commits to shown tables move (federation/
    content_version.py); give the node's shared one wherever pages may be cached.
    """

    def __init__(
        self, url: str, *, echo: bool = False, content_version: ContentVersion | None = None
    ) -> None:
        self.url = url
        self.content_version = content_version or ContentVersion()
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            # isolation_level=None hands transaction control to us (see _sqlite_begin).
            kwargs["connect_args"] = {"timeout": 30, "isolation_level": None}
        else:
            kwargs["pool_size"] = 10
            kwargs["max_overflow"] = 10
            kwargs["pool_pre_ping"] = True
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        self.read_engine = self.engine
        if not self.is_sqlite:
            event.listen(self.engine.sync_engine, "handle_error", _recycle_read_only_sessions)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
            event.listen(self.engine.sync_engine, "begin", _sqlite_begin_immediate)
            # Readers keep deferred transactions: in WAL mode they never wait for the writer.
            self.read_engine = create_async_engine(url, **kwargs)
            event.listen(self.read_engine.sync_engine, "connect", _sqlite_pragmas)
            event.listen(self.read_engine.sync_engine, "begin", _sqlite_begin_deferred)
        self._blocking: sqlite3.Connection | None = None
        self._blocking_thread: ThreadPoolExecutor | None = None
        info = {_VERSION: self.content_version}
        tracked: dict[str, Any] = {"sync_session_class": _ContentTrackingSession, "info": info}
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False, **tracked)
        self.read_sessions = async_sessionmaker(self.read_engine, expire_on_commit=False, **tracked)
        self._reading_engine: Engine | None = None
        self._reading_engine_made = threading.Lock()
        self._reading_threads: ThreadPoolExecutor | None = None
        self._reading_sessions = sessionmaker(
            class_=_ContentTrackingSession, expire_on_commit=False, info=dict(info)
        )

    def carry_in_sessions(self, **values: Any) -> None:
        """Every session from now on has these in its `info`, beside what it had."""
        for maker in (self.sessions, self.read_sessions, self._reading_sessions):
            maker.configure(info={**maker.kw.get("info", {}), **values})

    async def read_at_once(self, work: Callable[[Session], T]) -> T:
        """`work`'s statements, read as one step of the event loop.

        For a read of several statements on a hot page (the search "near you"). Through
        aiosqlite each statement costs several round trips to its thread, each waking the
        event loop: on SQLite `work` runs whole in a reading thread, on a plain sqlite3
        connection through SQLAlchemy's synchronous engine, one trip in all. On PostgreSQL the
        statements go over the network anyway: `work` runs in an async session (`run_sync`),
        each statement on its own (autocommit). The objects `work` returns are detached from
        the session, loaded.
        """
        database = make_url(self.url).database
        if not self.is_sqlite:
            async with self.read_engine.connect() as connection:
                # Under READ COMMITTED each statement reads its own snapshot, in a transaction
                # or not: without BEGIN and ROLLBACK the read saves two round trips.
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                async with self.read_sessions(bind=connection) as session:
                    read: T = await session.run_sync(work)
                    return read
        if not database or database == ":memory:":
            async with self.read() as session:
                return await session.run_sync(work)
        if self._reading_threads is None:
            self._reading_threads = ThreadPoolExecutor(2, thread_name_prefix="sqlite-read")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._reading_threads, self._read_in_thread, work)

    def _read_in_thread(self, work: Callable[[Session], T]) -> T:
        with self._reading_engine_made:
            if self._reading_engine is None:
                self._reading_engine = self._make_reading_engine()
        with self._reading_sessions(bind=self._reading_engine) as session, session.begin():
            return work(session)

    def _make_reading_engine(self) -> Engine:
        url = make_url(self.url).set(drivername="sqlite")
        # The reading threads share the pool's connections, one at a time each.
        engine = create_engine(
            url, connect_args={"timeout": 30, "isolation_level": None, "check_same_thread": False}
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_deferred)
        return engine

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session whose work commits on success and rolls back on any exception."""
        async with self.sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A read-only session; never hold one (or a transaction) across network I/O."""
        async with self.read_sessions() as session, session.begin():
            yield session

    async def sqlite_write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """SQLite only: `work` in one write transaction, in one trip to a thread of its own.

        For the hottest write, the inbox's group commit. Through aiosqlite every DBAPI call is
        a round trip to its thread (a dozen per transaction, each waking the event loop), and
        those trips cost the loop more than the inserts. `work` gets a plain sqlite3
        connection inside BEGIN IMMEDIATE; it should run SQL only: Python code there competes
        with the event loop for the GIL.
        """
        if not self.is_sqlite:
            raise RuntimeError("sqlite_write on a database that is not SQLite")
        loop = asyncio.get_running_loop()
        if self._blocking_thread is None:
            self._blocking_thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-write")
        return await loop.run_in_executor(self._blocking_thread, self._in_write_transaction, work)

    def _in_write_transaction(self, work: Callable[[sqlite3.Connection], T]) -> T:
        if self._blocking is None:
            database = make_url(self.url).database or ":memory:"
            self._blocking = sqlite3.connect(
                database, timeout=30, isolation_level=None, check_same_thread=False
            )
            _sqlite_pragmas(self._blocking, None)
            # Waiting for the write lock is done below: SQLite's own busy handler sleeps
            # 1, 2, 5, 10... ms between tries, far longer than another web process of this
            # node holds the lock for one batch.
            self._blocking.execute("PRAGMA busy_timeout=0")
        connection = self._blocking
        _begin_immediate(connection)
        try:
            result = work(connection)
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        return result

    async def dispose(self) -> None:
        self.content_version.close()
        if self._blocking_thread is not None:
            self._blocking_thread.submit(self._close_blocking)
            self._blocking_thread.shutdown(wait=True)
            self._blocking_thread = None
        if self._reading_threads is not None:
            self._reading_threads.shutdown(wait=True)
            self._reading_threads = None
        if self._reading_engine is not None:
            self._reading_engine.dispose()
            self._reading_engine = None
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()

    def _close_blocking(self) -> None:
        if self._blocking is not None:
            self._blocking.close()
            self._blocking = None


_VERSION = "content_version"
_CHANGED = "content_changed"
_WRITES = ("insert", "update", "delete")


class _ContentTrackingSession(Session):
    """A session that moves the node's content version once it commits a write to a shown
    table, so no process serves a page made before the write."""


@event.listens_for(_ContentTrackingSession, "after_flush")
def _flushed(session: Session, _transaction: UOWTransaction) -> None:
    for instance in (*session.new, *session.dirty, *session.deleted):
        table = getattr(type(instance), "__table__", None)
        if table is None or is_shown(table.name):
            session.info[_CHANGED] = True
            return


@event.listens_for(_ContentTrackingSession, "do_orm_execute")
def _executed(state: ORMExecuteState) -> None:
    statement: Any = state.statement
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(statement, "table", None)
        name = getattr(table, "name", None)
        if not isinstance(name, str) or is_shown(name):
            state.session.info[_CHANGED] = True
    elif not state.is_select:
        # Raw SQL: judged by its first word, and counted whatever table it names.
        sql = str(statement).lstrip().lower()
        if sql.startswith(_WRITES):
            state.session.info[_CHANGED] = True


@event.listens_for(_ContentTrackingSession, "after_commit")
def _committed(session: Session) -> None:
    if session.info.pop(_CHANGED, False):
        session.info[_VERSION].bump()


LOCK_WAIT_SECONDS = 30.0
LOCK_RETRY_SECONDS = 0.0002


def _begin_immediate(connection: sqlite3.Connection) -> None:
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        try:
            connection.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            busy = (exc.sqlite_errorcode & 0xFF) == sqlite3.SQLITE_BUSY
            if not busy or time.monotonic() > deadline:
                raise
        time.sleep(LOCK_RETRY_SECONDS)


# SQLSTATE read_only_sql_transaction: a write refused because the session is read-only.
_READ_ONLY = "25006"


def _recycle_read_only_sessions(context: Any) -> None:
    """Drop every pooled connection once PostgreSQL refuses a write as read-only.

    A session takes `default_transaction_read_only` when it connects: connections opened while
    the database was read-only (a failover, a full disk, maintenance) stay read-only after it
    is writable again. Treated as a disconnect, the refusal empties the pool, so the next
    transaction starts on a fresh connection instead of failing until someone restarts us.
    """
    error = context.original_exception
    code = getattr(error, "sqlstate", None) or getattr(error.__cause__, "sqlstate", None)
    if code == _READ_ONLY:
        context.is_disconnect = True


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the web process read while a worker writes; busy_timeout waits instead of failing.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin_immediate(connection: Any) -> None:
    # A deferred transaction that reads and then writes fails at once with SQLITE_BUSY when
    # another connection wrote meanwhile (busy_timeout does not apply); taking the write lock
    # up front makes concurrent writers wait their turn instead.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_begin_deferred(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN")


def rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE touched: `execute` types its answer as any Result, though a
    statement without RETURNING always gives a CursorResult."""
    return cast(CursorResult[Any], result).rowcount or 0
