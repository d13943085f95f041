"""Find an action near you, across the network: three nodes on loopback, each publishing; a
visitor on one of them searches a city by another language's name and finds the actions of
all three, nearest first, with their distances. Bad input gets a message, never a 500."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import select
from support import eventually, run_iwsn

from actors import events, geo, places
from actors.models import Event
from federation import follows
from federation.db import utcnow
from federation.models import Following
from federation.node import INSTANCE_USERNAME
from web.routes.near import distance_text

LISBON = (38.72509, -9.1498)  # GeoNames' Lisbon, the centre searched around
DAY = (utcnow() + timedelta(days=20)).date()


def action(title: str, **where) -> events.EventInput:
    return events.EventInput(
        title=title,
        kind="march",
        starts=datetime(DAY.year, DAY.month, DAY.day, 10, 0),
        ends=datetime(DAY.year, DAY.month, DAY.day, 13, 0),
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
        action("Lisbon rally", place_name="Praça do Comércio", city="Lisboa", country="PT",
               latitude=square[0], longitude=square[1]),
        category="action",
    )
    # Porto's action has a city and no coordinates: alpha places it from the city when it
    # arrives.
    porto = await events.publish(
        b.federation,
        action("Porto dockers", place_name="Cais", city="Porto", country="PT",
               online_url="https://stream.example/porto"),
        category="action",
    )
    madrid = await events.publish(
        c.federation,
        action("Madrid strike", place_name="Sol", city="Madrid", country="ES",
               latitude=40.4169, longitude=-3.7035),
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
        assert "Within 500 km of Lisbon, Portugal" in first.text
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
            a.url("/near"), params={"place": "Lissabon", "radius": "500"},
            headers={"Accept-Language": "de"},
        )
        assert wider.status_code == 200, wider.text[-3000:]
        assert [title for _km, title in results(wider.text)] == [
            "Lisbon rally", "Coimbra assembly", "Porto dockers"
        ]
        assert "Lisbon, Portugal" in wider.text  # GeoNames names it; the country in German
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
    assert page.status_code == 200 and "Within 50 km of Lisbon, Portugal" in page.text
