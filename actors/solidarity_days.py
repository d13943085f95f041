"""Monthly Workers Solidarity Days: the rules, the one entry point for each change, the wire.

A day is a calendar date with a theme, a slogan and one hashtag, declared by an organization.
On the wire it is an all-day `Event` marked `eventCategory: "solidarity-day"` (see
docs/federation.md); actions name the day (`solidarityDay`, `context`) and carry its hashtag.
"""

from __future__ import annotations

import html
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from actors.internal_to_as import EVENT_CONTEXT
from actors.models import Event, Organization, SolidarityDay
from actors.organizations import OrganizationError, resolve
from actors.text import (
    description_html,
    hashtag_objects,
    hashtags_html,
    normalize_hashtag,
    sanitize_html,
)
from federation.db import utcnow
from federation.delivery import PUBLIC
from federation.models import LocalActor
from federation.node import Federation
from federation.remote_actors import first_id, host_of

CATEGORY = "solidarity-day"
MAX_THEME = 200
MAX_SLOGAN = 300
MAX_HASHTAG = 39
MAX_DESCRIPTION = 20_000


class DayError(ValueError):
    """Invalid input: `problems` maps each field to what is wrong with it, in plain words."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {text}" for name, text in problems.items()))
        self.problems = problems


class DayNotFound(LookupError):
    pass


class NotADay(ValueError):
    pass


@dataclass
class DayInput:
    day: date
    theme: str
    slogan: str
    hashtag: str
    description: str = ""


def _clean(value: str | None) -> str:
    return " ".join((value or "").split())


def check(data: DayInput) -> dict[str, Any]:
    problems: dict[str, str] = {}
    theme, slogan = _clean(data.theme), _clean(data.slogan)
    if not theme:
        problems["theme"] = "a theme is required"
    elif len(theme) > MAX_THEME:
        problems["theme"] = f"the theme is longer than {MAX_THEME} characters"
    if not slogan:
        problems["slogan"] = "a slogan is required"
    elif len(slogan) > MAX_SLOGAN:
        problems["slogan"] = f"the slogan is longer than {MAX_SLOGAN} characters"
    hashtag = normalize_hashtag(data.hashtag or "")
    if hashtag is None:
        problems["hashtag"] = f"{data.hashtag!r} is not a hashtag: letters, digits and _ only"
    elif len(hashtag) > MAX_HASHTAG:
        # Mobilizon drops longer tags.
        problems["hashtag"] = f"#{hashtag} is longer than {MAX_HASHTAG} characters"
    if not isinstance(data.day, date):
        problems["date"] = "a date like 2027-03-08 is required"
    if len(data.description) > MAX_DESCRIPTION:
        problems["description"] = f"the description is longer than {MAX_DESCRIPTION} characters"
    if problems:
        raise DayError(problems)
    return {
        "day": data.day,
        "theme": theme,
        "slogan": slogan,
        "hashtag": hashtag,
        "description_source": data.description,
        "description_html": description_html(data.description, format="markdown"),
    }


# --- ours → ActivityStreams -------------------------------------------------------------


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def when(day: SolidarityDay) -> str:
    return format_date(day.day, format="full", locale="en")


def summary_html(day: SolidarityDay, base_url: str) -> str:
    """What Mastodon shows under the name: the date, theme, slogan and the hashtag link."""
    return (
        f"<p>Monthly Workers Solidarity Day · {html.escape(when(day))}</p>"
        f"<p>Theme: {html.escape(day.theme)}<br>“{html.escape(day.slogan)}”</p>"
        f"<p>{hashtags_html([day.hashtag], base_url)}</p>"
    )


def day_object(base_url: str, day: SolidarityDay, actor: LocalActor) -> dict[str, Any]:
    start = datetime.combine(day.day, datetime.min.time(), tzinfo=UTC)
    return {
        "id": day.uri,
        "type": "Event",
        "name": f"Workers Solidarity Day: {day.theme}",
        "summary": summary_html(day, base_url),
        "content": day.description_html,
        "mediaType": "text/html",
        # All day: the date everywhere. FEP-8a8e has no all-day flag; Mobilizon and Gancio
        # need a date-time, so the day runs 00:00:00Z–23:59:59Z and readers take the date.
        "startTime": _stamp(start),
        "endTime": _stamp(start + timedelta(days=1, seconds=-1)),
        "timezone": "UTC",
        "url": day.url or day.uri,
        "attributedTo": actor.uri,
        "to": [PUBLIC],
        "cc": [actor.followers_uri],
        "published": _stamp(day.published_at),
        "updated": _stamp(day.updated_at),
        "eventStatus": "https://schema.org/EventScheduled",
        "status": "CONFIRMED",
        "category": "MOVEMENTS_POLITICS",
        "eventCategory": CATEGORY,
        "theme": day.theme,
        "slogan": day.slogan,
        "tag": hashtag_objects([day.hashtag], base_url),
        "isOnline": False,
        "commentsEnabled": True,
        "repliesModerationOption": "allow_all",
        "anonymousParticipationEnabled": False,
    }


def tombstone(day: SolidarityDay) -> dict[str, Any]:
    return {
        "id": day.uri,
        "type": "Tombstone",
        "formerType": "Event",
        "deleted": _stamp(day.deleted_at or day.updated_at),
    }


def _activity(
    federation: Federation, kind: str, actor: LocalActor, obj: Any, day: SolidarityDay
) -> dict[str, Any]:
    return {
        "@context": EVENT_CONTEXT,
        "id": federation.new_id(),
        "type": kind,
        "actor": actor.uri,
        "published": _stamp(day.updated_at),
        "to": [PUBLIC],
        "cc": [actor.followers_uri],
        "object": obj,
    }


# --- entry points -----------------------------------------------------------------------


async def _organization(session: AsyncSession, name: str | None) -> tuple[Organization, LocalActor]:
    try:
        return await resolve(session, name)
    except OrganizationError as exc:
        raise DayError({"org": str(exc)}) from exc


async def declare(
    federation: Federation, data: DayInput, *, org: str | None = None
) -> SolidarityDay:
    """Store a new day of one of our organizations and send `Create` to its followers."""
    values = check(data)
    async with federation.db.transaction() as session:
        organization, actor = await _organization(session, org)
        now = utcnow()
        uri = f"{federation.config.base_url}/days/{uuid.uuid4()}"
        day = SolidarityDay(
            uri=uri,
            url=uri,
            is_local=True,
            organization_id=organization.id,
            origin_actor_uri=actor.uri,
            origin_host=federation.own_host,
            origin_name=organization.display_name,
            published_at=now,
            updated_at=now,
            **values,
        )
        session.add(day)
        await session.flush()
        document = day_object(federation.config.base_url, day, actor)
        await federation.publish(
            session, _activity(federation, "Create", actor, document, day), actor=actor
        )
    return day


async def _own(session: AsyncSession, uri: str) -> tuple[SolidarityDay, LocalActor]:
    row = (
        await session.execute(
            select(SolidarityDay, LocalActor)
            .join(Organization, SolidarityDay.organization_id == Organization.id)
            .join(LocalActor, Organization.local_actor_id == LocalActor.id)
            .where(
                SolidarityDay.uri == uri,
                SolidarityDay.is_local.is_(True),
                SolidarityDay.deleted_at.is_(None),
            )
        )
    ).first()
    if row is None:
        raise DayNotFound(f"no solidarity day of this node at {uri}")
    return row[0], row[1]


def _advance(day: SolidarityDay) -> None:
    # Mastodon applies an Update only when `updated` moves forward (to the second).
    day.updated_at = max(utcnow(), day.updated_at + timedelta(seconds=1)).replace(microsecond=0)


async def edit(federation: Federation, uri: str, data: DayInput) -> SolidarityDay:
    """Replace a day's details and send `Update` to its followers."""
    values = check(data)
    async with federation.db.transaction() as session:
        day, actor = await _own(session, uri)
        for name, value in values.items():
            setattr(day, name, value)
        _advance(day)
        document = day_object(federation.config.base_url, day, actor)
        await federation.publish(
            session, _activity(federation, "Update", actor, document, day), actor=actor
        )
    return day


async def delete(federation: Federation, uri: str) -> SolidarityDay:
    """Withdraw a day: it answers 410 with a Tombstone, and followers get `Delete`."""
    async with federation.db.transaction() as session:
        day, actor = await _own(session, uri)
        day.deleted_at = utcnow()
        _advance(day)
        await federation.retract_from_outbox(session, day.uri)
        await federation.publish(
            session, _activity(federation, "Delete", actor, tombstone(day), day), actor=actor
        )
    return day


def input_from(day: SolidarityDay) -> DayInput:
    return DayInput(
        day=day.day,
        theme=day.theme,
        slogan=day.slogan,
        hashtag=day.hashtag,
        description=day.description_source or "",
    )


# --- reading ----------------------------------------------------------------------------


async def by_uri(session: AsyncSession, uri: str) -> SolidarityDay | None:
    return (
        await session.execute(select(SolidarityDay).where(SolidarityDay.uri == uri))
    ).scalar_one_or_none()


async def coming(session: AsyncSession, *, limit: int = 50) -> list[SolidarityDay]:
    """Days from today on (own and followed), soonest first."""
    # Today anywhere on Earth: a day still running at UTC-12 is still coming.
    today = (datetime.now(UTC) - timedelta(hours=12)).date()
    return list(
        (
            await session.execute(
                select(SolidarityDay)
                .where(SolidarityDay.deleted_at.is_(None), SolidarityDay.day >= today)
                .order_by(SolidarityDay.day, SolidarityDay.id)
                .limit(limit)
            )
        )
        .scalars()
        .all()
    )


async def day_hashtag_for(session: AsyncSession, uri: str | None) -> str | None:
    """The hashtag an action attached to this day must carry; None for no (or unknown) day."""
    if not uri:
        return None
    day = await by_uri(session, uri)
    return day.hashtag if day is not None and day.deleted_at is None else None


async def actions_of(session: AsyncSession, day: SolidarityDay) -> list[Event]:
    """Every live event the node holds for the day: naming it, or carrying its hashtag on its
    date (in the event's own time zone)."""
    # A local date spans from UTC-12 to UTC+14: look a day either side, then check locally.
    low = datetime.combine(day.day - timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    high = datetime.combine(day.day + timedelta(days=2), datetime.min.time(), tzinfo=UTC)
    rows = (
        (
            await session.execute(
                select(Event)
                .where(
                    Event.deleted_at.is_(None),
                    or_(
                        Event.solidarity_day_uri == day.uri,
                        (Event.starts_at >= low) & (Event.starts_at < high),
                    ),
                )
                .order_by(Event.starts_at)
            )
        )
        .scalars()
        .all()
    )
    tag = day.hashtag.lower()
    found = []
    for event in rows:
        if event.solidarity_day_uri == day.uri:
            found.append(event)
        elif event.solidarity_day_uri is None and tag in {t.lower() for t in event.hashtags}:
            if event.starts_at.astimezone(ZoneInfo(event.timezone)).date() == day.day:
                found.append(event)
    return found


def grouped(events: list[Event]) -> dict[str, Any]:
    """Events by country (code, or None for online / unknown) with the day's counts."""
    groups: dict[str | None, list[Event]] = {}
    for event in events:
        groups.setdefault(event.country, []).append(event)
    order = sorted(groups, key=lambda code: (code is None, code or ""))
    return {
        "groups": [(code, groups[code]) for code in order],
        "actions": len(events),
        "organizations": len({event.origin_actor_uri for event in events}),
        "countries": len({event.country for event in events if event.country}),
    }


# --- ActivityStreams → ours (received from followed actors) -----------------------------


def is_day(document: dict[str, Any]) -> bool:
    return document.get("type") == "Event" and document.get("eventCategory") == CATEGORY


def _text(value: Any, limit: int) -> str | None:
    if isinstance(value, str):
        value = " ".join(value.split())
        return value[:limit] or None
    return None


def day_fields(document: dict[str, Any]) -> dict[str, Any]:
    """Columns of `SolidarityDay` for a remote day; raises NotADay when it cannot be one."""
    uri = document.get("id")
    if not isinstance(uri, str) or not uri.startswith(("https://", "http://")):
        raise NotADay("the day has no http(s) id")
    start = document.get("startTime")
    try:
        # The date as written: the declaring node's calendar date, whatever the offset.
        when_ = datetime.fromisoformat(start.replace("Z", "+00:00"))  # type: ignore[union-attr]
    except (AttributeError, ValueError) as exc:
        raise NotADay("the day has no valid startTime") from exc
    theme = _text(document.get("theme"), MAX_THEME) or _text(document.get("name"), MAX_THEME)
    if not theme:
        raise NotADay("the day has no theme")
    hashtag = None
    for tag in document.get("tag") or []:
        if isinstance(tag, dict) and tag.get("type") == "Hashtag":
            hashtag = normalize_hashtag(str(tag.get("name", "")))
            if hashtag:
                break
    if not hashtag:
        raise NotADay("the day has no hashtag")
    content = document.get("content")
    url = document.get("url")
    attributed = first_id(document.get("attributedTo"))

    def stamp(value: Any) -> datetime | None:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
        except (AttributeError, ValueError):
            return None

    published = stamp(document.get("published")) or datetime.now(UTC)
    return {
        "uri": uri,
        "url": url if isinstance(url, str) and url.startswith(("https://", "http://")) else uri,
        "origin_actor_uri": attributed or uri,
        "origin_host": host_of(uri),
        "day": when_.date(),
        "theme": theme,
        "slogan": _text(document.get("slogan"), MAX_SLOGAN) or "",
        "hashtag": hashtag[:64],
        "description_html": sanitize_html(content) if isinstance(content, str) else "",
        "published_at": published,
        "updated_at": stamp(document.get("updated")) or published,
    }


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
