"""A hashtag's page, where every hashtag link points: what a node holds with the tag, its own and
received over real HTTP from a node it follows, coming first and then past; and its feed."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import feedparser
import httpx
from sqlalchemy import select
from support import eventually

from actors import alerts, events, solidarity_days
from actors.models import Event
from actors.text import hashtag_objects
from federation import follows
from federation.models import Following
from federation.node import INSTANCE_USERNAME

NEXT_YEAR = date.today().year + 1


def action(title: str, tags: list[str], *, starts: datetime) -> events.EventInput:
    return events.EventInput(
        title=title,
        kind="march",
        starts=starts,
        ends=starts + timedelta(hours=3),
        timezone="Europe/Lisbon",
        place_name="Praça do Comércio",
        city="Lisboa",
        country="PT",
        tags=tags,
    )


async def node_follows(follower, target_uri: str) -> None:
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


async def held(node, uri: str) -> Event | None:
    async with node.db.read() as session:
        return (await session.execute(select(Event).where(Event.uri == uri))).scalar_one_or_none()


async def test_a_tag_page_gathers_own_and_received_items_coming_first(start_node):
    a = await start_node("alpha")
    b = await start_node("beta")
    await node_follows(b, a.url("/actors/alpha"))

    theirs = await events.publish(
        a.federation,
        action("Dockers' picket", ["MayDay"], starts=datetime(NEXT_YEAR, 5, 1, 7, 0)),
        category="action",
    )
    await eventually(lambda: held(b, theirs.uri))

    ours = await events.publish(
        b.federation,
        action("May Day march", ["mayday", "GreveGeral"], starts=datetime(NEXT_YEAR, 5, 1, 10)),
        category="action",
    )
    last_year = await events.publish(
        b.federation,
        action("Last year's march", ["MAYDAY"], starts=datetime(NEXT_YEAR - 2, 5, 1, 10)),
        category="action",
    )
    withdrawn = await events.publish(
        b.federation,
        action("Withdrawn march", ["MayDay"], starts=datetime(NEXT_YEAR, 5, 2, 10)),
        category="action",
    )
    await events.delete(b.federation, withdrawn.uri)
    await events.publish(
        b.federation,
        action("Other march", ["GreveGeral"], starts=datetime(NEXT_YEAR, 5, 3, 10)),
        category="action",
    )
    day = await solidarity_days.declare(
        b.federation,
        solidarity_days.DayInput(
            day=date(NEXT_YEAR, 5, 1),
            theme="International Workers' Day",
            slogan="An injury to one is an injury to all",
            hashtag="MayDay",
        ),
    )
    alert = await alerts.raise_alert(
        b.federation,
        alerts.AlertInput(
            title="Port workers locked out",
            text="Send messages of support.",
            country="PT",
            tags=["Mayday"],
        ),
    )

    # Where a hashtag link points, in any case the tag is written.
    (link,) = hashtag_objects(["MayDay"], b.base_url)
    assert link["href"] == b.url("/tags/mayday")
    async with httpx.AsyncClient() as http:
        page = await http.get(link["href"])
        upper = await http.get(b.url("/tags/MAYDAY"))
        other = await http.get(b.url("/tags/NothingHere"))
        invalid = await http.get(b.url("/tags/not%20a%20tag"))
        feed = await http.get(b.url("/tags/mayday.atom"))
        german = await http.get(b.url("/tags/mayday?lang=de"))  # sets the language cookie

    assert page.status_code == 200, page.text
    text = page.text.replace("&#39;", "'")
    titles = (
        "Dockers' picket",
        "May Day march",
        "Last year's march",
        "International Workers' Day",
        "Port workers locked out",
    )
    for title in titles:
        assert title in text, title
    assert "Withdrawn march" not in text and "Other march" not in text
    # Coming before past; the received action among the coming ones, named by its origin.
    assert (
        text.index("Port workers locked out")
        < text.index("Dockers' picket")
        < text.index("May Day march")
        < text.index("Past actions and assemblies")
        < text.index("Last year's march")
    )
    assert "from <bdi>alpha</bdi>" in text
    assert day.uri in text and alert.uri in text
    assert upper.status_code == 200
    assert all(title in upper.text.replace("&#39;", "'") for title in titles)
    assert german.status_code == 200 and 'lang="de"' in german.text
    assert "Vergangene Aktionen und Versammlungen" in german.text
    assert other.status_code == 200 and "Nothing with this hashtag yet." in other.text
    # The alert is in every page's banner, but not in the list of a tag it does not carry.
    other_main = other.text.split("<main", 1)[1]
    assert "Port workers locked out" in other.text and "Port workers locked out" not in other_main
    assert invalid.status_code == 404

    assert feed.status_code == 200
    assert feed.headers["content-type"] == "application/atom+xml; charset=utf-8"
    parsed = feedparser.parse(feed.content)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert [entry.id for entry in parsed.entries] == [theirs.uri, ours.uri, last_year.uri]
    assert parsed.feed.title == "#mayday"
