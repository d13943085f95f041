"""Solidarity alerts over real HTTP: raised on one node, relayed hop by hop through follows,
each organization boosting each version once; updates and resolution follow the same paths."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import func, select
from support import eventually

from actors import alert_text, alert_to_as, alerts
from actors.errors import ValidationError
from actors.models import Alert
from federation import follows
from federation.delivery import LANE_PRIORITY, DeliveryWorker
from federation.models import (
    Delivery,
    Follower,
    Following,
    LocalActor,
    OutboxActivity,
    ReceivedActivity,
)
from federation.node import INSTANCE_USERNAME

AS2 = {"Accept": "application/activity+json"}


def strike(**changes) -> alerts.AlertInput:
    values = dict(
        title="Garment workers' general strike attacked",
        text="Police fired on striking garment workers in Ashulia this morning.",
        country="BD",
        region="Ashulia, Dhaka",
        ask_text="Send messages to the brands; picket their shops.",
        asks=["messages", "protests"],
        urgency="urgent",
        links=["https://example.org/report"],
        tags=["GarmentStrike"],
    )
    values.update(changes)
    return alerts.AlertInput(**values)


async def org(node) -> LocalActor:
    async with node.db.read() as session:
        return await node.federation.local_actor_by_username(session, node.env["IWSN_ORG_NAME"])


async def org_follows(follower, target) -> None:
    """`follower`'s organization follows `target`'s, and waits for the Accept."""
    me = await org(follower)
    target_uri = target.url(f"/actors/{target.env['IWSN_ORG_NAME']}")
    await follows.follow(follower.federation, me, target_uri)

    async def accepted():
        async with follower.db.read() as session:
            return (
                await session.execute(
                    select(Following.state).where(Following.target_uri == target_uri)
                )
            ).scalar_one_or_none()

    await eventually(accepted, expect="accepted")


async def held(node, uri) -> Alert | None:
    async with node.db.read() as session:
        return await alerts.by_uri(session, uri)


async def relays(node, uri) -> int:
    """Boosts of the alert by the node's organizations (its instance actor's are not relays)."""
    async with node.db.read() as session:
        return (
            await session.execute(
                select(func.count())
                .select_from(OutboxActivity)
                .join(LocalActor, OutboxActivity.local_actor_id == LocalActor.id)
                .where(
                    OutboxActivity.activity_type == "Announce",
                    OutboxActivity.object_uri == uri,
                    LocalActor.username != INSTANCE_USERNAME,
                )
            )
        ).scalar_one()


async def quiet(nodes) -> bool:
    """Nothing left to send or to process anywhere: every path has been followed to its end."""
    for node in nodes:
        async with node.db.read() as session:
            busy = (
                await session.execute(
                    select(func.count()).select_from(Delivery).where(Delivery.state == "pending")
                )
            ).scalar_one()
            busy += (
                await session.execute(
                    select(func.count())
                    .select_from(OutboxActivity)
                    .where(OutboxActivity.fanout_pending.is_(True))
                )
            ).scalar_one()
            busy += (
                await session.execute(
                    select(func.count())
                    .select_from(ReceivedActivity)
                    .where(ReceivedActivity.state == "pending")
                )
            ).scalar_one()
        if busy:
            return False
    return True


async def version(node, uri):
    alert = await held(node, uri)
    return None if alert is None else (alert.status, alert.title)


async def test_an_alert_reaches_every_follower_hop_by_hop_and_is_relayed_once(start_node):
    a = await start_node("alpha")
    b = await start_node("beta")
    c = await start_node("gamma")
    d = await start_node("delta")
    e = await start_node("epsilon")
    lonely = await start_node("zeta")
    for follower, target in ((a, b), (b, c), (c, d), (e, b)):
        await org_follows(follower, target)

    alert = await alerts.raise_alert(d.federation, strike())
    assert alert.uri.startswith(d.url("/alerts/"))
    for node in (a, b, c, e):
        await eventually(lambda node=node: held(node, alert.uri))
    await eventually(lambda: quiet([a, b, c, d, e, lonely]))

    hops = {
        name: (await held(node, alert.uri)).hops
        for name, node in zip("abce", (a, b, c, e), strict=True)
    }
    assert hops == {"c": 1, "b": 2, "a": 3, "e": 3}
    at_a = await held(a, alert.uri)
    assert (at_a.is_local, at_a.country, at_a.urgency, at_a.asks) == (
        False,
        "BD",
        "urgent",
        ["messages", "protests"],
    )
    assert at_a.title == "Garment workers' general strike attacked"
    assert at_a.received_via == b.url("/actors/beta")
    # Each node's one organization boosted it exactly once; the origin boosts nothing.
    assert [await relays(n, alert.uri) for n in (a, b, c, d, e)] == [1, 1, 1, 0, 1]
    assert await held(lonely, alert.uri) is None

    # On the wire: a public Note that Mastodon shows in full, with our fields.
    async with httpx.AsyncClient() as http:
        document = (await http.get(alert.uri, headers=AS2)).json()
        home = (await http.get(a.url("/"))).text
        listing = (await http.get(a.url("/actions"))).text
        page = (await http.get(a.url(f"/alerts/remote/{at_a.id}"))).text
    assert document["type"] == "Note" and "summary" not in document
    assert document["alert"] is True and document["urgency"] == "urgent"
    assert document["asks"] == ["messages", "protests"] and document["country"] == "BD"
    assert document["alertStatus"] == "active" and document["region"] == "Ashulia, Dhaka"
    assert "<strong>Garment workers" in document["content"]
    assert "https://example.org/report" in document["content"]
    assert "#<span>GarmentStrike</span>" in document["content"]
    assert "Send messages to the brands" in document["content"]
    # In the banner of every page; on the home page, in its own section instead.
    assert "alert-banner" in listing and "Garment workers" in listing
    assert "home-alerts" in home and "Garment workers" in home
    assert "Ashulia" in page and b.url("/actors/beta") in page

    # An update, then the resolution, reach every node that holds the alert.
    updated = await alerts.update(
        d.federation, alert.uri, strike(title="Strike attacked: 3 organizers arrested")
    )
    assert updated.updated_at > alert.updated_at
    for node in (a, b, c, e):
        await eventually(
            lambda node=node: version(node, alert.uri),
            expect=("active", "Strike attacked: 3 organizers arrested"),
        )
    await alerts.resolve_alert(d.federation, alert.uri)
    for node in (a, b, c, e):
        await eventually(
            lambda node=node: version(node, alert.uri),
            expect=("resolved", "Strike attacked: 3 organizers arrested"),
        )
    await eventually(lambda: quiet([a, b, c, d, e, lonely]))
    # One boost per organization and version: raised, updated, resolved.
    assert [await relays(n, alert.uri) for n in (a, b, c, d, e)] == [3, 3, 3, 0, 3]
    async with httpx.AsyncClient() as http:
        home = (await http.get(a.url("/"))).text
        listing = (await http.get(a.url("/actions"))).text
    assert "alert-banner" not in listing and "home-alerts" not in home


async def test_a_version_held_already_is_not_fetched_again(start_node):
    """A diamond: A hears of D's alert from B and from C, and asks D for it once per version.

    Every relay's fetch lands on the origin, so sparing the needless ones is what keeps a
    large network fast; and the origin's name travels in the alert, so no actor fetch.
    """
    a = await start_node("alpha")
    b = await start_node("beta")
    c = await start_node("gamma")
    d = await start_node("delta")
    for follower, target in ((a, b), (a, c), (b, d), (c, d)):
        await org_follows(follower, target)
    fetched: list[str] = []
    fetch = a.federation.client.get_json

    async def counting_fetch(url, **options):
        fetched.append(url)
        return await fetch(url, **options)

    a.federation.client.get_json = counting_fetch

    alert = await alerts.raise_alert(d.federation, strike())
    await eventually(lambda: held(a, alert.uri))
    await eventually(lambda: quiet([a, b, c, d]))
    assert await relays(a, alert.uri) == 1
    announces = await received(a, "Announce")
    assert len(announces) == 2  # one through B, one through C
    assert all(body["alertUpdated"] for body in announces)
    assert fetched == [alert.uri]
    at_a = await held(a, alert.uri)
    assert at_a.origin_name == (await held(d, alert.uri)).origin_name
    assert at_a.origin_name  # named without asking D for its actor

    await alerts.update(d.federation, alert.uri, strike(title="Strike attacked again"))
    await eventually(lambda: version(a, alert.uri), expect=("active", "Strike attacked again"))
    await eventually(lambda: quiet([a, b, c, d]))
    assert len(await received(a, "Announce")) == 4
    assert fetched == [alert.uri, alert.uri]  # the new version, once


async def received(node, activity_type) -> list[dict]:
    async with node.db.read() as session:
        return list(
            (
                await session.execute(
                    select(ReceivedActivity.body).where(
                        ReceivedActivity.activity_type == activity_type
                    )
                )
            ).scalars()
        )


async def test_a_cycle_ends_and_no_one_relays_twice(start_node):
    a = await start_node("alpha")
    b = await start_node("beta")
    c = await start_node("gamma")
    for follower, target in ((a, b), (b, a), (c, a), (c, b)):
        await org_follows(follower, target)

    alert = await alerts.raise_alert(a.federation, strike(urgency="normal"))
    for node in (b, c):
        await eventually(lambda node=node: held(node, alert.uri))
    await eventually(lambda: quiet([a, b, c]))
    assert [await relays(n, alert.uri) for n in (a, b, c)] == [0, 1, 1]
    async with c.db.read() as session:
        copies = (
            await session.execute(
                select(func.count()).select_from(Alert).where(Alert.uri == alert.uri)
            )
        ).scalar_one()
    assert copies == 1


async def test_an_announce_of_an_alert_its_origin_never_published_is_refused(start_node):
    a = await start_node("alpha")
    b = await start_node("beta")
    origin = await start_node("delta")
    await org_follows(a, b)
    forged = origin.url(f"/alerts/{uuid.uuid4()}")
    relayer = await org(b)
    announce_id = b.federation.new_id()
    async with b.db.transaction() as session:
        await b.federation.enqueue(
            session,
            {
                "@context": alert_to_as.ALERT_CONTEXT,
                "id": announce_id,
                "type": "Announce",
                "actor": relayer.uri,
                "object": forged,
                "to": ["https://www.w3.org/ns/activitystreams#Public"],
                "cc": [relayer.followers_uri],
                "hops": 1,
            },
            actor=relayer,
            followers_of=[relayer],
            priority=LANE_PRIORITY,
        )

    async def processed():
        async with a.db.read() as session:
            return (
                await session.execute(
                    select(ReceivedActivity.state).where(ReceivedActivity.uri == announce_id)
                )
            ).scalar_one_or_none()

    await eventually(processed, expect="done")
    assert await held(a, forged) is None
    assert await relays(a, forged) == 0


async def test_an_alert_goes_out_before_a_backlog(start_node, sink_factory):
    node = await start_node("alpha", workers=0)
    sink = sink_factory()
    await sink.start()
    actor = await org(node)
    async with node.db.transaction() as session:
        session.add(
            Follower(
                local_actor_id=actor.id,
                actor_uri=sink.url("/users/watcher"),
                inbox=sink.url("/inbox"),
                follow_activity_uri=sink.url("/follows/1"),
                state="accepted",
            )
        )
    for n in range(30):
        async with node.db.transaction() as session:
            await node.federation.enqueue(
                session,
                {
                    "@context": "https://www.w3.org/ns/activitystreams",
                    "id": node.federation.new_id(),
                    "type": "Create",
                    "actor": actor.uri,
                    "to": ["https://www.w3.org/ns/activitystreams#Public"],
                    "object": {"id": node.federation.new_id("notes"), "type": "Note"},
                },
                actor=actor,
                inboxes=[sink.url(f"/backlog/{n}")],
            )
    alert = await alerts.raise_alert(node.federation, strike())
    worker = DeliveryWorker(node.federation, batch_size=5)
    await worker.run_once()
    assert len(sink.received) == 5
    urgent = [body for path, body in sink.received if path == "/inbox"]
    assert len(urgent) == 1 and alert.uri.encode() in urgent[0]


def test_validation_names_each_wrong_field():
    with pytest.raises(ValidationError) as caught:
        alerts.check(
            alerts.AlertInput(
                title="",
                text="",
                country="Bangladesh",
                asks=["prayers"],
                urgency="very",
                links=["ftp://x"],
                tags=["not a tag"],
                latitude=10.0,
            )
        )
    assert set(caught.value.problems) == {
        "title",
        "text",
        "country",
        "asks",
        "urgency",
        "links",
        "tags",
        "coordinates",
    }


def test_the_note_stays_within_mastodons_habit():
    alert = Alert(
        uri="https://a.example/alerts/1",
        url="https://a.example/alerts/1",
        title="Dockers strike",
        text="word " * 400,
        country="CL",
        region="Valparaíso",
        ask_text="Refuse to unload scab cargo.",
        asks=["solidarity_strikes"],
        urgency="urgent",
        links=[],
        hashtags=["Dockers"],
        status="active",
    )
    content = alert_text.content_html(alert, "https://a.example")
    from actors.text import plain_text

    assert len(plain_text(content)) <= alert_text.NOTE_BUDGET + 60
    assert "https://a.example/alerts/1" in content  # the page carries the rest


async def test_a_withdrawn_alert_is_withdrawn_down_the_chain(start_node):
    a = await start_node("alpha")
    b = await start_node("beta")
    c = await start_node("gamma")
    await org_follows(a, b)
    await org_follows(b, c)
    alert = await alerts.raise_alert(c.federation, strike())
    await eventually(lambda: held(a, alert.uri))

    async def withdrawn(node):
        found = await held(node, alert.uri)
        return found is not None and found.deleted_at is not None

    await alerts.withdraw(c.federation, alert.uri)
    await eventually(lambda: withdrawn(b))  # Delete from the origin
    await eventually(lambda: withdrawn(a))  # Undo of B's boost, checked against the origin
