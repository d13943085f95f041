"""Reports from other servers, kept: stored, updated and withdrawn as their origin says.

A new report only from a source this node follows (an organization, or a whole node through
its instance actor); a pushed `Create`, `Update` or `Delete` only from one of the report's
owners (`actors.ownership`), and never a version older than what we hold. Boosted reports
come through `actors.announces`, fetched from their origin.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from actors.as_to_report import NotAReport, is_report, report_fields
from actors.models import Report, ReportBoost, ReportReply
from actors.ownership import may_change, may_withdraw
from actors.remote_events import followed
from actors.reports import MAX_ORIGIN_NAME, by_uri
from actors.text import display_name, reply_html
from actors.urls import http_url
from federation.as2 import first_id, parse_datetime
from federation.client import FetchError
from federation.db import utcnow
from federation.handlers import HandlerRegistry, InboxContext
from federation.remote_actors import ActorError
from federation.uris import host_of

log = logging.getLogger(__name__)


REPLY_TYPES = ("Note", "Article")
# What a reply keeps of its HTML: a long post, not a second report.
MAX_REPLY_HTML = 20_000


def register(registry: HandlerRegistry) -> None:
    registry.add("Create", on_create, objects=("Article", "Note"))
    registry.add("Update", on_create_or_update, objects=("Article",))
    registry.add("Delete", on_delete)
    registry.add("Announce", on_announce)
    registry.add("Undo", on_undo, objects=("Announce",))


async def store_remote(
    session: AsyncSession, fields: dict[str, Any], document: dict[str, Any], sender: str | None
) -> bool:
    """Insert or update a remote report; False when refused, or what we hold is as new."""
    report = await by_uri(session, fields["uri"])
    if not await may_change(session, report, fields, document, sender):
        log.info("report %s: change from %s refused (not its owner)", fields["uri"], sender)
        return False
    if report is None:
        session.add(Report(is_local=False, document=document, received_at=utcnow(), **fields))
        return True
    if fields["updated_at"] <= report.updated_at:
        return False  # a stale or repeated Update changes nothing
    for name, value in fields.items():
        if name != "published_at":
            setattr(report, name, value)
    report.document = document
    report.deleted_at = None
    return True


async def _author_name(ctx: InboxContext, author_uri: str) -> str | None:
    if author_uri == ctx.actor.uri:
        return display_name(ctx.actor.name, ctx.actor.username, limit=MAX_ORIGIN_NAME)
    try:
        author = await ctx.federation.actors.get(author_uri)
    except (FetchError, ActorError):
        return None  # the report stands without its author's display name
    return display_name(author.name, author.username, limit=MAX_ORIGIN_NAME)


async def _accept(
    ctx: InboxContext, document: dict[str, Any], *, via: str, sender: str | None
) -> None:
    """Take in a report. `via`: who brought it (followed, for what is new to us); `sender`:
    who pushed it, None when it was fetched from its origin."""
    try:
        fields = report_fields(document)
    except NotAReport as exc:
        log.info("ignored %s from %s: %s", ctx.activity.get("type"), ctx.actor.uri, exc)
        return
    async with ctx.federation.db.read() as session:
        held = await by_uri(session, fields["uri"]) is not None
        # What we hold already, its owners may keep current; what is new must come from a
        # source we follow: an unfollowed server cannot fill our pages.
        if not held and not await followed(session, via):
            return
    fields["origin_name"] = await _author_name(ctx, fields["origin_actor_uri"])
    async with ctx.transaction() as session:
        await store_remote(session, fields, document, sender)


async def on_create_or_update(ctx: InboxContext) -> None:
    obj = ctx.object
    if is_report(obj):
        # The inbox pipeline already checked that the object comes from the sender's server.
        await _accept(ctx, obj, via=ctx.actor.uri, sender=ctx.actor.uri)


async def on_create(ctx: InboxContext) -> None:
    obj = ctx.object
    if is_report(obj):
        await on_create_or_update(ctx)
    elif isinstance(obj, dict) and obj.get("type") in REPLY_TYPES and obj.get("inReplyTo"):
        await _accept_reply(ctx, obj)


async def _thread_of(session: AsyncSession, target: str) -> Report | None:
    """Our live report that `target` is, or that the reply `target` is under."""
    report = (
        await session.execute(
            select(Report).where(
                Report.uri == target, Report.is_local.is_(True), Report.deleted_at.is_(None)
            )
        )
    ).scalar_one_or_none()
    if report is not None:
        return report
    parent = (
        await session.execute(select(ReportReply).where(ReportReply.uri == target))
    ).scalar_one_or_none()
    if parent is None:
        return None
    report = await session.get(Report, parent.report_id)
    return report if report is not None and report.deleted_at is None else None


async def _accept_reply(ctx: InboxContext, note: dict[str, Any]) -> None:
    """A reply to one of our reports, or to a reply under one, from anyone: kept sanitized
    (links http(s) only), shown in its thread unless hidden."""
    target = first_id(note.get("inReplyTo"))
    uri = note.get("id")
    if target is None or http_url(uri) is None:
        return
    author = first_id(note.get("attributedTo"))
    if author is not None and author != ctx.actor.uri:
        return  # a neighbour's note, taken by its id before its author could send it
    content = note.get("content")
    if not isinstance(content, str) or not content.strip():
        return
    html = reply_html(content[:MAX_REPLY_HTML])
    if not html:
        return
    async with ctx.transaction() as session:
        report = await _thread_of(session, target)
        if report is None:
            return
        if (await session.execute(select(ReportReply.id).where(ReportReply.uri == uri))).first():
            return
        handle = f"@{ctx.actor.username}@{ctx.actor.host}" if ctx.actor.username else None
        session.add(
            ReportReply(
                uri=uri,
                url=http_url(first_id(note.get("url"))) or uri,
                report_id=report.id,
                in_reply_to=target,
                actor_uri=ctx.actor.uri,
                author_name=display_name(ctx.actor.name, ctx.actor.username, ctx.actor.uri) or "",
                author_handle=handle,
                content_html=html,
                published_at=parse_datetime(note.get("published")) or utcnow(),
            )
        )


async def on_announce(ctx: InboxContext) -> None:
    """A boost of one of our reports, by anyone: counted once per actor."""
    target = ctx.object_id
    activity_id = ctx.activity.get("id")
    if target is None or not isinstance(activity_id, str):
        return
    async with ctx.transaction() as session:
        report = (
            await session.execute(
                select(Report).where(
                    Report.uri == target, Report.is_local.is_(True), Report.deleted_at.is_(None)
                )
            )
        ).scalar_one_or_none()
        if report is None:
            return
        known = await session.execute(
            select(ReportBoost.id).where(
                ReportBoost.report_id == report.id, ReportBoost.actor_uri == ctx.actor.uri
            )
        )
        if known.first() is None:
            session.add(
                ReportBoost(report_id=report.id, actor_uri=ctx.actor.uri, activity_uri=activity_id)
            )


async def on_undo(ctx: InboxContext) -> None:
    """A boost taken back: by its activity's id, and only by whoever boosted."""
    boost = ctx.object_id
    if boost is None:
        return
    async with ctx.transaction() as session:
        await session.execute(
            delete(ReportBoost).where(
                ReportBoost.activity_uri == boost, ReportBoost.actor_uri == ctx.actor.uri
            )
        )


async def on_delete(ctx: InboxContext) -> None:
    target = ctx.object_id
    if target is None or host_of(target) != host_of(ctx.actor.uri):
        return
    async with ctx.transaction() as session:
        # A deleted reply leaves its thread; only its author can delete it. Its own replies
        # stay, shown under the report's thread where their parent was.
        await session.execute(
            delete(ReportReply).where(
                ReportReply.uri == target, ReportReply.actor_uri == ctx.actor.uri
            )
        )
        await _withdraw(session, target, by=ctx.actor.uri)


async def _withdraw(session: AsyncSession, uri: str, *, by: str | None) -> None:
    report = (
        await session.execute(select(Report).where(Report.uri == uri, Report.is_local.is_(False)))
    ).scalar_one_or_none()
    if report is None or report.deleted_at is not None:
        return
    if by is not None and not await may_withdraw(session, report, by):
        log.info("delete of report %s by %s refused (not its owner)", uri, by)
        return
    report.deleted_at = utcnow()


async def withdrawn(ctx: InboxContext, uri: str) -> None:
    """Its server says the report is gone (answered a fetch with 410): we take it down too."""
    async with ctx.transaction() as session:
        await _withdraw(session, uri, by=None)


async def announced(ctx: InboxContext, document: dict[str, Any]) -> None:
    """A report boosted by an actor we follow, as its own server serves it."""
    await _accept(ctx, document, via=ctx.actor.uri, sender=None)
