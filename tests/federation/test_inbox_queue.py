"""The inbox queue: stored before the answer, handled after, retried when a handler fails."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, text
from support import eventually

from federation import blocks
from federation.inbox_queue import HANDLER_RETRY, InboxProcessor
from federation.models import Follower, OutboxActivity, ReceivedActivity
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

    # A row is marked done in the transaction that ends after its handler has run.
    async def states():
        return {r.state for r in await rows(b)}

    await eventually(states, expect={"done"})


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
    for _ in range(HANDLER_RETRY.attempts * 2):
        clock[0] += timedelta(days=1)
        await processor.run_once()
    (row,) = await rows(b)
    assert row.state == "failed"
    assert row.attempts == HANDLER_RETRY.attempts
    assert "could not handle" in row.last_error
    assert len(calls) == HANDLER_RETRY.attempts


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


async def test_a_later_handler_that_fails_is_retried_without_repeating_the_first(start_node):
    """Follow has the domain's handler (store the follower, queue an Accept) and here a second
    one that fails once: the retry runs only the second, so one Accept goes out, not two."""
    a = await start_node("alpha", workers=0)
    b = await start_node("beta", workers=0)
    calls: list[str] = []

    async def fails_once(ctx):
        calls.append(ctx.activity["id"])
        async with ctx.transaction():
            if len(calls) == 1:
                raise RuntimeError("second handler failed")

    b.federation.registry.add("Follow", fails_once)
    sender = await local(a, "alpha")
    target = await local(b, "beta")
    base = sender.uri.rsplit("/actors/", 1)[0]
    follow = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{base}/activities/follow-1",
        "type": "Follow",
        "actor": sender.uri,
        "object": target.uri,
    }
    async with httpx.AsyncClient() as client:
        response = await deliver(client, target.inbox_uri, sender, follow)
    assert response.status_code == 202
    await eventually(lambda: asyncio.sleep(0, len(calls) == 1))

    async def attempts():
        (row,) = await rows(b)
        return row.attempts

    await eventually(attempts, expect=1)
    (row,) = await rows(b)
    assert row.state == "pending", "the activity must wait for its failed handler's retry"
    assert row.handlers_done == ["federation.follows.on_follow"]

    processor = InboxProcessor(b.federation, clock=lambda: clock[0])
    clock = [row.next_attempt_at + timedelta(seconds=1)]
    assert await processor.run_once() == 1
    (row,) = await rows(b)
    assert row.state == "done"
    assert row.attempts == 1
    assert len(calls) == 2
    async with b.db.read() as session:
        accepts = (
            (
                await session.execute(
                    select(OutboxActivity).where(OutboxActivity.activity_type == "Accept")
                )
            )
            .scalars()
            .all()
        )
        followers = (await session.execute(select(Follower))).scalars().all()
    assert [f.actor_uri for f in followers] == [sender.uri]
    assert len(accepts) == 1


async def test_a_handler_whose_lease_ran_out_commits_nothing(start_node):
    """A processor that held an activity past its lease, while another took it over, must not
    commit a handler's writes on top of the new holder's."""
    a = await start_node("alpha", workers=0)
    b = await start_node("beta", workers=0)
    sender = await local(a, "alpha")
    target = await local(b, "beta")
    calls: list[str | None] = []
    first_waiting = asyncio.Event()
    release_first = asyncio.Event()

    async def writes_a_follower(ctx):
        calls.append(ctx.lease_owner)
        if len(calls) == 1:
            raise RuntimeError("fails once, so that the activity waits for its retry")
        if ctx.lease_owner == "first":
            first_waiting.set()
            await release_first.wait()
        async with ctx.transaction() as session:
            session.add(
                Follower(
                    local_actor_id=target.id,
                    actor_uri=f"{base}/written-by/{ctx.lease_owner}",
                    inbox=f"{base}/inbox",
                    follow_activity_uri=ctx.activity["id"],
                    state="accepted",
                )
            )

    b.federation.registry.add("Create", writes_a_follower)
    base = sender.uri.rsplit("/actors/", 1)[0]
    async with httpx.AsyncClient() as client:
        response = await deliver(client, b.url("/inbox"), sender, note(sender, "lease"))
    assert response.status_code == 202
    await eventually(lambda: asyncio.sleep(0, len(calls) == 1))
    (row,) = await eventually(lambda: _failed_once(b))
    start = row.next_attempt_at + timedelta(seconds=1)
    first = InboxProcessor(b.federation, clock=lambda: start, name="first")
    second = InboxProcessor(
        b.federation, clock=lambda: start + timedelta(minutes=10), name="second"
    )
    held = asyncio.create_task(first.run_once())
    await first_waiting.wait()
    assert await second.run_once() == 1  # the first one's lease has run out on this clock
    release_first.set()
    await held
    async with b.db.read() as session:
        written = (await session.execute(select(Follower.actor_uri))).scalars().all()
    assert written == [f"{base}/written-by/second"]
    (row,) = await rows(b)
    assert row.state == "done"


async def _failed_once(node):
    found = await rows(node)
    return found if found and found[0].attempts == 1 else None


FULL_DISK = "database or disk is full"


async def make_writes_fail(node, *, also_releases: bool) -> None:
    """A real fault in the database, as a full disk shows it: recording a handler's failure
    (an UPDATE that sets attempts) is refused, and with `also_releases` so is every UPDATE
    that lets a lease go."""
    if node.db.is_sqlite:
        statements = [
            "CREATE TRIGGER full_disk BEFORE UPDATE OF attempts ON received_activities "
            f"BEGIN SELECT RAISE(ABORT, '{FULL_DISK}'); END"
        ]
        if also_releases:
            statements.append(
                "CREATE TRIGGER full_disk_2 BEFORE UPDATE ON received_activities "
                f"WHEN NEW.lease_owner IS NULL BEGIN SELECT RAISE(ABORT, '{FULL_DISK}'); END"
            )
    else:
        statements = [
            "CREATE FUNCTION full_disk() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{FULL_DISK}'; END $$",
            "CREATE TRIGGER full_disk BEFORE UPDATE OF attempts ON received_activities "
            "FOR EACH ROW EXECUTE FUNCTION full_disk()",
        ]
        if also_releases:
            statements.append(
                "CREATE TRIGGER full_disk_2 BEFORE UPDATE ON received_activities FOR EACH ROW "
                "WHEN (NEW.lease_owner IS NULL) EXECUTE FUNCTION full_disk()"
            )
    async with node.db.transaction() as session:
        for statement in statements:
            await session.execute(text(statement))


async def make_writes_work(node) -> None:
    async with node.db.transaction() as session:
        for trigger in ("full_disk", "full_disk_2"):
            if node.db.is_sqlite:
                await session.execute(text(f"DROP TRIGGER IF EXISTS {trigger}"))
            else:
                await session.execute(
                    text(f"DROP TRIGGER IF EXISTS {trigger} ON received_activities")
                )


async def leases(node):
    return [row.lease_owner for row in await rows(node)]


@pytest.mark.parametrize("also_releases", [False, True], ids=["release works", "release fails"])
async def test_a_batch_is_let_go_when_its_failure_cannot_be_recorded(start_node, also_releases):
    """A handler fails, and writing down that failure fails too (the disk is full): the batch
    must not wait out its 5-minute lease. It is released for any processor; if even that
    write fails, the processor that held it takes it back at its next claim."""
    a = await start_node("alpha", workers=0)
    b = await start_node("beta", workers=0)
    await b.node.stop_workers()  # this test drives the processors itself
    failing = [True]
    calls: list[str] = []

    async def handler(ctx):
        calls.append(ctx.activity["id"])
        if failing[0]:
            raise RuntimeError("the handler failed")

    b.federation.registry.add("Create", handler)
    sender = await local(a, "alpha")
    async with httpx.AsyncClient() as client:
        for n in range(3):
            response = await deliver(client, b.url("/inbox"), sender, note(sender, f"full-{n}"))
            assert response.status_code == 202
    await make_writes_fail(b, also_releases=also_releases)

    holder = InboxProcessor(b.federation)
    other = InboxProcessor(b.federation)
    with pytest.raises(Exception, match=FULL_DISK):
        await holder.run_once()
    assert len(calls) == 1
    if also_releases:
        assert await leases(b) == [holder.name] * 3
        assert await other.run_once() == 0  # held: only its holder may take it back early
    else:
        assert await leases(b) == [None] * 3

    await make_writes_work(b)
    failing[0] = False
    retrying = holder if also_releases else other
    assert await retrying.run_once() == 3
    assert {(row.state, row.attempts) for row in await rows(b)} == {("done", 0)}
    assert len(calls) == 4


async def test_what_a_sender_sent_before_it_was_blocked_is_not_acted_on(start_node):
    a = await start_node("alpha", workers=0)
    b = await start_node("beta", workers=0)
    seen: list[str] = []
    gate = asyncio.Event()

    async def held_then_recorded(ctx):
        if not seen:
            seen.append(ctx.activity["id"])
            await gate.wait()  # the processor stays on the first; the second waits in the queue
        else:
            seen.append(ctx.activity["id"])

    b.federation.registry.add("Create", held_then_recorded)
    sender = await local(a, "alpha")
    first, second = note(sender, "before"), note(sender, "queued")
    async with httpx.AsyncClient() as client:
        assert (await deliver(client, b.url("/inbox"), sender, first)).status_code == 202
        await eventually(lambda: asyncio.sleep(0, seen == [first["id"]]))
        assert (await deliver(client, b.url("/inbox"), sender, second)).status_code == 202

    await blocks.add(b.federation, blocks.Target(blocks.ACTOR, sender.uri), "spam")
    gate.set()

    async def states():
        return {row.uri: row.state for row in await rows(b)}

    await eventually(states, expect={first["id"]: "done", second["id"]: "done"})
    assert seen == [first["id"]]  # the queued one was let go without reaching the domain
