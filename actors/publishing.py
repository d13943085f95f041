"""The three moves every kind of our own content makes on the wire: published, changed,
withdrawn. Each kind's module keeps its rules and calls these, so a new kind (a report, a
call) is published, edited and deleted as actions, days and alerts are."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from federation.db import utcnow
from federation.delivery import LANE_NORMAL
from federation.models import LocalActor
from federation.node import Federation


class Content(Protocol):
    uri: str
    updated_at: datetime
    deleted_at: datetime | None


# A kind's `*_to_as.activity`: (kind, base URL, id factory, item, actor, **extra) -> activity.
Mapper = Callable[..., dict[str, Any]]


def advance(item: Content) -> None:
    """Move `updated` forward: Mastodon re-renders an `Update` only when `updated` moves
    forward, and `updated` is published to the second, so two edits within one second must
    still differ."""
    item.updated_at = max(utcnow(), item.updated_at + timedelta(seconds=1)).replace(microsecond=0)


async def send(
    federation: Federation,
    session: AsyncSession,
    kind: str,
    mapper: Mapper,
    item: Content,
    actor: LocalActor,
    *,
    priority: int = LANE_NORMAL,
    **extra: Any,
) -> None:
    """`Create` or `Update` of `item` as it is now, to the followers of `actor`."""
    activity = mapper(kind, federation.config.base_url, federation.new_id, item, actor, **extra)
    await federation.publish(session, activity, actor=actor, priority=priority)


async def changed(
    federation: Federation,
    session: AsyncSession,
    mapper: Mapper,
    item: Content,
    actor: LocalActor,
    *,
    priority: int = LANE_NORMAL,
    **extra: Any,
) -> None:
    """`item` was edited (or cancelled, or resolved): `updated` moves on, and `Update` goes."""
    advance(item)
    await send(federation, session, "Update", mapper, item, actor, priority=priority, **extra)


async def withdrawn(
    federation: Federation,
    session: AsyncSession,
    mapper: Mapper,
    item: Content,
    actor: LocalActor,
    *,
    priority: int = LANE_NORMAL,
) -> None:
    """`item` is withdrawn: it answers 410 with a Tombstone from now on, leaves the outbox
    (servers reading it later, as Gancio does on follow, must not revive it), and `Delete`
    goes to the followers."""
    item.deleted_at = utcnow()
    advance(item)
    await federation.retract_from_outbox(session, item.uri)
    await send(federation, session, "Delete", mapper, item, actor, priority=priority)
