"""The loop every queue's worker runs: claim due rows under a lease, work on them, wait, stop.

A queue is a table whose rows carry `lease_until` and `lease_owner`; which rows are due, in
what order, and what working on one means is the worker's business (delivery, inbox
processing, and whatever queue comes next). This loop does the rest the same way for all of
them: it leases the rows a claim selects, so that workers in several processes never take the
same row (`FOR UPDATE SKIP LOCKED` on PostgreSQL); keeps their leases alive while they are
worked on (federation/leases.py); hands back what was not done; frees the rows of a holder
whose process died; and between passes waits for a wake-up (federation/wakeups.py) or the
poll, until stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Hashable, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Row, Select, and_, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute

from federation.db import Database, rowcount
from federation.leases import LeaseKeeper

log = logging.getLogger(__name__)


class LeaseLoop:
    """One holder's claims on one queue table, and the loop that runs its passes.

    `key` is the table's primary key column; `kind` names the queue in logs.
    """

    def __init__(
        self,
        db: Database,
        key: InstrumentedAttribute[Any],
        *,
        kind: str,
        lease: timedelta,
        clock: Callable[[], datetime],
        poll_interval: float,
        name: str | None = None,
    ) -> None:
        self.db = db
        self.key = key
        self.model: Any = key.class_
        self.kind = kind
        self.lease = lease
        self.clock = clock
        self.poll_interval = poll_interval
        # Host and process first: `release_abandoned` reads them back.
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"[:64]
        self.leases = LeaseKeeper(
            db, self.model, key, owner=lambda: self.name, lease=lease, clock=clock
        )

    @property
    def held(self) -> set[Hashable]:
        """Keys of the rows claimed and not yet recorded or handed back: renewed while held."""
        return self.leases.held

    def free(self, now: datetime) -> ColumnElement[bool]:
        """Rows nobody holds: never leased, handed back, or their holder's lease ran out.

        Never one this holder is still working on: if its heartbeat comes late (a loaded
        machine) the row's lease lapses, and claiming it again would send it twice from here.
        """
        lapsed = or_(self.model.lease_until.is_(None), self.model.lease_until < now)
        if not self.held:
            return lapsed
        return and_(lapsed, self.key.not_in(list(self.held)))

    def ours(self) -> ColumnElement[bool]:
        """Rows leased to this holder: a row whose lease ran out may be another's by now, and
        what this holder writes about it must not land."""
        return cast(ColumnElement[bool], self.model.lease_owner == self.name)

    async def claim(
        self, due: Select[Any], *columns: Any, now: datetime | None = None
    ) -> Sequence[Row[Any]]:
        """Lease the rows whose keys `due` selects (filtered, ordered and limited by the
        worker) and return their `columns`, which must include the key, in no set order.

        The selected rows are locked and skipped by concurrent claims, so no two holders get
        the same row. They are held until recorded or handed back.
        """
        now = now or self.clock()
        locked = due.with_for_update(skip_locked=True).scalar_subquery()
        async with self.db.transaction() as session:
            result = await session.execute(
                update(self.model)
                .where(self.key.in_(locked))
                .values(lease_until=now + self.lease, lease_owner=self.name)
                .returning(*columns)
                .execution_options(synchronize_session=False)
            )
            rows = result.all()
        self.held.update(getattr(row, self.key.key) for row in rows)
        return rows

    async def hand_back(self, keys: Collection[Hashable], **values: Any) -> None:
        """Give up the lease of rows not worked on, so they are claimed again (with `values`
        written too: a later due time, say)."""
        self.held.difference_update(keys)
        async with self.db.transaction() as session:
            await session.execute(
                update(self.model)
                .where(self.key.in_(list(keys)), self.ours())
                .values(lease_until=None, lease_owner=None, **values)
                .execution_options(synchronize_session=False)
            )

    @contextlib.asynccontextmanager
    async def holding(self) -> AsyncIterator[None]:
        """Keep the held rows' leases alive while the block runs. Whatever is still held when
        it ends (an error) is no longer renewed: it runs out within a lease and is claimed
        again, so it is worked on at least once, never lost."""
        try:
            async with self.leases.beating():
                yield
        finally:
            self.held.clear()

    async def release_abandoned(self, *where: ColumnElement[bool]) -> int:
        """Free the rows (among those `where` selects) leased by holders in processes of this
        host that no longer exist; returns how many.

        After a crash or a kill they would otherwise wait out their lease. A holder on another
        host cannot tell whether its peer is alive, so those leases simply expire.
        """
        prefix = f"{socket.gethostname()}:"
        owner = self.model.lease_owner
        async with self.db.transaction() as session:
            owners = (
                (
                    await session.execute(
                        select(owner).where(*where, owner.startswith(prefix)).distinct()
                    )
                )
                .scalars()
                .all()
            )
            dead = [name for name in owners if not _process_alive(name, prefix)]
            if not dead:
                return 0
            result = await session.execute(
                update(self.model)
                .where(*where, owner.in_(dead))
                .values(lease_until=None, lease_owner=None)
                .execution_options(synchronize_session=False)
            )
            return rowcount(result)

    async def run(
        self, work: Callable[[], Awaitable[bool]], stop: asyncio.Event, wake: asyncio.Event
    ) -> None:
        """Run passes of `work` until `stop`.

        A pass returns whether more may be due at once; if not, the loop waits for `wake`
        (work announced in this process or another) or `poll_interval` (retries coming due,
        a wake-up lost). A pass that fails is logged and tried again after that wait: the
        rows it held keep their lease until it runs out, then go to whoever claims first.
        """
        while not stop.is_set():
            # Cleared before looking, not after: work stored while this pass runs must end the
            # next wait at once instead of waiting out the poll.
            wake.clear()
            try:
                again = await work()
            except Exception:
                log.exception("%s pass failed; trying again shortly", self.kind)
                again = False
            if not again:
                await _first(stop, wake, longest=self.poll_interval)


async def _first(*events: asyncio.Event, longest: float) -> None:
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=longest, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


def _process_alive(owner: str, prefix: str) -> bool:
    pid_text = owner[len(prefix) :].split(":", 1)[0]
    if not pid_text.isdigit():
        return True
    pid = int(pid_text)
    if pid == os.getpid():
        return True  # another holder in this very process: its leases are live
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
