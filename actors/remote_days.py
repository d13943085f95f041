"""Solidarity days from other servers, kept: stored, updated and withdrawn as their origin says.

`actors.remote_events` decides whether an incoming `Event` is a day and whether we follow its
sender; these keep only what comes from the day's own server, and never an older version.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from actors.models import SolidarityDay
from actors.solidarity_days import by_uri
from federation.db import utcnow


async def store_remote(
    session: AsyncSession, fields: dict[str, Any], document: dict[str, Any]
) -> bool:
    """Insert or update a remote day; False when what we hold is as new or newer."""
    day = await by_uri(session, fields["uri"])
    if day is None:
        session.add(SolidarityDay(is_local=False, document=document, **fields))
        return True
    if day.is_local or day.origin_host != fields["origin_host"]:
        return False
    if fields["updated_at"] <= day.updated_at:
        return False
    for name, value in fields.items():
        if name != "published_at":
            setattr(day, name, value)
    day.document = document
    day.deleted_at = None
    return True


async def withdraw_remote(session: AsyncSession, uri: str) -> None:
    day = (
        await session.execute(
            select(SolidarityDay).where(SolidarityDay.uri == uri, SolidarityDay.is_local.is_(False))
        )
    ).scalar_one_or_none()
    if day is not None and day.deleted_at is None:
        day.deleted_at = utcnow()
