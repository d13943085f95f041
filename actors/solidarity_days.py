"""Monthly Workers Solidarity Days: the rules, and the one entry point for each change.

A day is a calendar date with a theme, a slogan and one hashtag, declared by an organization;
actions name the day and carry its hashtag. How a day reads is in `actors.day_text`, its wire
form in `actors.day_to_as` and `actors.as_to_day`, and days from other servers are kept by
`actors.remote_days`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from actors import day_to_as, hashtags, owned, publishing
from actors.errors import Message, Problems
from actors.models import Event, Organization, SolidarityDay
from actors.organizations import resolve
from actors.text import description_html
from actors.visibility import visible
from federation.db import utcnow
from federation.models import LocalActor
from federation.node import Federation

MAX_THEME = 200
MAX_SLOGAN = 300
MAX_DESCRIPTION = 20_000


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
    """The day's columns from the input; raises ValidationError naming every wrong field."""
    problems = Problems()
    theme, slogan = _clean(data.theme), _clean(data.slogan)
    if not theme:
        problems.add("theme", Message.THEME_REQUIRED)
    elif len(theme) > MAX_THEME:
        problems.add("theme", Message.THEME_TOO_LONG, limit=MAX_THEME)
    if not slogan:
        problems.add("slogan", Message.SLOGAN_REQUIRED)
    elif len(slogan) > MAX_SLOGAN:
        problems.add("slogan", Message.SLOGAN_TOO_LONG, limit=MAX_SLOGAN)
    hashtag = next(iter(hashtags.own([data.hashtag or ""], "hashtag", problems)), None)
    if not isinstance(data.day, date):
        problems.add("date", Message.DATE_REQUIRED)
    if len(data.description) > MAX_DESCRIPTION:
        problems.add("description", Message.DESCRIPTION_TOO_LONG, limit=MAX_DESCRIPTION)
    problems.raise_any()
    return {
        "day": data.day,
        "theme": theme,
        "slogan": slogan,
        "hashtag": hashtag,
        "description_source": data.description,
        "description_html": description_html(data.description, format="markdown"),
    }


# --- entry points -----------------------------------------------------------------------


async def declare(
    federation: Federation, data: DayInput, *, org: str | None = None
) -> SolidarityDay:
    """Store a new day of one of our organizations and send `Create` to its followers."""
    values = check(data)
    async with federation.db.transaction() as session:
        organization, actor = await resolve(session, org)
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
        await publishing.send(federation, session, "Create", day_to_as.activity, day, actor)
    return day


async def edit(federation: Federation, uri: str, data: DayInput) -> SolidarityDay:
    """Replace a day's details and send `Update` to its followers."""
    values = check(data)
    async with federation.db.transaction() as session:
        day, _organization, actor = await own_day(session, uri=uri)
        for name, value in values.items():
            setattr(day, name, value)
        await publishing.changed(federation, session, day_to_as.activity, day, actor)
    return day


async def delete(federation: Federation, uri: str) -> SolidarityDay:
    """Withdraw a day: it answers 410 with a Tombstone, and followers get `Delete`."""
    async with federation.db.transaction() as session:
        day, _organization, actor = await own_day(session, uri=uri)
        await publishing.withdrawn(federation, session, day_to_as.activity, day, actor)
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


def today_anywhere(now: datetime | None = None) -> date:
    """Today somewhere on Earth: a day still running at UTC-12 is still coming."""
    return ((now or datetime.now(UTC)).astimezone(UTC) - timedelta(hours=12)).date()


def page_path(day: SolidarityDay) -> str:
    """Where this node shows a day: its own id for ours, a local page for others'."""
    if day.is_local:
        return day.uri
    return f"/days/remote/{day.id}"


def page_url(day: SolidarityDay, base_url: str) -> str:
    path = page_path(day)
    return path if path.startswith("http") else base_url + path


async def own_day(
    session: AsyncSession, *, uri: str | None = None, day_id: int | None = None
) -> tuple[SolidarityDay, Organization, LocalActor]:
    """One of our organizations' days, not deleted, by its id (`uri`) or its row number."""
    return await owned.find(session, SolidarityDay, Message.DAY_NOT_FOUND, uri=uri, row_id=day_id)


async def own_days(session: AsyncSession) -> list[tuple[SolidarityDay, Organization]]:
    """Our organizations' days not deleted, past and coming, by date."""
    rows = await session.execute(
        select(SolidarityDay, Organization)
        .join(Organization, SolidarityDay.organization_id == Organization.id)
        .where(SolidarityDay.is_local.is_(True), SolidarityDay.deleted_at.is_(None))
        .order_by(SolidarityDay.day, SolidarityDay.id)
    )
    return [(day, organization) for day, organization in rows]


async def received(session: AsyncSession, day_id: int) -> SolidarityDay | None:
    """A day from another server, by the number of its page here (`/days/remote/{n}`)."""
    return (
        await session.execute(
            select(SolidarityDay).where(
                SolidarityDay.id == day_id, SolidarityDay.is_local.is_(False)
            )
        )
    ).scalar_one_or_none()


async def every(session: AsyncSession) -> list[SolidarityDay]:
    """Every day not deleted, own and received (blocked ones too), by date."""
    return list(
        (
            await session.execute(
                select(SolidarityDay)
                .where(SolidarityDay.deleted_at.is_(None))
                .order_by(SolidarityDay.day)
            )
        )
        .scalars()
        .all()
    )


async def by_uri(session: AsyncSession, uri: str) -> SolidarityDay | None:
    return (
        await session.execute(select(SolidarityDay).where(SolidarityDay.uri == uri))
    ).scalar_one_or_none()


async def coming(session: AsyncSession, *, limit: int = 50) -> list[SolidarityDay]:
    """Days from today on (own and followed), soonest first."""
    today = today_anywhere()
    return list(
        (
            await session.execute(
                select(SolidarityDay)
                .where(
                    SolidarityDay.deleted_at.is_(None),
                    SolidarityDay.day >= today,
                    visible(session, SolidarityDay),
                )
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
                    visible(session, Event),
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
