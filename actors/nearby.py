"""Find an action near you: a place, as a person writes it, to the upcoming actions and
assemblies around it that this node knows (its own and those it received), nearest first.

The one entry point for the `/near` page and `iwsn near`; the place table is `actors.places`,
the query `actors.events.upcoming_near`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import get_args

from sqlalchemy import select
from sqlalchemy.orm import Session

from actors import countries, events, places, solidarity_days
from actors.errors import Message, Problems, ValidationError
from actors.models import Event, SolidarityDay
from actors.places import Candidate
from actors.visibility import visible
from federation.db import Database

MIN_RADIUS_KM = 10
MAX_RADIUS_KM = 500
DEFAULT_RADIUS_KM = 50
MAX_PLACE = 200
# A page lists at most this many, nearest first: a network of 100,000 events cannot make it
# huge, and the database stops at the limit instead of sending every row of a wide circle.
RESULT_LIMIT = 50
ONLINE_LIMIT = 20
# How far ahead a date range may reach, and how far back (an event that began yesterday may
# still run).
DATES_AHEAD = timedelta(days=5 * 366)
DATES_BEHIND = timedelta(days=1)

KINDS: tuple[str, ...] = get_args(events.Category)
# include: events near the place and online ones from anywhere; only: events with an online
# link (near, or from anywhere); in_person: events with a place near, none only online.
ONLINE_MODES = ("include", "only", "in_person")

# A postcode as people write them: 1000-001, 75001, SW1A 1AA, H2X 1Y4, 1012 AB. The place data
# has none, so such a search can only be told to name the town.
_POSTCODE = re.compile(r"^(?=(?:.*\d){2})[A-Za-z0-9][A-Za-z0-9 -]{1,9}$")


@dataclass(frozen=True)
class Query:
    """A checked search: what was typed (or a position), the radius, a chosen candidate if
    any, and what narrows the events."""

    place: str
    radius_km: int
    country: str | None = None
    place_id: int | None = None
    position: tuple[float, float] | None = None
    kind: str | None = None
    starts_from: date | None = None
    starts_until: date | None = None
    day: date | None = None
    online: str = "include"


@dataclass
class Found:
    """The place searched around (None for a position), the other places the name may mean,
    what is near (and whether there was more than the list holds), and the online events
    with no place, which anyone anywhere can join."""

    place: Candidate | None
    latitude: float
    longitude: float
    others: list[Candidate] = field(default_factory=list)
    items: list[tuple[Event, float]] = field(default_factory=list)
    more: bool = False
    online: list[Event] = field(default_factory=list)
    more_online: bool = False
    # What the visitor called the place, when the data knows it by another name (München for
    # Munich): the page names it their way.
    called: str | None = None


def looks_like_postcode(text: str) -> bool:
    return bool(_POSTCODE.match(text.strip()))


def without_postcode(text: str) -> str:
    """ "1000-001 Lisboa" → "Lisboa": the words left when those with digits go."""
    words = [w for w in re.split(r"[\s,]+", text) if w and not any(ch.isdigit() for ch in w)]
    return " ".join(words)


def label_parts(candidate: Candidate, country_name: str, called: str | None = None) -> list[str]:
    """How a candidate reads: "Paris, France", "Paris, Texas, United States"; with the name
    the visitor gave it when that is not the data's own: "Lissabon (Lisbon), Portugal"."""
    parts = [f"{called} ({candidate.name})" if called else candidate.name]
    if candidate.country == "US" and (state := places.us_state_name(candidate.admin1)):
        parts.append(state)
    parts.append(country_name)
    return parts


def date_range(now: datetime | None = None) -> tuple[date, date]:
    """The first and last day a date filter may name."""
    today = solidarity_days.today_anywhere(now)
    return today - DATES_BEHIND, today + DATES_AHEAD


def _text(value: str | int | float | None) -> str:
    return str(value).strip() if value is not None else ""


def _coordinate(
    value: str, name: str, limit: int, unreadable: Message, out: Message, problems: Problems
) -> float | None:
    try:
        number = float(value)
    except ValueError:
        problems.add(name, unreadable)
        return None
    if not math.isfinite(number) or not -limit <= number <= limit:
        problems.add(name, out)
        return None
    return number


def _date(value: str, name: str, problems: Problems) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        problems.add(name, Message.DATE_UNREADABLE, value=value[:20])
        return None


def _day_in_range(
    value: str, name: str, allowed: tuple[date, date], problems: Problems
) -> date | None:
    day = _date(value, name, problems) if value else None
    if day is not None and not allowed[0] <= day <= allowed[1]:
        low, high = (d.isoformat() for d in allowed)
        problems.add(name, Message.SEARCH_DATE_RANGE, low=low, high=high)
        return None
    return day


def check(
    place: str | None,
    radius: str | int | None = None,
    *,
    country: str | None = None,
    place_id: str | int | None = None,
    lat: str | float | None = None,
    lon: str | float | None = None,
    kind: str | None = None,
    starts_from: str | None = None,
    starts_until: str | None = None,
    day: str | None = None,
    online: str | None = None,
    now: datetime | None = None,
) -> Query:
    """A search from what a form or a command line gives; raises ValidationError.

    A place, or a position (`lat` and `lon`) when no place is written: the browser's, or a
    tool's. Empty filters are no filter, so a form can send every field."""
    problems = Problems()
    text = " ".join((place or "").split())
    position = None
    # A written place wins over a position: the form keeps the last position in hidden fields,
    # and a person who then types a town (or cannot fix a hidden field) means the town.
    lat_text, lon_text = ("", "") if text else (_text(lat), _text(lon))
    if lat_text or lon_text:
        if not (lat_text and lon_text):
            problems.add("lat" if not lat_text else "lon", Message.COORDINATES_HALF)
        else:
            y = _coordinate(
                lat_text, "lat", 90, Message.LATITUDE_UNREADABLE, Message.LATITUDE_RANGE, problems
            )
            x = _coordinate(
                lon_text,
                "lon",
                180,
                Message.LONGITUDE_UNREADABLE,
                Message.LONGITUDE_RANGE,
                problems,
            )
            if y is not None and x is not None:
                position = (y, x)
    if not text and not (lat_text or lon_text):
        problems.add("place", Message.PLACE_REQUIRED)
    elif len(text) > MAX_PLACE:
        problems.add("place", Message.PLACE_TOO_LONG, limit=MAX_PLACE)
    km = DEFAULT_RADIUS_KM
    if radius is not None and str(radius).strip():
        try:
            km = int(str(radius).strip())
        except ValueError:
            problems.add("radius", Message.RADIUS_UNREADABLE, value=str(radius)[:20])
        else:
            if not MIN_RADIUS_KM <= km <= MAX_RADIUS_KM:
                problems.add("radius", Message.RADIUS_RANGE, low=MIN_RADIUS_KM, high=MAX_RADIUS_KM)
    code = countries.normalize(country)
    if code and not countries.known(code):
        problems.add("country", Message.COUNTRY_UNKNOWN, value=(country or "")[:20])
    chosen: int | None = None
    if place_id is not None and str(place_id).strip():
        try:
            chosen = int(str(place_id).strip())
        except ValueError:
            chosen = None  # a mangled link: search by the name instead
    category = _text(kind).lower() or None
    if category is not None and category not in KINDS:
        problems.add("kind", Message.SEARCH_KIND_UNKNOWN)
        category = None
    first = _day_in_range(_text(starts_from), "from", date_range(now), problems)
    last = _day_in_range(_text(starts_until), "to", date_range(now), problems)
    if first and last and first > last:
        problems.add("to", Message.SEARCH_DATES_REVERSED)
    the_day = _date(_text(day), "day", problems) if _text(day) else None
    mode = _text(online).lower() or "include"
    if mode not in ONLINE_MODES:
        problems.add("online", Message.SEARCH_ONLINE_UNKNOWN)
    problems.raise_any()
    return Query(
        text,
        km,
        code,
        chosen,
        position,
        category,
        first,
        last,
        the_day,
        mode,
    )


def _narrowing(session: Session, query: Query) -> events.Narrowing:
    uris: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    if query.day is not None:
        days = (
            session.execute(
                select(SolidarityDay).where(
                    SolidarityDay.day == query.day,
                    SolidarityDay.deleted_at.is_(None),
                    visible(session, SolidarityDay),
                )
            )
            .scalars()
            .all()
        )
        if not days:
            raise ValidationError.one(
                "day", Message.SEARCH_DAY_UNKNOWN, value=query.day.isoformat()
            )
        uris = tuple(d.uri for d in days)
        tags = tuple(sorted({d.hashtag for d in days if d.hashtag}))
    return events.Narrowing(
        category=query.kind,  # type: ignore[arg-type]
        starts_from=query.starts_from,
        starts_until=query.starts_until,
        day=query.day,
        day_uris=uris,
        day_tags=tags,
        online_only=query.online == "only",
    )


def _candidates(session: Session, query: Query, lang: str | None) -> tuple[list[Candidate], str]:
    """The places the query may name, and the text that named them."""
    found = places.find(session, query.place, country=query.country, lang=lang)
    if found:
        return found, query.place
    # Best effort with postcodes: the data has none, but "1000-001 Lisboa" names a town too.
    rest = without_postcode(query.place)
    if rest and rest != query.place:
        found = places.find(session, rest, country=query.country, lang=lang)
    return found, rest


async def search(
    db: Database, query: Query, *, lang: str | None = None, now: datetime | None = None
) -> Found:
    """The place `query` names (the chosen candidate, or the likeliest) or its position, and
    the events within its radius; raises ValidationError when no place of that name is known
    (or the solidarity day asked for is not), and `places.NotReady` while the place table is
    being filled."""
    await places.require(db)
    return await db.read_at_once(lambda session: _search_in(session, query, lang, now))


def _search_in(session: Session, query: Query, lang: str | None, now: datetime | None) -> Found:
    narrowing = _narrowing(session, query)
    candidates: list[Candidate] = []
    chosen = None
    called = None
    if query.position is not None:
        latitude, longitude = query.position
    else:
        candidates, named_by = _candidates(session, query, lang)
        if query.place_id is not None:
            chosen = next((c for c in candidates if c.id == query.place_id), None)
            if chosen is None:
                chosen = places.by_id(session, query.place_id)
        if chosen is None and candidates:
            chosen = candidates[0]
        if chosen is None:
            if looks_like_postcode(query.place):
                raise ValidationError.one("place", Message.POSTCODE_UNKNOWN, value=query.place)
            raise ValidationError.one("place", Message.PLACE_UNKNOWN, value=query.place)
        latitude, longitude = chosen.latitude, chosen.longitude
        typed = places.typed_name(named_by, query.country)
        if chosen in candidates and places.name_key(typed) != places.name_key(chosen.name):
            called = typed
    items, more = events.near(
        session,
        latitude,
        longitude,
        query.radius_km,
        narrowing=narrowing,
        limit=RESULT_LIMIT,
        now=now,
    )
    online: list[Event] = []
    more_online = False
    if query.online != "in_person":
        online, more_online = events.online_anywhere(
            session, narrowing=narrowing, limit=ONLINE_LIMIT, now=now
        )
    others = [c for c in candidates if chosen is None or c.id != chosen.id]
    return Found(
        chosen, latitude, longitude, others, items, more, online, more_online, called=called
    )
