"""Only an object's owners may change or withdraw it, not any actor of its server.

Two real nodes, where the publishing node hosts a second organization that turns hostile; and
stand-in Gancio, Mobilizon and Mastodon servers with a second account beside the real one.
Each forged activity is signed by its own (same-host) actor, so the inbox accepts it: what is
checked is that the domain changes nothing, then that the owner's own activity does.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime

import httpx
import pytest
from remote_servers import RemoteServer
from sqlalchemy import select
from support import eventually
from test_alerts import held, org_follows, strike
from test_events_federation import may_day, node_follows, remote_event
from test_remote_payloads import follow_directly
from test_solidarity_days import womens_day

from actors import alerts, events, solidarity_days
from actors.models import Participant, Reply, SolidarityDay
from actors.organizations import create_organization
from federation.models import ReceivedActivity
from federation.signatures import sign_request

AS2 = {"Accept": "application/activity+json"}


async def send_as(node, username: str, inbox: str, activity: dict) -> httpx.Response:
    """POST `activity` to `inbox`, signed with the key of `node`'s local actor `username`."""
    async with node.db.read() as session:
        actor = await node.federation.local_actor_by_username(session, username)
    activity = {"@context": "https://www.w3.org/ns/activitystreams", "actor": actor.uri, **activity}
    body = json.dumps(activity).encode()
    headers = sign_request(
        "POST", inbox, key_id=actor.key_id, private_key_pem=actor.private_key_pem, body=body
    )
    headers["Content-Type"] = "application/activity+json"
    async with httpx.AsyncClient() as http:
        return await http.post(inbox, content=body, headers=headers)


async def processed(node, activity_id: str) -> None:
    """Wait until the receiving node has handled the activity (whatever it made of it)."""

    async def done():
        async with node.db.read() as session:
            row = await session.get(ReceivedActivity, activity_id)
        return row is not None and row.state == "done"

    await eventually(done)


async def document_of(uri: str) -> dict:
    async with httpx.AsyncClient() as http:
        return (await http.get(uri, headers=AS2)).json()


async def held_day(node, uri):
    async with node.db.read() as session:
        return (
            await session.execute(select(SolidarityDay).where(SolidarityDay.uri == uri))
        ).scalar_one_or_none()


def forged_id(node) -> str:
    return node.url(f"/activities/forged-{uuid.uuid4().hex}")


@pytest.fixture
async def two_nodes(start_node):
    """B follows all of A (its instance actor); A also hosts `rogue`, which B does not follow."""
    a = await start_node("alpha")
    b = await start_node("beta")
    await create_organization(a.federation, "rogue")
    await node_follows(b, a.url("/actor"))
    return a, b


async def test_another_organization_of_the_node_cannot_rewrite_or_delete_an_event(two_nodes):
    a, b = two_nodes
    event = await events.publish(a.federation, may_day(), category="action")
    await eventually(lambda: remote_event(b, event.uri))
    original = await document_of(event.uri)

    # Rogue, on the same node, rewrites the title and names itself the organizer ...
    hijack = forged_id(a)
    rewritten = dict(
        original,
        name="May Day called off",
        attributedTo=a.url("/actors/rogue"),
        updated="2030-01-01T00:00:00Z",
    )
    response = await send_as(
        a, "rogue", b.url("/inbox"), {"id": hijack, "type": "Update", "object": rewritten}
    )
    assert response.status_code == 202, response.text
    await processed(b, hijack)
    # ... or only the title, leaving the organizer as it was ...
    retitle = forged_id(a)
    retitled = dict(original, name="May Day called off", updated="2030-01-01T00:00:00Z")
    await send_as(
        a, "rogue", b.url("/inbox"), {"id": retitle, "type": "Update", "object": retitled}
    )
    await processed(b, retitle)
    # ... and deletes it.
    deletion = forged_id(a)
    await send_as(
        a, "rogue", b.url("/inbox"), {"id": deletion, "type": "Delete", "object": event.uri}
    )
    await processed(b, deletion)

    kept = await remote_event(b, event.uri)
    assert (kept.title, kept.origin_actor_uri, kept.deleted_at) == (
        "May Day march",
        a.url("/actors/alpha"),
        None,
    )

    # Its organizer's own edit and withdrawal are taken.
    await events.edit(a.federation, event.uri, may_day(title="May Day march: new route"))

    async def title():
        return (await remote_event(b, event.uri)).title

    await eventually(title, expect="May Day march: new route")
    alpha_delete = forged_id(a)
    await send_as(
        a, "alpha", b.url("/inbox"), {"id": alpha_delete, "type": "Delete", "object": event.uri}
    )

    async def withdrawn():
        return (await remote_event(b, event.uri)).deleted_at is not None

    await eventually(withdrawn)


async def test_another_organization_of_the_node_cannot_rewrite_or_delete_a_day(two_nodes):
    a, b = two_nodes
    day = await solidarity_days.declare(a.federation, womens_day())
    await eventually(lambda: held_day(b, day.uri))
    original = await document_of(day.uri)

    hijack = forged_id(a)
    rewritten = dict(
        original,
        name="No day this year",
        updated="2030-01-01T00:00:00Z",
        slogan="No day this year",
        theme="No day this year",
    )
    await send_as(
        a, "rogue", b.url("/inbox"), {"id": hijack, "type": "Update", "object": rewritten}
    )
    deletion = forged_id(a)
    await send_as(
        a, "rogue", b.url("/inbox"), {"id": deletion, "type": "Delete", "object": day.uri}
    )
    await processed(b, hijack)
    await processed(b, deletion)
    kept = await held_day(b, day.uri)
    assert (kept.theme, kept.slogan, kept.deleted_at) == (
        "Working women against austerity",
        "Bread and roses, in every country",
        None,
    )

    alpha_delete = forged_id(a)
    await send_as(
        a, "alpha", b.url("/inbox"), {"id": alpha_delete, "type": "Delete", "object": day.uri}
    )

    async def withdrawn():
        return (await held_day(b, day.uri)).deleted_at is not None

    await eventually(withdrawn)


async def test_another_organization_of_the_node_cannot_rewrite_or_withdraw_an_alert(start_node):
    a = await start_node("alpha")
    b = await start_node("beta")
    await create_organization(a.federation, "rogue")
    await org_follows(b, a)  # B's organization follows alpha, and not rogue
    alert = await alerts.raise_alert(a.federation, strike())
    await eventually(lambda: held(b, alert.uri))
    original = await document_of(alert.uri)

    hijack = forged_id(a)
    rewritten = dict(original, alertTitle="All calm, nothing to do", updated="2030-01-01T00:00:00Z")
    await send_as(
        a, "rogue", b.url("/inbox"), {"id": hijack, "type": "Update", "object": rewritten}
    )
    deletion = forged_id(a)
    await send_as(
        a, "rogue", b.url("/inbox"), {"id": deletion, "type": "Delete", "object": alert.uri}
    )
    await processed(b, hijack)
    await processed(b, deletion)
    kept = await held(b, alert.uri)
    assert (kept.title, kept.deleted_at) == ("Garment workers' general strike attacked", None)

    await alerts.update(a.federation, alert.uri, strike(title="Strike attacked again"))

    async def title():
        return (await held(b, alert.uri)).title

    await eventually(title, expect="Strike attacked again")
    await alerts.withdraw(a.federation, alert.uri)

    async def withdrawn():
        return (await held(b, alert.uri)).deleted_at is not None

    await eventually(withdrawn)


@pytest.fixture
async def remotes(start_node):
    node = await start_node("union")
    servers: list[RemoteServer] = []

    async def make(name: str) -> RemoteServer:
        server = RemoteServer(name, node.base_url)
        await server.start()
        servers.append(server)
        return server

    yield node, make
    for server in servers:
        await server.stop()


async def test_another_account_on_gancio_cannot_change_its_calendar(remotes):
    """Following Gancio's relay (an Application) is following the node; its users are not."""
    node, make = remotes
    gancio = await make("gancio.example")
    relay = gancio.serve_document("gancio_actor.json")
    mallory = gancio.serve_actor("/federation/u/mallory", "Person")
    await follow_directly(node, relay["id"])
    create = gancio.fixture("gancio_create_event_two_locations.json")
    await gancio.deliver(node.url("/inbox"), create)
    event_id = create["object"]["id"]
    await eventually(lambda: remote_event(node, event_id))

    update = {
        "id": f"{mallory}#update",
        "type": "Update",
        "actor": mallory,
        "object": dict(
            create["object"],
            name="Corteo annullato",
            attributedTo=mallory,
            updated="2030-01-01T00:00:00Z",
        ),
    }
    delete = {"id": f"{mallory}#delete", "type": "Delete", "actor": mallory, "object": event_id}
    for activity in (update, delete):
        assert (await gancio.deliver(node.url("/inbox"), activity)).status_code == 202
        await processed(node, activity["id"])
    kept = await remote_event(node, event_id)
    assert (kept.title, kept.origin_actor_uri, kept.deleted_at) == (
        "Sciopero generale dei metalmeccanici: corteo",
        relay["id"],
        None,
    )
    # Nor can mallory slip in an event of its own in the relay's name.
    planted = dict(create["object"], id=f"{gancio.base}/federation/m/6666", name="Planted")
    plant = {"id": f"{mallory}#plant", "type": "Create", "actor": mallory, "object": planted}
    await gancio.deliver(node.url("/inbox"), plant)
    await processed(node, plant["id"])
    assert await remote_event(node, planted["id"]) is None

    relay_delete = {
        "id": f"{relay['id']}#delete",
        "type": "Delete",
        "actor": relay["id"],
        "object": event_id,
    }
    await gancio.deliver(node.url("/inbox"), relay_delete)

    async def withdrawn():
        return (await remote_event(node, event_id)).deleted_at is not None

    await eventually(withdrawn)


async def test_a_mobilizon_group_event_answers_to_its_group_and_its_organizer(remotes):
    """Mobilizon sends a group's event `attributedTo` the group, with the member who made it
    as the event's `actor`, and that member sends its Updates; another member is nobody."""
    node, make = remotes
    mobilizon = await make("mobilizon.example")
    group = mobilizon.serve_document("mobilizon_group_actor.json")
    joao = mobilizon.serve_document("mobilizon_person_actor.json")["id"]
    ines = mobilizon.serve_actor("/@ines", "Person")
    event_doc = mobilizon.serve_document("mobilizon_event.json")
    await follow_directly(node, group["id"])
    await mobilizon.deliver(node.url("/inbox"), mobilizon.fixture("mobilizon_announce_event.json"))
    event_id = event_doc["id"]
    await eventually(lambda: remote_event(node, event_id))

    def update(actor, name, updated):
        return {
            "id": f"{actor}#update-{uuid.uuid4().hex}",
            "type": "Update",
            "actor": actor,
            "object": dict(event_doc, name=name, updated=updated),
        }

    by_joao = update(joao, "Piquete cancelado", "2027-04-01T00:00:00Z")
    joao_delete = {
        "id": f"{joao}#delete",
        "type": "Delete",
        "actor": joao,
        "object": {"type": "Tombstone", "id": event_id},
    }
    for activity in (by_joao, joao_delete):
        await mobilizon.deliver(node.url("/inbox"), activity)
        await processed(node, activity["id"])
    kept = await remote_event(node, event_id)
    assert (kept.title, kept.deleted_at) == (
        "Piquete do Primeiro de Maio na Praça do Comércio",
        None,
    )

    # Ines made the event: her Update counts, though we follow only the group.
    by_ines = update(ines, "Piquete: novo ponto de encontro", "2027-04-02T00:00:00Z")
    await mobilizon.deliver(node.url("/inbox"), by_ines)

    async def title():
        return (await remote_event(node, event_id)).title

    await eventually(title, expect="Piquete: novo ponto de encontro")
    group_delete = {
        "id": f"{group['id']}#delete",
        "type": "Delete",
        "actor": group["id"],
        "object": {"type": "Tombstone", "id": event_id},
    }
    await mobilizon.deliver(node.url("/inbox"), group_delete)

    async def withdrawn():
        return (await remote_event(node, event_id)).deleted_at is not None

    await eventually(withdrawn)


async def test_replies_and_participations_belong_to_their_authors(remotes):
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
        ),
        category="assembly",
    )
    mastodon = await make("mastodon.example")
    rosa = mastodon.serve_document("mastodon_actor.json")["id"]
    mallory = mastodon.serve_actor("/users/mallory", "Person")
    reply = mastodon.fixture("mastodon_note_reply.json", ACTION_ID=assembly.uri.rsplit("/", 1)[1])
    reply["object"]["inReplyTo"] = assembly.uri
    note = reply["object"]

    # Mallory sends Rosa's note (its id and attributedTo) first, to take its place.
    squat = {
        "id": f"{mallory}#squat",
        "type": "Create",
        "actor": mallory,
        "object": dict(note, content="<p>Stay home, it is cancelled</p>"),
    }
    await mastodon.deliver(node.url("/inbox"), squat)
    await processed(node, squat["id"])

    async def replies():
        async with node.db.read() as session:
            return (await session.execute(select(Reply))).scalars().all()

    assert await replies() == []
    await mastodon.deliver(node.url("/inbox"), reply)
    (saved,) = await eventually(replies)
    assert (saved.actor_uri, "whole night shift" in saved.content_html) == (rosa, True)

    # Rosa goes to the assembly; mallory cannot delete her reply nor take her off the list.
    join = {"id": f"{rosa}#join", "type": "Join", "actor": rosa, "object": assembly.uri}
    await mastodon.deliver(node.url("/inbox"), join)

    async def participants():
        async with node.db.read() as session:
            return (await session.execute(select(Participant.actor_uri))).scalars().all()

    await eventually(participants, expect=[rosa])
    delete = {"id": f"{mallory}#delete", "type": "Delete", "actor": mallory, "object": note["id"]}
    leave = {"id": f"{mallory}#leave", "type": "Leave", "actor": mallory, "object": assembly.uri}
    for activity in (delete, leave):
        await mastodon.deliver(node.url("/inbox"), activity)
        await processed(node, activity["id"])
    assert [r.uri for r in await replies()] == [note["id"]]
    assert await participants() == [rosa]

    rosa_delete = {
        "id": f"{rosa}#delete",
        "type": "Delete",
        "actor": rosa,
        "object": {"type": "Tombstone", "id": note["id"]},
    }
    await mastodon.deliver(node.url("/inbox"), rosa_delete)
    await eventually(replies, expect=[])
