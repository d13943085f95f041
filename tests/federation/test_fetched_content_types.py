"""Fetched documents count only when served as ActivityStreams (Mastodon CVE-2024-25623)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from remote_servers import RemoteServer
from sqlalchemy import select
from support import eventually

from federation.media_types import AS2, JRD
from federation.models import Follower

LD_AS2 = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'


@pytest.mark.parametrize(
    ("content_type", "as2", "jrd"),
    [
        ("application/activity+json", True, False),
        ("application/activity+json; charset=utf-8", True, False),
        ("Application/Activity+JSON", True, False),
        (LD_AS2, True, False),
        (
            'application/ld+json;profile="https://example.org/p https://www.w3.org/ns/activitystreams"',
            True,
            False,
        ),
        ("application/ld+json", False, False),
        ('application/ld+json; profile="https://example.org/p"', False, False),
        ('text/html; profile="https://www.w3.org/ns/activitystreams"', False, False),
        ("text/html; charset=utf-8", False, False),
        ("text/plain", False, False),
        ("application/json", False, True),
        ("application/jrd+json; charset=utf-8", False, True),
        ("activity+json", False, False),
        ("", False, False),
        (None, False, False),
    ],
)
def test_which_content_types_are_admitted(content_type, as2, jrd):
    assert AS2.admits(content_type) is as2
    assert JRD.admits(content_type) is jrd


@pytest.fixture
async def mastodon(start_node):
    node = await start_node("beta", workers=0)
    server = RemoteServer("mastodon.example", node.base_url)
    await server.start()
    yield node, server
    await server.stop()


async def followers(node) -> list[str]:
    async with node.db.read() as session:
        return list((await session.scalars(select(Follower.actor_uri))).all())


def follow(server: RemoteServer, actor_uri: str, target: str) -> dict:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{server.base}/follows/{datetime.now(UTC).timestamp()}",
        "type": "Follow",
        "actor": actor_uri,
        "object": target,
    }


@pytest.mark.parametrize("content_type", ["text/html", "text/plain", "application/ld+json"])
async def test_a_follow_from_an_actor_served_as_another_type_is_refused(mastodon, content_type):
    node, server = mastodon
    actor = server.serve_document("mastodon_actor.json")
    server.media_types["/users/rosa"] = content_type
    assert actor["id"] == f"{server.base}/users/rosa"
    response = await server.deliver(
        node.url("/actors/beta/inbox"), follow(server, actor["id"], node.url("/actors/beta"))
    )
    assert response.status_code == 401, response.text
    assert response.json()["reason"] == "unknown_key"
    assert f"served as {content_type}" in response.json()["error"]
    assert server.fetched == ["/users/rosa"]
    assert await followers(node) == []


async def test_a_follow_from_an_actor_served_as_json_ld_with_the_profile_is_accepted(mastodon):
    node, server = mastodon
    actor = server.serve_document("mastodon_actor.json")
    server.media_types["/users/rosa"] = LD_AS2
    response = await server.deliver(
        node.url("/actors/beta/inbox"), follow(server, actor["id"], node.url("/actors/beta"))
    )
    assert response.status_code == 202, response.text
    assert await eventually(lambda: followers(node)) == [actor["id"]]
