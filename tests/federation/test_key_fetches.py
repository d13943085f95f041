"""What a flood of signed POSTs costs in key fetches: one per key, remembered, bounded per host."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import httpx
import pytest
from remote_servers import RemoteServer
from sqlalchemy import func, select
from support import eventually

from federation.keys import generate_private_key_pem
from federation.models import Follower, RemoteActor
from federation.remote_actors import KEY_FETCHES_PER_HOST, ActorCache
from federation.signatures import sign_request


@pytest.fixture
async def mastodon(start_node):
    node = await start_node("beta", workers=0)
    server = RemoteServer("mastodon.example", node.base_url)
    await server.start()
    yield node, server
    await server.stop()


def follow(actor_uri: str, target: str, n: int) -> bytes:
    return json.dumps(
        {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"{actor_uri}/follows/{n}-{datetime.now(UTC).timestamp()}",
            "type": "Follow",
            "actor": actor_uri,
            "object": target,
        }
    ).encode()


async def post_all(inbox: str, bodies: list[bytes], key_id: str, pem: str) -> list[int]:
    """POST every body at once, each signed with `key_id`; their statuses."""

    async def one(http: httpx.AsyncClient, body: bytes) -> int:
        headers = sign_request("POST", inbox, key_id=key_id, private_key_pem=pem, body=body)
        headers["Content-Type"] = "application/activity+json"
        return (await http.post(inbox, content=body, headers=headers)).status_code

    async with httpx.AsyncClient(timeout=60) as http:
        return list(await asyncio.gather(*(one(http, body) for body in bodies)))


async def remote_actors(node) -> int:
    async with node.db.read() as session:
        return await session.scalar(select(func.count()).select_from(RemoteActor))


async def test_fifty_first_posts_from_one_actor_fetch_it_once(mastodon):
    node, server = mastodon
    actor = server.serve_document("mastodon_actor.json")
    bodies = [follow(actor["id"], node.url("/actors/beta"), n) for n in range(50)]
    statuses = await post_all(
        node.url("/actors/beta/inbox"), bodies, f"{actor['id']}#main-key", server.private_key
    )
    assert statuses == [202] * 50
    assert server.fetched == ["/users/rosa"]
    assert await remote_actors(node) == 1

    async def follower_count():
        async with node.db.read() as session:
            return await session.scalar(select(func.count()).select_from(Follower))

    await eventually(follower_count, expect=1)


async def test_made_up_keys_cost_one_fetch_and_are_remembered(mastodon):
    node, server = mastodon
    ghost = f"{server.base}/users/ghost"  # the server answers 404 for it
    inbox = node.url("/inbox")
    bodies = [follow(ghost, node.url("/actors/beta"), n) for n in range(50)]
    forger = generate_private_key_pem()
    assert await post_all(inbox, bodies, f"{ghost}#main-key", forger) == [401] * 50
    assert server.fetched == ["/users/ghost"]
    # One after another, later: still the one fetch.
    for body in bodies[:5]:
        assert await post_all(inbox, [body], f"{ghost}#main-key", forger) == [401]
    assert server.fetched == ["/users/ghost"]
    assert await remote_actors(node) == 0


async def test_bad_signatures_with_a_known_key_refresh_it_once(mastodon):
    """A failing signature makes us look at the key again (rotation), but not every time."""
    node, server = mastodon
    actor = server.serve_document("mastodon_actor.json")
    key_id = f"{actor['id']}#main-key"
    inbox = node.url("/inbox")
    target = node.url("/actors/beta")
    assert await post_all(inbox, [follow(actor["id"], target, 0)], key_id, server.private_key) == [
        202
    ]
    assert server.fetched == ["/users/rosa"]
    forger = generate_private_key_pem()
    for n in range(1, 11):
        assert await post_all(inbox, [follow(actor["id"], target, n)], key_id, forger) == [401]
    assert server.fetched == ["/users/rosa", "/users/rosa"]


async def test_key_fetches_to_one_host_are_bounded(mastodon):
    node, server = mastodon
    server.delay = 0.3
    bodies, keys = [], []
    for n in range(3 * KEY_FETCHES_PER_HOST):
        actor = f"{server.base}/users/ghost{n}"
        bodies.append(follow(actor, node.url("/actors/beta"), n))
        keys.append(f"{actor}#main-key")
    forger = generate_private_key_pem()
    inbox = node.url("/inbox")
    statuses = await asyncio.gather(
        *(post_all(inbox, [body], key, forger) for body, key in zip(bodies, keys, strict=True))
    )
    assert [status for (status,) in statuses] == [401] * len(bodies)
    assert sorted(server.fetched) == sorted(key.removeprefix(server.base)[:-9] for key in keys)
    assert server.most_at_once == KEY_FETCHES_PER_HOST


async def test_processes_meeting_a_new_actor_at_once_store_it_once(mastodon):
    """Each process has its own memory: several first contacts race in the database."""
    node, server = mastodon
    actor = server.serve_document("mastodon_actor.json")
    server.delay = 0.2  # all of them fetching before any has stored it
    processes = [
        ActorCache(node.db, node.federation.client, lambda: None, max_age_seconds=3600)
        for _ in range(8)
    ]
    found = await asyncio.gather(
        *(cache.get_by_key_id(f"{actor['id']}#main-key") for cache in processes)
    )
    assert {row.uri for row in found} == {actor["id"]}
    assert set(server.fetched) == {"/users/rosa"}
    assert len(server.fetched) <= len(processes)  # at most once per process
    assert await remote_actors(node) == 1
