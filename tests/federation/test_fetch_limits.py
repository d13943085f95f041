"""Outbound fetches end: a server that drips its answer, or redirects slowly, is given up on."""

from __future__ import annotations

import json

import httpx
import pytest
from remote_servers import DripServer
from sqlalchemy import func, select
from support import eventually

from federation.client import FetchError, SignedClient
from federation.config import FederationConfig
from federation.keys import generate_private_key_pem, public_key_pem
from federation.models import Follower, RemoteActor
from federation.signatures import sign_request


@pytest.fixture
async def drip():
    servers: list[DripServer] = []

    async def start(body: bytes = b"", **options) -> DripServer:
        server = DripServer(body, **options)
        await server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.stop()


@pytest.fixture
async def client():
    clients: list[SignedClient] = []

    def make(**config) -> SignedClient:
        made = SignedClient(
            FederationConfig(domain="127.0.0.1:1", scheme="http", allow_local=True, **config),
            signing_processes=0,
        )
        clients.append(made)
        return made

    yield make
    for made in clients:
        await made.aclose()


async def test_a_document_dripped_byte_by_byte_is_given_up_at_the_deadline(drip, client):
    document = json.dumps({"id": "x", "type": "Note", "content": "slow" * 20}).encode()
    # A byte every 0.1 s never trips a per-read time-out; the whole would take ~10 s.
    server = await drip(document, interval=0.1)
    with pytest.raises(FetchError, match="no complete answer"):
        await client(fetch_timeout=0.5).get_json(f"{server.base}/note")
    assert server.requested == ["/note"]
    assert not server.finished
    assert server.sent < len(document)


async def test_the_deadline_covers_every_redirect_hop(drip, client):
    """Each hop answers well within a read time-out; together they take longer than allowed."""
    server = await drip(
        b'{"id": "x"}',
        chunk=64,
        redirects={"/a": "/b", "/b": "/c", "/c": "/doc"},
        hop_delay=0.4,
    )
    with pytest.raises(FetchError, match="no complete answer"):
        await client(fetch_timeout=1.0).get_json(f"{server.base}/a")
    assert "/doc" not in server.requested


def actor_document(base: str, pem: str) -> dict:
    uri = f"{base}/users/slow"
    return {
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": uri,
        "type": "Person",
        "preferredUsername": "slow",
        "inbox": f"{uri}/inbox",
        "publicKey": {"id": f"{uri}#main-key", "owner": uri, "publicKeyPem": public_key_pem(pem)},
    }


async def test_an_inbox_does_not_wait_on_a_slow_key_server(start_node, drip):
    node = await start_node("beta", workers=0)
    node.federation.actors.key_deadline = 0.5
    private = generate_private_key_pem()
    # The actor's document, correct but sent 50 bytes every 0.1 s: a few seconds in all.
    server = await drip(chunk=50, interval=0.1)
    actor = actor_document(server.base, private)
    server.body = json.dumps(actor).encode()

    inbox = node.url("/actors/beta/inbox")
    body = json.dumps(
        {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"{server.base}/follows/1",
            "type": "Follow",
            "actor": actor["id"],
            "object": node.url("/actors/beta"),
        }
    ).encode()
    headers = sign_request(
        "POST", inbox, key_id=actor["publicKey"]["id"], private_key_pem=private, body=body
    )
    headers["Content-Type"] = "application/activity+json"
    async with httpx.AsyncClient(timeout=60) as http:
        response = await http.post(inbox, content=body, headers=headers)

    assert response.status_code == 401, response.text
    assert response.json()["reason"] == "unknown_key"
    assert server.requested == ["/users/slow"]
    assert not server.finished  # answered while the key server was still sending
    async with node.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Follower)) == 0
        assert await session.get(RemoteActor, actor["id"]) is None

    # The fetch went on without the sender (within its own deadline): its retry finds the key.
    async def cached():
        async with node.db.read() as session:
            return await session.get(RemoteActor, actor["id"])

    await eventually(cached)
    headers = sign_request(
        "POST", inbox, key_id=actor["publicKey"]["id"], private_key_pem=private, body=body
    )
    headers["Content-Type"] = "application/activity+json"
    async with httpx.AsyncClient(timeout=60) as http:
        retried = await http.post(inbox, content=body, headers=headers)
    assert retried.status_code == 202, retried.text
    assert server.requested == ["/users/slow"]
