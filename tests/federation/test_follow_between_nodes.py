"""Two and three real nodes over loopback HTTP: follow, accept, unfollow, fan-out."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select
from support import eventually

from federation import follows
from federation.models import Following, ReceivedActivity
from federation.node import INSTANCE_USERNAME
from federation.webfinger import lookup

AS2 = {"Accept": "application/activity+json"}


async def collection_items(url: str) -> list[str]:
    async with httpx.AsyncClient() as client:
        first = (await client.get(url, headers=AS2)).json()
        if not first["totalItems"]:
            return []
        page = (await client.get(first["first"], headers=AS2)).json()
        return page["orderedItems"]


async def instance(node):
    async with node.db.read() as session:
        return await node.federation.local_actor_by_username(session, INSTANCE_USERNAME)


async def organization(node, name):
    async with node.db.read() as session:
        return await node.federation.local_actor_by_username(session, name)


async def following_state(node, target_uri):
    async with node.db.read() as session:
        return (
            await session.execute(select(Following.state).where(Following.target_uri == target_uri))
        ).scalar_one_or_none()


async def test_follow_by_handle_is_accepted_and_undone(start_node):
    a = await start_node("alpha")
    b = await start_node("beta")
    beta_uri = await lookup(a.federation.client, f"@beta@{b.domain}")
    assert beta_uri == b.url("/actors/beta")

    follower = await instance(a)
    await follows.follow(a.federation, follower, beta_uri)

    await eventually(lambda: following_state(a, beta_uri), expect="accepted")
    assert await collection_items(b.url("/actors/beta/followers")) == [a.url("/actor")]
    assert await collection_items(a.url("/actor/following")) == [beta_uri]

    await follows.unfollow(a.federation, follower, beta_uri)

    async def followers_gone():
        return await collection_items(b.url("/actors/beta/followers")) == []

    await eventually(followers_gone)
    assert await collection_items(a.url("/actor/following")) == []


async def received(node, activity_id):
    async with node.db.read() as session:
        return (
            await session.execute(select(func.count()).where(ReceivedActivity.uri == activity_id))
        ).scalar_one()


async def publish_note(node, actor, text):
    """A public Create(Note) from `actor` to its followers, as a domain publish would do."""
    note_id = node.federation.new_id("notes")
    activity = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": node.federation.new_id(),
        "type": "Create",
        "actor": actor.uri,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "cc": [actor.followers_uri],
        "object": {
            "id": note_id,
            "type": "Note",
            "attributedTo": actor.uri,
            "content": text,
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
        },
    }
    async with node.db.transaction() as session:
        await node.federation.publish(session, activity, actor=actor)
    return activity["id"]


async def test_only_current_followers_receive_a_publication(start_node):
    a = await start_node("alpha")
    b = await start_node("beta")
    c = await start_node("gamma")
    beta = await organization(b, "beta")

    for node in (a, c):
        await follows.follow(node.federation, await instance(node), beta.uri)
    for node in (a, c):
        await eventually(lambda node=node: following_state(node, beta.uri), expect="accepted")

    await follows.unfollow(c.federation, await instance(c), beta.uri)

    async def one_follower_left():
        return await collection_items(b.url("/actors/beta/followers")) == [a.url("/actor")]

    await eventually(one_follower_left)

    activity_id = await publish_note(b, beta, "<p>Solidarity forever</p>")
    await eventually(lambda: received(a, activity_id), expect=1)

    # The publication went out in one fan-out; by the time A has it, C's share was decided too.
    async with b.db.read() as session:
        from federation.models import Delivery, OutboxActivity

        targets = (
            (
                await session.execute(
                    select(Delivery.inbox)
                    .join(OutboxActivity, Delivery.activity_id == OutboxActivity.id)
                    .where(OutboxActivity.uri == activity_id)
                )
            )
            .scalars()
            .all()
        )
    assert targets == [a.url("/inbox")]
    assert await received(c, activity_id) == 0

    # And it is listed in beta's public outbox.
    outbox = await collection_items(b.url("/actors/beta/outbox"))
    assert [item["id"] for item in outbox] == [activity_id]


async def test_following_a_node_by_its_domain_brings_what_its_organizations_publish(start_node):
    a = await start_node("alpha")
    b = await start_node("beta")
    beta = await organization(b, "beta")
    # A bare domain names the node itself: its instance actor (Mobilizon's instance follow).
    await follows.follow(a.federation, await instance(a), b.url("/actor"))
    await eventually(lambda: following_state(a, b.url("/actor")), expect="accepted")
    assert await collection_items(b.url("/actor/followers")) == [a.url("/actor")]
    assert await collection_items(b.url("/actors/beta/followers")) == []

    activity_id = await publish_note(b, beta, "<p>Strike at the port</p>")

    # The node's instance actor relays it with an Announce of the object (Mobilizon's model).
    async def announced():
        async with a.db.read() as session:
            rows = (
                (
                    await session.execute(
                        select(ReceivedActivity.body).where(
                            ReceivedActivity.activity_type == "Announce"
                        )
                    )
                )
                .scalars()
                .all()
            )
        return [(row["actor"], row["object"]) for row in rows]

    async with b.db.read() as session:
        from federation.models import OutboxActivity

        note_id = (
            await session.execute(
                select(OutboxActivity.object_uri).where(OutboxActivity.uri == activity_id)
            )
        ).scalar_one()
    await eventually(announced, expect=[(b.url("/actor"), note_id)])
    assert await received(a, activity_id) == 0


async def test_a_server_following_both_the_node_and_the_organization_gets_one_copy(start_node):
    a = await start_node("alpha")
    b = await start_node("beta")
    beta = await organization(b, "beta")
    await follows.follow(a.federation, await instance(a), b.url("/actor"))
    await follows.follow(a.federation, await organization(a, "alpha"), beta.uri)
    await eventually(lambda: following_state(a, b.url("/actor")), expect="accepted")
    await eventually(lambda: following_state(a, beta.uri), expect="accepted")

    activity_id = await publish_note(b, beta, "<p>One copy</p>")
    await eventually(lambda: received(a, activity_id), expect=1)
    async with b.db.read() as session:
        from federation.models import Delivery, OutboxActivity

        rows = (
            (
                await session.execute(
                    select(Delivery.inbox)
                    .join(OutboxActivity, Delivery.activity_id == OutboxActivity.id)
                    .where(OutboxActivity.uri == activity_id)
                )
            )
            .scalars()
            .all()
        )
    assert rows == [a.url("/inbox")]
