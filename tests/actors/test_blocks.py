"""Blocks, over real HTTP: a blocked server or account is refused at the inbox, never fetched
from nor delivered to, loses its followers here, and what was kept from it is hidden until an
unblock brings it back. Changes made by `iwsn block` in another process reach the node."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select
from support import eventually, run_iwsn
from test_alerts import held, org_follows, strike
from test_events_federation import may_day, remote_event
from test_ownership import send_as

from actors import alerts, events
from actors.models import Event
from actors.organizations import create_organization
from federation import blocks
from federation.client import FetchError
from federation.models import Delivery, Follower, LocalActor


async def listed(node, path: str) -> str:
    async with httpx.AsyncClient() as http:
        return (await http.get(node.url(path))).text


async def test_a_blocked_server_is_refused_hidden_and_restored_by_an_unblock(
    start_node, sink_factory
):
    a = await start_node("alpha")
    b = await start_node("beta")
    await org_follows(b, a)  # B keeps A's events and alerts
    await org_follows(a, b)  # A follows B: a follower on the server B will block
    event = await events.publish(a.federation, may_day(), category="action")
    alert = await alerts.raise_alert(a.federation, strike())
    await eventually(lambda: remote_event(b, event.uri))
    await eventually(lambda: held(b, alert.uri))
    assert "May Day march" in await listed(b, "/actions")
    assert "May Day march" in await listed(b, "/tags/MayDay")
    assert "general strike attacked" in await listed(b, "/alerts")

    # A follower on a server that is down: B's delivery to it waits, retrying.
    sink = sink_factory()
    async with b.db.transaction() as session:
        beta = (
            await session.execute(select(LocalActor).where(LocalActor.username == "beta"))
        ).scalar_one()
        session.add(
            Follower(
                local_actor_id=beta.id,
                actor_uri=sink.url("/users/ana"),
                inbox=sink.url("/users/ana/inbox"),
                follow_activity_uri=sink.url("/follows/1"),
                state="accepted",
            )
        )
    await events.publish(b.federation, may_day(title="Dockers' picket"), category="action")

    async def waiting_for_sink():
        async with b.db.read() as session:
            return (
                (
                    await session.execute(
                        select(Delivery.state).where(Delivery.host == sink.url("")[7:].rstrip("/"))
                    )
                )
                .scalars()
                .all()
            )

    await eventually(waiting_for_sink, expect=["pending"])

    # Both blocked from the command line, another process: the node hears of it.
    done = await run_iwsn(b.env, "block", a.domain, "--reason", "spam waves")
    assert "followers removed: 1" in done.stdout
    await run_iwsn(b.env, "block", f"http://{sink.url('')[7:]}")
    listing = await run_iwsn(b.env, "blocks")
    assert f"server\t{a.domain}\t" in listing.stdout and "spam waves" in listing.stdout
    await eventually(lambda: _blocked_here(b, a.domain))
    await eventually(waiting_for_sink, expect=["dead"])

    # Its content is kept, and shown nowhere.
    assert (await remote_event(b, event.uri)).deleted_at is None
    assert "May Day march" not in await listed(b, "/actions")
    assert "May Day march" not in await listed(b, "/tags/MayDay")
    assert "general strike attacked" not in await listed(b, "/alerts")
    assert "May Day march" not in await listed(b, "/events.ics")
    async with httpx.AsyncClient() as http:
        remote = await http.get(b.url(f"/alerts/remote/{(await held(b, alert.uri)).id}"))
    assert remote.status_code == 404

    # Its inbox POSTs are refused, with the reason; its follow is refused; its followers gone.
    refused = await send_as(
        a,
        "alpha",
        b.url("/inbox"),
        {"id": a.url("/activities/f-1"), "type": "Follow", "object": b.url("/actors/beta")},
    )
    assert refused.status_code == 403
    assert refused.json()["reason"] == "blocked" and "blocked" in refused.json()["error"]
    async with b.db.read() as session:
        followers = (await session.execute(select(Follower.actor_uri))).scalars().all()
    assert followers == []

    # Nothing is fetched from it, nor sent to it.
    fetch = await run_iwsn(b.env, "follow", f"@alpha@{a.domain}", check=False)
    assert fetch.returncode == 1 and "is blocked on this node" in fetch.stderr
    with pytest.raises(FetchError, match="is blocked on this node"):
        await b.federation.client.get_json(a.url("/actors/alpha"))
    await events.publish(b.federation, may_day(title="Second picket"), category="action")
    await sink.start()
    await eventually(lambda: _sent_everything(b))
    assert sink.received == []

    # Unblocked: what was kept shows again.
    await run_iwsn(b.env, "unblock", a.domain)
    await eventually(lambda: _unblocked_here(b, a.domain))
    assert "May Day march" in await listed(b, "/actions")
    assert "general strike attacked" in await listed(b, "/alerts")
    wrong = await run_iwsn(b.env, "unblock", a.domain, check=False)
    assert wrong.returncode == 1 and "is not blocked" in wrong.stderr
    typo = await run_iwsn(b.env, "block", "not a host", check=False)
    assert typo.returncode == 1 and "not a server name" in typo.stderr
    itself = await run_iwsn(b.env, "block", b.domain, check=False)
    assert itself.returncode == 1 and "this node" in itself.stderr


async def _blocked_here(node, host: str) -> bool:
    return node.federation.blocks.server_blocked(host)


async def _unblocked_here(node, host: str) -> bool:
    return not node.federation.blocks.server_blocked(host)


async def _sent_everything(node) -> bool:
    async with node.db.read() as session:
        states = (await session.execute(select(Delivery.state))).scalars().all()
    return "pending" not in states


async def test_an_account_block_by_handle_leaves_its_neighbours_alone(start_node):
    a = await start_node("alpha")
    b = await start_node("beta")
    await create_organization(a.federation, "rogue")
    await run_iwsn(b.env, "block", f"@rogue@{a.domain}")
    await eventually(lambda: _actor_blocked_here(b, a.url("/actors/rogue")))

    follow = {"type": "Follow", "object": b.url("/actors/beta")}
    rogue = await send_as(a, "rogue", b.url("/inbox"), {"id": a.url("/activities/r"), **follow})
    alpha = await send_as(a, "alpha", b.url("/inbox"), {"id": a.url("/activities/a"), **follow})
    assert (rogue.status_code, alpha.status_code) == (403, 202)
    listing = await run_iwsn(b.env, "blocks")
    assert listing.stdout.startswith(f"actor\t{a.url('/actors/rogue')}\t")


async def _actor_blocked_here(node, uri: str) -> bool:
    return node.federation.blocks.actor_blocked(uri)


async def test_a_domain_block_covers_its_subdomains_and_only_them(start_node):
    node = await start_node("union")
    soon = datetime.now(UTC) + timedelta(days=3)
    async with node.db.transaction() as session:
        for host in ("events.example.org", "example.org:8443", "badexample.org"):
            session.add(
                Event(
                    uri=f"https://{host}/events/1",
                    category="action",
                    kind="march",
                    is_local=False,
                    origin_actor_uri=f"https://{host}/actor",
                    origin_host=host,
                    title=f"March of {host}",
                    starts_at=soon,
                    timezone="UTC",
                )
            )
    await blocks.add(node.federation, await blocks.resolve(node.federation, "Example.org"))
    page = await listed(node, "/actions")
    assert "March of badexample.org" in page
    assert "March of events.example.org" not in page and "March of example.org:8443" not in page
    assert node.federation.blocks.actor_blocked("https://a.b.example.org/users/x")
    assert not node.federation.blocks.actor_blocked("https://badexample.org/users/x")
