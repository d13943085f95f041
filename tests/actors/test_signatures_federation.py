"""The count of signatures across the network: two real nodes, B following A."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from sqlalchemy import select
from support import eventually

from actors import signatures
from actors.models import NetworkCount, Signature
from actors.signatures import SignatureInput
from federation import follows
from federation.models import Following, OutboxActivity, ReceivedActivity
from federation.node import INSTANCE_USERNAME
from federation.signatures import sign_request

AS2 = {"Accept": "application/activity+json"}
EMAIL = "dolores.ibarruri@example.net"


async def instance(node):
    async with node.db.read() as session:
        return await node.federation.local_actor_by_username(session, INSTANCE_USERNAME)


async def count_of(node) -> int:
    async with node.db.read() as session:
        counted = await signatures.confirmed_count(session)
        # The count kept with the version, which pages read, is the count.
        assert (await signatures.state(session)).confirmed == counted
    return counted


async def network(node) -> tuple[int, int]:
    async with node.db.read() as session:
        total = await signatures.network_total(session)
    return total.total, total.nodes


async def signed_and_confirmed(node, email: str, **fields) -> signatures.Signed:
    signed = await signatures.sign(node.federation, SignatureInput(email=email, **fields))
    assert signed.confirm_token is not None
    assert await signatures.confirm(node.federation, signed.confirm_token) == "confirmed"
    return signed


async def follow_node(follower, target) -> None:
    me = await instance(follower)
    await follows.follow(follower.federation, me, target.url("/actor"))

    async def accepted():
        async with follower.db.read() as session:
            return (
                await session.execute(
                    select(Following.state).where(Following.target_uri == target.url("/actor"))
                )
            ).scalar_one_or_none()

    await eventually(accepted, expect="accepted")


async def test_confirmed_signatures_are_counted_across_nodes(start_node):
    a = await start_node("alpha")
    b = await start_node("beta")
    # Signed before B followed: B reads A's count when its follow is accepted.
    await signed_and_confirmed(
        a,
        "first@example.org",
        name="Sindicato dos Estivadores",
        signer="organization",
        organization_name="Sindicato dos Estivadores",
        organization_kind="union",
        website="https://estivadores.example",
        country="PT",
        public=True,
    )
    await follow_node(b, a)
    await eventually(lambda: network(b), expect=(1, 2))

    # Unconfirmed: counted nowhere.
    pending = await signatures.sign(
        a.federation, SignatureInput(name="Dolores", email=f"  {EMAIL.upper()} ", country="ES")
    )
    assert await count_of(a) == 1
    # Signing twice with the same address keeps one signature.
    again = await signatures.sign(a.federation, SignatureInput(name="Dolores I.", email=EMAIL))
    assert again.signature_id == pending.signature_id
    assert again.mail.to == EMAIL and "confirm_url" in again.mail.context

    assert await signatures.confirm(a.federation, again.confirm_token) == "confirmed"
    assert await count_of(a) == 2
    await eventually(lambda: network(b), expect=(2, 2))
    async with httpx.AsyncClient() as http:
        page = await http.get(b.url("/signatures"))
        assert "2 have signed on across 2 nodes." in page.text
        assert a.domain in page.text

        # The collection any peer reads: the count and the public organizations only.
        document = (await http.get(a.url("/signatures"), headers=AS2)).json()
        assert document["id"] == a.url("/signatures")
        assert document["totalItems"] == 2
        assert [item["name"] for item in document["orderedItems"]] == ["Sindicato dos Estivadores"]

    # Withdrawn: both counts fall, and A keeps nothing of the signer.
    assert await signatures.withdraw(a.federation, again.manage_token)
    assert await count_of(a) == 1
    await eventually(lambda: network(b), expect=(1, 2))
    async with a.db.read() as session:
        emails = (await session.execute(select(Signature.email))).scalars().all()
    assert emails == ["first@example.org"]

    # Never an address on the wire: what A sent, what B received, what anyone can fetch.
    async with a.db.read() as session:
        sent = (await session.execute(select(OutboxActivity.body))).scalars().all()
    async with b.db.read() as session:
        received = (await session.execute(select(ReceivedActivity.body))).scalars().all()
    async with httpx.AsyncClient() as http:
        fetched = [
            (await http.get(a.url(path), headers=AS2)).text
            for path in ("/signatures", "/actor", "/actor/outbox", "/actors/alpha")
        ]
        fetched.append((await http.get(a.url("/signatures"))).text)
        fetched.append((await http.get(a.url("/actions.atom"))).text)
    wire = json.dumps([sent, received]) + "".join(fetched)
    assert "example.org" not in wire and "example.net" not in wire
    assert any("callSignatures" in json.dumps(body) for body in received)


def test_no_mapper_to_activitystreams_reads_the_signatures_table():
    # From a module of the package: `actors` alone may name the tests' folder of that name.
    package = Path(signatures.__file__).parent
    mappers = [*package.glob("*_to_as.py"), package / "activitystreams.py"]
    assert len(mappers) > 4
    for mapper in mappers:
        source = mapper.read_text()
        assert "Signature," not in source and "import Signature" not in source, mapper
        assert "actors.signatures " not in source and "signatures import" not in source, mapper


async def test_a_node_cannot_speak_for_another_nodes_count(start_node):
    a = await start_node("alpha", workers=0)
    b = await start_node("beta", workers=0)
    forger = await instance(b)
    forged = {
        "id": "http://127.0.0.1:1/signatures",
        "type": "OrderedCollection",
        "callSignatures": True,
        "totalItems": 1_000_000,
    }
    # In the domain: refused, and nothing kept.
    async with a.db.transaction() as session:
        assert not await signatures.record_remote_count(session, forger.uri, forged)
        assert await signatures.record_remote_count(
            session, forger.uri, {**forged, "id": b.url("/signatures"), "totalItems": 3}
        )
    async with a.db.read() as session:
        kept = (await session.execute(select(NetworkCount.host, NetworkCount.total))).all()
    assert kept == [(b.domain, 3)]

    # On the wire: A's inbox refuses the Update outright.
    activity = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{b.base_url}/activities/forged-count",
        "type": "Update",
        "actor": forger.uri,
        "object": forged,
    }
    body = json.dumps(activity).encode()
    inbox = a.url("/inbox")
    headers = sign_request(
        "POST", inbox, key_id=forger.key_id, private_key_pem=forger.private_key_pem, body=body
    )
    headers["Content-Type"] = "application/activity+json"
    async with httpx.AsyncClient() as http:
        response = await http.post(inbox, content=body, headers=headers)
    assert response.status_code == 403
    async with a.db.read() as session:
        kept = (await session.execute(select(NetworkCount.host, NetworkCount.total))).all()
    assert kept == [(b.domain, 3)]
