"""What incoming activities about events mean: store, update, cancel, withdraw remote events.

A new event only from sources this node follows (an organization, or a whole node through its
instance actor); a pushed `Create`, `Update` or `Delete` only from one of the event's owners
(`actors.ownership`), and never a version older than what we hold. Announced events are
fetched from their origin, never taken as embedded.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from actors import as_to_day, places, remote_days
from actors.as_to_event import NotAnEvent, event_fields
from actors.models import Event, Reply, SolidarityDay
from actors.ownership import NODE_ACTOR_TYPES, may_change, may_withdraw
from actors.text import display_name, sanitize_html
from actors.urls import http_url
from federation.as2 import first_id, parse_datetime
from federation.client import FetchError
from federation.db import utcnow
from federation.handlers import HandlerRegistry, InboxContext
from federation.models import Following, RemoteActor
from federation.remote_actors import ActorError
from federation.uris import host_of

log = logging.getLogger(__name__)

REPLY_TYPES = ("Note", "Article")


def register(registry: HandlerRegistry) -> None:
    registry.add("Create", on_create, objects=("Event", *REPLY_TYPES))
    registry.add("Update", on_update, objects=("Event",))
    registry.add("Delete", on_delete)


async def followed(session: AsyncSession, actor_uri: str) -> bool:
    """We follow this actor, or the whole node it lives on (its instance/relay actor)."""
    direct = await session.execute(
        select(Following.id).where(Following.target_uri == actor_uri, Following.state == "accepted")
    )
    if direct.first() is not None:
        return True
    node_follow = await session.execute(
        select(Following.id)
        .join(RemoteActor, RemoteActor.uri == Following.target_uri)
        .where(
            Following.state == "accepted",
            RemoteActor.host == host_of(actor_uri),
            RemoteActor.actor_type.in_(NODE_ACTOR_TYPES),
        )
    )
    return node_follow.first() is not None


async def _store(
    session: AsyncSession, fields: dict[str, Any], document: dict[str, Any], sender: str | None
) -> bool:
    """Insert or update a remote event; False when refused, or what we hold is as new or newer."""
    event = (
        await session.execute(select(Event).where(Event.uri == fields["uri"]))
    ).scalar_one_or_none()
    if not await may_change(session, event, fields, document, sender):
        log.info("event %s: change from %s refused (not its owner)", fields["uri"], sender)
        return False
    if event is None:
        event = Event(is_local=False, document=document, **fields)
        await places.place_event(session, event)
        session.add(event)
        return True
    if fields["updated_at"] <= event.updated_at:
        return False  # a stale or repeated Update changes nothing
    for name, value in fields.items():
        if name != "published_at":
            setattr(event, name, value)
    event.document = document
    event.deleted_at = None
    await places.place_event(session, event)
    return True


async def _organizer_name(ctx: InboxContext, organizer_uri: str) -> str | None:
    if organizer_uri == ctx.actor.uri:
        return display_name(ctx.actor.name, ctx.actor.username)
    try:
        organizer = await ctx.federation.actors.get(organizer_uri)
    except (FetchError, ActorError):
        return None  # the event stands without its organizer's display name
    return display_name(organizer.name, organizer.username)


async def _held(session: AsyncSession, uri: str, is_day: bool) -> bool:
    model = SolidarityDay if is_day else Event
    return (await session.execute(select(model.id).where(model.uri == uri))).first() is not None


async def _accept_event(
    ctx: InboxContext, document: dict[str, Any], *, via: str, sender: str | None
) -> None:
    """Take in an event or a day. `via`: who brought it (followed, for what is new to us);
    `sender`: who pushed it, None when it was fetched from its origin."""
    is_day = as_to_day.is_day(document)
    try:
        fields = as_to_day.day_fields(document) if is_day else event_fields(document)
    except (NotAnEvent, as_to_day.NotADay) as exc:
        log.info("ignored %s from %s: %s", ctx.activity.get("type"), ctx.actor.uri, exc)
        return
    async with ctx.federation.db.read() as session:
        # What we hold already, its owners may keep current even if we follow no one there
        # any more; what is new must come from a source we follow.
        if not await _held(session, fields["uri"], is_day) and not await followed(session, via):
            return  # not asked for: an unfollowed server cannot fill our pages
    fields["origin_name"] = await _organizer_name(ctx, fields["origin_actor_uri"])
    async with ctx.transaction() as session:
        await (remote_days.store_remote if is_day else _store)(session, fields, document, sender)


async def on_create(ctx: InboxContext) -> None:
    obj = ctx.object
    if isinstance(obj, dict) and obj.get("type") == "Event":
        # The inbox pipeline already checked that the object comes from the sender's server.
        await _accept_event(ctx, obj, via=ctx.actor.uri, sender=ctx.actor.uri)
    elif isinstance(obj, dict) and obj.get("type") in REPLY_TYPES and obj.get("inReplyTo"):
        await _accept_reply(ctx, obj)


async def _accept_reply(ctx: InboxContext, note: dict[str, Any]) -> None:
    """A reply to one of our events, from anyone: kept sanitized, shown unless hidden."""
    target = first_id(note.get("inReplyTo"))
    uri = note.get("id")
    if target is None or not isinstance(uri, str):
        return
    author = first_id(note.get("attributedTo"))
    if author is not None and author != ctx.actor.uri:
        return  # a neighbour's note, taken by its id before its author could send it
    content = note.get("content")
    if not isinstance(content, str) or not content.strip():
        return
    async with ctx.transaction() as session:
        event = (
            await session.execute(
                select(Event).where(
                    Event.uri == target, Event.is_local.is_(True), Event.deleted_at.is_(None)
                )
            )
        ).scalar_one_or_none()
        if event is None:
            return
        if (await session.execute(select(Reply.id).where(Reply.uri == uri))).first():
            return
        handle = f"@{ctx.actor.username}@{ctx.actor.host}" if ctx.actor.username else None
        session.add(
            Reply(
                uri=uri,
                url=http_url(note.get("url")) or uri,
                event_id=event.id,
                actor_uri=ctx.actor.uri,
                author_name=display_name(ctx.actor.name, ctx.actor.username, ctx.actor.uri) or "",
                author_handle=handle,
                content_html=sanitize_html(content, headings=False)[:20_000],
                published_at=parse_datetime(note.get("published")) or utcnow(),
            )
        )


async def on_update(ctx: InboxContext) -> None:
    obj = ctx.object
    if not (isinstance(obj, dict) and obj.get("type") == "Event"):
        return
    await _accept_event(ctx, obj, via=ctx.actor.uri, sender=ctx.actor.uri)


async def on_delete(ctx: InboxContext) -> None:
    target = ctx.object_id
    if target is None or host_of(target) != host_of(ctx.actor.uri):
        return
    async with ctx.transaction() as session:
        # A deleted reply disappears from under the event; only its author can delete it.
        await session.execute(
            delete(Reply).where(Reply.uri == target, Reply.actor_uri == ctx.actor.uri)
        )
        event = (
            await session.execute(
                select(Event).where(Event.uri == target, Event.is_local.is_(False))
            )
        ).scalar_one_or_none()
        if event is not None and event.deleted_at is None:
            if await may_withdraw(session, event, ctx.actor.uri):
                event.deleted_at = utcnow()
            else:
                log.info("delete of event %s by %s refused (not its owner)", target, ctx.actor.uri)
        await remote_days.withdraw_remote(session, target, by=ctx.actor.uri)


async def withdrawn(ctx: InboxContext, uri: str) -> None:
    """Its server says the event is gone: we take it down too."""
    async with ctx.transaction() as session:
        event = (
            await session.execute(select(Event).where(Event.uri == uri, Event.is_local.is_(False)))
        ).scalar_one_or_none()
        if event is not None and event.deleted_at is None:
            event.deleted_at = utcnow()
        await remote_days.withdraw_remote(session, uri, by=None)


async def announced(ctx: InboxContext, document: dict[str, Any]) -> None:
    """An event boosted by an actor we follow (a Mobilizon group or relay, an iwsn instance
    actor), as its own server serves it (see `announces`)."""
    object_id = document["id"]
    attributed = first_id(document.get("attributedTo"))
    if attributed is not None and host_of(attributed) != host_of(object_id):
        return  # an event claiming an organizer on another server is not its origin's word
    await _accept_event(ctx, document, via=ctx.actor.uri, sender=None)
