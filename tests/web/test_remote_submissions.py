"""Plans from the fediverse, between real nodes on loopback: an organization on node B sends a
`Create` of its `Event` to an organization on node A, which A does not follow. It waits in A's
moderation queue, published nowhere; approved, A's organization `Announce`s it and node C,
which follows A, shows it; rejected, B receives a `Reject` of its `Create`."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import httpx
from sqlalchemy import select
from support import eventually
from test_admin import PASSWORD, csrf_from, login, setup_admin
from test_near import node_follows

from actors import events, submissions
from actors.mail.models import OutgoingMail
from actors.models import Event, Submission
from federation.models import OutboxActivity, ReceivedActivity
from federation.signatures import sign_request

AS2 = {"Accept": "application/activity+json"}


async def local(node, username):
    async with node.db.read() as session:
        return await node.federation.local_actor_by_username(session, username)


async def send_plan_from(b, a, title: str, n: int) -> dict:
    """B's organization publishes an action, then sends its Create to A's organization."""
    when = datetime.now().replace(microsecond=0, second=0) + timedelta(days=30)
    event = await events.publish(
        b.federation,
        events.EventInput(
            title=title,
            kind="picket",
            starts=when,
            ends=when + timedelta(hours=2),
            timezone="Europe/Berlin",
            place_name="Werkstor",
            city="Berlin",
            country="DE",
        ),
        category="action",
    )
    sender, target = await local(b, "beta"), await local(a, "alpha")
    async with httpx.AsyncClient(timeout=30) as http:
        document = (await http.get(event.uri, headers=AS2)).json()
        document.pop("@context", None)
        activity = {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": b.url(f"/activities/plan-{n}"),
            "type": "Create",
            "actor": sender.uri,
            "to": [target.uri],
            "object": document,
        }
        body = json.dumps(activity).encode()
        inbox = f"{target.uri}/inbox"
        headers = sign_request(
            "POST", inbox, key_id=sender.key_id, private_key_pem=sender.private_key_pem, body=body
        )
        headers["Content-Type"] = "application/activity+json"
        answer = await http.post(inbox, content=body, headers=headers)
        assert answer.status_code in (200, 202), answer.text
    return activity


async def waiting(node):
    async with node.db.read() as session:
        return (
            (await session.execute(select(Submission).where(Submission.state == "waiting")))
            .scalars()
            .all()
        )


async def test_a_plan_from_another_server_waits_then_is_announced_or_rejected(start_node):
    a, b, c = await start_node("alpha"), await start_node("beta"), await start_node("gamma")
    await node_follows(c, a.url("/actor"))
    await submissions.save_settings(a.db, notify_to="mod@union.example", language="de")

    first = await send_plan_from(b, a, "Streikposten bei Werk 3", 1)
    (plan,) = await eventually(lambda: waiting(a))
    # The moderators who asked are told, in their language, as of a plan from the form.
    async with a.db.read() as session:
        notice = (
            await session.execute(
                select(OutgoingMail).where(OutgoingMail.template == "submission_waiting")
            )
        ).scalar_one()
    assert notice.recipient == "mod@union.example" and notice.language == "de"
    assert f"/admin/submissions/{plan.id}" in notice.body_text
    assert plan.source == "fediverse" and plan.plan["title"] == "Streikposten bei Werk 3"
    assert plan.remote_activity_uri == first["id"]
    # Published nowhere before a moderator decides.
    async with httpx.AsyncClient(timeout=30) as http:
        assert "Streikposten" not in (await http.get(a.url("/actions"))).text
    async with a.db.read() as session:
        assert (
            await session.execute(select(Event).where(Event.uri == plan.remote_object_uri))
        ).first() is None

    await setup_admin(a)
    async with httpx.AsyncClient(base_url=a.base_url, timeout=30) as admin:
        assert (await login(admin, "admin", PASSWORD)).status_code == 303
        page = await admin.get(f"/admin/submissions/{plan.id}?lang=en")
        assert "from the fediverse" in page.text and "Werkstor" in page.text
        approved = await admin.post(
            f"/admin/submissions/{plan.id}/approve", data={"csrf_token": csrf_from(page.text)}
        )
        assert approved.status_code == 303

        # Approved: A's organization boosts it unchanged, and C, following A, shows it.
        async with a.db.read() as session:
            alpha = await a.federation.local_actor_by_username(session, "alpha")
            boost = (
                await session.execute(
                    select(OutboxActivity).where(
                        OutboxActivity.activity_type == "Announce",
                        OutboxActivity.local_actor_id == alpha.id,
                    )
                )
            ).scalar_one()
        assert boost.body["object"] == plan.remote_object_uri
        assert boost.body["actor"] == (await local(a, "alpha")).uri

        async def on_c():
            async with c.db.read() as session:
                return (
                    await session.execute(select(Event).where(Event.uri == plan.remote_object_uri))
                ).scalar_one_or_none()

        shown = await eventually(on_c)
        assert shown.title == "Streikposten bei Werk 3" and not shown.is_local
        async with httpx.AsyncClient(timeout=30) as http:
            assert "Streikposten bei Werk 3" in (await http.get(a.url("/actions"))).text

        # A second plan, rejected: B hears it as a Reject of its Create.
        second = await send_plan_from(b, a, "Kundgebung am Rathaus", 2)
        (other,) = await eventually(lambda: waiting(a))
        page = await admin.get(f"/admin/submissions/{other.id}?lang=en")
        rejected = await admin.post(
            f"/admin/submissions/{other.id}/reject",
            data={"csrf_token": csrf_from(page.text), "reason": "Not our city."},
        )
        assert rejected.status_code == 303

    async def rejection_on_b():
        async with b.db.read() as session:
            rows = (
                (
                    await session.execute(
                        select(ReceivedActivity).where(ReceivedActivity.activity_type == "Reject")
                    )
                )
                .scalars()
                .all()
            )
        return [row for row in rows if row.body.get("object") == second["id"]]

    (refusal,) = await eventually(rejection_on_b)
    assert refusal.actor_uri == (await local(a, "alpha")).uri
    async with a.db.read() as session:
        kept = await session.get(Submission, other.id)
    assert kept.state == "rejected" and kept.reason == "Not our city."
    async with a.db.read() as session:
        assert (
            await session.execute(select(Event).where(Event.title == "Kundgebung am Rathaus"))
        ).first() is None


async def test_a_create_for_no_organization_of_ours_is_no_plan(start_node):
    a, b = await start_node("alpha"), await start_node("beta")
    sender = await local(b, "beta")
    async with httpx.AsyncClient(timeout=30) as http:
        activity = {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": b.url("/activities/stray"),
            "type": "Create",
            "actor": sender.uri,
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "object": {
                "id": b.url("/actions/stray"),
                "type": "Event",
                "name": "Not for A",
                "startTime": "2031-05-01T10:00:00Z",
                "attributedTo": sender.uri,
            },
        }
        body = json.dumps(activity).encode()
        inbox = a.url("/inbox")
        headers = sign_request(
            "POST", inbox, key_id=sender.key_id, private_key_pem=sender.private_key_pem, body=body
        )
        headers["Content-Type"] = "application/activity+json"
        assert (await http.post(inbox, content=body, headers=headers)).status_code in (200, 202)

    async def handled():
        async with a.db.read() as session:
            row = await session.get(ReceivedActivity, activity["id"])
        return row is not None and row.state == "done"

    await eventually(handled)
    assert await waiting(a) == []
