"""The place table and the search around a place: names in other languages and without
accents, ambiguous names by population with the page's language as a hint, the distances."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import pytest_asyncio
from support import PLACES, drop_database

from actors import geo, nearby, places
from actors.errors import Message, ValidationError
from actors.models import Place, PlaceName
from federation.db import Database
from web import migrate

in_module_loop = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def db(tmp_path_factory: pytest.TempPathFactory):
    """One database with the place table, for the module: a copy of the test processes' own
    (support.PLACES), which was filled by `places.ready` as a node fills it."""
    folder: Path = tmp_path_factory.mktemp("places")
    url = await PLACES.copy(folder) or f"sqlite+aiosqlite:///{folder / 'iwsn.sqlite3'}"
    await migrate.upgrade(url)
    database = Database(url)
    await places.ready(database)
    yield database
    await database.dispose()
    if url.startswith("postgresql"):
        await drop_database(url)


async def names(db: Database, text: str, **hints) -> list[tuple[str, str]]:
    async with db.read() as session:
        found = await places.lookup(session, text, **hints)
    return [(c.name, c.country) for c in found]


@pytest.mark.parametrize(
    "typed", ["Lisboa", "Lisbon", "Lisbonne", "Lissabon", "LISBOA", "lisboa ", "Лиссабон"]
)
@in_module_loop
async def test_a_city_is_found_by_its_name_in_any_language(db, typed):
    assert (await names(db, typed))[0] == ("Lisbon", "PT")


@pytest.mark.parametrize("typed", ["München", "Munchen", "MÜNCHEN", "Muenchen", "Munich"])
@in_module_loop
async def test_accents_and_case_do_not_matter(db, typed):
    assert (await names(db, typed))[0] == ("Munich", "DE")


@in_module_loop
async def test_an_ambiguous_name_offers_every_place_by_population(db):
    found = await names(db, "Paris")
    assert found[0] == ("Paris", "FR")
    assert ("Paris", "US") in found
    # A place named so comes before one that some language calls so.
    assert found.index(("Paris", "US")) < found.index(("Parys", "ZA"))


@in_module_loop
async def test_a_country_or_a_us_state_narrows_the_name(db):
    assert await names(db, "Paris", country="US") == [("Paris", "US")]
    assert await names(db, "Paris, Texas") == [("Paris", "US")]
    assert (await names(db, "Paris, Frankreich"))[0] == ("Paris", "FR")
    assert (await names(db, "Porto, PT"))[0] == ("Porto", "PT")


@in_module_loop
async def test_the_page_language_hints_at_its_countries(db):
    # Population decides, a country speaking the page's language counting ten times its size:
    # Brazil's Santiago (49,000) passes the Philippines' (108,000) on a Portuguese page only.
    plain = [country for _name, country in await names(db, "Santiago")]
    hinted = [country for _name, country in await names(db, "Santiago", lang="pt")]
    assert plain[0] == hinted[0] == "CL"
    assert plain.index("PH") < plain.index("BR")
    assert hinted.index("BR") < hinted.index("PH")


@in_module_loop
async def test_loading_twice_keeps_one_copy(db):
    places._loaded.pop(db, None)
    await places.ready(db)
    async with db.read() as session:
        from sqlalchemy import func, select

        count = (await session.execute(select(func.count(Place.id)))).scalar_one()
        lisbon = (
            await session.execute(
                select(func.count(PlaceName.id)).where(PlaceName.key == "lisboa")
            )
        ).scalar_one()
    assert count > 30_000
    assert lisbon >= 1


@in_module_loop
async def test_an_unknown_place_is_refused_with_its_name(db):
    with pytest.raises(ValidationError) as refused:
        await nearby.search(db, nearby.check("Xqzzyville"))
    assert refused.value.problems["place"].message is Message.PLACE_UNKNOWN


@pytest.mark.parametrize(
    ("place", "radius", "field", "message"),
    [
        ("", "50", "place", Message.PLACE_REQUIRED),
        ("   ", None, "place", Message.PLACE_REQUIRED),
        ("Lisboa", "5", "radius", Message.RADIUS_RANGE),
        ("Lisboa", "501", "radius", Message.RADIUS_RANGE),
        ("Lisboa", "far", "radius", Message.RADIUS_UNREADABLE),
    ],
)
def test_bad_input_is_refused_with_a_reason(place, radius, field, message):
    with pytest.raises(ValidationError) as refused:
        nearby.check(place, radius)
    assert refused.value.problems[field].message is message


def test_great_circle_distances():
    lisbon, porto, madrid = (38.72509, -9.1498), (41.14961, -8.61099), (40.4165, -3.70256)
    assert geo.distance_km(*lisbon, *porto) == pytest.approx(273.6, abs=1)
    assert geo.distance_km(*lisbon, *madrid) == pytest.approx(502.6, abs=1.5)
    assert geo.distance_km(*lisbon, *lisbon) == 0
    # Across the 180th meridian: Suva to Taveuni, Fiji, ~200 km, not ~40,000.
    assert geo.distance_km(-18.14, 178.44, -16.85, -179.97) < 250


@pytest.mark.parametrize(
    ("lat", "lon", "km"), [(38.7, -9.1, 500), (-17.0, 179.5, 300), (89.0, 10.0, 300), (0, 0, 10)]
)
def test_the_box_holds_the_whole_circle(lat, lon, km):
    box = geo.box_around(lat, lon, km)
    for bearing in range(0, 360, 5):
        # The point `km` away on this bearing (spherical destination formula).
        d, b = km / geo.EARTH_RADIUS_KM, math.radians(bearing)
        p1, l1 = math.radians(lat), math.radians(lon)
        p2 = math.asin(math.sin(p1) * math.cos(d) + math.cos(p1) * math.sin(d) * math.cos(b))
        l2 = l1 + math.atan2(
            math.sin(b) * math.sin(d) * math.cos(p1), math.cos(d) - math.sin(p1) * math.sin(p2)
        )
        plat, plon = math.degrees(p2), (math.degrees(l2) + 540) % 360 - 180
        assert box.min_lat - 1e-9 <= plat <= box.max_lat + 1e-9
        assert any(w - 1e-9 <= plon <= e + 1e-9 for w, e in box.lon_ranges)
