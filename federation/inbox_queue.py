"""The inbox queue: verified activities written in batches, then processed in order.

Writing is a group commit: every request waiting at the same moment shares one transaction,
so a burst of deliveries costs a few commits instead of one each, and still no sender gets its
202 before its activity is on disk. Processing runs apart from the request, as Mastodon's
inbox hands activities to a job queue.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Row, or_, select, update
from sqlalchemy.dialects import postgresql

from federation.db import Database, utcnow
from federation.handlers import InboxContext, mark_done
from federation.lease_loop import LeaseLoop
from federation.models import InboxState, LocalActor, ReceivedActivity, RemoteActor
from federation.retry import Backoff
from federation.wakeups import notify_with_commit

if TYPE_CHECKING:
    from federation.node import Federation

log = logging.getLogger(__name__)

MAX_BATCH = 256
# A failing handler is tried 5 times over ~42 minutes (waits of 30 s, 2, 8 and 32 minutes):
# long enough for a fetch to come back after a remote server's restart.
HANDLER_RETRY = Backoff(base=30.0, factor=4, attempts=5)


@dataclass
class _Pending:
    row: dict[str, Any]
    future: asyncio.Future[bool]


class InboxWriter:
    """Collects accepted activities and writes each burst in one transaction."""

    def __init__(self, db: Database, on_written: Callable[[], None]) -> None:
        self.db = db
        self.on_written = on_written
        self._queue: asyncio.Queue[_Pending] | None = None
        self._task: asyncio.Task[None] | None = None
        self._sqlite_columns: list[tuple[str, Callable[[Any], Any] | None]] | None = None

    async def submit(
        self,
        activity: dict[str, Any],
        actor_uri: str,
        recipient_id: int | None,
        *,
        raw: bytes | None = None,
    ) -> bool:
        """Store the activity; True if it is new, False if it was already there.

        `raw`, the JSON text the activity was parsed from, is stored as it came when it is
        UTF-8, instead of serializing the parsed activity again.
        """
        if self._queue is None or self._task is None or self._task.done():
            self._queue = asyncio.Queue()
            self._task = asyncio.create_task(self._run(self._queue), name="inbox-writer")
        now = utcnow()
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        row = {
            "uri": activity["id"],
            "actor_uri": actor_uri,
            "activity_type": activity["type"],
            "recipient_id": recipient_id,
            "body": _stored_text(activity, raw) if self.db.is_sqlite else activity,
            "received_at": now,
            "next_attempt_at": now,
            "state": InboxState.PENDING,
            "attempts": 0,
        }
        await self._queue.put(_Pending(row, future))
        return await future

    async def _run(self, queue: asyncio.Queue[_Pending]) -> None:
        while True:
            batch = [await queue.get()]
            # One turn of the loop lets every request already parsed join this transaction.
            await asyncio.sleep(0)
            while len(batch) < MAX_BATCH and not queue.empty():
                batch.append(queue.get_nowait())
            try:
                inserted = await self._write([item.row for item in batch])
            except Exception as exc:
                log.exception("inbox write failed")
                for item in batch:
                    if not item.future.done():
                        item.future.set_exception(exc)
                continue
            if inserted:
                self.on_written()
            for item in batch:
                # The same activity twice in one burst: only its first copy counts as new.
                is_new = item.row["uri"] in inserted
                inserted.discard(item.row["uri"])
                if not item.future.done():
                    item.future.set_result(is_new)

    async def _write(self, rows: list[dict[str, Any]]) -> set[str]:
        unique: dict[str, dict[str, Any]] = {}
        for row in rows:
            unique.setdefault(row["uri"], row)
        if self.db.is_sqlite:
            return await self._write_sqlite(list(unique.values()))
        table = ReceivedActivity.__table__
        # Core, not the ORM's bulk path: a third of this method's time went to ORM bookkeeping.
        statement = (
            postgresql.insert(table)
            .on_conflict_do_nothing(index_elements=["uri"])
            .returning(table.c.uri)
        )
        async with self.db.engine.begin() as connection:
            result = await connection.execute(statement, list(unique.values()))
            await notify_with_commit(connection, "inbox")
            return set(result.scalars())

    async def _write_sqlite(self, rows: list[dict[str, Any]]) -> set[str]:
        # One statement, one trip to the database's write thread (Database.sqlite_write);
        # the values are converted here so that the thread runs nothing but SQL.
        if self._sqlite_columns is None:
            self._sqlite_columns = _sqlite_converters(self.db)
        converters = self._sqlite_columns
        values = [
            convert(row[name]) if convert else row[name]
            for row in rows
            for name, convert in converters
        ]
        rows_sql = ", ".join([_SQLITE_ROW] * len(rows))
        sql = f"{_SQLITE_INSERT} {rows_sql} ON CONFLICT (uri) DO NOTHING RETURNING uri"

        def insert(connection: sqlite3.Connection) -> set[str]:
            return {uri for (uri,) in connection.execute(sql, values).fetchall()}

        return await self.db.sqlite_write(insert)

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None


_ROW_COLUMNS = (
    "uri",
    "actor_uri",
    "activity_type",
    "recipient_id",
    "body",
    "received_at",
    "next_attempt_at",
    "state",
    "attempts",
)


# Only the table's own names and placeholders go into the SQL text.
_SQLITE_INSERT = f"INSERT INTO received_activities ({', '.join(_ROW_COLUMNS)}) VALUES"
_SQLITE_ROW = "(" + ", ".join("?" * len(_ROW_COLUMNS)) + ")"


# What a claim returns of each activity: all that handling it needs.
_CLAIMED = (
    ReceivedActivity.uri,
    ReceivedActivity.actor_uri,
    ReceivedActivity.recipient_id,
    ReceivedActivity.body,
    ReceivedActivity.received_at,
    ReceivedActivity.attempts,
    ReceivedActivity.handlers_done,
)


def _stored_text(activity: dict[str, Any], raw: bytes | None) -> str:
    if raw is not None:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            pass  # JSON also comes as UTF-16 or UTF-32; stored as UTF-8 text like the rest
    return json.dumps(activity)


def _sqlite_converters(db: Database) -> list[tuple[str, Callable[[Any], Any] | None]]:
    """Each column with SQLAlchemy's own conversion to what SQLite stores (dates as text)."""
    table = ReceivedActivity.__table__
    dialect = db.engine.dialect
    return [
        # The body is JSON text already (_stored_text).
        (name, None if name == "body" else table.c[name].type.bind_processor(dialect))
        for name in _ROW_COLUMNS
    ]


class InboxProcessor:
    """Hands queued activities to the domain's handlers, oldest first."""

    def __init__(
        self,
        federation: Federation,
        *,
        name: str | None = None,
        batch_size: int = 100,
        lease: timedelta | None = None,
        clock: Callable[[], datetime] = utcnow,
        poll_interval: float = 1.0,
    ) -> None:
        self.federation = federation
        self.batch_size = batch_size
        self.clock = clock
        # Short, and renewed while the batch is worked on (federation/leases.py): a handler
        # waiting on a slow fetch keeps its activity, and the batch of a processor that died
        # goes to another within one lease, still in order.
        self.loop = LeaseLoop(
            federation.db,
            ReceivedActivity.uri,
            kind="inbox",
            lease=lease or timedelta(seconds=federation.config.lease_seconds),
            clock=clock,
            poll_interval=poll_interval,
            name=name,
        )

    @property
    def name(self) -> str:
        """The lease owner this processor's claims are written under."""
        return self.loop.name

    async def claim(self) -> list[Row[Any]]:
        now = self.clock()
        due = (
            select(ReceivedActivity.uri)
            .where(
                ReceivedActivity.state == InboxState.PENDING,
                ReceivedActivity.next_attempt_at <= now,
                or_(
                    self.loop.free(now),
                    # Ours still, at a claim: a batch of ours ended without releasing it (see
                    # run_once), since this processor claims only when its batch is over.
                    self.loop.ours(),
                ),
            )
            .order_by(ReceivedActivity.received_at, ReceivedActivity.uri)
            .limit(self.batch_size)
        )
        rows = await self.loop.claim(due, *_CLAIMED, now=now)
        # RETURNING has no order: restore the claim's own, so the batch is handled in order.
        return sorted(rows, key=lambda row: (row.received_at, row.uri))

    async def run_once(self) -> int:
        """Process one batch; returns how many activities were handled (or failed)."""
        rows = await self.claim()
        if not rows:
            return 0
        async with self.loop.holding():
            for position, row in enumerate(rows):
                try:
                    await self._process(row)
                except Exception:
                    # Recording a handler's failure failed too (a full disk, a lost
                    # connection): the rest of the batch is let go at once rather than
                    # when its lease runs out.
                    await self._release(rows[position:])
                    raise
                self.loop.held.discard(row.uri)
        return len(rows)

    async def _release(self, rows: list[Row[Any]]) -> None:
        try:
            await self.loop.hand_back([row.uri for row in rows])
        except Exception:
            # The database refuses writes for now; this processor's next claim takes its own
            # leases back anyway.
            log.exception("could not release %d inbox activities", len(rows))

    async def _process(self, row: Row[Any]) -> None:
        try:
            context = await self._context(row)
            if context is not None:
                await self.federation.registry.dispatch(context)
                if not context.done:
                    async with self.federation.db.transaction() as session:
                        await mark_done(session, row.uri)
            else:
                async with self.federation.db.transaction() as session:
                    await mark_done(session, row.uri)
        except Exception as exc:
            log.warning("inbox activity %s failed: %r", row.uri, exc)
            await self._failed(row, exc)

    async def _context(self, row: Row[Any]) -> InboxContext | None:
        async with self.federation.db.read() as session:
            actor = await session.get(RemoteActor, row.actor_uri)
            recipient = (
                await session.get(LocalActor, row.recipient_id) if row.recipient_id else None
            )
        if actor is None:
            return None  # forgotten since (account deleted): nothing left to act for
        if self.federation.blocks.actor_blocked(row.actor_uri):
            return None  # blocked after it was accepted: its word counts no more than a new one
        return InboxContext(
            self.federation,
            row.body,
            actor,
            recipient,
            handlers_done=set(row.handlers_done or ()),
            lease_owner=self.name,
        )

    async def _failed(self, row: Row[Any], exc: Exception) -> None:
        attempts = row.attempts + 1
        values: dict[str, Any] = {
            "attempts": attempts,
            "last_error": repr(exc)[:1000],
            "lease_until": None,
            "lease_owner": None,
        }
        delay = HANDLER_RETRY.delay(attempts)
        if delay is None:
            values["state"] = InboxState.FAILED
        else:
            values["next_attempt_at"] = self.clock() + timedelta(seconds=delay)
        async with self.federation.db.transaction() as session:
            await session.execute(
                update(ReceivedActivity)
                .where(ReceivedActivity.uri == row.uri, self.loop.ours())
                .values(**values)
            )

    async def run(self, stop: asyncio.Event, wake: asyncio.Event) -> None:
        """Work until stopped; sleep between batches unless woken by a newly stored activity."""

        async def batch() -> bool:
            # A full batch: more may be waiting. Fewer: all that was due was taken.
            return await self.run_once() >= self.batch_size

        await self.loop.run(batch, stop, wake)
