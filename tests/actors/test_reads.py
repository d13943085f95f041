"""What pages read: when an event is over, which are coming and in what order, which are ours."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from actors import events, solidarity_days
from actors.errors import NotFound
from actors.models import Event

KIRITIMATI = ZoneInfo("Pacific/Kiritimati")  # UTC+14, the first clocks to reach a date
LISBON = ZoneInfo("Europe/Lisbon")
NOW = datetime(2027, 5, 1, 12, 0, tzinfo=UTC)


def event(starts: datetime, ends: datetime | None, zone: str = "UTC") -> Event:
    return Event(starts_at=starts, ends_at=ends, timezone=zone)


def test_an_event_is_over_once_its_end_has_passed_whatever_zone_the_times_are_written_in():
    # Ends at 23:00 on 1 May in Kiritimati: 09:00 UTC, 10:00 in Lisbon.
    ends = datetime(2027, 5, 1, 23, 0, tzinfo=KIRITIMATI)
    held = event(ends - timedelta(hours=3), ends, "Pacific/Kiritimati")
    assert not events.is_over(held, datetime(2027, 5, 1, 10, 0, tzinfo=LISBON))
    assert events.is_over(held, datetime(2027, 5, 1, 10, 1, tzinfo=LISBON))
    assert not events.is_over(held, datetime(2027, 5, 1, 9, 0, tzinfo=UTC))
    assert events.is_over(held, datetime(2027, 5, 1, 9, 0, 1, tzinfo=UTC))


def test_an_event_without_an_end_is_over_a_day_after_it_starts():
    starts = datetime(2027, 5, 1, 10, 0, tzinfo=LISBON)
    open_ended = event(starts, None, "Europe/Lisbon")
    assert not events.is_over(open_ended, starts + timedelta(hours=23, minutes=59))
    assert not events.is_over(open_ended, starts + timedelta(days=1))
    assert events.is_over(open_ended, starts + timedelta(days=1, seconds=1))


def test_today_anywhere_is_the_date_still_running_at_utc_minus_12_whatever_the_zone_of_now():
    assert solidarity_days.today_anywhere(datetime(2027, 3, 8, 11, 59, tzinfo=UTC)) == date(
        2027, 3, 7
    )
    assert solidarity_days.today_anywhere(datetime(2027, 3, 8, 12, 0, tzinfo=UTC)) == date(
        2027, 3, 8
    )
    # 01:00 on the 8th in Kiritimati is 11:00 UTC on the 7th: the 6th still runs at UTC-12.
    assert solidarity_days.today_anywhere(
        datetime(2027, 3, 8, 1, 0, tzinfo=timezone(timedelta(hours=14)))
    ) == date(2027, 3, 6)


def action(title: str, starts: datetime, ends: datetime | None, zone: str) -> events.EventInput:
    return events.EventInput(
        title=title,
        kind="march",
        starts=starts,
        ends=ends,
        timezone=zone,
        place_name="Central square",
        city="Somewhere",
    )


async def test_pages_read_coming_events_soonest_first_and_our_own_by_id_or_number(start_node):
    node = await start_node("alpha", workers=0)
    federation = node.federation
    published = {}
    for title, starts, ends, zone in (
        # Local times; what counts is the instant, compared with NOW (12:00 UTC, 1 May).
        ("ended this morning", datetime(2027, 5, 1, 8, 0), datetime(2027, 5, 1, 11, 0), "UTC"),
        ("ends at noon UTC", datetime(2027, 5, 1, 9, 0), datetime(2027, 5, 1, 13, 0), LISBON.key),
        (
            "Kiritimati tonight",
            datetime(2027, 5, 2, 1, 0),
            datetime(2027, 5, 2, 3, 0),
            KIRITIMATI.key,
        ),
        (
            "tomorrow in Lisbon",
            datetime(2027, 5, 2, 10, 0),
            datetime(2027, 5, 2, 12, 0),
            LISBON.key,
        ),
        ("next week", datetime(2027, 5, 8, 10, 0), datetime(2027, 5, 8, 12, 0), "UTC"),
    ):
        published[title] = await events.publish(
            federation, action(title, starts, ends, zone), category="action"
        )
    # Only events from other servers come without an end: listed for a day after they start.
    async with node.db.transaction() as session:
        for title, starts in (
            ("received, started 23 hours ago", NOW - timedelta(hours=23)),
            ("received, started 25 hours ago", NOW - timedelta(hours=25)),
        ):
            session.add(
                Event(
                    uri=f"https://elsewhere.example/events/{starts:%H%M}",
                    category="action",
                    kind="march",
                    is_local=False,
                    origin_actor_uri="https://elsewhere.example/actor",
                    origin_host="elsewhere.example",
                    title=title,
                    starts_at=starts,
                    ends_at=None,
                    timezone="UTC",
                )
            )
    # "Kiritimati tonight" starts at 11:00 UTC on 1 May, before "ends at noon UTC" (08:00 UTC).
    async with node.db.read() as session:
        coming = await events.upcoming(session, now=NOW)
        first_two = await events.upcoming(session, now=NOW, limit=2)
        every = await events.every(session, "action")
    assert [e.title for e in coming] == [
        "received, started 23 hours ago",
        "ends at noon UTC",
        "Kiritimati tonight",
        "tomorrow in Lisbon",
        "next week",
    ]
    assert [e.title for e in first_two] == ["received, started 23 hours ago", "ends at noon UTC"]
    # The listing's SQL and `is_over` agree on every event.
    assert [e.title for e in coming] == [e.title for e in every if not events.is_over(e, NOW)]

    wanted = published["next week"]
    async with node.db.read() as session:
        with pytest.raises(NotFound):  # not ours
            await events.own_event(session, uri="https://elsewhere.example/events/1300")
    async with node.db.read() as session:
        by_number = await events.own_event(session, event_id=wanted.id)
        by_uri = await events.own_event(session, uri=wanted.uri)
    assert by_number[0].uri == by_uri[0].uri == wanted.uri
    assert by_number[1].name == "alpha" and by_number[2].id == by_number[1].local_actor_id

    await events.delete(federation, wanted.uri)
    async with node.db.read() as session:
        with pytest.raises(NotFound):
            await events.own_event(session, event_id=wanted.id)
        with pytest.raises(NotFound):
            await events.own_event(session, uri=wanted.uri)
        assert await events.by_uri(session, wanted.uri) is not None  # kept, answering 410
        assert wanted.uri not in {e.uri for e in await events.upcoming(session, now=NOW)}


@pytest.mark.parametrize("first_circle", ["sized by the events around", "the smallest"])
async def test_near_gives_the_nearest_says_if_there_is_more_and_stops_at_the_radius(
    start_node, monkeypatch, first_circle
):
    if first_circle == "the smallest":
        # Every circle then grows: 20, 80, 320 km.
        monkeypatch.setattr(events, "_first_circle", lambda *_args: events.FIRST_CIRCLE_KM)
    node = await start_node("alpha", workers=0)
    year = date.today().year + 1
    # Along Lisbon's parallel: 0.06° of longitude is ~5 km there, 1° ~87 km.
    east_of_lisbon = {"5 km": 0.06, "30 km": 0.35, "100 km": 1.15, "300 km": 3.45}
    for name, degrees in east_of_lisbon.items():
        await events.publish(
            node.federation,
            events.EventInput(
                title=f"Picket {name} away", kind="picket",
                starts=datetime(year, 5, 1, 10, 0), ends=datetime(year, 5, 1, 13, 0),
                timezone="Europe/Lisbon", place_name=f"Gate {name} away",
                city="Lisboa", country="PT",
                latitude=38.7077, longitude=-9.1365 + degrees,
            ),
            category="action",
        )  # fmt: skip

    async def near(radius_km: float, limit: int | None) -> tuple[list[str], bool]:
        async with node.db.read() as session:
            found, more = await events.upcoming_near(
                session, 38.7077, -9.1365, radius_km, limit=limit
            )
        return [event.title for event, _km in found], more

    # From the smallest circle (20, 80, 320 km): the first holds one, the next two, not more
    # than a limit of two; the third holds four. Sized by the four events, the first circle
    # is the radius. Either way the same answers.
    assert await near(500, 2) == (["Picket 5 km away", "Picket 30 km away"], True)
    assert await near(500, 3) == (
        ["Picket 5 km away", "Picket 30 km away", "Picket 100 km away"],
        True,
    )
    # The radius caps the circles: within 50 km there are two, no more.
    assert await near(50, 2) == (["Picket 5 km away", "Picket 30 km away"], False)
    assert await near(50, 1) == (["Picket 5 km away"], True)
    assert await near(10, 5) == (["Picket 5 km away"], False)
    # Without a limit, every one within the radius.
    assert (await near(500, None))[0] == [f"Picket {n} away" for n in east_of_lisbon]
    assert await near(500, 4) == ([f"Picket {n} away" for n in east_of_lisbon], False)


def received(number: int, latitude: float, longitude: float, starts: datetime) -> dict:
    host = f"node{number % 9}.example"
    return {
        "uri": f"https://{host}/actions/{number}", "url": f"https://{host}/actions/{number}",
        "category": "action", "kind": "rally", "is_local": False,
        "origin_actor_uri": f"https://{host}/actors/union", "origin_host": host,
        "origin_name": "Union", "title": f"Rally {number}", "description_html": "",
        "description_format": "html", "starts_at": starts, "ends_at": starts + timedelta(hours=2),
        "timezone": "Europe/Lisbon", "place_name": "Square", "city": "Lisboa", "country": "PT",
        "latitude": latitude, "longitude": longitude, "hashtags": [], "sections": [],
        "status": "scheduled", "published_at": starts, "updated_at": starts,
        "geo_latitude": latitude, "geo_longitude": longitude, "geo_source": "given",
    }  # fmt: skip


async def test_the_first_circle_is_sized_by_the_events_around(start_node, monkeypatch):
    from sqlalchemy import insert

    node = await start_node("alpha", workers=0)
    lisbon = (38.7077, -9.1365)

    async def first_circle(latitude: float, longitude: float) -> float:
        events._densities.clear()  # taken again at once, not in five minutes
        async with node.db.read() as session:
            return await session.run_sync(events._first_circle, latitude, longitude, 50)

    # With nothing around, the first circle is the radius: one statement finds all there is.
    assert await first_circle(*lisbon) == float("inf")
    # Two thousand events within ~6 km of Lisbon's centre, a hundred of them over.
    soon = datetime.now(UTC) + timedelta(days=3)
    rows = [
        received(n, lisbon[0] + (n % 40 - 20) / 400, lisbon[1] + (n // 40 - 25) / 400, soon)
        for n in range(2000)
    ]
    for row in rows[:100]:
        row["starts_at"] -= timedelta(days=30)
        row["ends_at"] -= timedelta(days=30)
    async with node.db.transaction() as session:
        await session.execute(insert(Event), rows)
    sized = await first_circle(*lisbon)
    # Expected to hold two pages (`DENSITY_MARGIN`) at the cells' average density: tens of km.
    assert events.FIRST_CIRCLE_KM <= sized < 60
    # Far from them, still the radius.
    assert await first_circle(35.68, 139.69) == float("inf")

    circles = []
    within = events._within
    monkeypatch.setattr(events, "_within", lambda *args: circles.append(args[3]) or within(*args))
    async with node.db.read() as session:
        found, more = await events.upcoming_near(session, *lisbon, 500, limit=50)
    # One circle held the page: the fifty nearest, and more beyond.
    assert circles == [sized] and len(found) == 50 and more
    # Nearest first, to the tenth of a km the page shows (then soonest).
    assert [round(km, 1) for _e, km in found] == sorted(round(km, 1) for _e, km in found)
