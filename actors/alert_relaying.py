"""Alerts that reach us, and how we pass them on: the relay settings and the inbox handlers.

An alert crosses the network hop by hop: a node that receives an alert from an actor it follows
stores it once and its organizations `Announce` it to their own followers, once per version of
the alert, on the priority lane. The admin may switch relaying off; servers whose alerts are
refused are server blocks (`federation.blocks`), refused everything.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from actors import alert_to_as
from actors.alerts import by_uri
from actors.as_to_alert import NotAnAlert, alert_fields, is_alert
from actors.models import Alert, AlertSettings
from actors.organizations import all_organizations
from actors.ownership import may_change, may_withdraw
from actors.remote_events import followed
from actors.text import display_name
from federation import blocks
from federation.as2 import first_id, parse_datetime
from federation.client import FetchError
from federation.db import Database, utcnow
from federation.delivery import LANE_PRIORITY
from federation.handlers import HandlerRegistry, InboxContext
from federation.models import LocalActor, OutboxActivity
from federation.node import Federation
from federation.remote_actors import ActorError
from federation.uris import host_of

log = logging.getLogger(__name__)

MAX_HOPS = 1_000


# --- relaying controls ------------------------------------------------------------------


@dataclass
class Relaying:
    relay: bool = True
    # The servers blocked on this node (federation.blocks): nothing of theirs is kept or passed on.
    blocked_hosts: list[str] = field(default_factory=list)


async def relaying(session: AsyncSession) -> Relaying:
    """Whether our organizations relay received alerts, and which servers are blocked."""
    row = (await session.execute(select(AlertSettings).limit(1))).scalar_one_or_none()
    servers = sorted(b.target for b in await blocks.every(session) if b.kind == blocks.SERVER)
    return Relaying(relay=True if row is None else row.relay, blocked_hosts=servers)


async def configure_relaying(db: Database, *, relay: bool) -> Relaying:
    """Switch relaying on or off; returns the settings now in force."""
    async with db.transaction() as session:
        row = (await session.execute(select(AlertSettings).limit(1))).scalar_one_or_none()
        if row is None:
            row = AlertSettings(relay=True)
            session.add(row)
        row.relay = relay
        row.updated_at = utcnow()
    async with db.read() as session:
        return await relaying(session)


async def block(federation: Federation, host: str) -> Relaying:
    """`iwsn alert block`: what it always meant for alerts, now a server block for everything."""
    target = blocks.Target(blocks.SERVER, blocks.parse_server(host))
    await blocks.add(federation, target)
    async with federation.db.read() as session:
        return await relaying(session)


async def unblock(federation: Federation, host: str) -> Relaying:
    await blocks.remove(federation, blocks.Target(blocks.SERVER, blocks.parse_server(host)))
    async with federation.db.read() as session:
        return await relaying(session)


# --- the relay --------------------------------------------------------------------------


async def relay(federation: Federation, session: AsyncSession, alert: Alert) -> int:
    """Each of our organizations `Announce`s this version of the alert to its followers, once.

    Enqueued directly (not through `Federation.publish`): the node's instance actor does not
    boost it a second time. Returns how many organizations relayed.
    """
    if alert.is_local or alert.deleted_at is not None:
        return 0
    if alert.relayed_version is not None and alert.relayed_version >= alert.updated_at:
        return 0
    if not (await relaying(session)).relay:
        return 0  # stored and shown here, passed on by no one; a later version may be
    organizations = await all_organizations(session)
    for _organization, actor in organizations:
        await federation.enqueue(
            session,
            alert_to_as.announce(federation.new_id, alert, actor),
            actor=actor,
            followers_of=[actor],
            priority=LANE_PRIORITY,
        )
    alert.relayed_version = alert.updated_at
    return len(organizations)


async def _undo_relays(federation: Federation, session: AsyncSession, alert: Alert) -> None:
    """Those who announced a withdrawn alert take their boosts back (`Undo`)."""
    rows = (
        await session.execute(
            select(OutboxActivity, LocalActor)
            .join(LocalActor, OutboxActivity.local_actor_id == LocalActor.id)
            .where(
                OutboxActivity.object_uri == alert.uri,
                OutboxActivity.activity_type == "Announce",
            )
        )
    ).all()
    for outbox, actor in rows:
        await federation.enqueue(
            session,
            alert_to_as.undo(federation.new_id, actor, outbox.body),
            actor=actor,
            followers_of=[actor],
            priority=LANE_PRIORITY,
        )
        outbox.public = False


# --- inbox handlers ---------------------------------------------------------------------


async def _store(
    ctx: InboxContext,
    fields: dict[str, Any],
    document: dict[str, Any],
    *,
    hops: int,
    sender: str | None,
) -> None:
    """Insert or update the alert we were given, then relay this version if it is new to us.

    Pushed (`sender`), only from one of the alert's owners (`ownership.may_change`); None:
    fetched from its origin. (Nothing reaches here from a blocked server: the inbox refuses its
    activities and the client will not fetch from it.)
    """
    async with ctx.transaction() as session:
        alert = await by_uri(session, fields["uri"])
        if not await may_change(session, alert, fields, document, sender):
            log.info("alert %s: change from %s refused (not its owner)", fields["uri"], sender)
            return
        if alert is None:
            alert = Alert(
                is_local=False,
                document=document,
                received_at=utcnow(),
                received_via=ctx.actor.uri,
                hops=min(hops, MAX_HOPS),
                **fields,
            )
            session.add(alert)
            await session.flush()
        elif fields["updated_at"] > alert.updated_at:
            for name, value in fields.items():
                if name != "published_at":
                    setattr(alert, name, value)
            alert.document = document
        else:
            return  # as new or newer already: nothing to store, nothing to relay
        await relay(ctx.federation, session, alert)


async def _origin_name(ctx: InboxContext, uri: str) -> str | None:
    try:
        actor = await ctx.federation.actors.get(uri)
    except (FetchError, ActorError):
        return None  # the alert stands without its organization's name
    return display_name(actor.name, actor.username)


async def on_create_or_update(ctx: InboxContext) -> None:
    obj = ctx.object
    if not is_alert(obj) or host_of(str(obj.get("id"))) != host_of(ctx.actor.uri):
        return
    try:
        fields = alert_fields(obj)
    except NotAnAlert as exc:
        log.info("ignored alert from %s: %s", ctx.actor.uri, exc)
        return
    async with ctx.federation.db.read() as session:
        # A version of an alert we hold may come from its owner whoever we follow; a new
        # alert only from a source we follow.
        held = await by_uri(session, fields["uri"])
        if held is None and not await followed(session, ctx.actor.uri):
            return
    if fields["origin_name"] is None:
        fields["origin_name"] = await _origin_name(ctx, fields["origin_actor_uri"])
    await _store(ctx, fields, obj, hops=1, sender=ctx.actor.uri)


async def held_already(session: AsyncSession, announce: dict[str, Any], uri: str) -> bool:
    """Is a boost of `uri` one we need not fetch: our own alert, or a version we hold?"""
    held = await by_uri(session, uri)
    return held is not None and (held.is_local or _not_newer(announce, held))


async def announced(ctx: InboxContext, document: dict[str, Any]) -> None:
    """An alert boosted by an actor we follow, as its origin serves it (see `announces`)."""
    try:
        fields = alert_fields(document)
    except NotAnAlert as exc:
        log.info("announced alert %s refused: %s", document.get("id"), exc)
        return
    previous = ctx.activity.get("hops")
    hops = previous + 1 if isinstance(previous, int) and previous >= 0 else 2
    if fields["origin_name"] is None:
        fields["origin_name"] = await _origin_name(ctx, fields["origin_actor_uri"])
    await _store(ctx, fields, document, hops=hops, sender=None)


def _not_newer(announce: dict[str, Any], held: Alert) -> bool:
    """Does this boost say it passes on a version we hold already?

    Believing the relayer here can only spare a fetch: one that lies about the version keeps
    nothing from us that the origin and the other relayers will not bring.
    """
    if held.deleted_at is not None:
        return False  # the origin says whether it is back
    version = parse_datetime(announce.get("alertUpdated"))
    return version is not None and version <= held.updated_at


async def withdrawn(ctx: InboxContext, uri: str, *, by: str | None = None) -> None:
    """Its origin says it is gone (`by` None: it answered a fetch with 410), or an actor
    deleted it (`by`, taken only from one of its owners): we take it down and take back our
    boosts."""
    async with ctx.transaction() as session:
        alert = (
            await session.execute(
                select(Alert).where(
                    Alert.uri == uri, Alert.is_local.is_(False), Alert.deleted_at.is_(None)
                )
            )
        ).scalar_one_or_none()
        if alert is None:
            return
        if by is not None and not await may_withdraw(session, alert, by):
            log.info("delete of alert %s by %s refused (not its owner)", uri, by)
            return
        alert.deleted_at = utcnow()
        await _undo_relays(ctx.federation, session, alert)


async def on_delete(ctx: InboxContext) -> None:
    target = ctx.object_id
    if target is None or host_of(target) != host_of(ctx.actor.uri):
        return
    await withdrawn(ctx, target, by=ctx.actor.uri)


async def on_undo(ctx: InboxContext) -> None:
    """An undone boost of an alert we hold: withdrawn only if its origin says it is gone."""
    obj = ctx.object
    if not (isinstance(obj, dict) and obj.get("type") == "Announce"):
        return
    target = first_id(obj.get("object"))
    if target is None:
        return
    async with ctx.federation.db.read() as session:
        held = await by_uri(session, target)
    if held is None or held.is_local or held.deleted_at is not None:
        return
    try:
        await ctx.federation.client.get_json(target, signer=ctx.federation.actors.signer)
    except FetchError as exc:
        if exc.status in (404, 410):
            await withdrawn(ctx, target)


def register(registry: HandlerRegistry) -> None:
    # Alerts are Notes (is_alert); other objects are not handed over, nor stored for it.
    registry.add("Create", on_create_or_update, objects=("Note",))
    registry.add("Update", on_create_or_update, objects=("Note",))
    registry.add("Delete", on_delete)
    registry.add("Undo", on_undo)
