"""What the outbox lets anyone read: our public activities, counted, paged, and one by id.

Follows, Accepts and other addressed activities are stored beside them and never shown.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.models import LocalActor, OutboxActivity


def _public_of(local: LocalActor) -> Any:
    return (OutboxActivity.local_actor_id == local.id) & OutboxActivity.public.is_(True)


async def public_count(session: AsyncSession, local: LocalActor) -> int:
    return (
        await session.execute(select(func.count(OutboxActivity.id)).where(_public_of(local)))
    ).scalar_one()


async def public_page(
    session: AsyncSession, local: LocalActor, *, offset: int, limit: int
) -> list[dict[str, Any]]:
    """The activities' documents as published, newest first."""
    return list(
        (
            await session.execute(
                select(OutboxActivity.body)
                .where(_public_of(local))
                .order_by(OutboxActivity.id.desc())
                .offset(offset)
                .limit(limit)
            )
        ).scalars()
    )


async def public_activity(session: AsyncSession, uri: str) -> dict[str, Any] | None:
    row = (
        await session.execute(select(OutboxActivity).where(OutboxActivity.uri == uri))
    ).scalar_one_or_none()
    return row.body if row is not None and row.public else None


async def public_creates(session: AsyncSession) -> int:
    """Every public `Create` of the node, its organizations' and its own (NodeInfo's posts)."""
    return (
        await session.execute(
            select(func.count(OutboxActivity.id)).where(
                OutboxActivity.public.is_(True), OutboxActivity.activity_type == "Create"
            )
        )
    ).scalar_one()
