"""An organization that approves its followers: pending, refused, approved — on both sides."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from support import eventually

from federation import follows
from federation.models import Follower, Following, LocalActor
from federation.node import INSTANCE_USERNAME


async def actor(node, username) -> LocalActor:
    async with node.db.read() as session:
        return await node.federation.local_actor_by_username(session, username)


async def state(node, model, column, uri):
    async with node.db.read() as session:
        return (
            await session.execute(select(model.state).where(column == uri))
        ).scalar_one_or_none()


async def test_manual_approval_reject_then_approve(start_node):
    a = await start_node("alpha")
    b = await start_node("beta")
    beta = await actor(b, "beta")
    async with b.db.transaction() as session:
        (await session.get(LocalActor, beta.id)).manually_approves_followers = True
    async with httpx.AsyncClient() as client:
        document = (
            await client.get(beta.uri, headers={"Accept": "application/activity+json"})
        ).json()
    assert document["manuallyApprovesFollowers"] is True

    follower = await actor(a, INSTANCE_USERNAME)
    await follows.follow(a.federation, follower, beta.uri)
    await eventually(lambda: state(b, Follower, Follower.actor_uri, follower.uri), expect="pending")
    assert await state(a, Following, Following.target_uri, beta.uri) == "pending"

    await follows.reject_follower(b.federation, await actor(b, "beta"), follower.uri)
    await eventually(lambda: state(a, Following, Following.target_uri, beta.uri), expect="rejected")
    assert await state(b, Follower, Follower.actor_uri, follower.uri) is None

    await follows.follow(a.federation, follower, beta.uri)
    await eventually(lambda: state(b, Follower, Follower.actor_uri, follower.uri), expect="pending")
    await follows.approve_follower(b.federation, await actor(b, "beta"), follower.uri)
    await eventually(lambda: state(a, Following, Following.target_uri, beta.uri), expect="accepted")
    assert await state(b, Follower, Follower.actor_uri, follower.uri) == "accepted"
