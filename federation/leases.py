"""Short leases kept alive by a heartbeat, so a dead process's rows are free within one lease.

A queue row is claimed with `lease_until = now + lease`. A long lease makes the rows of a
killed process wait that long before anyone takes them; a short one would be lost by a live
process in the middle of a slow send or a handler waiting on a fetch. So leases are short and
the holder renews them every third of a lease while it works on them: a process that dies stops
renewing, and its rows are claimed by another within one lease.

Only the rows the holder is working on (`held`) are renewed, not everything leased under its
name: a row left leased after a failed pass must run out like a dead process's, or it would
wait forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Hashable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, update

from federation.db import Database

log = logging.getLogger(__name__)


class LeaseKeeper:
    """Renews the leases of the rows of one queue table that one holder is working on."""

    def __init__(
        self,
        db: Database,
        model: Any,
        key: Any,
        *,
        owner: Callable[[], str],
        lease: timedelta,
        clock: Callable[[], datetime],
    ) -> None:
        self.db = db
        self.model = model
        self.key = key  # the model's primary key column
        # Asked at each renewal: the holder's name may be set after it is built (tests do).
        self.owner = owner
        self.lease = lease
        self.clock = clock
        self.held: set[Hashable] = set()
        self._running = 0

    async def renew(self) -> int:
        """Push the lease of every held row one lease ahead; returns the rows still ours."""
        keys = list(self.held)
        if not keys:
            return 0
        async with self.db.transaction() as session:
            result = await session.execute(
                update(self.model)
                .where(
                    self.key.in_(bindparam("keys", keys, expanding=True)),
                    # A row another process took over after our lease ran out stays theirs.
                    self.model.lease_owner == self.owner(),
                    self.model.lease_until.is_not(None),
                )
                .values(lease_until=self.clock() + self.lease)
                .execution_options(synchronize_session=False)
            )
        return result.rowcount or 0  # type: ignore[attr-defined]

    @contextlib.asynccontextmanager
    async def beating(self) -> AsyncIterator[None]:
        """Renew the held rows every third of a lease while the block runs (re-entrant)."""
        self._running += 1
        task = None
        if self._running == 1:
            task = asyncio.create_task(self._beat(), name=f"lease-heartbeat-{self.owner()}")
        try:
            yield
        finally:
            self._running -= 1
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _beat(self) -> None:
        interval = self.lease.total_seconds() / 3
        while True:
            await asyncio.sleep(interval)
            try:
                await self.renew()
            except Exception:
                # The database refuses writes for now: the next beat tries again, and a row
                # whose lease lapses meanwhile is at worst sent or handled twice, never lost.
                log.exception("could not renew %d leases", len(self.held))
