"""How other servers find a node and its actors: WebFinger, host-meta, NodeInfo, negotiation."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import quote

import httpx

from actors.organizations import create_organization
from federation.models import Follower, OutboxActivity
from federation.node import INSTANCE_USERNAME

AS2 = "application/activity+json"
LD_PROFILE = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
NODEINFO_21 = "http://nodeinfo.diaspora.software/ns/schema/2.1"


def media_type(response: httpx.Response) -> str:
    return response.headers["content-type"].split(";")[0].strip()


async def webfinger(node, resource: str | None) -> httpx.Response:
    params = {} if resource is None else {"resource": resource}
    async with httpx.AsyncClient() as client:
        return await client.get(node.url("/.well-known/webfinger"), params=params)


def self_link(document: dict) -> dict:
    links = [link for link in document["links"] if link.get("rel") == "self"]
    assert len(links) == 1, document
    return links[0]


async def test_webfinger_acct_names_the_organization_actor_exactly(start_node):
    node = await start_node("alpha")
    response = await webfinger(node, f"acct:alpha@{node.domain}")
    assert response.status_code == 200
    assert media_type(response) == "application/jrd+json"
    document = response.json()
    assert document["subject"] == f"acct:alpha@{node.domain}"
    link = self_link(document)
    assert link["href"] == node.url("/actors/alpha")
    assert link["type"] == AS2
    # The self link points at an actor that really answers with the same id.
    async with httpx.AsyncClient() as client:
        actor = (await client.get(link["href"], headers={"Accept": AS2})).json()
    assert actor["id"] == link["href"]


async def test_webfinger_accepts_the_actor_url_as_resource(start_node):
    node = await start_node("alpha")
    response = await webfinger(node, node.url("/actors/alpha"))
    assert response.status_code == 200
    document = response.json()
    assert document["subject"] == f"acct:alpha@{node.domain}"
    assert self_link(document)["href"] == node.url("/actors/alpha")


async def test_webfinger_finds_the_instance_actor_by_handle_and_by_domain(start_node):
    node = await start_node("alpha")
    for resource in (
        f"acct:{INSTANCE_USERNAME}@{node.domain}",
        f"acct:{node.domain}@{node.domain}",
        node.url("/actor"),
    ):
        response = await webfinger(node, resource)
        assert response.status_code == 200, resource
        document = response.json()
        assert document["subject"] == f"acct:{INSTANCE_USERNAME}@{node.domain}"
        link = self_link(document)
        assert link["href"] == node.url("/actor")
        assert link["type"] == AS2


async def test_webfinger_refuses_what_it_does_not_know(start_node):
    node = await start_node("alpha")
    assert (await webfinger(node, f"acct:nobody@{node.domain}")).status_code == 404
    assert (await webfinger(node, "acct:alpha@elsewhere.example")).status_code == 404
    assert (await webfinger(node, node.url("/actors/nobody"))).status_code == 404
    assert (await webfinger(node, "https://elsewhere.example/actors/alpha")).status_code == 404
    missing = await webfinger(node, None)
    assert missing.status_code == 400
    assert "resource" in missing.json()["error"]
    assert (await webfinger(node, "")).status_code == 400
    assert (await webfinger(node, "not a handle")).status_code == 400


async def test_webfinger_handle_is_case_insensitive_and_may_be_percent_encoded(start_node):
    node = await start_node("alpha")
    response = await webfinger(node, f"acct:ALPHA@{node.domain.upper()}")
    assert response.status_code == 200
    assert self_link(response.json())["href"] == node.url("/actors/alpha")
    async with httpx.AsyncClient() as client:
        raw = await client.get(
            node.url("/.well-known/webfinger?resource=" + quote(f"acct:alpha@{node.domain}"))
        )
    assert raw.status_code == 200


async def test_host_meta_points_to_webfinger(start_node):
    node = await start_node("alpha")
    async with httpx.AsyncClient() as client:
        response = await client.get(node.url("/.well-known/host-meta"))
    assert response.status_code == 200
    assert media_type(response) == "application/xrd+xml"
    root = ET.fromstring(response.text)
    ns = "{http://docs.oasis-open.org/ns/xri/xrd-1.0}"
    assert root.tag == f"{ns}XRD"
    links = [link for link in root.iter(f"{ns}Link") if link.get("rel") == "lrdd"]
    assert len(links) == 1
    template = links[0].get("template")
    assert template == node.url("/.well-known/webfinger?resource={uri}")
    # The template, filled in, is a working WebFinger query.
    async with httpx.AsyncClient() as client:
        filled = template.replace("{uri}", quote(f"acct:alpha@{node.domain}"))
        assert (await client.get(filled)).status_code == 200


async def test_nodeinfo_discovery_leads_to_a_2_1_document(start_node):
    node = await start_node("alpha")
    await create_organization(node.federation, "second")
    async with httpx.AsyncClient() as client:
        discovery = await client.get(node.url("/.well-known/nodeinfo"))
        assert discovery.status_code == 200
        links = [link for link in discovery.json()["links"] if link["rel"] == NODEINFO_21]
        assert len(links) == 1
        response = await client.get(links[0]["href"])
    assert response.status_code == 200
    assert media_type(response) == "application/json"
    assert NODEINFO_21 in response.headers["content-type"]
    document = response.json()
    assert document["version"] == "2.1"
    assert document["software"]["name"] == "iwsn-node"
    assert document["software"]["version"]
    assert document["protocols"] == ["activitypub"]
    assert document["openRegistrations"] is False
    # Two organizations: the first one, made at start, and "second".
    assert document["usage"]["users"]["total"] == 2
    assert document["metadata"]["instanceActor"] == node.url("/actor")
    async with httpx.AsyncClient() as client:
        instance = await client.get(document["metadata"]["instanceActor"])
    assert instance.json()["type"] == "Application"


async def test_organization_actor_is_served_for_both_as2_accept_headers(start_node):
    node = await start_node("alpha")
    actor_id = node.url("/actors/alpha")
    async with httpx.AsyncClient() as client:
        for accept in (AS2, LD_PROFILE):
            response = await client.get(actor_id, headers={"Accept": accept})
            assert response.status_code == 200, accept
            assert media_type(response) == AS2
            assert "Accept" in response.headers.get("vary", "")
            actor = response.json()
            assert actor["id"] == actor_id
            assert actor["type"] == "Group"
            assert actor["preferredUsername"] == "alpha"
            assert actor["publicKey"]["owner"] == actor_id
            assert actor["publicKey"]["id"] == f"{actor_id}#main-key"
            assert "BEGIN PUBLIC KEY" in actor["publicKey"]["publicKeyPem"]
            assert actor["endpoints"]["sharedInbox"] == node.url("/inbox")
            assert actor["inbox"] == f"{actor_id}/inbox"
            assert actor["outbox"] == f"{actor_id}/outbox"
            assert actor["followers"] == f"{actor_id}/followers"
            assert actor["following"] == f"{actor_id}/following"
            assert "https://www.w3.org/ns/activitystreams" in actor["@context"]


async def test_organization_page_for_browsers_links_its_actor(start_node):
    node = await start_node("alpha")
    actor_id = node.url("/actors/alpha")
    async with httpx.AsyncClient() as client:
        response = await client.get(actor_id, headers={"Accept": BROWSER})
    assert response.status_code == 200
    assert media_type(response) == "text/html"
    assert f'<link rel="alternate" type="application/activity+json" href="{actor_id}">' in (
        response.text
    )
    assert f"@alpha@{node.domain}" in response.text


async def test_unknown_organization_is_404_for_people_and_servers(start_node):
    node = await start_node("alpha")
    async with httpx.AsyncClient() as client:
        page = await client.get(node.url("/actors/nobody"), headers={"Accept": BROWSER})
        json_ = await client.get(node.url("/actors/nobody"), headers={"Accept": AS2})
        # The instance actor's name is not an organization.
        instance = await client.get(
            node.url(f"/actors/{INSTANCE_USERNAME}"), headers={"Accept": AS2}
        )
    assert page.status_code == 404
    assert media_type(page) == "text/html"
    assert json_.status_code == 404
    assert "error" in json_.json()
    assert instance.status_code == 404


async def test_instance_actor_is_an_application_fetchable_unsigned(start_node):
    node = await start_node("alpha")
    async with httpx.AsyncClient() as client:
        # No Accept header and no signature at all.
        response = await client.get(node.url("/actor"))
    assert response.status_code == 200
    assert media_type(response) == AS2
    actor = response.json()
    assert actor["id"] == node.url("/actor")
    assert actor["type"] == "Application"
    assert actor["publicKey"]["owner"] == actor["id"]
    assert actor["endpoints"]["sharedInbox"] == node.url("/inbox")


async def test_collections_are_ordered_and_paged(start_node):
    node = await start_node("alpha")
    org = node.url("/actors/alpha")
    async with node.db.read() as session:
        actor = await node.federation.local_actor_by_username(session, "alpha")
    async with node.db.transaction() as session:
        for index in range(25):
            session.add(
                Follower(
                    local_actor_id=actor.id,
                    actor_uri=f"https://remote.example/users/u{index}",
                    inbox=f"https://remote.example/users/u{index}/inbox",
                    follow_activity_uri=f"https://remote.example/follows/{index}",
                    state="accepted",
                )
            )
        # A pending follower is not shown.
        session.add(
            Follower(
                local_actor_id=actor.id,
                actor_uri="https://remote.example/users/pending",
                inbox="https://remote.example/users/pending/inbox",
                follow_activity_uri="https://remote.example/follows/pending",
                state="pending",
            )
        )
    async with httpx.AsyncClient(headers={"Accept": AS2}) as client:
        for name in ("outbox", "following"):
            empty = (await client.get(f"{org}/{name}")).json()
            assert empty["type"] == "OrderedCollection"
            assert empty["id"] == f"{org}/{name}"
            assert empty["totalItems"] == 0
            assert "first" not in empty

        collection = await client.get(f"{org}/followers")
        assert collection.status_code == 200
        assert media_type(collection) == AS2
        body = collection.json()
        assert body["type"] == "OrderedCollection"
        assert body["totalItems"] == 25
        assert body["first"] == f"{org}/followers?page=1"

        first = (await client.get(body["first"])).json()
        assert first["type"] == "OrderedCollectionPage"
        assert first["partOf"] == f"{org}/followers"
        assert len(first["orderedItems"]) == 20
        assert "prev" not in first
        second = (await client.get(first["next"])).json()
        assert len(second["orderedItems"]) == 5
        assert "next" not in second
        assert second["prev"] == f"{org}/followers?page=1"
        seen = first["orderedItems"] + second["orderedItems"]
        assert sorted(seen) == sorted(f"https://remote.example/users/u{i}" for i in range(25))

        for bad in ("0", "-1", "abc", "1.5", ""):
            response = await client.get(f"{org}/followers", params={"page": bad})
            assert response.status_code == 400, bad
            assert "error" in response.json()
        assert (await client.get(node.url("/actor/outbox?page=x"))).status_code == 400

        instance = (await client.get(node.url("/actor/followers"))).json()
        assert instance["type"] == "OrderedCollection"
        assert instance["totalItems"] == 0


async def test_activities_public_ones_are_served_others_are_404(start_node):
    node = await start_node("alpha")
    async with node.db.read() as session:
        actor = await node.federation.local_actor_by_username(session, "alpha")
    public_uri = node.url("/activities/public-1")
    private_uri = node.url("/activities/private-1")
    async with node.db.transaction() as session:
        session.add(
            OutboxActivity(
                uri=public_uri,
                local_actor_id=actor.id,
                activity_type="Create",
                body={"id": public_uri, "type": "Create", "actor": actor.uri},
                public=True,
            )
        )
        session.add(
            OutboxActivity(
                uri=private_uri,
                local_actor_id=actor.id,
                activity_type="Follow",
                body={"id": private_uri, "type": "Follow", "actor": actor.uri},
                public=False,
            )
        )
    async with httpx.AsyncClient(headers={"Accept": AS2}) as client:
        found = await client.get(public_uri)
        assert found.status_code == 200
        assert found.json()["id"] == public_uri
        assert (await client.get(private_uri)).status_code == 404
        assert (await client.get(node.url("/activities/unknown"))).status_code == 404
        outbox = (await client.get(node.url("/actors/alpha/outbox"))).json()
        assert outbox["totalItems"] == 1
        page = (await client.get(outbox["first"])).json()
        assert [item["id"] for item in page["orderedItems"]] == [public_uri]
