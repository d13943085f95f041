"""Processes that run background work say, every little while, that they are alive.

The queues only show a dead worker once something waits in them; on a quiet node nothing
does, and the first sign would be a follower's missing delivery. A row per live process,
renewed every `BEAT_EVERY`, lets `iwsn doctor` (and the admin) see it at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from federation.db import Database, rowcount, utcnow
from federation.models import WorkerHeartbeat

log = logging.getLogger(__name__)

BEAT_EVERY = timedelta(seconds=30)
# Three missed beats: a process busy on a long pass still beats (the loop runs beside it),
# so this is a dead or frozen process, not a slow one.
SILENT_AFTER = 3 * BEAT_EVERY
# Rows of processes that died long ago: nobody needs to read them.
FORGET_AFTER = timedelta(days=1)


def process_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:128]


async def beat(db: Database, name: str, *, now: datetime | None = None) -> None:
    now = now or utcnow()
    async with db.transaction() as session:
        renewed = await session.execute(
            update(WorkerHeartbeat)
            .where(WorkerHeartbeat.name == name)
            .values(beat_at=now, stopped_at=None)
        )
        if not rowcount(renewed):
            session.add(WorkerHeartbeat(name=name, started_at=now, beat_at=now))


async def stopped(db: Database, name: str, *, now: datetime | None = None) -> None:
    now = now or utcnow()
    async with db.transaction() as session:
        await session.execute(
            update(WorkerHeartbeat)
            .where(WorkerHeartbeat.name == name)
            .values(beat_at=now, stopped_at=now)
        )


async def alive(db: Database, *, now: datetime | None = None) -> Sequence[WorkerHeartbeat]:
    """The processes that beat recently, newest first."""
    now = now or utcnow()
    async with db.read() as session:
        rows = await session.scalars(
            select(WorkerHeartbeat)
            .where(
                WorkerHeartbeat.beat_at >= now - SILENT_AFTER,
                WorkerHeartbeat.stopped_at.is_(None),
            )
            .order_by(WorkerHeartbeat.beat_at.desc())
        )
        return rows.all()


async def last_beat(db: Database) -> datetime | None:
    """When the last process that ran background work was last heard of (or stopped)."""
    async with db.read() as session:
        beats: datetime | None = await session.scalar(
            select(WorkerHeartbeat.beat_at).order_by(WorkerHeartbeat.beat_at.desc()).limit(1)
        )
        return beats


async def prune(db: Database, *, now: datetime | None = None) -> int:
    now = now or utcnow()
    async with db.transaction() as session:
        result = await session.execute(
            delete(WorkerHeartbeat).where(WorkerHeartbeat.beat_at < now - FORGET_AFTER)
        )
        return rowcount(result)


async def keep_beating(
    db: Database, stop: asyncio.Event, *, name: str | None = None, every: timedelta = BEAT_EVERY
) -> None:
    """Beat until `stop`, then say so: a clean stop reads differently from a silent death."""
    name = name or process_name()
    try:
        while not stop.is_set():
            try:
                await beat(db, name)
            except Exception:
                log.exception("heartbeat failed; trying again at the next beat")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every.total_seconds())
    finally:
        with contextlib.suppress(Exception):
            await stopped(db, name)
