"""An announced object is taken in only when its server serves it as ActivityStreams."""

from __future__ import annotations

import pytest
from remote_servers import RemoteServer
from sqlalchemy import select
from support import eventually

from actors.models import Event
from federation.models import Following, ReceivedActivity
from federation.node import INSTANCE_USERNAME

LD_AS2 = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'


@pytest.fixture
async def mobilizon(start_node):
    node = await start_node("union")
    server = RemoteServer("mobilizon.example", node.base_url)
    await server.start()
    group = server.serve_document("mobilizon_group_actor.json")
    server.serve_document("mobilizon_person_actor.json")
    actor = await node.federation.actors.get(group["id"])
    async with node.db.transaction() as session:
        me = await node.federation.local_actor_by_username(session, INSTANCE_USERNAME)
        session.add(
            Following(
                local_actor_id=me.id,
                target_uri=actor.uri,
                follow_activity_uri=f"{node.base_url}/activities/follow-mobilizon",
                state="accepted",
            )
        )
    yield node, server
    await server.stop()


async def stored(node, uri):
    async with node.db.read() as session:
        return (await session.execute(select(Event).where(Event.uri == uri))).scalar_one_or_none()


async def processed(node, activity_id) -> bool:
    async with node.db.read() as session:
        row = await session.get(ReceivedActivity, activity_id)
    return row is not None and row.state == "done"


async def test_an_announced_event_served_as_html_is_not_stored(mobilizon):
    node, server = mobilizon
    event = server.serve_document("mobilizon_event.json")
    path = event["id"].removeprefix(server.base)
    server.media_types[path] = "text/html"
    announce = server.fixture("mobilizon_announce_event.json")
    response = await server.deliver(node.url("/inbox"), announce)
    assert response.status_code == 202, response.text
    await eventually(lambda: processed(node, announce["id"]))
    assert path in server.fetched
    assert await stored(node, event["id"]) is None


async def test_an_announced_event_served_as_json_ld_with_the_profile_is_stored(mobilizon):
    node, server = mobilizon
    event = server.serve_document("mobilizon_event.json")
    server.media_types[event["id"].removeprefix(server.base)] = LD_AS2
    announce = server.fixture("mobilizon_announce_event.json")
    response = await server.deliver(node.url("/inbox"), announce)
    assert response.status_code == 202, response.text
    stored_event = await eventually(lambda: stored(node, event["id"]))
    assert stored_event.title == "Piquete do Primeiro de Maio na Praça do Comércio"
