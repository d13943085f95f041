"""Sessions end on the server: a copy of the cookie is worth nothing once its session is over."""

from __future__ import annotations

import httpx
from test_admin import PASSWORD, client, csrf_from, login, setup_admin

from actors import admins

NEW_PASSWORD = "another horse battery"


def copy_of(http: httpx.AsyncClient) -> httpx.AsyncClient:
    """Another client holding the same cookie, as someone who copied it would."""
    stolen = client_like(http)
    stolen.cookies.set("iwsn_session", http.cookies["iwsn_session"])
    return stolen


def client_like(http: httpx.AsyncClient) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=http.base_url, follow_redirects=False)


async def test_a_cookie_copied_before_logout_is_refused_after_it(start_node):
    node = await start_node("alpha")
    await setup_admin(node)
    async with client(node) as http:
        assert (await login(http, "admin", PASSWORD)).status_code == 303
        dashboard = await http.get("/admin")
        assert dashboard.status_code == 200
        async with copy_of(http) as copy:
            assert (await copy.get("/admin")).status_code == 200
            out = await http.post("/admin/logout", data={"csrf_token": csrf_from(dashboard.text)})
            assert out.status_code == 303
            refused = await copy.get("/admin")
            assert refused.status_code == 303
            assert refused.headers["location"].startswith("/admin/login")
            # Nor does the copy still pass for an admin on public pages.
            assert "/admin/logout" not in (await copy.get("/")).text


async def test_a_new_password_ends_the_other_sessions(start_node):
    node = await start_node("alpha")
    await setup_admin(node)
    async with client(node) as laptop, client(node) as phone:
        assert (await login(laptop, "admin", PASSWORD)).status_code == 303
        assert (await login(phone, "admin", PASSWORD)).status_code == 303
        # The password is changed through a new setup link, as `iwsn admin create` gives one.
        await setup_admin(node, "admin", NEW_PASSWORD)
        assert (await laptop.get("/admin")).status_code == 303
        assert (await phone.get("/admin")).status_code == 303
        assert (await login(phone, "admin", NEW_PASSWORD)).status_code == 303
        assert (await phone.get("/admin")).status_code == 200
        await admins.set_password(node.db, "admin", PASSWORD)
        assert (await phone.get("/admin")).status_code == 303


async def test_log_out_everywhere(start_node):
    node = await start_node("alpha")
    await setup_admin(node)
    await setup_admin(node, "other", PASSWORD)
    async with client(node) as laptop, client(node) as phone, client(node) as colleague:
        for http, name in ((laptop, "admin"), (phone, "admin"), (colleague, "other")):
            assert (await login(http, name, PASSWORD)).status_code == 303
        dashboard = await phone.get("/admin")
        assert "Log out everywhere" in dashboard.text
        assert dashboard.headers["cache-control"] == "no-store"
        out = await phone.post(
            "/admin/logout-everywhere", data={"csrf_token": csrf_from(dashboard.text)}
        )
        assert out.status_code == 303
        assert (await phone.get("/admin")).status_code == 303
        assert (await laptop.get("/admin")).status_code == 303
        # Another admin's sessions are theirs.
        assert (await colleague.get("/admin")).status_code == 200
