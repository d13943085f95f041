"""Attempts in a sliding window, counted in the database: failed logins, sign-up forms.

In the database, not in memory, so every web process of a node counts the same attempts: a
node run as N processes would otherwise allow N times as many guesses. A key is what is being
limited (a client address, an account name); only its hash is stored, and rows older than the
window are deleted as new ones come.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import Index, String, delete, func, select
from sqlalchemy.orm import Mapped, mapped_column
from starlette.types import Scope

from federation import content_version
from federation.db import Base, Database, UTCDateTime, utcnow

__all__ = ["Throttle", "ThrottleHit", "client_address"]


def client_address(scope: Scope) -> str:
    """The visitor's address, the key of the per-address limits. uvicorn has already replaced
    the connection's address by X-Forwarded-For when the connection came from a proxy the
    admin trusts (web/serving.py), and only then: anyone else's header is ignored."""
    client = scope.get("client")
    return client[0] if client else "unknown"


class ThrottleHit(Base):
    """One attempt that counts against `key` in `scope` (e.g. login-address)."""

    __tablename__ = "throttle_hits"
    __table_args__ = (Index("ix_throttle_hits_scope_key_at", "scope", "key_hash", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(32))
    key_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


content_version.not_shown(ThrottleHit.__tablename__)  # counted attempts, never shown


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class Throttle:
    """At most `max_attempts` per key in `window_seconds`, shared by all processes.

    Record an attempt with `hit` before making it, so that requests sent in parallel see one
    another; `clear` forgets a key's attempts once one succeeds.
    """

    def __init__(
        self, db: Database, scope: str, *, max_attempts: int = 5, window_seconds: float = 900.0
    ) -> None:
        self.db = db
        self.scope = scope
        self.max_attempts = max_attempts
        self.window = timedelta(seconds=window_seconds)

    async def retry_after(self, key: str, *, now: datetime | None = None) -> int | None:
        """Seconds until `key` may try again, or None if it may try now."""
        now = now or utcnow()
        until = await self.refused_until(key, now=now)
        if until is None:
            return None
        return max(1, int((until - now).total_seconds()) + 1)

    async def refused_until(self, key: str, *, now: datetime | None = None) -> datetime | None:
        """When `key` may try again (its oldest counted attempt leaves the window), or None if
        it may try now. Refused attempts are not recorded, so nothing but time moves it."""
        now = now or utcnow()
        async with self.db.read() as session:
            count, oldest = (
                await session.execute(
                    select(func.count(ThrottleHit.id), func.min(ThrottleHit.at)).where(
                        ThrottleHit.scope == self.scope,
                        ThrottleHit.key_hash == _hash(key),
                        ThrottleHit.at > now - self.window,
                    )
                )
            ).one()
        if count < self.max_attempts or oldest is None:
            return None
        return oldest + self.window

    async def hit(self, key: str, *, now: datetime | None = None) -> bool:
        """Record an attempt; False when it is one too many (others came in at the same time)."""
        now = now or utcnow()
        async with self.db.transaction() as session:
            await session.execute(
                delete(ThrottleHit).where(
                    ThrottleHit.scope == self.scope, ThrottleHit.at <= now - self.window
                )
            )
            session.add(ThrottleHit(scope=self.scope, key_hash=_hash(key), at=now))
            await session.flush()
            count = (
                await session.execute(
                    select(func.count(ThrottleHit.id)).where(
                        ThrottleHit.scope == self.scope, ThrottleHit.key_hash == _hash(key)
                    )
                )
            ).scalar_one()
        return count <= self.max_attempts

    async def clear(self, key: str) -> None:
        async with self.db.transaction() as session:
            await session.execute(
                delete(ThrottleHit).where(
                    ThrottleHit.scope == self.scope, ThrottleHit.key_hash == _hash(key)
                )
            )
