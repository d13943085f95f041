"""Organizations: the network's members, each one a Group actor on its node."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from actors.activitystreams import CONTEXT, organization_actor
from actors.errors import Message, NotFound, ValidationError
from actors.models import Organization
from federation.as2 import public_activity
from federation.models import LocalActor
from federation.node import INSTANCE_USERNAME, Federation

HANDLE = re.compile(r"^[a-z0-9_]{1,30}$")
# Names our URL space or the fediverse's conventions already use.
RESERVED = {
    INSTANCE_USERNAME,
    "admin",
    "inbox",
    "relay",
    "instance",
    "root",
    "www",
    "api",
    "static",
}


def validate_handle(name: str) -> str:
    if not HANDLE.match(name):
        raise ValidationError.one("name", Message.HANDLE_INVALID, value=name)
    if name in RESERVED:
        raise ValidationError.one("name", Message.HANDLE_RESERVED, value=name)
    return name


async def create_organization(
    federation: Federation, name: str, *, display_name: str | None = None, summary: str = ""
) -> Organization:
    validate_handle(name)
    async with federation.db.transaction() as session:
        if await federation.local_actor_by_username(session, name) is not None:
            raise ValidationError.one("name", Message.ORGANIZATION_EXISTS, value=name)
        actor = await federation.create_local_actor(
            session, username=name, actor_type="Group", path=f"/actors/{name}"
        )
        organization = Organization(
            local_actor_id=actor.id,
            name=name,
            display_name=(display_name or name).strip()[:200],
            summary=summary,
        )
        session.add(organization)
    return organization


MAX_DISPLAY_NAME = 100
MAX_SUMMARY = 2000


async def update_profile(
    federation: Federation,
    name: str,
    *,
    display_name: str,
    summary: str,
    manually_approves_followers: bool,
) -> Organization:
    """Change how an organization presents itself, and tell its followers (an actor Update).

    Mastodon and others refresh a remote profile when they receive its `Update`; without it
    they would show the old name until their cache expires.
    """
    display_name = " ".join(display_name.split())
    if not display_name:
        raise ValidationError.one("display_name", Message.NAME_REQUIRED)
    if len(display_name) > MAX_DISPLAY_NAME:
        raise ValidationError.one("display_name", Message.NAME_TOO_LONG, limit=MAX_DISPLAY_NAME)
    summary = summary.strip().replace("\r\n", "\n")
    if len(summary) > MAX_SUMMARY:
        raise ValidationError.one("summary", Message.DESCRIPTION_TOO_LONG, limit=MAX_SUMMARY)
    async with federation.db.transaction() as session:
        found = await by_name(session, name)
        if found is None:
            raise NotFound(Message.ORGANIZATION_NOT_FOUND, name)
        organization, actor = found
        organization.display_name = display_name
        organization.summary = summary
        actor.manually_approves_followers = manually_approves_followers
        document = organization_actor(
            organization, actor, shared_inbox=federation.shared_inbox_uri, page_url=actor.uri
        )
        document.pop("@context")
        await federation.publish(
            session,
            public_activity("Update", federation.new_id(), actor, document, context=CONTEXT),
            actor=actor,
        )
    return organization


async def by_name(session: AsyncSession, name: str) -> tuple[Organization, LocalActor] | None:
    row = (
        await session.execute(
            select(Organization, LocalActor)
            .join(LocalActor, Organization.local_actor_id == LocalActor.id)
            .where(Organization.name == name)
        )
    ).first()
    return (row[0], row[1]) if row else None


async def all_organizations(session: AsyncSession) -> list[tuple[Organization, LocalActor]]:
    rows = await session.execute(
        select(Organization, LocalActor)
        .join(LocalActor, Organization.local_actor_id == LocalActor.id)
        .order_by(Organization.id)
    )
    return [(org, actor) for org, actor in rows]


async def resolve(session: AsyncSession, name: str | None) -> tuple[Organization, LocalActor]:
    """The named organization, or the node's first one when no name is given; a problem with
    the field "org" (as forms and commands call it) when there is none."""
    if name:
        found = await by_name(session, name)
        if found is None:
            raise ValidationError.one("org", Message.ORGANIZATION_UNKNOWN, value=name)
        return found
    organizations = await all_organizations(session)
    if not organizations:
        raise ValidationError.one("org", Message.NO_ORGANIZATION_YET)
    return organizations[0]


async def actor_of(session: AsyncSession, organization_id: int | None) -> LocalActor:
    """The actor that publishes for one of our organizations (which must exist)."""
    return (
        await session.execute(
            select(LocalActor)
            .join(Organization, Organization.local_actor_id == LocalActor.id)
            .where(Organization.id == organization_id)
        )
    ).scalar_one()


async def count(session: AsyncSession) -> int:
    return (await session.execute(select(func.count(Organization.id)))).scalar_one()
