"""The inbox queue: stored before the answer, handled after, retried when a handler fails."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import httpx
from sqlalchemy import select
from support import eventually

from federation.inbox_queue import MAX_ATTEMPTS, InboxProcessor
from federation.models import ReceivedActivity
from federation.signatures import sign_request


async def local(node, username):
    async with node.db.read() as session:
        return await node.federation.local_actor_by_username(session, username)


def note(sender, n):
    base = sender.uri.rsplit("/actors/", 1)[0]
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{base}/activities/{n}",
        "type": "Create",
        "actor": sender.uri,
        "object": {"id": f"{base}/notes/{n}", "type": "Note", "attributedTo": sender.uri},
    }


async def deliver(client, inbox, sender, activity):
    body = json.dumps(activity).encode()
    headers = sign_request(
        "POST", inbox, key_id=sender.key_id, private_key_pem=sender.private_key_pem, body=body
    )
    return await client.post(inbox, content=body, headers=headers)


async def rows(node):
    async with node.db.read() as session:
        return (
            (await session.execute(select(ReceivedActivity).order_by(ReceivedActivity.received_at)))
            .scalars()
            .all()
        )


async def test_a_burst_is_stored_once_each_and_handled_in_order(start_node):
    a = await start_node("alpha", workers=0)
    b = await start_node("beta", workers=0)
    seen: list[str] = []

    async def record_create(ctx):
        seen.append(ctx.activity["id"])

    b.federation.registry.add("Create", record_create)
    sender = await local(a, "alpha")
    inbox = b.url("/inbox")
    activities = [note(sender, n) for n in range(40)]
    async with httpx.AsyncClient() as client:
        # Sent one after the other so that the order of arrival is known...
        first = [await deliver(client, inbox, sender, act) for act in activities[:20]]
        # ...then all at once, each twice: the group commit must still store each once.
        burst = await asyncio.gather(
            *(deliver(client, inbox, sender, act) for act in activities[20:] * 2)
        )
    assert {r.status_code for r in first} == {202}
    statuses = sorted(r.status_code for r in burst)
    assert statuses == [200] * 20 + [202] * 20
    await eventually(lambda: asyncio.sleep(0, len(seen) == 40))
    assert seen[:20] == [act["id"] for act in activities[:20]]
    assert sorted(seen) == sorted(act["id"] for act in activities)
    assert {r.state for r in await rows(b)} == {"done"}


async def test_a_failing_handler_is_retried_then_given_up(start_node):
    a = await start_node("alpha", workers=0)
    b = await start_node("beta", workers=0)
    calls: list[int] = []

    async def flaky(ctx):
        calls.append(1)
        async with ctx.transaction():
            raise RuntimeError("the domain could not handle it")

    b.federation.registry.add("Create", flaky)
    sender = await local(a, "alpha")
    async with httpx.AsyncClient() as client:
        response = await deliver(client, b.url("/inbox"), sender, note(sender, "x"))
    assert response.status_code == 202
    await eventually(lambda: asyncio.sleep(0, len(calls) >= 1))
    (row,) = await rows(b)
    # The background processor tried once; drive the remaining tries with a moving clock.
    processor = InboxProcessor(b.federation, clock=lambda: clock[0])
    clock = [row.received_at]
    for _ in range(MAX_ATTEMPTS * 2):
        clock[0] += timedelta(days=1)
        await processor.run_once()
    (row,) = await rows(b)
    assert row.state == "failed"
    assert row.attempts == MAX_ATTEMPTS
    assert "could not handle" in row.last_error
    assert len(calls) == MAX_ATTEMPTS


async def test_stored_activities_read_back_as_sent_whatever_the_json_encoding(start_node):
    a = await start_node("alpha", workers=0)
    b = await start_node("beta", workers=0)
    sender = await local(a, "alpha")
    inbox = b.url("/inbox")
    sent = {}
    async with httpx.AsyncClient() as client:
        for n, encoding in enumerate(("utf-8", "utf-16", "utf-32")):
            activity = note(sender, f"enc-{n}")
            activity["object"]["content"] = "Grève générale — 总罢工 ✊"
            body = json.dumps(activity, ensure_ascii=False).encode(encoding)
            headers = sign_request(
                "POST",
                inbox,
                key_id=sender.key_id,
                private_key_pem=sender.private_key_pem,
                body=body,
            )
            response = await client.post(inbox, content=body, headers=headers)
            assert response.status_code == 202, response.text
            sent[activity["id"]] = activity
    stored = {row.uri: row.body for row in await rows(b)}
    assert stored == sent
