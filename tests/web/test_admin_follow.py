"""Following another node from the admin dashboard, as an organizer would."""

from __future__ import annotations

import httpx
from support import eventually
from test_admin import PASSWORD, client, csrf_from, login

from actors import admins


async def followers_of(url: str) -> list[str]:
    async with httpx.AsyncClient() as http:
        headers = {"Accept": "application/activity+json"}
        first = (await http.get(url, headers=headers)).json()
        if not first["totalItems"]:
            return []
        return (await http.get(first["first"], headers=headers)).json()["orderedItems"]


async def test_follow_and_unfollow_from_the_dashboard(start_node):
    a = await start_node("alpha")
    b = await start_node("beta")
    await admins.create_admin(a.db, "organizer", PASSWORD)
    async with client(a) as http:
        assert (await login(http, "organizer", PASSWORD)).status_code == 303
        page = await http.get("/admin")
        token = csrf_from(page.text)

        followed = await http.post(
            "/admin/follow", data={"csrf_token": token, "target": f"@beta@{b.domain}"}
        )
        assert followed.status_code == 303
        beta_followers = b.url("/actors/beta/followers")
        await eventually(lambda: followers_of(beta_followers), expect=[a.url("/actor")])
        assert "following" in (await http.get("/admin")).text

        # A node's address alone follows the whole node (its relay/instance actor).
        await http.post("/admin/follow", data={"csrf_token": token, "target": b.domain})
        await eventually(lambda: followers_of(b.url("/actor/followers")), expect=[a.url("/actor")])

        await http.post(
            "/admin/unfollow", data={"csrf_token": token, "target": b.url("/actors/beta")}
        )
        await eventually(lambda: followers_of(beta_followers), expect=[])

        nonsense = await http.post(
            "/admin/follow", data={"csrf_token": token, "target": "@nobody@127.0.0.1:1"}
        )
        assert nonsense.status_code == 303
        assert "That did not work" in (await http.get("/admin")).text

        forged = await http.post("/admin/follow", data={"target": f"@beta@{b.domain}"})
        assert forged.status_code == 403
