"""Reports from the struggle: the rules, and the one entry point for each change of our own.

A report is an organization's writing about a struggle (a strike, an organizing drive, a
proposal): a title, an optional short summary, a body in Markdown, and links to the actions,
assemblies, alerts or days it is about. Admin pages, the CLI and tests publish, edit,
unpublish and delete through these functions; each change is stored and handed to the
delivery queue in one transaction. Its wire form is in `actors.report_to_as` and
`actors.as_to_report`; reports from other servers are kept by `actors.remote_reports`.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from actors import call, hashtags, owned, publishing, report_to_as
from actors.errors import Message, NotFound, Problems, ValidationError
from actors.models import (
    Alert,
    Event,
    Organization,
    Report,
    ReportBoost,
    ReportReply,
    SolidarityDay,
)
from actors.organizations import resolve
from actors.text import markdown_to_html
from actors.urls import http_url
from actors.visibility import by_visible_authors, visible
from federation.db import utcnow
from federation.models import LocalActor
from federation.node import Federation

MAX_TITLE = 200
MAX_SUMMARY = 500
# A long report is a few thousand words; 100,000 characters is a short book.
MAX_BODY = 100_000
MAX_TAGS = 10
MAX_RELATED = 10
MAX_ORIGIN_NAME = 300

# Raw HTML in Markdown is shown as text (`actors.text`), so a script could never run; but
# someone pasting one almost surely pasted the wrong thing (an embed code, a page's source),
# and is better told than shown their code on the public page.
_ACTIVE_MARKUP = re.compile(
    r"<\s*/?\s*(script|style|iframe|object|embed|form)\b|\]\(\s*(javascript|vbscript|data):"
    r"|\bon[a-z]+\s*=\s*[\"']",
    re.IGNORECASE,
)


@dataclass
class ReportInput:
    title: str
    body: str
    summary: str = ""
    language: str | None = None
    tags: list[str] = field(default_factory=list)
    # Ids (or our page addresses) of actions, assemblies, alerts and days this node knows.
    related: list[str] = field(default_factory=list)


def _clean(value: str | None) -> str:
    return " ".join((value or "").split())


def language_tag(text: str | None) -> str | None:
    """ "es", "pt_br", "PT-BR" → "es", "pt-BR"; None when it names no language CLDR knows."""
    text = (text or "").strip().replace("_", "-")
    if not text or len(text) > 16 or not text.replace("-", "").isalnum():
        return None
    try:
        locale = Locale.parse(text, sep="-")
    except (UnknownLocaleError, ValueError):
        return None
    return f"{locale.language}-{locale.territory}" if locale.territory else locale.language


def check(data: ReportInput) -> dict[str, Any]:
    """The report's columns from the input; raises ValidationError naming every wrong field."""
    problems = Problems()
    title = _clean(data.title)
    if not title:
        problems.add("title", Message.TITLE_REQUIRED)
    elif len(title) > MAX_TITLE:
        problems.add("title", Message.TITLE_TOO_LONG, limit=MAX_TITLE)
    summary = _clean(data.summary)
    if len(summary) > MAX_SUMMARY:
        problems.add("summary", Message.SUMMARY_TOO_LONG, limit=MAX_SUMMARY)
    body = (data.body or "").strip()
    if not body:
        problems.add("body", Message.BODY_REQUIRED)
    elif len(body) > MAX_BODY:
        problems.add("body", Message.BODY_TOO_LONG, limit=MAX_BODY)
    elif _ACTIVE_MARKUP.search(body):
        problems.add("body", Message.BODY_HAS_SCRIPT)
    language = None
    if (data.language or "").strip():
        language = language_tag(data.language)
        if language is None:
            problems.add("language", Message.LANGUAGE_UNKNOWN, value=data.language or "")
    names = hashtags.own(data.tags, "tags", problems)
    if len(names) > MAX_TAGS:
        problems.add("tags", Message.TOO_MANY_HASHTAGS, limit=MAX_TAGS)
    related = list(dict.fromkeys(link.strip() for link in data.related if link.strip()))
    if len(related) > MAX_RELATED:
        problems.add("related", Message.TOO_MANY_LINKS, limit=MAX_RELATED)
    for link in related:
        if http_url(link) is None:
            problems.add("related", Message.LINK_NOT_HTTP, value=link)
    problems.raise_any()
    return {
        "title": title,
        "summary": summary,
        "body_source": body,
        "body_html": markdown_to_html(body),
        "language": language,
        "hashtags": names,
        "related": related,
    }


async def _known_related(session: AsyncSession, links: list[str], base_url: str) -> list[str]:
    """The ids of what the links name, as this node holds them; ValidationError for a link to
    something it does not know (a report about it would point nowhere)."""
    problems = Problems()
    found: list[str] = []
    for link in links:
        uri = await _related_id(session, link, base_url)
        if uri is None:
            problems.add("related", Message.RELATED_UNKNOWN, value=link)
        elif uri not in found:
            found.append(uri)
    problems.raise_any()
    return found


_REMOTE_PAGE = re.compile(r"^/(alerts|days)/remote/([0-9]+)$")


async def _related_id(session: AsyncSession, link: str, base_url: str) -> str | None:
    # Our pages of received items are `/{kind}/remote/{n}`: people copy those from the browser.
    if link.startswith(base_url):
        match = _REMOTE_PAGE.match(link[len(base_url) :])
        if match:
            model: Any = Alert if match[1] == "alerts" else SolidarityDay
            row = await session.get(model, int(match[2]))
            return row.uri if row is not None and row.deleted_at is None else None
    for model in (Event, Alert, SolidarityDay):
        hit = (
            await session.execute(
                select(model.uri).where(model.uri == link, model.deleted_at.is_(None))
            )
        ).scalar_one_or_none()
        if hit is not None:
            return str(hit)
    return None


# --- entry points -----------------------------------------------------------------------


async def publish(federation: Federation, data: ReportInput, *, org: str | None = None) -> Report:
    """Store a new report of one of our organizations and send `Create` to its followers."""
    values = check(data)
    async with federation.db.transaction() as session:
        organization, actor = await resolve(session, org)
        base = federation.config.base_url
        values["related"] = await _known_related(session, values["related"], base)
        return await _new(federation, session, values, organization, actor)


async def _new(
    federation: Federation,
    session: AsyncSession,
    values: dict[str, Any],
    organization: Organization,
    actor: LocalActor,
) -> Report:
    now = utcnow().replace(microsecond=0)
    uri = f"{federation.config.base_url}/reports/{uuid.uuid4()}"
    report = Report(
        uri=uri,
        url=uri,
        is_local=True,
        organization_id=organization.id,
        origin_actor_uri=actor.uri,
        origin_host=federation.own_host,
        origin_name=organization.display_name,
        published_at=now,
        updated_at=now,
        draft=False,
        **values,
    )
    session.add(report)
    await session.flush()
    await publishing.send(federation, session, "Create", report_to_as.activity, report, actor)
    return report


async def edit(federation: Federation, uri: str, data: ReportInput) -> Report:
    """Replace a report's text and send `Update` (with `updated` moved on) to its followers."""
    values = check(data)
    async with federation.db.transaction() as session:
        report, _organization, actor = await own_report(session, uri=uri)
        base = federation.config.base_url
        values["related"] = await _known_related(session, values["related"], base)
        for name, value in values.items():
            setattr(report, name, value)
        if report.language in report.translations:
            # The report itself is now written in that language: it is no translation any more.
            report.translations = {
                code: text for code, text in report.translations.items() if code != report.language
            }
        await publishing.changed(federation, session, report_to_as.activity, report, actor)
    return report


async def unpublish(federation: Federation, uri: str) -> Report:
    """Take a report off the network but keep its text here as a draft: its id answers 410
    and followers get `Delete`, as for a deleted one. Published again, it gets a new id:
    servers (Mastodon among them) never take back an id they were told is deleted."""
    async with federation.db.transaction() as session:
        report, _organization, actor = await own_report(session, uri=uri)
        await publishing.withdrawn(federation, session, report_to_as.activity, report, actor)
        report.draft = True
    return report


async def republish(federation: Federation, report_id: int) -> Report:
    """Publish an unpublished report again, under a new id, and forget the draft."""
    async with federation.db.transaction() as session:
        draft, organization, actor = await _own_draft(session, report_id)
        values = {
            name: getattr(draft, name)
            for name in (
                "title",
                "summary",
                "body_source",
                "body_html",
                "language",
                "hashtags",
                "related",
                "translations",
                "image_file",
                "image_type",
                "image_alt",
            )
        }
        draft.draft = False
        return await _new(federation, session, values, organization, actor)


async def delete(federation: Federation, uri: str) -> Report:
    """Withdraw a report for good: 410 with a Tombstone, and `Delete` to its followers."""
    async with federation.db.transaction() as session:
        report, _organization, actor = await own_report(session, uri=uri)
        await publishing.withdrawn(federation, session, report_to_as.activity, report, actor)
    return report


async def discard_draft(federation: Federation, report_id: int) -> Report:
    """Delete an unpublished report: its `Delete` went out when it was unpublished."""
    async with federation.db.transaction() as session:
        draft, _organization, _actor = await _own_draft(session, report_id)
        draft.draft = False
    return draft


@dataclass
class TranslationInput:
    """The report in another language: its own title, summary and text."""

    language: str
    title: str
    body: str
    summary: str = ""


def check_translation(data: TranslationInput, original_language: str | None) -> dict[str, str]:
    """The stored form of a translation; raises ValidationError naming every wrong field."""
    problems = Problems()
    language = language_tag(data.language)
    if language is None:
        problems.add("language", Message.LANGUAGE_UNKNOWN, value=data.language or "")
    elif original_language is None:
        problems.add("language", Message.ORIGINAL_LANGUAGE_FIRST)
    elif language == original_language:
        problems.add("language", Message.TRANSLATION_SAME_LANGUAGE)
    try:
        values = check(ReportInput(title=data.title, body=data.body, summary=data.summary))
    except ValidationError as exc:
        problems.extend(exc)
        values = {}
    problems.raise_any()
    assert language is not None
    return {
        "language": language,
        "title": values["title"],
        "summary": values["summary"],
        "body_source": values["body_source"],
        "body_html": values["body_html"],
    }


async def translate(federation: Federation, uri: str, data: TranslationInput) -> Report:
    """Add (or replace) the report in another language, and send `Update` with every
    language in its `contentMap`."""
    async with federation.db.transaction() as session:
        report, _organization, actor = await own_report(session, uri=uri)
        values = check_translation(data, report.language)
        language = values.pop("language")
        # A new dict: the JSON column notices a replaced value, not one changed in place.
        report.translations = {**report.translations, language: values}
        await publishing.changed(federation, session, report_to_as.activity, report, actor)
    return report


async def remove_translation(federation: Federation, uri: str, language: str) -> Report:
    async with federation.db.transaction() as session:
        report, _organization, actor = await own_report(session, uri=uri)
        if language not in report.translations:
            raise NotFound(Message.REPORT_NOT_FOUND, f"{uri} ({language})")
        report.translations = {
            code: text for code, text in report.translations.items() if code != language
        }
        await publishing.changed(federation, session, report_to_as.activity, report, actor)
    return report


async def set_image(
    federation: Federation, uri: str, directory: Path, data: bytes | None, alt: str
) -> Report:
    """Give a report its image (or a new alt text for the one it has), and send `Update`.
    Size and kinds as for the call's image (PNG, JPEG, WebP up to 2 MB); the alt text is
    required, since the image says something a screen reader must say too."""
    alt = " ".join(alt.split())
    async with federation.db.read() as session:
        current, _organization, _actor = await own_report(session, uri=uri)
    problems = Problems()
    kind = None
    if not data:
        if current.image_file is None:
            problems.add("image", Message.IMAGE_REQUIRED)
    elif len(data) > call.MAX_IMAGE_BYTES:
        problems.add("image", Message.IMAGE_TOO_LARGE, limit=call.MAX_IMAGE_MB)
    else:
        kind = call.media_type(data)
        if kind is None:
            problems.add("image", Message.IMAGE_TYPE_UNKNOWN)
    if not alt:
        problems.add("alt", Message.ALT_REQUIRED)
    elif len(alt) > call.MAX_ALT:
        problems.add("alt", Message.ALT_TOO_LONG, limit=call.MAX_ALT)
    problems.raise_any()
    name = None
    if data and kind:
        # Megabytes to disk: off the event loop, which serves every other request meanwhile.
        name = await asyncio.to_thread(call.write_image, directory, data, kind)
    async with federation.db.transaction() as session:
        report, _organization, actor = await own_report(session, uri=uri)
        if name is not None:
            report.image_file, report.image_type = name, kind
        report.image_alt = alt
        await publishing.changed(federation, session, report_to_as.activity, report, actor)
    return report


async def remove_image(federation: Federation, uri: str) -> Report:
    """Take the image off a report, and send `Update`. The file stays: another report, or an
    unpublished draft, may show the same bytes under the same name."""
    async with federation.db.transaction() as session:
        report, _organization, actor = await own_report(session, uri=uri)
        report.image_file = report.image_type = report.image_alt = None
        await publishing.changed(federation, session, report_to_as.activity, report, actor)
    return report


def image_path(report: Report) -> str | None:
    """Where this node serves one of our reports' images."""
    return f"/media/reports/{report.image_file}" if report.image_file else None


@dataclass(frozen=True)
class Version:
    """The report as one reader sees it: the original, or one of its translations."""

    language: str | None
    title: str
    summary: str
    body_html: str
    translated: bool


def version(report: Report, wanted: str | None) -> Version:
    """The report in `wanted` (a language code, or its main part: "pt" finds "pt-BR") if it
    has that translation, else as written."""
    if wanted and wanted != report.language:
        for code, text in report.translations.items():
            if code == wanted or code.split("-", 1)[0] == wanted.split("-", 1)[0]:
                return Version(code, text["title"], text["summary"], text["body_html"], True)
    return Version(report.language, report.title, report.summary, report.body_html, False)


def input_from(report: Report) -> ReportInput:
    return ReportInput(
        title=report.title,
        body=report.body_source or "",
        summary=report.summary,
        language=report.language,
        tags=list(report.hashtags),
        related=list(report.related),
    )


# --- reading ----------------------------------------------------------------------------


def page_path(report: Report) -> str:
    """Where this node shows a report: its own id for ours, a local page for others'."""
    return report.uri if report.is_local else f"/reports/remote/{report.id}"


async def own_report(
    session: AsyncSession, *, uri: str | None = None, report_id: int | None = None
) -> tuple[Report, Organization, LocalActor]:
    """One of our organizations' published reports, by its id (`uri`) or its row number."""
    return await owned.find(session, Report, Message.REPORT_NOT_FOUND, uri=uri, row_id=report_id)


async def _own_draft(
    session: AsyncSession, report_id: int
) -> tuple[Report, Organization, LocalActor]:
    row = (
        await session.execute(
            select(Report, Organization, LocalActor)
            .join(Organization, Report.organization_id == Organization.id)
            .join(LocalActor, Organization.local_actor_id == LocalActor.id)
            .where(Report.id == report_id, Report.is_local.is_(True), Report.draft.is_(True))
        )
    ).first()
    if row is None:
        raise NotFound(Message.REPORT_NOT_FOUND, str(report_id))
    return row[0], row[1], row[2]


async def own_reports(session: AsyncSession) -> list[tuple[Report, Organization]]:
    """Our organizations' reports, published and unpublished (not deleted), newest first."""
    rows = await session.execute(
        select(Report, Organization)
        .join(Organization, Report.organization_id == Organization.id)
        .where(Report.is_local.is_(True), Report.deleted_at.is_(None) | Report.draft.is_(True))
        .order_by(Report.published_at.desc(), Report.id.desc())
    )
    return [(report, organization) for report, organization in rows]


async def by_uri(session: AsyncSession, uri: str) -> Report | None:
    return (await session.execute(select(Report).where(Report.uri == uri))).scalar_one_or_none()


async def received(session: AsyncSession, report_id: int) -> Report | None:
    """A report from another server, by the number of its page here (`/reports/remote/{n}`)."""
    return (
        await session.execute(
            select(Report).where(Report.id == report_id, Report.is_local.is_(False))
        )
    ).scalar_one_or_none()


async def latest(
    session: AsyncSession,
    *,
    limit: int = 50,
    local: bool | None = None,
    organization_id: int | None = None,
) -> list[Report]:
    """Reports not withdrawn (own and received, none from blocked origins), newest first;
    with `organization_id`, that one of our organizations' own."""
    query = (
        select(Report)
        .where(Report.deleted_at.is_(None), visible(session, Report))
        .order_by(Report.published_at.desc(), Report.id.desc())
        .limit(limit)
    )
    if local is not None:
        query = query.where(Report.is_local.is_(local))
    if organization_id is not None:
        query = query.where(Report.organization_id == organization_id)
    return list((await session.execute(query)).scalars().all())


async def every(session: AsyncSession) -> list[Report]:
    """Every report not withdrawn, own and received (blocked ones too), newest first."""
    return list(
        (
            await session.execute(
                select(Report)
                .where(Report.deleted_at.is_(None))
                .order_by(Report.published_at.desc(), Report.id.desc())
            )
        )
        .scalars()
        .all()
    )


@dataclass(frozen=True)
class RelatedItem:
    """Something a report is about, as its page links it."""

    kind: str  # action | assembly | alert | day | unknown
    title: str
    path: str


async def related_items(session: AsyncSession, report: Report) -> list[RelatedItem]:
    """What the report is about, for its page: what this node holds, linked to our page of
    it; what it does not hold (a received report's links), linked to where it lives."""
    items: list[RelatedItem] = []
    for uri in report.related:
        event = (await session.execute(select(Event).where(Event.uri == uri))).scalar_one_or_none()
        if event is not None and event.deleted_at is None:
            # Received events have no page here: the listings link them to their origin too.
            path = event.uri if event.is_local else (http_url(event.url) or event.uri)
            items.append(RelatedItem(event.category, event.title, path))
            continue
        alert = (await session.execute(select(Alert).where(Alert.uri == uri))).scalar_one_or_none()
        if alert is not None and alert.deleted_at is None:
            path = alert.uri if alert.is_local else f"/alerts/remote/{alert.id}"
            items.append(RelatedItem("alert", alert.title, path))
            continue
        day = (
            await session.execute(select(SolidarityDay).where(SolidarityDay.uri == uri))
        ).scalar_one_or_none()
        if day is not None and day.deleted_at is None:
            path = day.uri if day.is_local else f"/days/remote/{day.id}"
            items.append(RelatedItem("day", day.theme, path))
            continue
        if http_url(uri):
            items.append(RelatedItem("unknown", uri, uri))
    return items


# --- replies and boosts -------------------------------------------------------------------


@dataclass
class ThreadNode:
    reply: ReportReply
    children: list[ThreadNode] = field(default_factory=list)


async def thread(session: AsyncSession, report: Report) -> tuple[list[ThreadNode], int]:
    """The replies a report's page shows, as a tree, and how many there are.

    A reply hidden by an admin is left out with the replies under it (they answer something
    no longer shown); one whose parent is not here (deleted by its author, never received)
    stands under the report itself. Authors that are blocked are left out.
    """
    replies = by_visible_authors(
        session,
        (
            await session.execute(
                select(ReportReply)
                .where(ReportReply.report_id == report.id)
                .order_by(ReportReply.published_at, ReportReply.id)
            )
        ).scalars(),
    )
    nodes = {reply.uri: ThreadNode(reply) for reply in replies}
    roots: list[ThreadNode] = []
    for node in nodes.values():
        parent = nodes.get(node.reply.in_reply_to)
        if parent is None or parent is node:
            roots.append(node)
        else:
            parent.children.append(node)

    def shown(branch: list[ThreadNode]) -> list[ThreadNode]:
        kept = [node for node in branch if not node.reply.hidden]
        for node in kept:
            node.children = shown(node.children)
        return kept

    def size(branch: list[ThreadNode]) -> int:
        return sum(1 + size(node.children) for node in branch)

    tree = shown(roots)
    return tree, size(tree)


async def boost_count(session: AsyncSession, report: Report) -> int:
    return (
        await session.execute(
            select(func.count(ReportBoost.id)).where(ReportBoost.report_id == report.id)
        )
    ).scalar_one()


async def hide_reply(federation: Federation, reply_id: int) -> Report:
    """An admin hides a reply (and what answers it) under one of our reports."""
    async with federation.db.transaction() as session:
        reply = await session.get(ReportReply, reply_id)
        report = await session.get(Report, reply.report_id) if reply is not None else None
        if reply is None or report is None or not report.is_local:
            raise NotFound(Message.REPORT_NOT_FOUND, str(reply_id))
        reply.hidden = True
    return report
