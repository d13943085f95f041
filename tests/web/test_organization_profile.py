"""Editing an organization's profile: validated, shown, and announced to its followers."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from support import eventually
from test_admin import PASSWORD, client, csrf_from, login

from actors import admins
from federation import follows
from federation.models import ReceivedActivity
from federation.node import INSTANCE_USERNAME

AS2 = {"Accept": "application/activity+json"}


async def test_profile_edit_reaches_followers_and_is_escaped(start_node):
    a = await start_node("alpha")
    b = await start_node("beta")
    async with b.db.read() as session:
        watcher = await b.federation.local_actor_by_username(session, INSTANCE_USERNAME)
    await follows.follow(b.federation, watcher, a.url("/actors/alpha"))

    async def profile_updated(ctx):
        pass

    # An inbox stores only what a handler wants, and nothing on a node acts on a remote actor's
    # Update yet: this one stands for such a handler, so that b keeps the Update to look at.
    b.federation.registry.add("Update", profile_updated, objects=("Group",))

    async def followed():
        async with httpx.AsyncClient() as http:
            return (await http.get(a.url("/actors/alpha/followers"), headers=AS2)).json()[
                "totalItems"
            ]

    await eventually(followed, expect=1)

    await admins.create_admin(a.db, "organizer", PASSWORD)
    async with client(a) as http:
        await login(http, "organizer", PASSWORD)
        form = await http.get("/admin/organizations/alpha")
        token = csrf_from(form.text)
        empty = await http.post(
            "/admin/organizations/alpha",
            data={"csrf_token": token, "display_name": "  ", "summary": ""},
        )
        assert empty.status_code == 400
        assert "cannot be empty" in empty.text
        saved = await http.post(
            "/admin/organizations/alpha",
            data={
                "csrf_token": token,
                "display_name": "Dockers' Union <Lisbon>",
                "summary": "We organize the port.\n\n<script>alert(1)</script>",
                "manual": "on",
            },
        )
        assert saved.status_code == 303
        page = (await http.get("/actors/alpha")).text

    assert "Dockers&#39; Union &lt;Lisbon&gt;" in page
    assert "<script>" not in page and "&lt;script&gt;" in page
    async with httpx.AsyncClient() as http:
        actor = (await http.get(a.url("/actors/alpha"), headers=AS2)).json()
    assert actor["name"] == "Dockers' Union <Lisbon>"
    assert actor["summary"] == (
        "<p>We organize the port.</p><p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"
    )
    assert actor["manuallyApprovesFollowers"] is True

    async def update_received():
        async with b.db.read() as session:
            rows = (
                (
                    await session.execute(
                        select(ReceivedActivity.body).where(
                            ReceivedActivity.activity_type == "Update"
                        )
                    )
                )
                .scalars()
                .all()
            )
        return rows

    (update,) = await eventually(update_received)
    assert update["object"]["id"] == a.url("/actors/alpha")
    assert update["object"]["name"] == "Dockers' Union <Lisbon>"
