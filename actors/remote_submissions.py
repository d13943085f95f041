"""Plans sent from the fediverse: a `Create` of an `Event`, from an actor this node does not
follow, addressed to one of our organizations (as a Mobilizon or Gancio user can send it),
waits in the moderation queue like a plan from the form. Approved, the organization
`Announce`s it unchanged to its followers, as FEP-1b12 groups pass on what members post, and
the event is kept as received; rejected, its sender gets a `Reject` of its `Create`. Never
published without approval.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from actors import places
from actors.as_to_event import NotAnEvent, event_fields
from actors.errors import Message, ValidationError
from actors.mail.queue import MailQueue
from actors.models import Event, Organization, Submission
from actors.remote_events import followed
from actors.submissions import APPROVED, REJECTED, WAITING, get, notify_moderators, token_hash
from actors.text import display_name
from federation import as2
from federation.as2 import first_id
from federation.db import utcnow
from federation.handlers import HandlerRegistry, InboxContext
from federation.models import LocalActor
from federation.node import Federation

log = logging.getLogger(__name__)
FEDIVERSE = "fediverse"


def register(registry: HandlerRegistry, *, mail: MailQueue | None = None) -> None:
    """`mail`: where the notices to moderators go (none: the dashboard's count only)."""

    async def on_create_event(ctx: InboxContext) -> None:
        await on_create(ctx, mail=mail)

    registry.add("Create", on_create_event, objects=("Event",), name=f"{__name__}.on_create")


def _addressees(*documents: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for document in documents:
        for key in ("to", "cc", "bto", "bcc", "audience"):
            value = document.get(key)
            for item in value if isinstance(value, list) else [value]:
                if (uri := first_id(item)) is not None:
                    found.add(uri)
    return found


async def _addressed_organization(
    session: AsyncSession, addressees: set[str]
) -> tuple[Organization, LocalActor] | None:
    if not addressees:
        return None
    row = (
        await session.execute(
            select(Organization, LocalActor)
            .join(LocalActor, Organization.local_actor_id == LocalActor.id)
            .where(LocalActor.uri.in_(sorted(addressees)))
            .order_by(Organization.id)
            .limit(1)
        )
    ).first()
    return (row[0], row[1]) if row is not None else None


async def on_create(ctx: InboxContext, *, mail: MailQueue | None = None) -> None:
    obj = ctx.object
    if not isinstance(obj, dict) or obj.get("type") != "Event":
        return
    try:
        fields = event_fields(obj)
    except NotAnEvent as exc:
        log.info("ignored a submitted Event from %s: %s", ctx.actor.uri, exc)
        return
    async with ctx.federation.db.read() as session:
        if await followed(session, ctx.actor.uri):
            return  # from a source we follow: received content (actors.remote_events)
        target = await _addressed_organization(session, _addressees(ctx.activity, obj))
        if target is None:
            return
        known = await session.execute(
            select(Submission.id).where(Submission.remote_object_uri == fields["uri"])
        )
        held = await session.execute(select(Event.id).where(Event.uri == fields["uri"]))
        if known.first() is not None or held.first() is not None:
            return
    organization, _actor = target
    name = display_name(ctx.actor.name, ctx.actor.username)
    now = utcnow()
    async with ctx.transaction() as session:
        row = Submission(
            organization_id=organization.id,
            state=WAITING,
            plan={"title": fields["title"]},
            submitter_name=(name or ctx.actor.uri)[:200],
            submitter_organization="",
            email="",
            credit=False,
            language="en",
            # No private link goes to a fediverse sender: a token nobody holds.
            token_hash=token_hash(secrets.token_urlsafe(24)),
            reason="",
            source=FEDIVERSE,
            remote_actor_uri=ctx.actor.uri,
            remote_activity_uri=ctx.activity.get("id"),
            remote_object_uri=fields["uri"],
            remote_object=obj,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        await session.flush()
        if mail is not None:
            base_url = ctx.federation.config.base_url
            await notify_moderators(session, mail, row, organization, base_url=base_url)
    log.info("a plan from %s waits for moderation: %s", ctx.actor.uri, fields["uri"])


def preview(row: Submission) -> dict[str, Any]:
    """What a moderator reads of a plan from the fediverse: the event's fields as received."""
    assert row.remote_object is not None
    return event_fields(row.remote_object)


async def approve(federation: Federation, submission_id: int) -> Event:
    """Keep the event as received and have the organization `Announce` it to its followers,
    unchanged (by id: readers fetch it from its origin); the submission marked approved."""
    async with federation.db.transaction() as session:
        row = await get(session, submission_id)
        if row.state != WAITING:
            raise ValidationError.one("form", Message.SUBMISSION_DECIDED)
        assert row.remote_object is not None and row.remote_object_uri is not None
        actor = await _organization_actor(session, row.organization_id)
        fields = event_fields(row.remote_object)
        fields["origin_name"] = row.submitter_name
        event = (
            await session.execute(select(Event).where(Event.uri == fields["uri"]))
        ).scalar_one_or_none()
        if event is None:
            event = Event(is_local=False, document=row.remote_object, **fields)
            await places.place_event(session, event)
            session.add(event)
            await session.flush()
        announce = as2.public_activity(
            "Announce", federation.new_id(), actor, row.remote_object_uri, published=utcnow()
        )
        # Through `publish`: those who follow the whole node get it too, from its instance actor.
        await federation.publish(session, announce, actor=actor)
        row.state, row.event_id = APPROVED, event.id
        row.decided_at = row.updated_at = utcnow()
    return event


async def reject(federation: Federation, submission_id: int, reason: str) -> None:
    """Refuse the plan; its sender's server gets a `Reject` of the `Create` it sent."""
    actor_uri = None
    async with federation.db.read() as session:
        row = await get(session, submission_id)
        actor_uri = row.remote_actor_uri
    sender = await federation.actors.cached(actor_uri) if actor_uri else None
    async with federation.db.transaction() as session:
        row = await get(session, submission_id)
        if row.state != WAITING:
            raise ValidationError.one("form", Message.SUBMISSION_DECIDED)
        actor = await _organization_actor(session, row.organization_id)
        if sender is not None and row.remote_activity_uri:
            refusal = {
                "@context": as2.AS_CONTEXT,
                "id": federation.new_id(),
                "type": "Reject",
                "actor": actor.uri,
                "to": [sender.uri],
                "object": row.remote_activity_uri,
            }
            await federation.enqueue(session, refusal, actor=actor, inboxes=[sender.inbox])
        row.state, row.reason = REJECTED, reason
        row.decided_at = row.updated_at = utcnow()


async def _organization_actor(session: AsyncSession, organization_id: int) -> LocalActor:
    actor = (
        await session.execute(
            select(LocalActor)
            .join(Organization, Organization.local_actor_id == LocalActor.id)
            .where(Organization.id == organization_id)
        )
    ).scalar_one()
    return actor
