"""Actions over real HTTP: node A publishes, edits, cancels, deletes; B follows and sees it."""

from __future__ import annotations

import html
import re
from datetime import datetime

import httpx
import pytest
from babel import Locale
from babel.dates import get_timezone_location
from sqlalchemy import select
from support import eventually

from actors import events
from actors.errors import ValidationError
from actors.models import Event
from actors.text import plain_text
from federation import follows
from federation.node import INSTANCE_USERNAME

AS2 = {"Accept": "application/activity+json"}


def mastodon_status_html(document: dict) -> str:
    """The status text Mastodon builds from a converted object (Event): the three parts its
    StatusParser joins, each kept only when present; `content` is not among them."""
    parts = [f"<h2>{html.escape(document['name'])}</h2>", document.get("summary") or ""]
    url = document.get("url") or document["id"]
    parts.append(f'<p><a href="{html.escape(url)}">{html.escape(url)}</a></p>')
    return "\n\n".join(part for part in parts if part)


def may_day(**changes) -> events.EventInput:
    values = dict(
        title="May Day march",
        kind="march",
        starts=datetime(2027, 5, 1, 10, 0),
        ends=datetime(2027, 5, 1, 13, 0),
        timezone="Europe/Lisbon",
        place_name="Praça do Comércio",
        city="Lisboa",
        country="PT",
        latitude=38.7077,
        longitude=-9.1365,
        tags=["MayDay", "#GreveGeral"],
        description="Bring **banners**.\n\n<script>alert(1)</script>",
    )
    values.update(changes)
    return events.EventInput(**values)


async def node_follows(follower, target_uri):
    async with follower.db.read() as session:
        me = await follower.federation.local_actor_by_username(session, INSTANCE_USERNAME)
    await follows.follow(follower.federation, me, target_uri)

    async def accepted():
        async with follower.db.read() as session:
            from federation.models import Following

            return (
                await session.execute(
                    select(Following.state).where(Following.target_uri == target_uri)
                )
            ).scalar_one_or_none()

    await eventually(accepted, expect="accepted")


async def remote_event(node, uri):
    async with node.db.read() as session:
        return (await session.execute(select(Event).where(Event.uri == uri))).scalar_one_or_none()


async def field_of(node, uri, name):
    event = await remote_event(node, uri)
    return None if event is None else getattr(event, name)


async def test_publish_edit_cancel_delete_reach_followers_only(start_node):
    a = await start_node("alpha")
    b = await start_node("beta")
    c = await start_node("gamma")
    await node_follows(b, a.url("/actors/alpha"))

    event = await events.publish(a.federation, may_day(), category="action")
    assert event.uri.startswith(a.url("/actions/"))
    await eventually(lambda: field_of(b, event.uri, "title"), expect="May Day march")
    seen = await remote_event(b, event.uri)
    assert seen.is_local is False
    assert seen.origin_actor_uri == a.url("/actors/alpha")
    assert seen.timezone == "Europe/Lisbon"
    assert seen.starts_at == datetime.fromisoformat("2027-05-01T09:00:00+00:00")
    assert (seen.place_name, seen.city, seen.country) == ("Praça do Comércio", "Lisboa", "PT")
    assert seen.hashtags == ["MayDay", "GreveGeral"]
    assert "<strong>banners</strong>" in seen.description_html
    assert "<script" not in seen.description_html

    await events.edit(a.federation, event.uri, may_day(title="May Day march — new route"))
    await eventually(lambda: field_of(b, event.uri, "title"), expect="May Day march — new route")
    await events.cancel(a.federation, event.uri)
    await eventually(lambda: field_of(b, event.uri, "status"), expect="cancelled")

    # B's pages show it, with where it came from.
    async with httpx.AsyncClient() as http:
        listing = (await http.get(b.url("/actions"))).text
    assert "May Day march — new route" in listing and "cancelled" in listing

    await events.delete(a.federation, event.uri)

    async def deleted():
        found = await remote_event(b, event.uri)
        return found is not None and found.deleted_at is not None

    await eventually(deleted)
    async with httpx.AsyncClient() as http:
        assert "May Day march" not in (await http.get(b.url("/actions"))).text
        gone = await http.get(event.uri, headers=AS2)
    assert gone.status_code == 410
    assert gone.json()["type"] == "Tombstone"

    # C never followed A: it holds nothing.
    assert await remote_event(c, event.uri) is None


async def test_the_event_document_and_what_mastodon_would_show(start_node):
    a = await start_node("alpha")
    event = await events.publish(a.federation, may_day(), category="action")
    async with httpx.AsyncClient() as http:
        document = (await http.get(event.uri, headers=AS2)).json()
        page = await http.get(event.uri, headers={"Accept": "text/html"})
    assert document["type"] == "Event"
    assert document["startTime"] == "2027-05-01T10:00:00+01:00"
    assert document["endTime"] == "2027-05-01T13:00:00+01:00"
    assert document["timezone"] == "Europe/Lisbon"
    assert document["location"]["type"] == "Place"
    assert document["location"]["latitude"] == pytest.approx(38.7077)
    assert document["location"]["address"]["addressCountry"] == "PT"
    assert document["attributedTo"] == a.url("/actors/alpha")
    assert document["to"] == ["https://www.w3.org/ns/activitystreams#Public"]
    assert document["cc"] == [a.url("/actors/alpha/followers")]
    assert {t["name"] for t in document["tag"]} == {"#MayDay", "#GreveGeral"}
    assert all(t["type"] == "Hashtag" and t["href"].startswith(a.base_url) for t in document["tag"])

    # Mastodon shows a converted Event as <h2>name</h2>, the summary as HTML, and the link;
    # it drops `content` (status_parser.rb). What a follower reads at a glance:
    status = mastodon_status_html(document)
    text = plain_text(status)
    assert text.startswith("May Day march\n\nSaturday, May 1, 2027, 10:00")
    assert "1:00\u202fPM" in text or "1:00 PM" in text
    # Whose clock: the zone's city and country as Babel names them (its spellings change).
    assert get_timezone_location("Europe/Lisbon", locale="en", return_city=True) in text
    assert Locale.parse("en").territories["PT"] in text
    assert "Praça do Comércio, Lisboa" in text
    assert "#MayDay #GreveGeral" in text
    assert text.rstrip().endswith(event.uri)
    # Hashtags are clickable there only as links whose text starts with '#':
    links = re.findall(r'<a href="([^"]+)"[^>]*rel="tag"[^>]*>(.*?)</a>', status)
    assert [(href, plain_text(label)) for href, label in links] == [
        (a.url("/tags/mayday"), "#MayDay"),
        (a.url("/tags/grevegeral"), "#GreveGeral"),
    ]

    assert page.status_code == 200
    assert (
        f'<link rel="alternate" type="application/activity+json" href="{event.uri}">' in page.text
    )
    assert "Show on a map" in page.text and "openstreetmap.org" in page.text
    assert "@alpha@" in page.text


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"title": "  "}, "title"),
        ({"ends": datetime(2027, 5, 1, 9, 0)}, "ends"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"latitude": 91.0}, "latitude"),
        ({"longitude": None}, "coordinates"),
        ({"place_name": None, "online_url": None}, "location"),
        ({"country": "Portugal"}, "country"),
        ({"kind": "party"}, "kind"),
        ({"online_url": "javascript:alert(1)"}, "online_url"),
        ({"starts": datetime(2027, 3, 28, 1, 30)}, "starts"),  # the clocks skip 01:00-02:00
        ({"tags": ["May Day"]}, "tags"),
    ],
)
def test_invalid_input_is_refused_with_a_reason(changes, field):
    with pytest.raises(ValidationError) as refused:
        events.check(may_day(**changes), "action")
    assert field in refused.value.problems


async def test_the_organization_lists_its_upcoming_events(start_node):
    a = await start_node("alpha")
    first = await events.publish(a.federation, may_day(), category="action")
    withdrawn = await events.publish(a.federation, may_day(title="Withdrawn"), category="action")
    await events.delete(a.federation, withdrawn.uri)
    async with httpx.AsyncClient() as http:
        actor = (await http.get(a.url("/actors/alpha"), headers=AS2)).json()
        collection = (await http.get(actor["upcomingEvents"], headers=AS2)).json()
        outbox_page = (await http.get(a.url("/actors/alpha/outbox?page=1"), headers=AS2)).json()
    assert actor["events"] == actor["upcomingEvents"]
    assert [item["id"] for item in collection["orderedItems"]] == [first.uri]
    # The outbox keeps the Create of what still stands, not of what was withdrawn.
    created = [i["object"]["id"] for i in outbox_page["orderedItems"] if i["type"] == "Create"]
    assert created == [first.uri]


async def test_following_a_whole_node_brings_its_events_by_announce(start_node):
    a = await start_node("alpha")
    b = await start_node("beta")
    await node_follows(b, a.url("/actor"))  # the node itself, as `iwsn follow DOMAIN` does

    event = await events.publish(a.federation, may_day(), category="action")
    await eventually(lambda: field_of(b, event.uri, "title"), expect="May Day march")
    assert await field_of(b, event.uri, "origin_name") == "alpha"

    await events.cancel(a.federation, event.uri)
    await eventually(lambda: field_of(b, event.uri, "status"), expect="cancelled")

    await events.delete(a.federation, event.uri)

    async def withdrawn():
        return await field_of(b, event.uri, "deleted_at") is not None

    await eventually(withdrawn)
