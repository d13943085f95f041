"""Actions and Workers Assemblies: the rules, and the one entry point for each change.

Admin pages, the CLI and tests all publish, edit, cancel and delete through these functions;
each change is stored and handed to the delivery queue in one transaction.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from time import monotonic
from typing import Any, Literal, NamedTuple, TypeVar
from typing import cast as cast_type
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    Select,
    String,
    bindparam,
    case,
    cast,
    func,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, defer

from actors import (
    countries,
    event_to_as,
    geo,
    hashtags,
    owned,
    places,
    publishing,
    solidarity_days,
    vocabulary,
)
from actors.errors import Message, Problems, ValidationError
from actors.models import Event, Organization, Participant, Reply
from actors.organizations import resolve
from actors.text import description_html
from actors.urls import http_url
from actors.visibility import by_visible_authors, visibility_key, visible
from federation.db import utcnow
from federation.models import LocalActor
from federation.node import Federation

KINDS = vocabulary.EVENT_KINDS
CATEGORIES = vocabulary.EVENT_CATEGORIES
Category = Literal["action", "assembly"]
MAX_TITLE = 200
MAX_DESCRIPTION = 20_000


@dataclass
class EventInput:
    """What an organizer gives: local wall-clock times in the event's own time zone."""

    title: str
    kind: str
    starts: datetime
    ends: datetime | None
    timezone: str
    place_name: str | None = None
    street_address: str | None = None
    city: str | None = None
    postal_code: str | None = None
    country: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    online_url: str | None = None
    tags: list[str] = field(default_factory=list)
    description: str = ""
    description_format: Literal["markdown", "html"] = "markdown"
    contact: str | None = None
    language: str | None = None
    solidarity_day_uri: str | None = None
    agenda: str | None = None
    sections: list[str] = field(default_factory=list)
    capacity: int | None = None


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = " ".join(value.split())
    return value or None


def _local_to_utc(moment: datetime, zone: ZoneInfo) -> datetime | None:
    """A wall-clock time in `zone` as UTC; None for a time the clocks skip over."""
    naive = moment.replace(tzinfo=None)
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)
    there_and_back = first.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    if (
        there_and_back != naive
        and second.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive
    ):
        return None
    return first.astimezone(UTC)


@cache
def known_timezones() -> frozenset[str]:
    """The IANA zone names the system knows. `zoneinfo.available_timezones()` walks the whole
    tz database's directory tree each time it is called (about 15 ms, which was most of what a
    submitted plan cost); the set does not change while the node runs."""
    return frozenset(available_timezones())


@dataclass(frozen=True)
class Checked:
    """Validated input, ready to store."""

    values: dict[str, object]


def check(data: EventInput, category: Category) -> Checked:
    """The event's columns from the input; raises ValidationError naming every wrong field."""
    problems = Problems()
    title = _clean(data.title) or ""
    if not title:
        problems.add("title", Message.TITLE_REQUIRED)
    elif len(title) > MAX_TITLE:
        problems.add("title", Message.TITLE_TOO_LONG, limit=MAX_TITLE)
    if data.kind not in KINDS:
        problems.add("kind", Message.KIND_UNKNOWN, choices=", ".join(KINDS))
    zone: ZoneInfo | None = None
    if not data.timezone:
        problems.add("timezone", Message.TIMEZONE_REQUIRED)
    elif data.timezone not in known_timezones():
        problems.add("timezone", Message.TIMEZONE_UNKNOWN, value=data.timezone)
    else:
        try:
            zone = ZoneInfo(data.timezone)
        except ZoneInfoNotFoundError:
            problems.add("timezone", Message.TIMEZONE_UNKNOWN, value=data.timezone)
    starts_at = ends_at = None
    if zone is not None:
        starts_at = _local_to_utc(data.starts, zone)
        if starts_at is None:
            problems.add("starts", Message.TIME_SKIPPED)
        if data.ends is None:
            problems.add("ends", Message.END_REQUIRED)
        else:
            ends_at = _local_to_utc(data.ends, zone)
            if ends_at is None:
                problems.add("ends", Message.TIME_SKIPPED)
            elif starts_at and ends_at <= starts_at:
                problems.add("ends", Message.END_BEFORE_START)
    country = countries.normalize(data.country)
    if country and not countries.known(country):
        problems.add("country", Message.COUNTRY_UNKNOWN, value=data.country or "")
    lat, lon = data.latitude, data.longitude
    if (lat is None) != (lon is None):
        problems.add("coordinates", Message.COORDINATES_HALF)
    elif lat is not None and lon is not None:
        if not -90 <= lat <= 90:
            problems.add("latitude", Message.LATITUDE_RANGE)
        if not -180 <= lon <= 180:
            problems.add("longitude", Message.LONGITUDE_RANGE)
    online_url = (data.online_url or "").strip() or None
    if online_url and http_url(online_url) is None:
        problems.add("online_url", Message.ONLINE_URL_NOT_HTTP)
    place_name, city = _clean(data.place_name), _clean(data.city)
    if not online_url and not (place_name and city):
        problems.add("location", Message.LOCATION_REQUIRED)
    names = hashtags.own(data.tags, "tags", problems)
    if len(data.description) > MAX_DESCRIPTION:
        problems.add("description", Message.DESCRIPTION_TOO_LONG, limit=MAX_DESCRIPTION)
    capacity = data.capacity
    if category == "assembly" and capacity is not None and capacity < 1:
        problems.add("capacity", Message.CAPACITY_NOT_POSITIVE)
    problems.raise_any()
    return Checked(
        {
            "title": title,
            "kind": data.kind,
            "starts_at": starts_at,
            "ends_at": ends_at,
            "timezone": data.timezone,
            "place_name": place_name,
            "street_address": _clean(data.street_address),
            "city": city,
            "postal_code": _clean(data.postal_code),
            "country": country,
            "latitude": lat,
            "longitude": lon,
            "online_url": online_url,
            "hashtags": names,
            "description_source": data.description,
            "description_format": data.description_format,
            "description_html": description_html(data.description, format=data.description_format),
            "contact": _clean(data.contact),
            "language": (data.language or "").strip() or None,
            "solidarity_day_uri": (data.solidarity_day_uri or "").strip() or None,
            "agenda": (data.agenda or "").strip() or None if category == "assembly" else None,
            "sections": [s for s in (_clean(x) for x in data.sections) if s]
            if category == "assembly"
            else [],
            "capacity": capacity if category == "assembly" else None,
        }
    )


def category_from(text: str) -> Category:
    """ "action" or "assembly", as a form or a command names it."""
    if text == "assembly":
        return "assembly"
    if text == "action":
        return "action"
    raise ValidationError.one("category", Message.CATEGORY_UNKNOWN)


def event_path(category: str) -> str:
    return "assemblies" if category == "assembly" else "actions"


async def publish(
    federation: Federation, data: EventInput, *, category: Category, org: str | None = None
) -> Event:
    """Store a new event of one of our organizations and send `Create` to its followers."""
    checked = check(data, category)
    async with federation.db.transaction() as session:
        return await publish_in(session, federation, checked, category=category, org=org)


async def publish_in(
    session: AsyncSession,
    federation: Federation,
    checked: Checked,
    *,
    category: Category,
    org: str | None = None,
) -> Event:
    """`publish` inside the caller's transaction: with what else must happen with it (an
    approved submission marked so), or not at all."""
    organization, actor = await resolve(session, org)
    await _with_day_hashtag(session, checked)
    now = utcnow()
    uri = f"{federation.config.base_url}/{event_path(category)}/{uuid.uuid4()}"
    event = Event(
        uri=uri,
        url=uri,
        category=category,
        is_local=True,
        organization_id=organization.id,
        origin_actor_uri=actor.uri,
        origin_host=federation.own_host,
        origin_name=organization.display_name,
        published_at=now,
        updated_at=now,
        status="scheduled",
        **checked.values,
    )
    await places.place_event(session, event)
    session.add(event)
    await session.flush()
    await publishing.send(federation, session, "Create", event_to_as.activity, event, actor)
    return event


async def _with_day_hashtag(session: AsyncSession, checked: Checked) -> None:
    """An action of a solidarity day carries the day's hashtag, so the day's followers see it."""
    day_uri: str | None = checked.values["solidarity_day_uri"]  # type: ignore[assignment]
    tag = await solidarity_days.day_hashtag_for(session, day_uri)
    names: list[str] = checked.values["hashtags"]  # type: ignore[assignment]
    if tag and hashtags.key(tag) not in {hashtags.key(t) for t in names}:
        names.append(tag)


async def _going(session: AsyncSession, event: Event) -> int:
    if event.category != "assembly":
        return 0
    return (
        await session.execute(
            select(func.count(Participant.id)).where(
                Participant.event_id == event.id, Participant.state == "going"
            )
        )
    ).scalar_one()


async def _send_update(
    federation: Federation, session: AsyncSession, event: Event, actor: LocalActor
) -> None:
    count = await _going(session, event)
    await publishing.changed(
        federation, session, event_to_as.activity, event, actor, participant_count=count
    )


async def edit(federation: Federation, uri: str, data: EventInput) -> Event:
    """Replace an event's details and send `Update` to its followers."""
    async with federation.db.transaction() as session:
        event, _organization, actor = await own_event(session, uri=uri)
        checked = check(data, event.category)  # type: ignore[arg-type]
        await _with_day_hashtag(session, checked)
        for name, value in checked.values.items():
            setattr(event, name, value)
        await places.place_event(session, event)
        await _send_update(federation, session, event, actor)
    return event


async def cancel(federation: Federation, uri: str) -> Event:
    """Mark an event cancelled: an `Update` with eventStatus EventCancelled, as Mobilizon does."""
    async with federation.db.transaction() as session:
        event, _organization, actor = await own_event(session, uri=uri)
        event.status = "cancelled"
        await _send_update(federation, session, event, actor)
    return event


async def delete(federation: Federation, uri: str) -> Event:
    """Withdraw an event: it answers 410 with a Tombstone, and followers get `Delete`."""
    async with federation.db.transaction() as session:
        event, _organization, actor = await own_event(session, uri=uri)
        await publishing.withdrawn(federation, session, event_to_as.activity, event, actor)
    return event


def input_from(event: Event) -> EventInput:
    """The current details of an event as input, to edit a few fields and keep the rest."""
    zone = ZoneInfo(event.timezone)
    return EventInput(
        title=event.title,
        kind=event.kind,
        starts=event.starts_at.astimezone(zone).replace(tzinfo=None),
        ends=event.ends_at.astimezone(zone).replace(tzinfo=None) if event.ends_at else None,
        timezone=event.timezone,
        place_name=event.place_name,
        street_address=event.street_address,
        city=event.city,
        postal_code=event.postal_code,
        country=event.country,
        latitude=event.latitude,
        longitude=event.longitude,
        online_url=event.online_url,
        tags=list(event.hashtags),
        description=event.description_source or "",
        description_format=event.description_format,  # type: ignore[arg-type]
        contact=event.contact,
        language=event.language,
        solidarity_day_uri=event.solidarity_day_uri,
        agenda=event.agenda,
        sections=list(event.sections),
        capacity=event.capacity,
    )


# --- reading ----------------------------------------------------------------------------


def is_over(event: Event, now: datetime) -> bool:
    """Listed as coming until it ends; one without an end, for a day after it starts."""
    if event.ends_at is not None:
        return event.ends_at < now
    return event.starts_at < now - timedelta(days=1)


def _not_over(now: datetime) -> ColumnElement[bool]:
    return _not_over_given(now, now - timedelta(days=1))


def _not_over_given(now: Any, day_before: Any) -> ColumnElement[bool]:
    """`_not_over` for values or bound parameters."""
    # `is_over` in SQL, negated: the two must agree, or a listing and its page would differ.
    return or_(Event.ends_at >= now, Event.ends_at.is_(None) & (Event.starts_at >= day_before))


async def own_event(
    session: AsyncSession, *, uri: str | None = None, event_id: int | None = None
) -> tuple[Event, Organization, LocalActor]:
    """One of our organizations' events, not deleted, by its id (`uri`) or its row number."""
    return await owned.find(session, Event, Message.EVENT_NOT_FOUND, uri=uri, row_id=event_id)


async def by_uri(session: AsyncSession, uri: str) -> Event | None:
    return (await session.execute(select(Event).where(Event.uri == uri))).scalar_one_or_none()


async def with_organizer(
    session: AsyncSession, uri: str
) -> tuple[Event, Organization, LocalActor] | None:
    """One of our events in any state (a deleted one answers 410), with who publishes it."""
    row = (
        await session.execute(
            select(Event, Organization, LocalActor)
            .join(Organization, Event.organization_id == Organization.id)
            .join(LocalActor, Organization.local_actor_id == LocalActor.id)
            .where(Event.uri == uri)
        )
    ).first()
    return (row[0], row[1], row[2]) if row else None


async def shown_replies(session: AsyncSession, event: Event) -> list[Reply]:
    """Replies an event's page shows: not hidden by an admin, not by a blocked author."""
    return by_visible_authors(
        session,
        (
            await session.execute(
                select(Reply)
                .where(Reply.event_id == event.id, Reply.hidden.is_(False))
                .order_by(Reply.published_at)
            )
        ).scalars(),
    )


async def upcoming(
    session: AsyncSession,
    *,
    organization_id: int | None = None,
    limit: int = 200,
    now: datetime | None = None,
) -> list[Event]:
    """Events not over yet (own and followed, none withdrawn nor blocked), soonest first."""
    query = (
        select(Event)
        .where(
            Event.deleted_at.is_(None),
            visible(session, Event),
            _not_over(now or utcnow()),
        )
        .order_by(Event.starts_at)
        .limit(limit)
    )
    if organization_id is not None:
        query = query.where(Event.organization_id == organization_id)
    return list((await session.execute(query)).scalars().all())


@dataclass(frozen=True)
class Narrowing:
    """What a search of upcoming events keeps, beyond place and time left: all in SQL, so a
    limit applies to what matches. Dates are calendar dates in each event's own time zone."""

    category: Category | None = None
    starts_from: date | None = None
    starts_until: date | None = None
    # A solidarity day: its date, the ids of the days declared for it, their hashtags.
    day: date | None = None
    day_uris: tuple[str, ...] = ()
    day_tags: tuple[str, ...] = ()
    online_only: bool = False


def _utc_span(first: date, last: date) -> tuple[datetime, datetime]:
    # A local date runs from UTC+14 to UTC-12: the UTC span that holds it anywhere on Earth.
    low = datetime.combine(first, time(), tzinfo=UTC) - timedelta(hours=14)
    high = datetime.combine(last + timedelta(days=1), time(), tzinfo=UTC) + timedelta(hours=12)
    return low, high


def _narrowed(narrowing: Narrowing) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if narrowing.category:
        conditions.append(Event.category == narrowing.category)
    if narrowing.online_only:
        conditions.append(Event.online_url.is_not(None))
    if narrowing.starts_from:
        conditions.append(
            Event.starts_at >= _utc_span(narrowing.starts_from, narrowing.starts_from)[0]
        )
    if narrowing.starts_until:
        conditions.append(
            Event.starts_at < _utc_span(narrowing.starts_until, narrowing.starts_until)[1]
        )
    if narrowing.day:
        low, high = _utc_span(narrowing.day, narrowing.day)
        # As `solidarity_days.actions_of` counts them: naming the day, or carrying its hashtag
        # on its date. Hashtags are a JSON list: matched as the quoted name inside its text.
        tagged = [
            func.lower(cast(Event.hashtags, String)).contains(
                json.dumps(tag.lower()), autoescape=True
            )
            for tag in narrowing.day_tags
        ]
        named = Event.solidarity_day_uri.in_(narrowing.day_uris)
        on_the_date = (
            Event.solidarity_day_uri.is_(None)
            & (Event.starts_at >= low)
            & (Event.starts_at < high)
            & or_(*tagged)
        )
        conditions.append(or_(named, on_the_date) if tagged else named)
    return conditions


def _dated(narrowing: Narrowing) -> bool:
    return bool(narrowing.starts_from or narrowing.starts_until or narrowing.day)


def _keeps(event: Event | _Candidate, narrowing: Narrowing) -> bool:
    """The part of `_narrowed` SQL cannot say: the start's date in the event's own zone."""
    if not _dated(narrowing):
        return True
    local = event.starts_at.astimezone(ZoneInfo(event.timezone)).date()
    if narrowing.starts_from and local < narrowing.starts_from:
        return False
    if narrowing.starts_until and local > narrowing.starts_until:
        return False
    if narrowing.day and event.solidarity_day_uri not in narrowing.day_uris:
        return local == narrowing.day
    return True


# With a limit, "near" first looks within a circle (at least this wide), then this many times
# farther each time, up to the radius asked: in a city the first circle holds a page of events
# and the database fetches and sorts only those, not every event of a 500 km circle. Each step
# is one indexed query.
FIRST_CIRCLE_KM = 20.0
CIRCLE_GROWTH = 4.0
# The first circle is sized by how many events the node knows around the point: each circle
# is a statement, and most of a search's time is spent per statement, not per row. The counts
# per cell of the map are an estimate, taken again every few minutes: an old one only makes a
# search take one circle more or read more rows than it needs, never changes what it finds.
DENSITY_SECONDS = 300.0
# A circle expected to hold this many times a page: the events cluster in towns, and filters
# and the box's corners leave out some.
DENSITY_MARGIN = 2.0


@dataclass
class _Density:
    """Placed events per cell of one degree (by rounded latitude and longitude), scaled to
    the share of them not over."""

    per_cell: dict[tuple[int, int], float]
    taken_at: float


_densities: dict[tuple[str | None, str | None, int | None], _Density] = {}


def _density(session: Session) -> dict[tuple[int, int], float]:
    url = session.get_bind().engine.url
    key = (url.host, url.database, url.port)
    held = _densities.get(key)
    if held is not None and monotonic() - held.taken_at < DENSITY_SECONDS:
        return held.per_cell
    # From the index on places alone: "not over" needs each row, so the share of upcoming
    # events scales the counts instead.
    lat, lon = func.round(Event.geo_latitude), func.round(Event.geo_longitude)
    rows = session.execute(
        select(lat, lon, func.count())
        .where(Event.deleted_at.is_(None), Event.geo_latitude.is_not(None))
        .group_by(lat, lon)
    ).all()
    placed = sum(count for _lat, _lon, count in rows)
    now = utcnow()
    upcoming = session.execute(
        select(func.count()).where(
            Event.deleted_at.is_(None), Event.starts_at >= now - timedelta(days=1)
        )
    ).scalar_one()
    share = min(1.0, upcoming / placed) if placed else 0.0
    per_cell = {(int(a), int(b)): count * share for a, b, count in rows}
    _densities[key] = _Density(per_cell, monotonic())
    return per_cell


def _first_circle(session: Session, latitude: float, longitude: float, limit: int) -> float:
    """The radius in km expected to hold `DENSITY_MARGIN` pages of events around a point."""
    cells = _density(session)
    row, column = round(latitude), round(longitude)
    around = sum(
        cells.get((row + d_row, (column + d_col + 180) % 360 - 180), 0.0)
        for d_row in (-1, 0, 1)
        for d_col in (-1, 0, 1)
    )
    cell_km2 = (geo.EARTH_RADIUS_KM * math.radians(1.0)) ** 2 * max(
        math.cos(math.radians(latitude)), 0.01
    )
    per_km2 = around / (9 * cell_km2)
    if per_km2 <= 0:
        return math.inf
    return max(FIRST_CIRCLE_KM, math.sqrt(DENSITY_MARGIN * (limit + 1) / (math.pi * per_km2)))


async def upcoming_near(
    session: AsyncSession,
    latitude: float,
    longitude: float,
    radius_km: float,
    *,
    narrowing: Narrowing | None = None,
    limit: int | None = None,
    now: datetime | None = None,
) -> tuple[list[tuple[Event, float]], bool]:
    """`near` in an async session."""
    return await session.run_sync(
        near, latitude, longitude, radius_km, narrowing=narrowing, limit=limit, now=now
    )


def near(
    session: Session,
    latitude: float,
    longitude: float,
    radius_km: float,
    *,
    narrowing: Narrowing | None = None,
    limit: int | None = None,
    now: datetime | None = None,
) -> tuple[list[tuple[Event, float]], bool]:
    """Events not over yet (own and followed, none withdrawn nor blocked) within `radius_km`
    of a point, with their distance in km, nearest first (then soonest), and whether more
    than `limit` matched.

    Candidates come from the box around the circle, on the indexed columns. With a limit, the
    database orders them by a flat-Earth distance (exact enough to pick the nearest) and
    sends `limit` + 1; the exact distance then sorts and trims them. Circles grow from the
    first (`_first_circle`) until one holds more than `limit` events, or reaches `radius_km`:
    when a circle holds that many, none outside it can be among the nearest `limit`."""
    narrowing = narrowing or Narrowing()
    now = now or utcnow()
    if limit is None:
        found = _within(session, latitude, longitude, radius_km, narrowing, None, now)
        return _whole(session, found), False
    circle = min(_first_circle(session, latitude, longitude, limit), radius_km)
    while True:
        found = _within(session, latitude, longitude, circle, narrowing, limit, now)
        if len(found) > limit or circle >= radius_km:
            return _whole(session, found[:limit]), len(found) > limit
        circle = min(circle * CIRCLE_GROWTH, radius_km)


class _Candidate(NamedTuple):
    """What choosing the nearest needs of an event: the rest is read for those chosen."""

    id: int
    latitude: float
    longitude: float
    starts_at: datetime
    timezone: str
    solidarity_day_uri: str | None


# Statements of the search built once per shape and kept: building the expression is much of
# a short query's cost, and a statement used again skips SQLAlchemy's cache-key walk too. The
# values are bound per call.
_statements: dict[tuple[Any, ...], Any] = {}
S = TypeVar("S")


def _kept_statement(key: tuple[Any, ...], build: Callable[[], S]) -> S:
    found = _statements.get(key)
    if found is None:
        if len(_statements) >= 64:  # block lists come and go
            _statements.clear()
        found = _statements[key] = build()
    return cast_type(S, found)


# What no listing shows and a received event holds much of: the document as it came.
_NOT_LISTED = defer(Event.document)

_Nearest = Select[int, float | None, float | None, datetime, str, str | None]


def _nearest_statement(session: Session, lon_ranges: int, limited: bool) -> _Nearest:
    def build() -> _Nearest:
        query: _Nearest = select(
            Event.id,
            Event.geo_latitude,
            Event.geo_longitude,
            Event.starts_at,
            Event.timezone,
            Event.solidarity_day_uri,
        ).where(
            Event.geo_latitude.between(bindparam("min_lat"), bindparam("max_lat")),
            or_(
                *(
                    Event.geo_longitude.between(bindparam(f"west{i}"), bindparam(f"east{i}"))
                    for i in range(lon_ranges)
                )
            ),
            Event.deleted_at.is_(None),
            visible(session, Event),
            _not_over_given(bindparam("now"), bindparam("day_before")),
        )
        if not limited:
            return query
        d_lat = Event.geo_latitude - bindparam("lat")
        d_raw = Event.geo_longitude - bindparam("lon")
        # Across the 180th meridian the short way round.
        d_lon = case((d_raw > 180, d_raw - 360), (d_raw < -180, d_raw + 360), else_=d_raw)
        shrink = bindparam("shrink", type_=Float)
        flat = d_lat * d_lat + (d_lon * shrink) * (d_lon * shrink)
        return query.order_by(flat, Event.starts_at, Event.id).limit(
            bindparam("rows", type_=Integer)
        )

    return _kept_statement(("nearest", visibility_key(session), lon_ranges, limited), build)


def _online_statement(session: Session) -> Select[Event]:
    def build() -> Select[Event]:
        return (
            select(Event)
            .options(_NOT_LISTED)
            .where(
                Event.geo_latitude.is_(None),
                Event.online_url.is_not(None),
                Event.deleted_at.is_(None),
                visible(session, Event),
                _not_over_given(bindparam("now"), bindparam("day_before")),
            )
            .order_by(Event.starts_at, Event.id)
            .limit(bindparam("rows", type_=Integer))
        )

    return _kept_statement(("online", visibility_key(session)), build)


def _within(
    session: Session,
    latitude: float,
    longitude: float,
    radius_km: float,
    narrowing: Narrowing,
    limit: int | None,
    now: datetime,
) -> list[tuple[_Candidate, float]]:
    """The events within `radius_km`, nearest first; with a limit, at most the nearest
    `limit` + 1 of them (fewer only when the circle holds fewer)."""
    box = geo.box_around(latitude, longitude, radius_km)
    query = _nearest_statement(session, len(box.lon_ranges), limit is not None)
    narrowed = _narrowed(narrowing)
    if narrowed:
        query = query.where(*narrowed)
    values: dict[str, Any] = {
        "min_lat": box.min_lat,
        "max_lat": box.max_lat,
        "now": now,
        "day_before": now - timedelta(days=1),
    }
    for i, (west, east) in enumerate(box.lon_ranges):
        values[f"west{i}"], values[f"east{i}"] = west, east
    if limit is not None:
        # One more tells whether there is more; with dates, `_keeps` may drop a few at the
        # edges of the UTC span, so some spare rows keep the list full. The box's corners lie
        # outside the circle: spare rows for those too, so that a full box of candidates still
        # holds limit + 1 inside it.
        spare = limit + (limit if _dated(narrowing) else 0)
        values.update(
            lat=latitude,
            lon=longitude,
            shrink=math.cos(math.radians(latitude)),
            rows=limit + 1 + spare,
        )
    found = []
    for event_id, lat, lon, starts_at, zone, day_uri in session.execute(query, values).all():
        assert lat is not None and lon is not None  # within the box
        candidate = _Candidate(event_id, lat, lon, starts_at, zone, day_uri)
        km = geo.distance_km(latitude, longitude, candidate.latitude, candidate.longitude)
        if km <= radius_km and _keeps(candidate, narrowing):
            found.append((candidate, km))
    found.sort(key=lambda pair: (round(pair[1], 1), pair[0].starts_at, pair[0].id))
    return found if limit is None else found[: limit + 1]


def _whole(session: Session, chosen: list[tuple[_Candidate, float]]) -> list[tuple[Event, float]]:
    if not chosen:
        return []
    # By id alone: with `deleted_at IS NULL` beside it, SQLite (no statistics) walks every live
    # event of an index on deleted_at instead of fetching fifty rows by their key.
    rows = session.execute(
        select(Event).where(Event.id.in_([c.id for c, _ in chosen])).options(_NOT_LISTED)
    )
    by_id = {event.id: event for event in rows.scalars()}
    # PostgreSQL reads each statement as committed when it starts: one withdrawn in between
    # is left out.
    return [
        (by_id[c.id], km) for c, km in chosen if c.id in by_id and by_id[c.id].deleted_at is None
    ]


async def upcoming_online_anywhere(
    session: AsyncSession,
    *,
    narrowing: Narrowing | None = None,
    limit: int = 20,
    now: datetime | None = None,
) -> tuple[list[Event], bool]:
    """`online_anywhere` in an async session."""
    return await session.run_sync(online_anywhere, narrowing=narrowing, limit=limit, now=now)


def online_anywhere(
    session: Session,
    *,
    narrowing: Narrowing | None = None,
    limit: int = 20,
    now: datetime | None = None,
) -> tuple[list[Event], bool]:
    """Events not over yet with an online link and no place on Earth we know: joined from
    anywhere, so every search near a place may show them. Soonest first."""
    narrowing = narrowing or Narrowing()
    now = now or utcnow()
    query = _online_statement(session)
    narrowed = _narrowed(narrowing)
    if narrowed:
        query = query.where(*narrowed)
    values = {
        "now": now,
        "day_before": now - timedelta(days=1),
        "rows": limit + 1 + (limit if _dated(narrowing) else 0),
    }
    found = [e for e in session.execute(query, values).scalars() if _keeps(e, narrowing)]
    return found[:limit], len(found) > limit


async def own_events(session: AsyncSession) -> list[tuple[Event, Organization]]:
    """Our organizations' events not deleted, past and coming, by start."""
    rows = await session.execute(
        select(Event, Organization)
        .join(Organization, Event.organization_id == Organization.id)
        .where(Event.is_local.is_(True), Event.deleted_at.is_(None))
        .order_by(Event.starts_at)
    )
    return [(event, organization) for event, organization in rows]


async def latest_own(session: AsyncSession) -> Event | None:
    """Our most recently published event, deleted or not."""
    return (
        await session.execute(
            select(Event)
            .where(Event.is_local.is_(True))
            .order_by(Event.published_at.desc())
            .limit(1)
        )
    ).scalar_one_or_none()


async def every(session: AsyncSession, category: Category) -> list[Event]:
    """Every event of the category not deleted, own and received (blocked ones too), by start."""
    return list(
        (
            await session.execute(
                select(Event)
                .where(Event.category == category, Event.deleted_at.is_(None))
                .order_by(Event.starts_at)
            )
        )
        .scalars()
        .all()
    )
