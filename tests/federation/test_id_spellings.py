"""One actor, however its id is spelled: one cached actor, one follower, one follow."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from remote_servers import RemoteServer
from sqlalchemy import select
from support import eventually

from federation import follows
from federation.keys import public_key_pem
from federation.models import Follower, Following, RemoteActor


@pytest.fixture
async def remote(start_node):
    node = await start_node("beta", workers=0)
    server = RemoteServer("elsewhere.example", node.base_url)
    await server.start()
    yield node, server
    await server.stop()


def serve_actor(server: RemoteServer, base: str) -> str:
    """The actor at /users/x, its document naming it as `base` spells the server."""
    uri = f"{base}/users/x"
    server.documents["/users/x"] = {
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": uri,
        "type": "Person",
        "preferredUsername": "x",
        "inbox": f"{uri}/inbox",
        "publicKey": {
            "id": f"{uri}#main-key",
            "owner": uri,
            "publicKeyPem": public_key_pem(server.private_key),
        },
    }
    return uri


def spellings(server: RemoteServer) -> list[str]:
    return [
        f"http://LOCALHOST:{server.port}",
        f"http://localhost:{server.port}",
        f"HTTP://LocalHost.:{server.port}",
        f"http://localhost:{server.port}",
    ]


async def rows(node, column) -> list[str]:
    async with node.db.read() as session:
        return list((await session.scalars(select(column))).all())


async def test_follows_from_differently_spelled_ids_make_one_follower(remote):
    node, server = remote
    target = node.url("/actors/beta")
    for n, base in enumerate(spellings(server)):
        actor = serve_actor(server, base)
        follow = {
            "@context": "https://www.w3.org/ns/activitystreams",
            # The activity's id in one spelling: the inbox wants ids to start with "http".
            "id": f"http://localhost:{server.port}/follows/{n}-{datetime.now(UTC).timestamp()}",
            "type": "Follow",
            "actor": actor,
            "object": target,
        }
        response = await server.deliver(node.url("/actors/beta/inbox"), follow)
        assert response.status_code == 202, (base, response.text)
        await eventually(lambda: rows(node, Follower.follow_activity_uri), expect=[follow["id"]])
    one = f"http://localhost:{server.port}/users/x"
    assert await rows(node, Follower.actor_uri) == [one]
    assert await rows(node, RemoteActor.uri) == [one]
    assert await rows(node, RemoteActor.key_id) == [f"{one}#main-key"]
    assert await rows(node, RemoteActor.host) == [f"localhost:{server.port}"]


async def test_following_differently_spelled_ids_is_one_follow(remote):
    node, server = remote
    async with node.db.read() as session:
        beta = await node.federation.local_actor_by_username(session, "beta")
    for base in spellings(server):
        if base.endswith(f".:{server.port}"):
            continue  # only what resolves here as written, so that the old code could follow it
        actor = serve_actor(server, base)
        await follows.follow(node.federation, beta, actor)
    one = f"http://localhost:{server.port}/users/x"
    assert await rows(node, Following.target_uri) == [one]
    assert await rows(node, RemoteActor.uri) == [one]
    # Unfollowing by yet another spelling finds it.
    await follows.unfollow(node.federation, beta, f"http://LOCALHOST:{server.port}/users/x")
    assert await rows(node, Following.target_uri) == []
