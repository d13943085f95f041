"""iCalendar and Atom feeds over HTTP, read back with independent parsers: icalendar, feedparser."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import feedparser
import httpx
from babel import Locale
from icalendar import Calendar

from actors import events, organizations
from actors.models import Event

YEAR = date.today().year + 1  # always ahead, and May is summer time in Lisbon (UTC+1)


def may_day(**changes) -> events.EventInput:
    values = dict(
        title="May Day march",
        kind="march",
        starts=datetime(YEAR, 5, 1, 10, 0),
        ends=datetime(YEAR, 5, 1, 13, 0),
        timezone="Europe/Lisbon",
        place_name="Praça do Comércio",
        street_address="Terreiro do Paço",
        postal_code="1100-148",
        city="Lisboa",
        country="PT",
        latitude=38.7077,
        longitude=-9.1365,
        tags=["MayDay", "#GreveGeral"],
        description="Bring **banners**.\n\n<script>alert(1)</script>",
    )
    values.update(changes)
    return events.EventInput(**values)


async def get(url: str) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.get(url)


async def ics(url: str) -> Calendar:
    response = await get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert response.headers["content-disposition"].startswith("inline; filename=")
    assert response.headers["content-disposition"].endswith('.ics"')
    return Calendar.from_ical(response.content)


async def atom(url: str) -> feedparser.FeedParserDict:
    response = await get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    parsed = feedparser.parse(response.content)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    return parsed


def vevents(calendar: Calendar) -> dict[str, object]:
    return {str(component["UID"]): component for component in calendar.walk("VEVENT")}


async def insert_remote_event(node) -> Event:
    """An event another node federated to this one, as the inbox stores it."""
    now = datetime.now(UTC).replace(microsecond=0)
    event = Event(
        uri="https://remote.example/events/42",
        url="https://remote.example/@sindicato/events/42",
        category="action",
        kind="strike",
        is_local=False,
        organization_id=None,
        origin_actor_uri="https://remote.example/actors/sindicato",
        origin_host="remote.example",
        origin_name="Sindicato Remoto",
        title="Greve dos metroviários",
        description_html="<p>Paralisação <em>total</em>.</p>",
        starts_at=datetime(YEAR, 5, 2, 9, 0, tzinfo=UTC),  # 06:00 in São Paulo (UTC-3)
        ends_at=datetime(YEAR, 5, 2, 21, 0, tzinfo=UTC),
        timezone="America/Sao_Paulo",
        online_url="https://remote.example/live",
        hashtags=["GreveGeral"],
        status="scheduled",
        published_at=now - timedelta(days=2),
        updated_at=now - timedelta(days=1),
    )
    async with node.db.transaction() as session:
        session.add(event)
    return event


async def test_one_action_as_ics_keeps_its_local_time_and_zone(start_node):
    a = await start_node("alpha")
    await organizations.update_profile(
        a.federation,
        "alpha",
        display_name="Sindicato Alfa; Lisboa",
        summary="",
        manually_approves_followers=False,
    )
    event = await events.publish(a.federation, may_day(), category="action")
    assert event.starts_at == datetime(YEAR, 5, 1, 9, 0, tzinfo=UTC)

    response = await get(event.uri + ".ics")
    assert response.headers["content-disposition"] == 'inline; filename="may-day-march.ics"'
    raw = response.text
    assert f"DTSTART;TZID=Europe/Lisbon:{YEAR}0501T100000" in raw.replace("\r\n ", "")
    calendar = await ics(event.uri + ".ics")

    assert str(calendar["VERSION"]) == "2.0"
    assert "iwsn-node" in str(calendar["PRODID"])
    assert str(calendar["X-WR-CALNAME"]) == "May Day march"
    assert str(calendar["UID"]) == event.uri + ".ics"  # the same on every request
    (vevent,) = calendar.walk("VEVENT")
    assert str(vevent["UID"]) == event.uri
    start = vevent["DTSTART"]
    assert start.params["TZID"] == "Europe/Lisbon"
    assert (start.dt.hour, start.dt.minute) == (10, 0)
    assert vevent["DTEND"].params["TZID"] == "Europe/Lisbon"
    assert vevent["DTEND"].dt.hour == 13

    # The VTIMEZONE, not our zoneinfo, is what a calendar uses: 10:00 there must be 09:00 UTC.
    (timezone,) = calendar.walk("VTIMEZONE")
    assert str(timezone["TZID"]) == "Europe/Lisbon"
    local = datetime(YEAR, 5, 1, 10, 0, tzinfo=timezone.to_tz())
    assert local.astimezone(UTC) == datetime(YEAR, 5, 1, 9, 0, tzinfo=UTC)
    assert calendar.get_missing_tzids() == set()

    assert str(vevent["SUMMARY"]) == "May Day march"
    # Plain text of the HTML (the typed "<script>" was text all along, escaped in the HTML).
    assert (
        str(vevent["DESCRIPTION"]) == f"Bring banners.\n\n<script>alert(1)</script>\n\n{event.uri}"
    )
    location = str(vevent["LOCATION"])
    assert location == "Praça do Comércio, Terreiro do Paço, 1100-148 Lisboa, Portugal"
    assert (vevent["GEO"].latitude, vevent["GEO"].longitude) == (38.7077, -9.1365)
    assert str(vevent["URL"]) == event.uri
    assert str(vevent["STATUS"]) == "CONFIRMED"
    assert [str(c) for c in vevent["CATEGORIES"].cats] == ["MayDay", "GreveGeral"]
    assert int(vevent["SEQUENCE"]) == 0
    assert vevent["DTSTAMP"].dt == event.updated_at.replace(microsecond=0)
    assert vevent["LAST-MODIFIED"].dt == event.updated_at.replace(microsecond=0)
    organizer = vevent["ORGANIZER"]
    assert str(organizer) == a.url("/actors/alpha")
    assert organizer.params["CN"] == "Sindicato Alfa; Lisboa"

    # The page is still the page: the .ics route did not swallow it.
    assert (await get(event.uri)).status_code == 200


async def test_an_assembly_has_its_own_ics_and_unknown_ids_are_404(start_node):
    a = await start_node("alpha")
    assembly = await events.publish(
        a.federation,
        may_day(
            title="Workers Assembly",
            kind="other",
            place_name=None,
            city=None,
            country=None,
            latitude=None,
            longitude=None,
            street_address=None,
            postal_code=None,
            online_url="https://meet.example/assembly",
        ),
        category="assembly",
    )
    assert "/assemblies/" in assembly.uri
    (vevent,) = (await ics(assembly.uri + ".ics")).walk("VEVENT")
    assert str(vevent["UID"]) == assembly.uri
    # Online only: the link is where it happens.
    assert str(vevent["LOCATION"]) == "https://meet.example/assembly"
    assert "GEO" not in vevent

    wrong_category = assembly.uri.replace("/assemblies/", "/actions/") + ".ics"
    assert (await get(wrong_category)).status_code == 404
    assert (await get(a.url("/actions/no-such-id.ics"))).status_code == 404
    assert (await get(a.url("/actors/nobody/events.ics"))).status_code == 404
    assert (await get(a.url("/actors/nobody/actions.atom"))).status_code == 404


async def test_edit_cancel_and_delete_show_in_the_feeds(start_node):
    a = await start_node("alpha")
    event = await events.publish(a.federation, may_day(), category="action")
    first = vevents(await ics(a.url("/events.ics")))[event.uri]

    await events.edit(a.federation, event.uri, may_day(title="May Day march — new route"))
    edited = vevents(await ics(a.url("/actors/alpha/events.ics")))[event.uri]
    assert str(edited["SUMMARY"]) == "May Day march — new route"
    assert int(edited["SEQUENCE"]) > int(first["SEQUENCE"])
    assert edited["LAST-MODIFIED"].dt > first["LAST-MODIFIED"].dt

    await events.cancel(a.federation, event.uri)
    cancelled = vevents(await ics(event.uri + ".ics"))[event.uri]
    assert str(cancelled["STATUS"]) == "CANCELLED"
    assert int(cancelled["SEQUENCE"]) > int(edited["SEQUENCE"])
    assert str(vevents(await ics(a.url("/events.ics")))[event.uri]["STATUS"]) == "CANCELLED"
    (entry,) = (await atom(a.url("/actions.atom"))).entries
    assert entry.summary.startswith("CANCELLED")

    kept = await events.publish(a.federation, may_day(title="Picket"), category="action")
    await events.delete(a.federation, event.uri)
    assert (await get(event.uri + ".ics")).status_code == 410
    for url in (a.url("/events.ics"), a.url("/actors/alpha/events.ics")):
        assert set(vevents(await ics(url))) == {kept.uri}
    for url in (a.url("/actions.atom"), a.url("/actors/alpha/actions.atom")):
        assert [entry.id for entry in (await atom(url)).entries] == [kept.uri]


async def test_all_known_events_include_remote_ones_with_their_origin(start_node):
    b = await start_node("beta")
    own = await events.publish(b.federation, may_day(), category="action")
    remote = await insert_remote_event(b)

    calendar = await ics(b.url("/events.ics"))
    assert str(calendar["X-WR-CALNAME"]) == b.node.settings.node_name
    found = vevents(calendar)
    assert set(found) == {own.uri, remote.uri}
    theirs = found[remote.uri]
    assert str(theirs["ORGANIZER"]) == "https://remote.example/actors/sindicato"
    assert theirs["ORGANIZER"].params["CN"] == "Sindicato Remoto"
    assert str(theirs["URL"]) == "https://remote.example/@sindicato/events/42"
    assert theirs["DTSTART"].params["TZID"] == "America/Sao_Paulo"
    assert theirs["DTSTART"].dt.hour == 6
    assert str(theirs["LOCATION"]) == "https://remote.example/live"
    assert str(theirs["DESCRIPTION"]) == (
        "Paralisação total.\n\nhttps://remote.example/@sindicato/events/42"
    )
    assert sequence_days(theirs) == 1
    assert {str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")} == {
        "Europe/Lisbon",
        "America/Sao_Paulo",
    }
    sao_paulo = next(tz for tz in calendar.walk("VTIMEZONE") if tz["TZID"] == "America/Sao_Paulo")
    six = datetime(YEAR, 5, 2, 6, 0, tzinfo=sao_paulo.to_tz())
    assert six.astimezone(UTC) == remote.starts_at

    # The organization's own calendar holds only its events.
    assert set(vevents(await ics(b.url("/actors/beta/events.ics")))) == {own.uri}

    feed = await atom(b.url("/actions.atom"))
    assert feed.feed.id == b.url("/actions.atom")
    assert feed.feed.title == b.node.settings.node_name
    links = {link.rel: link.href for link in feed.feed.links}
    assert links == {"self": b.url("/actions.atom"), "alternate": b.url("/actions")}
    assert [entry.id for entry in feed.entries] == [own.uri, remote.uri]  # soonest first
    mine, other = feed.entries
    assert mine.title == "May Day march"
    assert [link.href for link in mine.links if link.rel == "alternate"] == [own.uri]
    async with b.db.read() as session:
        beta, _actor = await organizations.by_name(session, "beta")
    assert mine.author_detail.name == beta.display_name
    assert mine.author_detail.href == b.url("/actors/beta")
    assert Locale.parse("en").territories["PT"] in mine.summary
    assert "Praça do Comércio, Lisboa" in mine.summary
    assert mine.summary_detail.type == "text/html"
    (content,) = mine.content
    assert content.type == "text/html"
    assert "<strong>banners</strong>" in content.value and "<script" not in content.value
    assert [tag.term for tag in mine.tags] == ["MayDay", "GreveGeral"]
    assert mine.published_parsed[:6] == own.published_at.timetuple()[:6]
    assert mine.updated_parsed[:6] == own.updated_at.timetuple()[:6]
    assert other.author_detail.name == "Sindicato Remoto"
    assert [link.href for link in other.links if link.rel == "alternate"] == [remote.url]
    assert other.updated_parsed[:6] == remote.updated_at.timetuple()[:6]
    assert feed.feed.updated_parsed[:6] == own.updated_at.timetuple()[:6]  # the newest change

    org_feed = await atom(b.url("/actors/beta/actions.atom"))
    assert [entry.id for entry in org_feed.entries] == [own.uri]
    assert {link.rel: link.href for link in org_feed.feed.links}["alternate"] == b.url(
        "/actors/beta"
    )


def sequence_days(vevent) -> int:
    return int(vevent["SEQUENCE"]) // 86400


async def test_empty_feeds_are_still_valid(start_node):
    a = await start_node("alpha")
    assert vevents(await ics(a.url("/events.ics"))) == {}
    assert (await atom(a.url("/actions.atom"))).entries == []
