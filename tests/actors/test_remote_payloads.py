"""What Mobilizon, Gancio, Friendica and Mastodon actually send, through our real inbox.

The payloads are tests/fixtures/remote, built from those projects' serializers; stand-in
servers on loopback serve their actors and sign their deliveries.
"""

from __future__ import annotations

import copy
import html
from datetime import datetime

import httpx
import pytest
from remote_servers import RemoteServer
from sqlalchemy import select
from support import eventually

from actors import events, places
from actors.models import Event, Participant, Reply
from federation.models import Following
from federation.node import INSTANCE_USERNAME


@pytest.fixture
async def remotes(start_node):
    node = await start_node("union")
    servers: dict[str, RemoteServer] = {}

    async def make(name: str) -> RemoteServer:
        server = RemoteServer(name, node.base_url)
        await server.start()
        servers[name] = server
        return server

    yield node, make
    for server in servers.values():
        await server.stop()


async def follow_directly(node, actor_uri: str) -> None:
    """We follow this remote actor (as if its Accept had come back)."""
    actor = await node.federation.actors.get(actor_uri)
    async with node.db.transaction() as session:
        me = await node.federation.local_actor_by_username(session, INSTANCE_USERNAME)
        session.add(
            Following(
                local_actor_id=me.id,
                target_uri=actor.uri,
                follow_activity_uri=f"{node.base_url}/activities/follow-{actor.host}",
                state="accepted",
            )
        )


async def stored(node, uri):
    async with node.db.read() as session:
        return (await session.execute(select(Event).where(Event.uri == uri))).scalar_one_or_none()


async def test_a_mobilizon_group_announcing_its_event(remotes):
    node, make = remotes
    mobilizon = await make("mobilizon.example")
    group = mobilizon.serve_document("mobilizon_group_actor.json")
    mobilizon.serve_document("mobilizon_person_actor.json")
    event_doc = mobilizon.serve_document("mobilizon_event.json")
    await follow_directly(node, group["id"])

    announce = mobilizon.fixture("mobilizon_announce_event.json")
    response = await mobilizon.deliver(node.url("/inbox"), announce)
    assert response.status_code == 202, response.text

    event = await eventually(lambda: stored(node, event_doc["id"]))
    assert event.title == "Piquete do Primeiro de Maio na Praça do Comércio"
    assert event.is_local is False
    assert event.timezone == "Europe/Lisbon"
    assert (event.place_name, event.city, event.postal_code) == (
        "Praça do Comércio",
        "Lisboa",
        "1100-148",
    )
    assert (event.latitude, event.longitude) == (38.7077, -9.1365)
    assert event.online_url == "https://stream.example/live/piquete-1-maio"
    assert event.origin_name == "Metalúrgicos de Lisboa"
    async with httpx.AsyncClient() as http:
        listing = (await http.get(node.url("/actions"))).text
    assert "Piquete do Primeiro de Maio" in listing
    assert "Metalúrgicos de Lisboa" in listing


async def test_an_event_from_an_unfollowed_group_is_not_stored(remotes):
    node, make = remotes
    mobilizon = await make("mobilizon.example")
    mobilizon.serve_document("mobilizon_group_actor.json")
    event_doc = mobilizon.serve_document("mobilizon_event.json")
    announce = mobilizon.fixture("mobilizon_announce_event.json")
    response = await mobilizon.deliver(node.url("/inbox"), announce)
    assert response.status_code == 202
    # The activity itself is processed (and recorded); the event is not taken in.
    from federation.models import ReceivedActivity

    async def processed():
        async with node.db.read() as session:
            row = await session.get(ReceivedActivity, announce["id"])
        return row is not None and row.state == "done"

    await eventually(processed)
    assert await stored(node, event_doc["id"]) is None


async def test_a_gancio_event_with_a_place_and_an_online_link(remotes):
    node, make = remotes
    gancio = await make("gancio.example")
    relay = gancio.serve_document("gancio_actor.json")
    await follow_directly(node, relay["id"])

    create = gancio.fixture("gancio_create_event_two_locations.json")
    response = await gancio.deliver(node.url("/inbox"), create)
    assert response.status_code == 202, response.text

    event = await eventually(lambda: stored(node, create["object"]["id"]))
    assert event.title == "Sciopero generale dei metalmeccanici: corteo"
    assert event.place_name == "Piazza Maggiore"
    assert event.street_address == "Piazza Maggiore, 40124 Bologna BO"
    assert event.online_url == "https://stream.example/live/corteo-bologna"
    assert (event.latitude, event.longitude) == (44.4938, 11.3426)
    # No IANA zone given: the +02:00 offset keeps local times right.
    assert event.starts_at == datetime.fromisoformat("2027-05-01T07:30:00+00:00")
    assert event.timezone == "Etc/GMT-2"
    # '#sciopero generale' is not a valid hashtag and is dropped; the others keep their case.
    assert event.hashtags == ["metalmeccanici", "MayDay"]
    assert event.url == f"{gancio.base}/event/sciopero-generale-dei-metalmeccanici-corteo"


async def test_a_gancio_event_whose_place_has_no_type(remotes):
    """Gancio before 1.14 sends `location` as {name, address, latitude, longitude}, no `type`,
    the address as one line and, from some databases, the coordinates as text."""
    node, make = remotes
    gancio = await make("gancio.example")
    relay = gancio.serve_document("gancio_actor.json")
    await follow_directly(node, relay["id"])

    create = gancio.fixture("gancio_create_event_untyped_place.json")
    assert "type" not in create["object"]["location"]
    response = await gancio.deliver(node.url("/inbox"), create)
    assert response.status_code == 202, response.text

    event = await eventually(lambda: stored(node, create["object"]["id"]))
    assert event.place_name == "Interporto di Bologna"
    assert event.street_address == "Via dell'Interporto, 40010 Bentivoglio BO"
    assert (event.latitude, event.longitude) == (44.6121, 11.3906)
    assert event.online_url is None
    async with httpx.AsyncClient() as http:
        page = (await http.get(node.url("/actions"))).text
    assert "Interporto di Bologna" in page


CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200b\u200e\u200f\ufeff"
WORKER = "\U0001f469\u200d\U0001f3ed"  # woman factory worker: three code points joined by ZWJ
PERSIAN = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u06cc\u0645"  # "we want", with a ZWNJ


async def test_hostile_names_lose_their_bidi_and_zero_width_controls(remotes):
    """A remote actor and event whose names carry overrides (U+202E turns 'gnp.exe' into
    'exe.png' on screen) and zero-width characters: stored and shown without them, isolated in
    <bdi> on pages, plain in feeds and calendars; ZWJ and ZWNJ, which words need, are kept."""
    node, make = remotes
    gancio = await make("gancio.example")
    relay = gancio.serve_document(
        "gancio_actor.json", **{"Gancio Bologna": "Gancio\u202e anidnE\u202c Bologna\u200b"}
    )
    await follow_directly(node, relay["id"])
    title = f"Sciopero\u202e gnp.exe\u200b {WORKER} {PERSIAN}\u2067"
    create = gancio.fixture(
        "gancio_create_event_untyped_place.json",
        **{
            "Presidio davanti ai cancelli della logistica": title,
            "Interporto di Bologna": "Interporto\u2066 di\u2069 Bologna\ufeff",
        },
    )
    response = await gancio.deliver(node.url("/inbox"), create)
    assert response.status_code == 202, response.text

    event = await eventually(lambda: stored(node, create["object"]["id"]))
    clean_title = f"Sciopero gnp.exe {WORKER} {PERSIAN}"
    assert event.title == clean_title
    assert event.origin_name == "Gancio anidnE Bologna"
    assert event.place_name == "Interporto di Bologna"

    # A row stored before names were cleaned on arrival is cleaned where it is shown.
    async with node.db.transaction() as session:
        old = await session.get(Event, event.id)
        old.title = f"Old\u202e title {WORKER}"

    async with httpx.AsyncClient() as http:
        listing = (await http.get(node.url("/actions"))).text
        feed = (await http.get(node.url("/actions.atom"))).text
        calendar = (await http.get(node.url("/events.ics"))).content.decode()
    for document in (listing, feed, calendar):
        assert not any(c in document for c in CONTROLS)
        assert WORKER in document and "Old title" in document
    assert f"<strong><bdi>Old title {WORKER}</bdi></strong>" in listing
    assert "<bdi>Gancio anidnE Bologna</bdi>" in listing


async def test_spoofed_and_stale_updates_change_nothing(remotes):
    node, make = remotes
    gancio = await make("gancio.example")
    relay = gancio.serve_document("gancio_actor.json")
    await follow_directly(node, relay["id"])
    create = gancio.fixture("gancio_create_event_two_locations.json")
    await gancio.deliver(node.url("/inbox"), create)
    event_id = create["object"]["id"]
    await eventually(lambda: stored(node, event_id))

    # Another server claims to update Gancio's event: refused at the inbox (origin check).
    mastodon = await make("mastodon.example")
    rosa = mastodon.serve_document("mastodon_actor.json")
    spoof = {
        "id": f"{rosa['id']}#spoof",
        "type": "Update",
        "actor": rosa["id"],
        "object": dict(create["object"], name="Cancelled by an impostor"),
    }
    refused = await mastodon.deliver(node.url("/inbox"), spoof)
    assert refused.status_code == 403

    # Gancio's own Update, but older than what we hold: ignored.
    stale = {
        "id": f"{relay['id']}#update-stale",
        "type": "Update",
        "actor": relay["id"],
        "object": dict(create["object"], name="Old title", updated="2027-01-01T00:00:00Z"),
    }
    assert (await gancio.deliver(node.url("/inbox"), stale)).status_code == 202
    fresh = {
        "id": f"{relay['id']}#update-fresh",
        "type": "Update",
        "actor": relay["id"],
        "object": dict(create["object"], name="Corteo: new route", updated="2027-04-30T10:00:00Z"),
    }
    assert (await gancio.deliver(node.url("/inbox"), fresh)).status_code == 202

    async def title():
        return (await stored(node, event_id)).title

    await eventually(title, expect="Corteo: new route")


async def test_a_mastodon_reply_is_kept_sanitized_and_can_be_hidden(remotes):
    node, make = remotes
    action = await events.publish(
        node.federation,
        events.EventInput(
            title="Picket at the port",
            kind="picket",
            starts=datetime(2027, 5, 1, 6, 0),
            ends=datetime(2027, 5, 1, 9, 0),
            timezone="Europe/Lisbon",
            place_name="Gate 3",
            city="Lisboa",
        ),
        category="action",
    )
    action_id = action.uri.rsplit("/", 1)[1]
    mastodon = await make("mastodon.example")
    mastodon.serve_document("mastodon_actor.json")
    reply = mastodon.fixture("mastodon_note_reply.json", ACTION_ID=action_id)
    reply["object"]["inReplyTo"] = action.uri
    assert (await mastodon.deliver(node.url("/inbox"), reply)).status_code == 202

    async def kept():
        async with node.db.read() as session:
            return (await session.execute(select(Reply))).scalars().all()

    (saved,) = await eventually(kept)
    assert "<script" not in saved.content_html
    assert saved.author_handle == f"@rosa@127.0.0.1:{mastodon.port}"
    async with httpx.AsyncClient() as http:
        page = (await http.get(action.uri)).text
    assert saved.author_name in page
    assert "Replies from the fediverse" in page


async def test_join_leave_and_a_full_assembly(remotes):
    node, make = remotes
    assembly = await events.publish(
        node.federation,
        events.EventInput(
            title="Assembly of the night shift",
            kind="other",
            starts=datetime(2027, 5, 3, 19, 0),
            ends=datetime(2027, 5, 3, 21, 0),
            timezone="Europe/Lisbon",
            place_name="Union hall",
            city="Lisboa",
            capacity=1,
        ),
        category="assembly",
    )
    assembly_id = assembly.uri.rsplit("/", 1)[1]
    mobilizon = await make("mobilizon.example")
    mobilizon.serve_document("mobilizon_person_actor.json")
    friendica = await make("friendica.example")
    bob = friendica.serve_document("friendica_actor.json")

    join = mobilizon.fixture("mobilizon_join.json", ASSEMBLY_ID=assembly_id)
    assert (await mobilizon.deliver(node.url("/inbox"), join)).status_code == 202

    def answers(server, kind):
        return [a for a in server.received if a["type"] == kind]

    async def accepted_joao():
        return answers(mobilizon, "Accept")

    (accept,) = await eventually(accepted_joao)
    assert accept["object"] == join["id"]
    assert accept["actor"] == node.url("/actors/union")

    # The one place is taken: Bob (Friendica) answers "maybe" and is counted so; a second
    # Join from him gets a waiting-list place.
    maybe = friendica.fixture("friendica_tentative_accept.json", ASSEMBLY_ID=assembly_id)
    await friendica.deliver(node.url("/inbox"), maybe)

    async def states():
        async with node.db.read() as session:
            rows = (await session.execute(select(Participant))).scalars().all()
        return sorted((p.actor_uri.rsplit("/", 1)[1], p.state) for p in rows)

    await eventually(states, expect=[("@joao", "going"), ("bob", "maybe")])
    bob_join = {
        "id": f"{bob['id']}#join-1",
        "type": "Join",
        "actor": bob["id"],
        "object": assembly.uri,
    }
    await friendica.deliver(node.url("/inbox"), bob_join)

    async def waiting():
        return answers(friendica, "TentativeAccept")

    (tentative,) = await eventually(waiting)
    assert tentative["object"] == bob_join["id"]
    # A Join of the same person turns "maybe" into a waiting place.
    leave = mobilizon.fixture("mobilizon_leave.json", ASSEMBLY_ID=assembly_id)
    await mobilizon.deliver(node.url("/inbox"), leave)

    async def bob_accepted():
        return answers(friendica, "Accept")

    (moved_up,) = await eventually(bob_accepted)
    assert moved_up["object"] == bob_join["id"]
    await eventually(states, expect=[("bob", "going")])

    async with httpx.AsyncClient() as http:
        document = (
            await http.get(assembly.uri, headers={"Accept": "application/activity+json"})
        ).json()
    assert document["participantCount"] == 1
    assert document["attendees"]["totalItems"] == 1
    assert "bob" not in str(document["attendees"])


async def test_a_join_of_an_action_is_ignored_as_fep_8a8e_asks(remotes):
    node, make = remotes
    action = await events.publish(
        node.federation,
        events.EventInput(
            title="Rally at the ministry",
            kind="rally",
            starts=datetime(2027, 5, 3, 12, 0),
            ends=datetime(2027, 5, 3, 13, 0),
            timezone="Europe/Lisbon",
            place_name="Ministry",
            city="Lisboa",
        ),
        category="action",
    )
    mobilizon = await make("mobilizon.example")
    mobilizon.serve_document("mobilizon_person_actor.json")
    join = mobilizon.fixture("mobilizon_join.json", ASSEMBLY_ID="x")
    join["object"] = action.uri
    assert (await mobilizon.deliver(node.url("/inbox"), join)).status_code == 202

    async def ignored():
        return [a for a in mobilizon.received if a["type"] == "Ignore"]

    (answer,) = await eventually(ignored)
    assert answer["object"] == join["id"]
    async with node.db.read() as session:
        assert (await session.execute(select(Participant))).first() is None


# --- places in the shapes each server sends, and where "near you" then finds them ----------


async def near_page(node, place: str, radius: int = 50) -> str:
    # The place table, filled here rather than by the first search (which answers 503 and
    # "come back in a few seconds" while it fills it).
    await places.ready(node.db)
    async with httpx.AsyncClient(timeout=120) as http:
        page = await http.get(node.url("/near"), params={"place": place, "radius": str(radius)})
    assert page.status_code == 200, page.text[-2000:]
    return page.text


async def test_a_friendica_event_with_its_map_bbcode_and_coordinates_as_text(remotes):
    """Friendica sends an event's place as a `Place` whose `name` is the text a person typed,
    `[map]address[/map]` or `[map=lat,lon]` included, and coordinates as strings split from its
    "lat lon" column (src/Protocol/ActivityPub/Transmitter.php, createLocation and createEvent;
    the BBCode: src/Model/Event.php, locationToTemplateVars)."""
    node, make = remotes
    friendica = await make("friendica.example")
    bob = friendica.serve_document("friendica_actor.json")
    await follow_directly(node, bob["id"])

    create = friendica.fixture("friendica_create_event.json")
    response = await friendica.deliver(node.url("/inbox"), create)
    assert response.status_code == 202, response.text
    event = await eventually(lambda: stored(node, create["object"]["id"]))
    assert event.place_name == "Gewerkschaftshaus"
    assert event.street_address == "Wilhelm-Leuschner-Straße 69, 60329 Frankfurt am Main"
    assert (event.latitude, event.longitude) == (50.1067, 8.6683)

    # No coordinates of its own, a point in the BBCode instead; then one whose "coordinates"
    # are garbage: stored by its name, never placed at 0,0 or at an impossible latitude.
    second = copy.deepcopy(create)
    second["id"] = create["id"].replace("7f3e9a12", "7f3e9a13")
    second["object"]["id"] = create["object"]["id"].replace("7f3e9a12", "7f3e9a13")
    second["object"]["name"] = "Streikversammlung"
    second["object"]["location"] = {"type": "Place", "name": "Flughafen Tor 3 [map=50.0379,8.5622]"}
    third = copy.deepcopy(second)
    third["id"] = third["id"].replace("7f3e9a13", "7f3e9a14")
    third["object"]["id"] = third["object"]["id"].replace("7f3e9a13", "7f3e9a14")
    third["object"]["name"] = "Infostand"
    third["object"]["location"] = {
        "type": "Place", "name": "Hauptwache [map=0,0]", "latitude": "0", "longitude": "999"
    }  # fmt: skip
    for activity in (second, third):
        assert (await friendica.deliver(node.url("/inbox"), activity)).status_code == 202
    gate = await eventually(lambda: stored(node, second["object"]["id"]))
    assert (gate.place_name, gate.latitude, gate.longitude) == ("Flughafen Tor 3", 50.0379, 8.5622)
    stand = await eventually(lambda: stored(node, third["object"]["id"]))
    assert (stand.place_name, stand.latitude, stand.longitude) == ("Hauptwache", None, None)

    # "Near you" finds the two that say where, by their names; the third is nowhere we know.
    page = await near_page(node, "Frankfurt am Main")
    assert "Kundgebung vor dem Gewerkschaftshaus" in page and "Gewerkschaftshaus" in page
    assert "Streikversammlung" in page and "Flughafen Tor 3" in page
    assert "Infostand" not in page and "[map" not in page


async def test_a_mobilizon_place_without_name_nor_coordinates_is_placed_from_its_city(remotes):
    """Mobilizon's Place has a `name` only when the organizer gave a description, coordinates
    only when it geocoded the address, and `addressCountry` as the geocoder's country name
    (lib/federation/activity_stream/converter/address.ex, model_to_as)."""
    node, make = remotes
    await places.ready(node.db)  # the place table exists: what arrives is placed at once
    mobilizon = await make("mobilizon.example")
    group = mobilizon.serve_document("mobilizon_group_actor.json")
    mobilizon.serve_document("mobilizon_person_actor.json")
    event_doc = mobilizon.serve_document("mobilizon_event.json")
    event_doc["location"] = {
        "type": "Place",
        "name": None,
        "id": f"{mobilizon.base}/address/5d1c2b3a-0000-4000-8000-000000000001",
        "address": {
            "type": "PostalAddress",
            "streetAddress": "Rua de Santa Catarina 100",
            "postalCode": "4000-447",
            "addressLocality": "Porto",
            "addressRegion": None,
            "addressCountry": "Portugal",
        },
    }
    await follow_directly(node, group["id"])
    announce = mobilizon.fixture("mobilizon_announce_event.json")
    assert (await mobilizon.deliver(node.url("/inbox"), announce)).status_code == 202

    event = await eventually(lambda: stored(node, event_doc["id"]))
    assert (event.place_name, event.city, event.country) == (
        "Rua de Santa Catarina 100", "Porto", "PT"
    )  # fmt: skip
    assert (event.latitude, event.longitude, event.geo_source) == (None, None, "city")
    async with node.db.read() as session:
        porto = (await places.lookup(session, "Porto", country="PT"))[0]
    assert (event.geo_latitude, event.geo_longitude) == (porto.latitude, porto.longitude)
    page = await near_page(node, "Oporto")  # Porto by its Spanish name
    assert "Piquete do Primeiro de Maio" in page
    assert "Rua de Santa Catarina 100, Porto" in html.unescape(page)


async def test_of_several_locations_the_first_usable_place_is_taken(remotes):
    """Gancio sends a list when an event has online links besides its place
    (server/api/models/event.js, toAP); its own reader takes the first physical place
    (server/federation/helpers.js, parsePlace). Here the list starts with places that say
    nowhere: an empty Place and one with only unreadable coordinates."""
    node, make = remotes
    gancio = await make("gancio.example")
    relay = gancio.serve_document("gancio_actor.json")
    await follow_directly(node, relay["id"])
    create = gancio.fixture("gancio_create_event_two_locations.json")
    create["object"]["location"] = [
        {"type": "Place"},
        {"type": "VirtualLocation", "url": "https://stream.example/live/corteo-bologna"},
        {"type": "Place", "name": " ", "latitude": "44,49", "longitude": "11.34.2"},
        {"name": "Piazza del Nettuno", "address": "Piazza del Nettuno, 40126 Bologna BO",
         "latitude": 44.4946, "longitude": 11.3430},
        {"type": "Place", "name": "Piazza Maggiore", "latitude": 44.4938, "longitude": 11.3426},
    ]  # fmt: skip
    response = await gancio.deliver(node.url("/inbox"), create)
    assert response.status_code == 202, response.text

    event = await eventually(lambda: stored(node, create["object"]["id"]))
    assert (event.place_name, event.latitude, event.longitude) == (
        "Piazza del Nettuno", 44.4946, 11.3430
    )  # fmt: skip
    assert event.online_url == "https://stream.example/live/corteo-bologna"
    page = await near_page(node, "Bologna", 10)
    assert "Sciopero generale dei metalmeccanici" in page and "Piazza del Nettuno" in page
