"""Monthly Workers Solidarity Days over real HTTP: a day declared on A, actions for it on A, B
and C; D, which follows all three, shows them all on the day's page, grouped by country."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import httpx
import pytest
from icalendar import Calendar
from sqlalchemy import select
from support import eventually

from actors import as_to_day, events, solidarity_days
from actors.errors import ValidationError
from actors.models import Event, SolidarityDay
from federation import follows
from federation.models import Following
from federation.node import INSTANCE_USERNAME

AS2 = {"Accept": "application/activity+json"}
DAY = date(2027, 3, 8)


def womens_day(**changes) -> solidarity_days.DayInput:
    values = dict(
        day=DAY,
        theme="Working women against austerity",
        slogan="Bread and roses, in every country",
        hashtag="#BreadAndRoses2027",
        description="Strikes and **marches** everywhere.",
    )
    values.update(changes)
    return solidarity_days.DayInput(**values)


def action(title, country, city, zone, *, day_uri=None, tags=(), when=None):
    return events.EventInput(
        title=title,
        kind="march",
        starts=when or datetime(2027, 3, 8, 10, 0),
        ends=(when or datetime(2027, 3, 8, 10, 0)).replace(hour=13),
        timezone=zone,
        place_name="Central square",
        city=city,
        country=country,
        tags=list(tags),
        solidarity_day_uri=day_uri,
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


async def held_day(node, uri):
    async with node.db.read() as session:
        return await solidarity_days.by_uri(session, uri)


async def event_count(node, titles):
    async with node.db.read() as session:
        found = (await session.execute(select(Event.title))).scalars().all()
    return len(set(found) & set(titles))


async def test_a_day_page_lists_every_action_of_the_followed_nodes(start_node):
    a = await start_node("alpha")
    b = await start_node("beta")
    c = await start_node("gamma")
    d = await start_node("delta")
    for follower in (b, c):
        await node_follows(follower, a.url("/actors/alpha"))
    for target, org in ((a, "alpha"), (b, "beta"), (c, "gamma")):
        await node_follows(d, target.url(f"/actors/{org}"))

    day = await solidarity_days.declare(a.federation, womens_day())
    assert day.uri.startswith(a.url("/days/"))
    for node in (b, c, d):
        await eventually(lambda node=node: held_day(node, day.uri))
    held = await held_day(b, day.uri)
    assert (held.day, held.hashtag, held.is_local) == (DAY, "BreadAndRoses2027", False)
    assert held.slogan == "Bread and roses, in every country"

    # Three nodes publish for the day; C only by the day's hashtag, on that date.
    lisbon = await events.publish(
        a.federation,
        action("Lisbon march", "PT", "Lisboa", "Europe/Lisbon", day_uri=day.uri),
        category="action",
    )
    await events.publish(
        b.federation,
        action("São Paulo march", "BR", "São Paulo", "America/Sao_Paulo", day_uri=day.uri),
        category="action",
    )
    rio = await events.publish(
        b.federation,
        action("Rio picket", "BR", "Rio de Janeiro", "America/Sao_Paulo", day_uri=day.uri),
        category="action",
    )
    await events.publish(
        c.federation,
        action(
            "Durban rally",
            "ZA",
            "Durban",
            "Africa/Johannesburg",
            tags=["breadandroses2027"],
        ),
        category="action",
    )
    await events.publish(
        c.federation,
        action(
            "Another day",
            "ZA",
            "Durban",
            "Africa/Johannesburg",
            tags=["BreadAndRoses2027"],
            when=datetime(2027, 3, 10, 10, 0),
        ),
        category="action",
    )
    # An action attached to the day carries its hashtag, without asking.
    assert "BreadAndRoses2027" in lisbon.hashtags and "BreadAndRoses2027" in rio.hashtags

    titles = {"Lisbon march", "São Paulo march", "Rio picket", "Durban rally", "Another day"}
    await eventually(lambda: event_count(d, titles), expect=5)
    async with d.db.read() as session:
        local_id = (
            await session.execute(select(SolidarityDay.id).where(SolidarityDay.uri == day.uri))
        ).scalar_one()
    async with httpx.AsyncClient() as http:
        page = (await http.get(d.url(f"/days/remote/{local_id}"))).text
        listing = (await http.get(d.url("/days"))).text
        home = (await http.get(d.url("/"))).text
        ics = await http.get(d.url(f"/days/remote/{local_id}.ics"))
        node_ics = await http.get(d.url("/events.ics"))
        document = (await http.get(day.uri, headers=AS2)).json()

    assert "Working women against austerity" in page
    for title in ("Lisbon march", "São Paulo march", "Rio picket", "Durban rally"):
        assert title in page
    assert "Another day" not in page
    assert "4 actions" in page and "3 organizations" in page and "3 countries" in page
    # Grouped by country, in order of the names' codes: Brazil, Portugal, South Africa.
    brazil, portugal, south_africa = (
        page.index("<h3>Brazil (2)"),
        page.index("<h3>Portugal (1)"),
        page.index("<h3>South Africa (1)"),
    )
    assert brazil < page.index("Rio picket") < portugal < page.index("Lisbon march")
    assert south_africa < page.index("Durban rally")
    assert f"/days/remote/{local_id}" in listing
    assert "Bread and roses, in every country" in home

    assert ics.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(ics.content)
    entries = {str(e["UID"]): e for e in calendar.walk("VEVENT")}
    the_day = entries.pop(day.uri)
    summaries = sorted(str(e["SUMMARY"]) for e in entries.values())
    assert summaries == ["Durban rally", "Lisbon march", "Rio picket", "São Paulo march"]
    # The day itself as calendars keep an all-day event: dates, not times, the same everywhere.
    assert_all_day(the_day, DAY)
    assert str(the_day["SUMMARY"]) == "Workers Solidarity Day: Working women against austerity"
    assert str(the_day["URL"]) == d.url(f"/days/remote/{local_id}")
    # The node's calendar of everything coming carries the day the same way.
    everything = {str(e["UID"]): e for e in Calendar.from_ical(node_ics.content).walk("VEVENT")}
    assert_all_day(everything[day.uri], DAY)

    # The day on the wire: an all-day Event marked as a solidarity day.
    assert document["type"] == "Event"
    assert document["eventCategory"] == "solidarity-day"
    assert document["startTime"] == "2027-03-08T00:00:00Z"
    assert document["endTime"] == "2027-03-08T23:59:59Z"
    assert document["allDay"] is True
    assert document["theme"] == "Working women against austerity"
    assert document["slogan"] == "Bread and roses, in every country"
    assert [t["name"] for t in document["tag"]] == ["#BreadAndRoses2027"]
    assert (
        "Bread and roses" in document["summary"]
        and "#<span>BreadAndRoses2027" in (document["summary"])
    )
    context = document["@context"][1]
    assert context["theme"]["@id"] == "iwsn:theme" and context["slogan"]["@id"] == "iwsn:slogan"
    assert context["allDay"]["@id"] == "iwsn:allDay"


def assert_all_day(vevent, day: date) -> None:
    """DTSTART;VALUE=DATE:<day> and DTEND;VALUE=DATE:<the next day> (RFC 5545 3.6.1)."""
    assert vevent["DTSTART"].params.get("VALUE") == "DATE"
    assert type(vevent["DTSTART"].dt) is date and vevent["DTSTART"].dt == day
    assert type(vevent["DTEND"].dt) is date and vevent["DTEND"].dt == day + timedelta(days=1)
    assert "TZID" not in vevent["DTSTART"].params


async def test_edit_and_delete_reach_followers(start_node):
    a = await start_node("alpha")
    b = await start_node("beta")
    await node_follows(b, a.url("/actors/alpha"))
    day = await solidarity_days.declare(a.federation, womens_day())
    await eventually(lambda: held_day(b, day.uri))

    await solidarity_days.edit(a.federation, day.uri, womens_day(slogan="New slogan"))

    async def slogan():
        found = await held_day(b, day.uri)
        return found and found.slogan

    await eventually(slogan, expect="New slogan")
    await solidarity_days.delete(a.federation, day.uri)

    async def deleted():
        found = await held_day(b, day.uri)
        return found is not None and found.deleted_at is not None

    await eventually(deleted)
    async with httpx.AsyncClient() as http:
        gone = await http.get(day.uri, headers=AS2)
        page = await http.get(day.uri)
        listing = (await http.get(b.url("/days"))).text
    assert gone.status_code == 410 and gone.json()["type"] == "Tombstone"
    assert page.status_code == 410
    assert "New slogan" not in listing


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"theme": "  "}, "theme"),
        ({"slogan": ""}, "slogan"),
        ({"hashtag": "Bread and roses"}, "hashtag"),
        ({"hashtag": "A" * 40}, "hashtag"),
        ({"description": "x" * 20_001}, "description"),
    ],
)
def test_invalid_days_are_refused_with_a_reason(changes, field):
    with pytest.raises(ValidationError) as refused:
        solidarity_days.check(womens_day(**changes))
    assert field in refused.value.problems


def remote_day(**fields) -> dict:
    document = {
        "id": "https://other.example/days/1",
        "type": "Event",
        "eventCategory": "solidarity-day",
        "name": "Workers Solidarity Day: Housing",
        "theme": "Housing",
        "tag": [{"type": "Hashtag", "name": "#Housing2027"}],
        "startTime": "2027-03-08T00:00:00Z",
        "endTime": "2027-03-08T23:59:59Z",
        "timezone": "UTC",
    }
    document.update(fields)
    return {k: v for k, v in document.items() if v is not None}


@pytest.mark.parametrize(
    "shape",
    [
        {},  # before `allDay`: the UTC day alone
        {"allDay": True},  # what nodes send now
        {"allDay": True, "startTime": "2027-03-08", "endTime": "2027-03-09"},  # bare dates
        {"startTime": "2027-03-08T00:00:00-05:00", "timezone": None},  # another offset
    ],
)
def test_a_received_day_is_its_date_in_every_shape(shape):
    assert as_to_day.day_fields(remote_day(**shape))["day"] == DAY


@pytest.mark.parametrize("start", ["2027-13-08", "08/03/2027", "", None, 20270308, "2027-03-08T99"])
def test_a_received_day_without_a_date_is_refused(start):
    with pytest.raises(as_to_day.NotADay, match="startTime"):
        as_to_day.day_fields(remote_day(startTime=start) | {"startTime": start})
