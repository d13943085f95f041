"""Solidarity days from other servers, kept: stored, updated and withdrawn as their origin says.

`actors.remote_events` decides whether an incoming `Event` is a day and whether we follow its
sender; these keep only what comes from one of the day's owners (`actors.ownership`) or from
its own server's answer to a fetch, and never an older version.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from actors.models import SolidarityDay
from actors.ownership import may_change, may_withdraw
from actors.solidarity_days import by_uri
from federation.db import utcnow

log = logging.getLogger(__name__)


async def store_remote(
    session: AsyncSession, fields: dict[str, Any], document: dict[str, Any], sender: str | None
) -> bool:
    """Insert or update a remote day; False when refused, or what we hold is as new or newer.

    `sender`: who pushed it, None when fetched from its origin (see `ownership.may_change`).
    """
    day = await by_uri(session, fields["uri"])
    if not await may_change(session, day, fields, document, sender):
        log.info("day %s: change from %s refused (not its owner)", fields["uri"], sender)
        return False
    if day is None:
        session.add(SolidarityDay(is_local=False, document=document, **fields))
        return True
    if fields["updated_at"] <= day.updated_at:
        return False
    for name, value in fields.items():
        if name != "published_at":
            setattr(day, name, value)
    day.document = document
    day.deleted_at = None
    return True


async def withdraw_remote(session: AsyncSession, uri: str, *, by: str | None) -> None:
    """Its server says the day is gone (`by` None: answered a fetch with 410), or an actor
    deleted it: taken down if that actor is one of its owners."""
    day = (
        await session.execute(
            select(SolidarityDay).where(SolidarityDay.uri == uri, SolidarityDay.is_local.is_(False))
        )
    ).scalar_one_or_none()
    if day is None or day.deleted_at is not None:
        return
    if by is not None and not await may_withdraw(session, day, by):
        log.info("delete of day %s by %s refused (not its owner)", uri, by)
        return
    day.deleted_at = utcnow()
