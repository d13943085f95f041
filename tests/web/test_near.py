"""Find an action near you, across the network: three nodes on loopback, each publishing; a
visitor on one of them searches a city by another language's name and finds the actions of
all three, nearest first, with their distances. Bad input gets a message, never a 500."""

from __future__ import annotations

import html
import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from icalendar import Calendar
from sqlalchemy import select
from support import eventually, run_iwsn

from actors import events, geo, nearby, places, solidarity_days
from actors.models import Event
from federation import follows
from federation.db import utcnow
from federation.models import Following
from federation.node import INSTANCE_USERNAME
from web.routes.near import distance_text

LISBON = (38.72509, -9.1498)  # GeoNames' Lisbon, the centre searched around
DAY = (utcnow() + timedelta(days=20)).date()


def action(title: str, on: date = DAY, **where) -> events.EventInput:
    return events.EventInput(
        title=title,
        kind="march",
        starts=datetime(on.year, on.month, on.day, 10, 0),
        ends=datetime(on.year, on.month, on.day, 13, 0),
        timezone="Europe/Lisbon",
        **where,
    )


async def node_follows(follower, target_uri):
    async with follower.db.read() as session:
        me = await follower.federation.local_actor_by_username(session, INSTANCE_USERNAME)
    await follows.follow(follower.federation, me, target_uri)

    async def accepted():
        async with follower.db.read() as session:
            return (
                await session.execute(
                    select(Following.state).where(Following.target_uri == target_uri)
                )
            ).scalar_one_or_none()

    await eventually(accepted, expect="accepted")


async def held(node, uri):
    async with node.db.read() as session:
        return (await session.execute(select(Event).where(Event.uri == uri))).scalar_one_or_none()


async def city(node, name, country):
    async with node.db.read() as session:
        found = (await places.lookup(session, name, country=country))[0]
    return found.latitude, found.longitude


def results(page: str) -> list[tuple[str, str]]:
    """(distance, title) of each result, in the page's order."""
    cards = re.findall(
        r'<span class="distance">([^<]+)</span>.*?<strong>(?:<bdi>)?([^<]+)', page, re.S
    )
    return [(html.unescape(km), html.unescape(title)) for km, title in cards]


async def test_a_visitor_finds_the_actions_of_three_nodes_nearest_first(start_node, tmp_path):
    a = await start_node("alpha", places=True)
    b, c = await start_node("beta"), await start_node("gamma")
    await node_follows(a, b.url("/actor"))
    await node_follows(a, c.url("/actor"))

    square = (38.7077, -9.1365)
    own = await events.publish(
        a.federation,
        action(
            "Lisbon rally",
            place_name="Praça do Comércio",
            city="Lisboa",
            country="PT",
            latitude=square[0],
            longitude=square[1],
        ),
        category="action",
    )
    # Porto's action has a city and no coordinates: alpha places it from the city when it
    # arrives.
    porto = await events.publish(
        b.federation,
        action(
            "Porto dockers",
            place_name="Cais",
            city="Porto",
            country="PT",
            online_url="https://stream.example/porto",
        ),
        category="action",
    )
    madrid = await events.publish(
        c.federation,
        action(
            "Madrid strike",
            place_name="Sol",
            city="Madrid",
            country="ES",
            latitude=40.4169,
            longitude=-3.7035,
        ),
        category="action",
    )
    for event in (porto, madrid):
        await eventually(lambda event=event: held(a, event.uri))

    async with httpx.AsyncClient(timeout=120) as http:
        first = await http.get(a.url("/near"), params={"place": "Lisbonne", "radius": "500"})
        assert first.status_code == 200
        found = results(first.text)
        assert [title for _km, title in found] == ["Lisbon rally", "Porto dockers"]
        # Madrid is 503 km from Lisbon's centre: outside 500.
        assert found[0][0] == distance_text(geo.distance_km(*LISBON, *square), "en")
        porto_city = await city(a, "Porto", "PT")
        assert found[1][0] == distance_text(geo.distance_km(*LISBON, *porto_city), "en")
        # The visitor's name for the place first, the data's own beside it.
        assert "Within 500 km of Lisbonne (Lisbon), Portugal" in first.text
        assert "also online" in first.text
        assert "GeoNames" in first.text and "CC BY 4.0" in first.text

        # Once alpha has its place table, what arrives is placed at once, from its city too.
        coimbra = await events.publish(
            c.federation,
            action("Coimbra assembly", place_name="Praça", city="Coimbra", country="PT"),
            category="action",
        )

        async def placed():
            event = await held(a, coimbra.uri)
            return event is not None and event.geo_source

        assert await eventually(placed) == "city"
        wider = await http.get(
            a.url("/near"),
            params={"place": "Lissabon", "radius": "500"},
            headers={"Accept-Language": "de"},
        )
        assert wider.status_code == 200, wider.text[-3000:]
        assert [title for _km, title in results(wider.text)] == [
            "Lisbon rally",
            "Coimbra assembly",
            "Porto dockers",
        ]
        assert "Lissabon (Lisbon), Portugal" in wider.text  # the country's name in German
        assert results(wider.text)[2][0] == distance_text(
            geo.distance_km(*LISBON, *porto_city), "de"
        )
        assert own.uri in wider.text

    # The command line prints the same, nearest first.
    printed = await run_iwsn(a.env, "near", "Lisboa", "--radius", "300")
    lines = [line for line in printed.stdout.splitlines() if " km  " in line]
    assert len(lines) == 3
    titles = ["Lisbon rally", "Coimbra assembly", "Porto dockers"]
    for line, title in zip(lines, titles, strict=True):
        assert title in line
    assert lines[0].strip().startswith(f"{geo.distance_km(*LISBON, *square):.1f} km")
    assert "Madrid" not in printed.stdout
    assert "Lisboa (Lisbon), Portugal" in printed.stdout


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"place": ""}, "Write the name of a city or town."),
        ({"place": "Xqzzyville"}, "No city or town called “Xqzzyville”"),
        ({"place": "Lisboa", "radius": "9000"}, "The distance must be between 10 and 500 km."),
        ({"place": "Lisboa", "radius": "far"}, "is not a distance"),
        ({"place": "Lisboa", "country": "QQ"}, "is not a two-letter country code"),
    ],
)
async def test_bad_input_is_a_message_on_the_page(start_node, params, says):
    a = await start_node("alpha", places=True)
    async with httpx.AsyncClient(timeout=120) as http:
        page = await http.get(a.url("/near"), params=params)
    assert page.status_code == 400
    assert says in html.unescape(page.text)
    assert 'role="alert"' in page.text


async def test_an_ambiguous_name_links_the_other_places(start_node):
    a = await start_node("alpha", places=True)
    async with httpx.AsyncClient(timeout=120) as http:
        page = await http.get(a.url("/near"), params={"place": "Paris", "radius": "50"})
        assert "Within 50 km of Paris, France" in page.text
        link = re.search(r'href="(/near\?[^"]*)">Paris, Texas, United States<', page.text)
        assert link
        texas = await http.get(a.url(html.unescape(link.group(1))))
        assert "Within 50 km of Paris, Texas, United States" in texas.text
        form = await http.get(a.url("/near"))
    assert form.status_code == 200 and 'name="place"' in form.text


def later(days: int) -> date:
    return DAY + timedelta(days=days)


async def test_filters_position_json_and_calendar_narrow_the_same_search(start_node, monkeypatch):
    """Kind, dates, a solidarity day and online events narrow what the database returns,
    before the list is cut at its limit; the same query string gives JSON and iCalendar."""
    a, b = await start_node("alpha", places=True), await start_node("beta")
    await node_follows(a, b.url("/actor"))
    day = await solidarity_days.declare(
        a.federation,
        solidarity_days.DayInput(
            day=later(5), theme="Docks", slogan="One port, one union", hashtag="LisbonDocks"
        ),
    )
    near = [
        (a, "Lisbon rally", DAY, {"latitude": 38.7077, "longitude": -9.1365}, "action"),
        (
            a,
            "Sintra hybrid",
            later(1),
            {"latitude": 38.8029, "longitude": -9.3817, "online_url": "https://s.example/live"},
            "action",
        ),
        (b, "Setubal assembly", later(3), {"latitude": 38.5244, "longitude": -8.8882}, "assembly"),
        (
            a,
            "Day march",
            later(5),
            {"latitude": 38.7223, "longitude": -9.1393, "solidarity_day_uri": day.uri},
            "action",
        ),
        (
            a,
            "Tagged picket",
            later(5),
            {"latitude": 38.6790, "longitude": -9.1569, "tags": ["LisbonDocks"]},
            "action",
        ),
        (
            a,
            "Tagged, another day",
            later(6),
            {"latitude": 38.7000, "longitude": -9.3000, "tags": ["lisbondocks"]},
            "action",
        ),
    ]
    published = {}
    for node, title, on, where, category in near:
        published[title] = await events.publish(
            node.federation,
            action(title, on, place_name="Somewhere", city="Lisboa", country="PT", **where),
            category=category,
        )
    await events.publish(
        a.federation,
        action("Online teach-in", later(2), online_url="https://s.example/teach"),
        category="action",
    )
    await eventually(lambda: held(a, published["Setubal assembly"].uri))

    async with httpx.AsyncClient(timeout=120) as http:

        async def search(**params):
            answer = await http.get(a.url("/near.json"), params={"place": "Lisboa", **params})
            assert answer.status_code == 200, answer.text
            found = answer.json()
            return (
                [r["title"] for r in found["results"]],
                [r["title"] for r in found["online_anywhere"]],
                found,
            )

        titles, online, everything = await search(radius="100")
        # Nearest first, each with its distance from the centre of Lisbon.
        expected = sorted(
            (geo.distance_km(*LISBON, w["latitude"], w["longitude"]), t)
            for _n, t, _d, w, _c in near
        )
        assert titles == [title for _km, title in expected]
        assert [r["distance"] for r in everything["results"]] == [
            round(km, 1) for km, _title in expected
        ]
        assert online == ["Online teach-in"]
        assert everything["place"]["name"] == "Lisbon, Portugal"
        assert everything["radius"] == 100 and everything["more"] is False
        rally = next(r for r in everything["results"] if r["title"] == "Lisbon rally")
        lisbon = ZoneInfo("Europe/Lisbon")
        assert rally == {
            "id": published["Lisbon rally"].uri,
            "url": published["Lisbon rally"].url,
            "title": "Lisbon rally",
            "kind": "action",
            "start": datetime(DAY.year, DAY.month, DAY.day, 10, tzinfo=lisbon).isoformat(),
            "end": datetime(DAY.year, DAY.month, DAY.day, 13, tzinfo=lisbon).isoformat(),
            "timezone": "Europe/Lisbon",
            "organization": "alpha",
            "place": "Somewhere",
            "country": "PT",
            "distance": round(geo.distance_km(*LISBON, 38.7077, -9.1365), 1),
            "online": False,
            "online_url": None,
            "cancelled": False,
        }
        setubal = next(r for r in everything["results"] if r["title"] == "Setubal assembly")
        assert setubal["organization"] == "beta" and setubal["kind"] == "assembly"

        titles, online, _ = await search(radius="100", kind="assembly")
        assert (titles, online) == (["Setubal assembly"], [])
        # Dates are the event's own: 23:00 in São Paulo the day before is already the first
        # day in UTC (and in Lisbon), and still not on it.
        eve = later(0)
        await events.publish(
            a.federation,
            events.EventInput(
                title="Late vigil",
                kind="rally",
                starts=datetime(eve.year, eve.month, eve.day, 23, 0),
                ends=datetime(eve.year, eve.month, eve.day, 23, 45),
                timezone="America/Sao_Paulo",
                place_name="Cascais",
                city="Cascais",
                country="PT",
                latitude=38.6979,
                longitude=-9.4215,
            ),
            category="action",
        )
        titles, _online, _ = await search(radius="100", **{"from": later(1).isoformat()})
        assert "Late vigil" not in titles and "Sintra hybrid" in titles
        titles, _online, _ = await search(radius="100", **{"to": later(0).isoformat()})
        assert set(titles) == {"Late vigil", "Lisbon rally"}
        titles, online, _ = await search(
            radius="100",
            kind="action",
            **{"from": later(1).isoformat(), "to": later(5).isoformat()},
        )
        assert set(titles) == {"Sintra hybrid", "Day march", "Tagged picket"}
        assert online == ["Online teach-in"]
        # The day's actions: naming it, or carrying its hashtag on its date.
        titles, online, found = await search(radius="100", day=later(5).isoformat())
        assert set(titles) == {"Day march", "Tagged picket"} and online == []
        assert found["filters"]["day"] == later(5).isoformat()
        titles, online, _ = await search(radius="100", online="only")
        assert (titles, online) == (["Sintra hybrid"], ["Online teach-in"])
        titles, online, _ = await search(radius="100", online="in_person")
        assert len(titles) == 7 and online == []

        # The limit is applied after the filters, in the query: the assembly is the farthest,
        # and a search for assemblies still finds it.
        monkeypatch.setattr(nearby, "RESULT_LIMIT", 2)
        titles, _online, found = await search(radius="100")
        assert titles == [title for _km, title in expected[:2]] and found["more"] is True
        titles, _online, found = await search(radius="100", kind="assembly")
        assert titles == ["Setubal assembly"] and found["more"] is False
        page = await http.get(a.url("/near"), params={"place": "Lisboa", "radius": "100"})
        assert "Only the nearest 2 are listed" in html.unescape(page.text)
        monkeypatch.undo()

        # The page with filters: what was chosen stays chosen, and the results match.
        page = await http.get(
            a.url("/near"),
            params={
                "place": "Lisboa",
                "radius": "100",
                "kind": "action",
                "day": later(5).isoformat(),
                "online": "in_person",
            },
        )
        assert page.status_code == 200
        assert {title for _km, title in results(page.text)} == {"Day march", "Tagged picket"}
        assert '<option value="action" selected>' in page.text
        assert f'<option value="{later(5).isoformat()}" selected>' in page.text
        assert 'value="in_person" checked' in page.text
        assert "Online, from anywhere" not in page.text
        assert 'src="/static/near-position.js"' in page.text
        script = await http.get(a.url("/static/near-position.js"))
        assert script.status_code == 200 and "geolocation" in script.text

        # By position: what a browser (or a tool) gives as lat/lon.
        page = await http.get(
            a.url("/near"), params={"place": "", "lat": "38.7077", "lon": "-9.1365", "radius": "20"}
        )
        assert page.status_code == 200
        assert "Within 20 km of your position" in page.text
        assert results(page.text)[0] == ("0 km", "Lisbon rally")
        assert 'name="lat" value="38.7077"' in page.text  # kept for the next search
        _titles, _online, found = await search(place="", lat="38.7077", lon="-9.1365")
        assert found["place"]["name"] is None and found["place"]["latitude"] == 38.7077

        # A town typed after a search by position wins over the position left in the form.
        page = await http.get(
            a.url("/near"), params={"place": "Lisboa", "lat": "999", "lon": "38.7"}
        )
        assert page.status_code == 200 and "Within 50 km of Lisboa (Lisbon), Portugal" in page.text
        assert 'name="lat"' not in page.text

        # A postcode with the town: the town is searched.
        page = await http.get(a.url("/near"), params={"place": "1000-001 Lisboa"})
        assert page.status_code == 200 and "Within 50 km of Lisboa (Lisbon), Portugal" in page.text

        # The same search as a calendar.
        feed = await http.get(
            a.url("/near.ics"), params={"place": "Lisboa", "radius": "100", "kind": "action"}
        )
        assert feed.status_code == 200
        assert feed.headers["content-type"].startswith("text/calendar")
        calendar = Calendar.from_ical(feed.content)
        summaries = {str(e["SUMMARY"]) for e in calendar.walk("VEVENT")}
        assert summaries == {
            "Lisbon rally",
            "Sintra hybrid",
            "Day march",
            "Tagged picket",
            "Tagged, another day",
            "Late vigil",
            "Online teach-in",
        }
        assert "Within 100 km of Lisboa (Lisbon), Portugal" in str(calendar["NAME"])

    # The command line takes the same filters.
    printed = await run_iwsn(
        a.env, "near", "Lisboa", "--radius", "100", "--day", later(5).isoformat()
    )
    lines = [line for line in printed.stdout.splitlines() if " km  " in line]
    assert len(lines) == 2
    assert {
        title for title in ("Day march", "Tagged picket") for line in lines if title in line
    } == {
        "Day march",
        "Tagged picket",
    }
    printed = await run_iwsn(
        a.env,
        "near",
        "--lat",
        "38.7",
        "--lon",
        "-9.1",
        "--kind",
        "assembly",
        "--radius",
        "100",
        "--online",
        "in_person",
    )
    assert "Within 100 km of your position" in printed.stdout
    assert "Setubal assembly" in printed.stdout and "Lisbon rally" not in printed.stdout
    refused = await run_iwsn(a.env, "near", "Lisboa", "--day", "2001-01-01", check=False)
    assert refused.returncode != 0
    assert "No Monthly Solidarity Day on 2001-01-01 is known here." in refused.stderr


async def test_every_bad_search_is_a_message_in_the_page_and_the_json(start_node):
    a = await start_node("alpha", places=True)
    past = (utcnow() - timedelta(days=30)).date().isoformat()
    cases = [
        ({"place": "1000-001"}, "place", "looks like a postcode"),
        ({"place": "SW1A 1AA"}, "place", "write the name of the town instead"),
        ({"place": "Lisboa", "radius": "5"}, "radius", "between 10 and 500 km"),
        ({"place": "Lisboa", "from": past}, "from", "Choose a date between"),
        ({"place": "Lisboa", "to": "3999-01-01"}, "to", "Choose a date between"),
        ({"place": "Lisboa", "from": "soon"}, "from", "is not a date"),
        (
            {"place": "Lisboa", "from": later(3).isoformat(), "to": DAY.isoformat()},
            "to",
            "The first date comes after the last one.",
        ),
        ({"place": "Lisboa", "day": "2030-02-30"}, "day", "is not a date"),
        ({"place": "Lisboa", "day": DAY.isoformat()}, "day", "No Monthly Solidarity Day on"),
        ({"place": "Lisboa", "kind": "party"}, "kind", "Choose actions, assemblies, or both."),
        ({"place": "Lisboa", "online": "maybe"}, "online", "Choose whether to include online"),
        ({"lat": "91", "lon": "0"}, "lat", "The latitude must be between -90 and 90."),
        ({"lat": "0", "lon": "-181"}, "lon", "The longitude must be between -180 and 180."),
        ({"lat": "north", "lon": "0"}, "lat", "The latitude is a number"),
        ({"lat": "nan", "lon": "0"}, "lat", "The latitude must be between"),
        ({"lat": "38.7"}, "lon", "Give both latitude and longitude"),
        ({"place": "  "}, "place", "Write the name of a city or town."),
    ]
    async with httpx.AsyncClient(timeout=120) as http:
        for params, field, says in cases:
            page = await http.get(a.url("/near"), params=params)
            assert page.status_code == 400, params
            assert says in html.unescape(page.text), params
            assert 'role="alert"' in page.text
            # Beside its field (a position has none on the page: above the form).
            beside = "problems" if field in ("lat", "lon") else f"err-{field}"
            assert re.search(
                f'id="{beside}"[^>]*>[^<]*(<p>)?[^<]*{re.escape(says)}', html.unescape(page.text)
            ), params
            answer = await http.get(a.url("/near.json"), params=params)
            assert answer.status_code == 400, params
            assert says in answer.json()["errors"][field], params
            feed = await http.get(a.url("/near.ics"), params=params)
            assert feed.status_code == 400 and says in feed.text, params
        # In the page's language.
        page = await http.get(
            a.url("/near"), params={"place": "Lisboa", "kind": "party", "lang": "de"}
        )
        assert page.status_code == 400
        assert "Choose actions, assemblies, or both." not in html.unescape(page.text)


async def test_a_node_without_the_place_table_fills_it_apart_and_says_when_to_come_back(
    start_node,
):
    # As a node that was never set up with `iwsn setup` and had its start's filling turned off.
    a = await start_node("alpha")
    porto = await events.publish(
        a.federation,
        action("Porto dockers", place_name="Cais", city="Porto", country="PT"),
        category="action",
    )
    async with httpx.AsyncClient(timeout=60) as http:
        first = await http.get(a.url("/near"), params={"place": "Porto", "radius": "50"})
        assert first.status_code == 503
        assert first.headers["Retry-After"] == str(places.RETRY_AFTER_SECONDS)
        assert "search again in a few seconds" in first.text
        assert 'name="place" type="text" value="Porto"' in first.text  # the form kept
        # The same for other programs.
        for feed in ("/near.json", "/near.ics"):
            answer = await http.get(a.url(feed), params={"place": "Porto"})
            assert answer.status_code == 503, feed
            assert answer.headers["Retry-After"] == str(places.RETRY_AFTER_SECONDS)
            assert "search again in a few seconds" in answer.text

        async def searched():
            page = await http.get(a.url("/near"), params={"place": "Porto", "radius": "50"})
            return page if page.status_code == 200 else None

        # Filled by a process of its own: seconds, on a loaded test machine many more.
        page = await eventually(searched, timeout=300, interval=1)
    # The action stored before the table was there is placed from its city.
    assert [title for _km, title in results(page.text)] == ["Porto dockers"]
    async with a.db.read() as session:
        stored = await session.get(Event, porto.id)
    assert stored is not None and stored.geo_source is not None


async def test_the_background_work_fills_the_place_table_at_start(start_node):
    a = await start_node("alpha", workers=1, env={"IWSN_PLACES_AT_START": "1"})

    async def filled():
        return await places.is_ready(a.db)

    await eventually(filled, timeout=300, interval=1)
    async with httpx.AsyncClient(timeout=60) as http:
        page = await http.get(a.url("/near"), params={"place": "Lisboa", "radius": "50"})
    assert page.status_code == 200 and "Within 50 km of Lisboa (Lisbon), Portugal" in page.text
