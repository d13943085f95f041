"""Hostile or broken deliveries: each refused with its own status and reason, nothing stored."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpsig
import httpx
import pytest
from sqlalchemy import func, select
from support import eventually

from federation.inbox import InboxRejection, Rejection, check_host
from federation.keys import generate_private_key_pem
from federation.models import Follower, ReceivedActivity, RemoteActor
from federation.node import INSTANCE_USERNAME
from federation.signatures import digest_header, http_date, sign_request
from federation.uris import host_of


async def local(node, username):
    async with node.db.read() as session:
        return await node.federation.local_actor_by_username(session, username)


async def stored(node) -> tuple[int, int]:
    async with node.db.read() as session:
        activities = await session.execute(select(func.count()).select_from(ReceivedActivity))
        followers = await session.execute(select(func.count()).select_from(Follower))
        return activities.scalar_one(), followers.scalar_one()


def follow_from(sender, target_uri, **overrides):
    activity = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{sender.uri.rsplit('/', 2)[0]}/activities/{datetime.now(UTC).timestamp()}",
        "type": "Follow",
        "actor": sender.uri,
        "object": target_uri,
    }
    activity.update(overrides)
    return activity


async def post(url, body: bytes, headers: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.post(url, content=body, headers=headers)


def signed(url, body, key_id, pem, **kwargs):
    headers = sign_request("POST", url, key_id=key_id, private_key_pem=pem, body=body, **kwargs)
    headers["Content-Type"] = "application/activity+json"
    return headers


@pytest.fixture
async def pair(start_node):
    a = await start_node("alpha", workers=0)
    b = await start_node("beta", workers=0)
    return a, b


async def test_a_correctly_signed_follow_is_accepted(pair):
    """The control case: the same request shape that the refusals below break one way each."""
    a, b = pair
    sender = await local(a, "alpha")
    inbox = b.url("/actors/beta/inbox")
    body = json.dumps(follow_from(sender, b.url("/actors/beta"))).encode()
    response = await post(inbox, body, signed(inbox, body, sender.key_id, sender.private_key_pem))
    assert response.status_code == 202
    # Stored before the answer; handled (the follower recorded) just after.
    await eventually(lambda: stored(b), expect=(1, 1))
    # A second delivery of the same activity changes nothing.
    again = await post(inbox, body, signed(inbox, body, sender.key_id, sender.private_key_pem))
    assert again.status_code == 200
    assert await stored(b) == (1, 1)


async def refused(b, response, status, reason):
    assert response.status_code == status, response.text
    assert response.json()["reason"] == reason
    assert await stored(b) == (0, 0)


async def test_unsigned(pair):
    a, b = pair
    sender = await local(a, "alpha")
    body = json.dumps(follow_from(sender, b.url("/actors/beta"))).encode()
    response = await post(b.url("/inbox"), body, {"Content-Type": "application/activity+json"})
    await refused(b, response, 401, "unsigned")


async def test_signed_with_a_key_that_is_not_the_published_one(pair):
    a, b = pair
    sender = await local(a, "alpha")
    inbox = b.url("/inbox")
    body = json.dumps(follow_from(sender, b.url("/actors/beta"))).encode()
    impostor_key = generate_private_key_pem()
    response = await post(inbox, body, signed(inbox, body, sender.key_id, impostor_key))
    await refused(b, response, 401, "bad_signature")


async def test_signed_with_another_actors_key(pair):
    a, b = pair
    sender = await local(a, "alpha")
    other = await local(a, INSTANCE_USERNAME)
    inbox = b.url("/inbox")
    body = json.dumps(follow_from(sender, b.url("/actors/beta"))).encode()
    response = await post(inbox, body, signed(inbox, body, other.key_id, other.private_key_pem))
    await refused(b, response, 403, "key_not_actors")


async def test_body_tampered_after_signing(pair):
    a, b = pair
    sender = await local(a, "alpha")
    inbox = b.url("/inbox")
    body = json.dumps(follow_from(sender, b.url("/actors/beta"))).encode()
    headers = signed(inbox, body, sender.key_id, sender.private_key_pem)
    tampered = body.replace(b"Follow", b"Follow", 1).replace(b'"actor"', b'"actor" ', 1)
    assert tampered != body
    await refused(b, await post(inbox, tampered, headers), 401, "digest_mismatch")


async def test_stale_date(pair):
    a, b = pair
    sender = await local(a, "alpha")
    inbox = b.url("/inbox")
    body = json.dumps(follow_from(sender, b.url("/actors/beta"))).encode()
    yesterday = datetime.now(UTC) - timedelta(days=1)
    headers = signed(inbox, body, sender.key_id, sender.private_key_pem, now=yesterday)
    await refused(b, await post(inbox, body, headers), 401, "bad_date")


async def test_future_date(pair):
    a, b = pair
    sender = await local(a, "alpha")
    inbox = b.url("/inbox")
    body = json.dumps(follow_from(sender, b.url("/actors/beta"))).encode()
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    headers = signed(inbox, body, sender.key_id, sender.private_key_pem, now=tomorrow)
    await refused(b, await post(inbox, body, headers), 401, "bad_date")


async def test_object_from_another_host(pair, start_node):
    a, b = pair
    sender = await local(a, "alpha")
    inbox = b.url("/inbox")
    activity = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{a.base_url}/activities/forged-create",
        "type": "Create",
        "actor": sender.uri,
        "object": {
            "id": "http://127.0.0.1:1/notes/not-yours",
            "type": "Note",
            "attributedTo": sender.uri,
            "content": "forged",
        },
    }
    body = json.dumps(activity).encode()
    response = await post(inbox, body, signed(inbox, body, sender.key_id, sender.private_key_pem))
    await refused(b, response, 403, "origin_mismatch")


async def test_activity_id_on_another_host_than_its_actor(pair):
    a, b = pair
    sender = await local(a, "alpha")
    inbox = b.url("/inbox")
    activity = follow_from(sender, b.url("/actors/beta"), id="http://127.0.0.1:1/activities/x")
    body = json.dumps(activity).encode()
    response = await post(inbox, body, signed(inbox, body, sender.key_id, sender.private_key_pem))
    await refused(b, response, 403, "origin_mismatch")


async def test_oversized_and_malformed_bodies(pair):
    a, b = pair
    sender = await local(a, "alpha")
    inbox = b.url("/inbox")
    huge = b"{" + b" " * (1024 * 1024 + 10) + b"}"
    await refused(
        b, await post(inbox, huge, {"Content-Type": "application/json"}), 413, "too_large"
    )
    await refused(b, await post(inbox, b"not json", {}), 400, "not_json")
    no_actor = json.dumps({"id": f"{a.base_url}/x", "type": "Follow"}).encode()
    headers = signed(inbox, no_actor, sender.key_id, sender.private_key_pem)
    await refused(b, await post(inbox, no_actor, headers), 422, "not_an_activity")


async def test_a_rotated_key_is_refetched_once(pair):
    """The sender changed its key after we cached it: we look again instead of refusing."""
    a, b = pair
    sender = await local(a, "alpha")
    inbox = b.url("/actors/beta/inbox")
    first = json.dumps(follow_from(sender, b.url("/actors/beta"))).encode()
    response = await post(inbox, first, signed(inbox, first, sender.key_id, sender.private_key_pem))
    assert response.status_code == 202

    new_private = generate_private_key_pem()
    from federation.keys import public_key_pem
    from federation.models import LocalActor

    async with a.db.transaction() as session:
        row = await session.get(LocalActor, sender.id)
        row.private_key_pem = new_private
        row.public_key_pem = public_key_pem(new_private)
    undo = json.dumps(
        {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"{a.base_url}/activities/undo-after-rotation",
            "type": "Undo",
            "actor": sender.uri,
            "object": json.loads(first),
        }
    ).encode()
    response = await post(inbox, undo, signed(inbox, undo, sender.key_id, new_private))
    assert response.status_code == 202, response.text
    await eventually(lambda: stored(b), expect=(2, 0))
    async with b.db.read() as session:
        cached = await session.get(RemoteActor, sender.uri)
    assert cached.public_key_pem == public_key_pem(new_private)


async def test_delete_of_an_account_its_server_says_is_gone(pair):
    """Mastodon's account deletion: the key is gone, the origin answers 410; we forget it."""
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route
    from support import _serve, free_socket

    _a, b = pair

    async def gone(_request):
        return JSONResponse({"error": "Gone"}, status_code=410)

    sock = free_socket()
    origin = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server, task = await _serve(Starlette(routes=[Route("/{p:path}", gone)]), sock)
    try:
        actor_uri = f"{origin}/users/leaver"
        beta = await local(b, "beta")
        async with b.db.transaction() as session:
            session.add(
                Follower(
                    local_actor_id=beta.id,
                    actor_uri=actor_uri,
                    inbox=f"{actor_uri}/inbox",
                    follow_activity_uri=f"{origin}/follows/1",
                    state="accepted",
                )
            )
        delete = {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"{actor_uri}#delete",
            "type": "Delete",
            "actor": actor_uri,
            "object": actor_uri,
        }
        body = json.dumps(delete).encode()
        inbox = b.url("/inbox")
        headers = signed(inbox, body, f"{actor_uri}#main-key", generate_private_key_pem())
        response = await post(inbox, body, headers)
        assert response.status_code == 202, response.text
        assert await stored(b) == (0, 0)

        # The same Delete for an actor whose server still serves it proves nothing: refused.
        a = _a
        sender = await local(a, "alpha")
        fake = dict(delete, id=f"{a.base_url}/deletes/1", actor=sender.uri, object=sender.uri)
        body = json.dumps(fake).encode()
        headers = signed(inbox, body, sender.key_id, generate_private_key_pem())
        assert (await post(inbox, body, headers)).status_code == 401
    finally:
        server.stop()
        await task


async def test_a_streamed_body_is_cut_off_at_the_limit(pair):
    _a, b = pair

    async def chunks():
        # No Content-Length: the limit must hold while reading, not only on the header.
        for _ in range(1100):
            yield b" " * 1024

    async with httpx.AsyncClient() as client:
        response = await client.post(b.url("/inbox"), content=chunks())
    await refused(b, response, 413, "too_large")


async def test_inbox_paths_answer_only_posts_and_only_for_their_actors(pair):
    a, b = pair
    sender = await local(a, "alpha")
    async with httpx.AsyncClient() as client:
        for path in ("/inbox", "/actor/inbox", "/actors/beta/inbox"):
            response = await client.get(b.url(path))
            assert response.status_code == 405, path
            assert response.headers["allow"] == "POST"
    for path in ("/actors/nobody/inbox", f"/actors/{INSTANCE_USERNAME}/inbox"):
        inbox = b.url(path)
        body = json.dumps(follow_from(sender, b.url("/actors/beta"))).encode()
        response = await post(
            inbox, body, signed(inbox, body, sender.key_id, sender.private_key_pem)
        )
        assert response.status_code == 404, path
        assert response.json() == {"error": "No such organization"}
    assert await stored(b) == (0, 0)


async def test_activities_nothing_handles_are_answered_but_not_stored(pair):
    """A Like, or an Update of an actor's profile: no handler acts on them, so the sender has
    its 202 (as Mastodon answers) and the inbox table gets no row; an Update of an Event, which
    a handler takes, is stored."""
    a, b = pair
    sender = await local(a, "alpha")
    inbox = b.url("/inbox")
    base = sender.uri.rsplit("/actors/", 1)[0]
    like = follow_from(sender, b.url("/actors/beta"), type="Like", id=f"{base}/likes/1")
    profile = follow_from(
        sender,
        sender.uri,
        type="Update",
        id=f"{base}/activities/profile-1",
        object={"id": sender.uri, "type": "Group", "name": "Renamed"},
    )
    event = follow_from(
        sender,
        f"{base}/events/1",
        type="Update",
        id=f"{base}/activities/event-1",
        object={"id": f"{base}/events/1", "type": "Event", "name": "May Day"},
    )
    for activity in (like, profile):
        body = json.dumps(activity).encode()
        response = await post(
            inbox, body, signed(inbox, body, sender.key_id, sender.private_key_pem)
        )
        assert response.status_code == 202, response.text
    assert await stored(b) == (0, 0)
    body = json.dumps(event).encode()
    response = await post(inbox, body, signed(inbox, body, sender.key_id, sender.private_key_pem))
    assert response.status_code == 202, response.text
    assert (await stored(b))[0] == 1
    # A bad signature on an ignored type is still refused: the check comes first.
    body = json.dumps(like).encode()
    headers = signed(inbox, body, sender.key_id, generate_private_key_pem())
    response = await post(inbox, body, headers)
    assert response.status_code == 401
    assert response.json()["reason"] == "bad_signature"


def nested(levels):
    value: list = []
    for _ in range(levels - 1):
        value = [value]
    return value


async def test_documents_nested_too_deep_or_too_long_are_refused(pair):
    """At most 64 levels and 1,000 items an array: a signed body past either is refused before
    it is stored, and a body nested 100,000 deep (which breaks Python's own parser) gets a 422,
    not a 500. Documents right at the limits pass."""
    a, b = pair
    sender = await local(a, "alpha")
    inbox = b.url("/actors/beta/inbox")
    target = b.url("/actors/beta")

    async def send(activity):
        body = json.dumps(activity).encode()
        return await post(inbox, body, signed(inbox, body, sender.key_id, sender.private_key_pem))

    deep = follow_from(sender, target, extra=nested(200))
    await refused(b, await send(deep), 422, "too_deep")
    crowded = follow_from(sender, target, to=[f"{target}/x/{n}" for n in range(10_000)])
    await refused(b, await send(crowded), 422, "too_many_items")
    tagged = follow_from(sender, target, tag=[{"type": "Hashtag", "name": "#x"}] * 1001)
    await refused(b, await send(tagged), 422, "too_many_items")
    bomb = b"[" * 100_000 + b"]" * 100_000
    await refused(b, await post(inbox, bomb, {"Content-Type": "application/json"}), 422, "too_deep")

    # The object itself is level 1, so `extra` may nest 63 levels.
    at_limits = follow_from(
        sender, target, extra=nested(63), to=[f"{target}/x/{n}" for n in range(1000)]
    )
    response = await send(at_limits)
    assert response.status_code == 202, response.text


async def test_nan_infinity_and_lone_surrogates_are_not_json(pair):
    """Python's json module reads NaN, Infinity and a lone surrogate (escaped, or as raw bytes)
    where RFC 8259 and every other server do not: each is refused, signed or not."""
    a, b = pair
    sender = await local(a, "alpha")
    inbox = b.url("/inbox")
    base = json.dumps(follow_from(sender, b.url("/actors/beta")))
    bodies = {
        "NaN": base[:-1].encode() + b', "n": NaN}',
        "Infinity": base[:-1].encode() + b', "n": -Infinity}',
        "escaped surrogate": base[:-1].encode() + b', "name": "x\\ud800y"}',
        "lone low surrogate": base[:-1].encode() + b', "name": "\\udc00"}',
        "surrogate bytes": base[:-1].encode() + b', "name": "\xed\xa0\x80"}',
    }
    for name, body in bodies.items():
        response = await post(
            inbox, body, signed(inbox, body, sender.key_id, sender.private_key_pem)
        )
        await refused(b, response, 400, "not_json")
        assert response.json()["error"], name
    # A pair, escaped as Python and Ruby write characters outside the BMP, is one character.
    fine = base[:-1].encode() + b', "name": "\\ud83d\\udcaa"}'
    response = await post(inbox, fine, signed(inbox, fine, sender.key_id, sender.private_key_pem))
    assert response.status_code == 202, response.text


async def test_a_digest_with_two_sha256_values_is_refused(pair):
    """One wrong and one right: whichever a proxy or another parser reads, the signature must
    speak for exactly one body."""
    a, b = pair
    sender = await local(a, "alpha")
    inbox = b.url("/inbox")
    body = json.dumps(follow_from(sender, b.url("/actors/beta"))).encode()
    right = digest_header(body)
    wrong = digest_header(b"another body")
    signer = httpsig.HeaderSigner(
        sender.key_id,
        sender.private_key_pem,
        algorithm="rsa-sha256",
        headers=["(request-target)", "host", "date", "digest"],
    )
    headers = signer.sign(
        {"Host": b.url("").split("//")[1], "Date": http_date(), "Digest": f"{wrong}, {right}"},
        method="POST",
        path="/inbox",
    )
    response = await post(inbox, body, dict(headers))
    await refused(b, response, 401, "digest_mismatch")
    assert "more than one SHA-256" in response.json()["error"]


async def test_a_request_signed_for_another_server_is_refused(pair):
    """Signed for other.example and sent with that Host: a valid signature, but not for us."""
    a, b = pair
    sender = await local(a, "alpha")
    body = json.dumps(follow_from(sender, b.url("/actors/beta"))).encode()
    for host in ("other.example", f"other.example:{b.port}", "127.0.0.2:" + str(b.port)):
        headers = signed(f"http://{host}/inbox", body, sender.key_id, sender.private_key_pem)
        assert headers["Host"] == host
        response = await post(b.url("/inbox"), body, headers)
        await refused(b, response, 421, "wrong_host")
    # The node's own authority, however a client spells it, is ours.
    ours = f"127.0.0.1.:{b.port}"
    headers = signed(f"http://{ours}/inbox", body, sender.key_id, sender.private_key_pem)
    response = await post(b.url("/inbox"), body, headers)
    assert response.status_code == 202, response.text


@pytest.mark.parametrize(
    ("host", "domain", "scheme", "same"),
    [
        ("Example.ORG", "example.org", "https", True),
        ("example.org:443", "example.org", "https", True),
        ("example.org.", "example.org", "https", True),
        ("example.org:80", "example.org", "http", True),
        ("example.org:80", "example.org", "https", False),
        ("example.org:8443", "example.org", "https", False),
        ("127.0.0.1:8000", "127.0.0.1:8000", "http", True),
        ("127.0.0.1", "127.0.0.1:8000", "http", False),
        ("127.0.0.1:8001", "127.0.0.1:8000", "http", False),
        ("[::1]:8000", "[::1]:8000", "http", True),
        ("[::1]", "[::1]:8000", "http", False),
        ("evil.example.org", "example.org", "https", False),
        ("example.org#", "example.org", "https", False),
        ("example.org/x", "example.org", "https", False),
        ("x@example.org", "example.org", "https", False),
        ("example.org@evil.example", "example.org", "https", False),
        ("", "example.org", "https", False),
    ],
)
def test_hosts_compare_as_servers_do(host, domain, scheme, same):
    own_host = host_of(f"{scheme}://{domain}/")
    if same:
        check_host({"host": host}, own_host, scheme)
    else:
        with pytest.raises(InboxRejection) as refused:
            check_host({"Host": host}, own_host, scheme)
        assert refused.value.reason is Rejection.WRONG_HOST
