"""Our own content, found by its id or its row number: one query for every kind.

Edits, the admin pages and the CLI all start from "this event (day, alert) of ours, not
deleted, with the organization and actor that publish it"; each kind's module wraps `find`
and names what is missing when it is not there.
"""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from actors.errors import Message, NotFound
from actors.models import Alert, Event, Organization, Report, SolidarityDay
from federation.models import LocalActor

Content = TypeVar("Content", Event, SolidarityDay, Alert, Report)


async def find(
    session: AsyncSession,
    model: type[Content],
    missing: Message,
    *,
    uri: str | None = None,
    row_id: int | None = None,
) -> tuple[Content, Organization, LocalActor]:
    """A live item of `model` of one of our organizations, by `uri` or by `row_id` (one of
    them); else raises NotFound with the `missing` message."""
    if (uri is None) == (row_id is None):
        raise TypeError("give either uri or row_id")
    query = (
        select(model, Organization, LocalActor)
        .join(Organization, model.organization_id == Organization.id)
        .join(LocalActor, Organization.local_actor_id == LocalActor.id)
        .where(model.is_local.is_(True), model.deleted_at.is_(None))
        .where(model.uri == uri if uri is not None else model.id == row_id)
    )
    row = (await session.execute(query)).first()
    if row is None:
        raise NotFound(missing, str(uri or row_id))
    return row[0], row[1], row[2]
