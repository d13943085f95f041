"""Find an action near you: a place, as a person writes it, to the upcoming actions and
assemblies around it that this node knows (its own and those it received), nearest first.

The one entry point for the `/near` page and `iwsn near`; the place table is `actors.places`,
the query `actors.events.upcoming_near`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from actors import countries, events, places
from actors.errors import Message, Problems, ValidationError
from actors.models import Event
from actors.places import Candidate
from federation.db import Database

MIN_RADIUS_KM = 10
MAX_RADIUS_KM = 500
DEFAULT_RADIUS_KM = 50
MAX_PLACE = 200


@dataclass(frozen=True)
class Query:
    """A checked search: what was typed, the radius, and a chosen candidate if any."""

    place: str
    radius_km: int
    country: str | None = None
    place_id: int | None = None


@dataclass
class Found:
    """The place searched around, the other places the name may mean, and what is near."""

    place: Candidate
    others: list[Candidate] = field(default_factory=list)
    items: list[tuple[Event, float]] = field(default_factory=list)


def label_parts(candidate: Candidate, country_name: str) -> list[str]:
    """How a candidate reads: "Paris, France", "Paris, Texas, United States"."""
    parts = [candidate.name]
    if candidate.country == "US" and (state := places.us_state_name(candidate.admin1)):
        parts.append(state)
    parts.append(country_name)
    return parts


def check(
    place: str | None,
    radius: str | int | None = None,
    *,
    country: str | None = None,
    place_id: str | int | None = None,
) -> Query:
    """A search from what a form or a command line gives; raises ValidationError."""
    problems = Problems()
    text = " ".join((place or "").split())
    if not text:
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
                problems.add(
                    "radius", Message.RADIUS_RANGE, low=MIN_RADIUS_KM, high=MAX_RADIUS_KM
                )
    code = countries.normalize(country)
    if code and not countries.known(code):
        problems.add("country", Message.COUNTRY_UNKNOWN, value=(country or "")[:20])
    chosen: int | None = None
    if place_id is not None and str(place_id).strip():
        try:
            chosen = int(str(place_id).strip())
        except ValueError:
            chosen = None  # a mangled link: search by the name instead
    problems.raise_any()
    return Query(text, km, code, chosen)


async def search(
    db: Database, query: Query, *, lang: str | None = None, now: datetime | None = None
) -> Found:
    """The place `query` names (the chosen candidate, or the likeliest) and the events within
    its radius; raises ValidationError when no place of that name is known, and
    `places.NotReady` while the place table is being filled."""
    await places.require(db)
    async with db.read() as session:
        candidates = await places.lookup(session, query.place, country=query.country, lang=lang)
        chosen = None
        if query.place_id is not None:
            chosen = next((c for c in candidates if c.id == query.place_id), None)
            if chosen is None:
                chosen = await places.by_id(session, query.place_id)
        if chosen is None and candidates:
            chosen = candidates[0]
        if chosen is None:
            raise ValidationError.one("place", Message.PLACE_UNKNOWN, value=query.place)
        items = await events.upcoming_near(
            session, chosen.latitude, chosen.longitude, query.radius_km, now=now
        )
    others = [c for c in candidates if c.id != chosen.id]
    return Found(chosen, others, items)
