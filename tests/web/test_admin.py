"""The admin area over real HTTP: first-run setup link, login, session, CSRF, throttling."""

from __future__ import annotations

import re
from urllib.parse import quote

import httpx
from sqlalchemy import select

from actors import admins
from actors.models import AdminAccount

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def client(node) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=node.base_url, follow_redirects=False)


async def setup_admin(node, username: str = "admin", password: str = PASSWORD) -> None:
    token = await admins.issue_setup_token(node.db)
    async with client(node) as http:
        form = await http.get(f"/admin/setup/{token}")
        response = await http.post(
            f"/admin/setup/{token}",
            data={
                "csrf_token": csrf_from(form.text),
                "username": username,
                "password": password,
                "password_again": password,
            },
        )
    assert response.status_code == 303, response.text


async def login(http: httpx.AsyncClient, username: str, password: str, next_: str = "/admin"):
    page = await http.get("/admin/login")
    return await http.post(
        "/admin/login",
        data={
            "csrf_token": csrf_from(page.text),
            "username": username,
            "password": password,
            "next": next_,
        },
    )


async def test_setup_link_shows_a_form_with_a_csrf_token(start_node):
    node = await start_node("alpha")
    token = await admins.issue_setup_token(node.db)
    async with client(node) as http:
        response = await http.get(f"/admin/setup/{token}")
    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"]
    assert len(csrf_from(response.text)) >= 20
    for field in ('name="username"', 'name="password"', 'name="password_again"'):
        assert field in response.text


async def test_setup_post_without_csrf_token_is_refused(start_node):
    node = await start_node("alpha")
    token = await admins.issue_setup_token(node.db)
    async with client(node) as http:
        await http.get(f"/admin/setup/{token}")
        form = {"username": "admin", "password": PASSWORD, "password_again": PASSWORD}
        missing = await http.post(f"/admin/setup/{token}", data=form)
        wrong = await http.post(f"/admin/setup/{token}", data={**form, "csrf_token": "forged"})
    assert missing.status_code == 403
    assert wrong.status_code == 403
    assert await admins.count(node.db) == 0
    assert await admins.setup_token_valid(node.db, token)


async def test_setup_rejects_bad_passwords_and_creates_nobody(start_node):
    node = await start_node("alpha")
    token = await admins.issue_setup_token(node.db)
    async with client(node) as http:
        csrf = csrf_from((await http.get(f"/admin/setup/{token}")).text)
        mismatch = await http.post(
            f"/admin/setup/{token}",
            data={
                "csrf_token": csrf,
                "username": "admin",
                "password": PASSWORD,
                "password_again": PASSWORD + "x",
            },
        )
        short = await http.post(
            f"/admin/setup/{token}",
            data={
                "csrf_token": csrf,
                "username": "admin",
                "password": "short",
                "password_again": "short",
            },
        )
        bad_name = await http.post(
            f"/admin/setup/{token}",
            data={
                "csrf_token": csrf,
                "username": "two words",
                "password": PASSWORD,
                "password_again": PASSWORD,
            },
        )
    assert mismatch.status_code == 400
    assert "differ" in mismatch.text
    assert short.status_code == 400
    assert "12 characters" in short.text
    assert bad_name.status_code == 400
    assert await admins.count(node.db) == 0
    # Mistakes do not use up the link.
    assert await admins.setup_token_valid(node.db, token)


async def test_valid_setup_creates_the_admin_and_spends_the_link(start_node):
    node = await start_node("alpha")
    token = await admins.issue_setup_token(node.db)
    async with client(node) as http:
        csrf = csrf_from((await http.get(f"/admin/setup/{token}")).text)
        form = {
            "csrf_token": csrf,
            "username": "organizer",
            "password": PASSWORD,
            "password_again": PASSWORD,
        }
        created = await http.post(f"/admin/setup/{token}", data=form)
        assert created.status_code == 303
        assert created.headers["location"] == "/admin/login"
        assert await admins.count(node.db) == 1

        again = await http.get(f"/admin/setup/{token}")
        assert again.status_code == 404
        assert 'name="password"' not in again.text
        replay = await http.post(f"/admin/setup/{token}", data={**form, "password": "x" * 20})
        assert replay.status_code == 404
        assert (await http.get("/admin/setup/not-a-token")).status_code == 404
    assert await admins.count(node.db) == 1
    assert await admins.authenticate(node.db, "organizer", PASSWORD) is not None


async def test_password_is_stored_as_an_argon2id_hash(start_node):
    node = await start_node("alpha")
    await setup_admin(node, "admin", PASSWORD)
    async with node.db.read() as session:
        stored = (
            await session.execute(
                select(AdminAccount.password_hash).where(AdminAccount.username == "admin")
            )
        ).scalar_one()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


async def test_login_wrong_password_then_right_one(start_node):
    node = await start_node("alpha")
    await setup_admin(node)
    async with client(node) as http:
        wrong = await login(http, "admin", "not the password")
        assert wrong.status_code == 401
        assert "do not match" in wrong.text
        unknown = await login(http, "nobody", PASSWORD)
        assert unknown.status_code == 401

        right = await login(http, "admin", PASSWORD)
        assert right.status_code == 303
        assert right.headers["location"] == "/admin"
        dashboard = await http.get("/admin")
    assert dashboard.status_code == 200
    for heading in ("Delivery queue", "Followers", "Following"):
        assert heading in dashboard.text
    assert "Log out" in dashboard.text


async def test_admin_without_session_redirects_to_login(start_node):
    node = await start_node("alpha")
    async with client(node) as http:
        response = await http.get("/admin")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/admin/login")
    assert "Delivery queue" not in response.text


async def test_session_cookie_is_httponly_and_samesite_lax(start_node):
    node = await start_node("alpha")
    await setup_admin(node)
    async with client(node) as http:
        response = await login(http, "admin", PASSWORD)
    assert response.status_code == 303
    cookies = [c for c in response.headers.get_list("set-cookie") if "iwsn_session=" in c]
    assert cookies
    attributes = [part.strip().lower() for part in cookies[-1].split(";")]
    assert "httponly" in attributes
    assert "samesite=lax" in attributes


async def test_logout_needs_the_csrf_token(start_node):
    node = await start_node("alpha")
    await setup_admin(node)
    async with client(node) as http:
        assert (await login(http, "admin", PASSWORD)).status_code == 303
        dashboard = await http.get("/admin")
        forged = await http.post("/admin/logout")
        assert forged.status_code == 403
        forged_token = await http.post("/admin/logout", data={"csrf_token": "forged"})
        assert forged_token.status_code == 403
        # Still logged in.
        assert (await http.get("/admin")).status_code == 200

        out = await http.post("/admin/logout", data={"csrf_token": csrf_from(dashboard.text)})
        assert out.status_code == 303
        assert (await http.get("/admin")).status_code == 303


async def test_login_is_throttled_after_five_failures(start_node):
    node = await start_node("alpha")
    await setup_admin(node)
    async with client(node) as http:
        for _attempt in range(5):
            assert (await login(http, "admin", "wrong password!")).status_code == 401
        blocked = await login(http, "admin", PASSWORD)
        assert blocked.status_code == 429
        assert int(blocked.headers["retry-after"]) > 0
        assert "Too many failed attempts" in blocked.text
        # No session was granted.
        assert (await http.get("/admin")).status_code == 303


async def test_login_does_not_redirect_off_site(start_node):
    node = await start_node("alpha")
    await setup_admin(node)
    hostile = [
        "//evil.example",
        "//evil.example/admin",
        "https://evil.example/",
        "/\\evil.example",
        "/\t/evil.example",
        "javascript:alert(1)",
    ]
    async with client(node) as http:
        page = await http.get("/admin/login?next=" + quote("//evil.example", safe=""))
        assert 'name="next" value="/admin"' in page.text
        for target in hostile:
            response = await login(http, "admin", PASSWORD, next_=target)
            assert response.status_code == 303, target
            location = response.headers["location"]
            assert location.startswith("/"), (target, location)
            assert not location.startswith(("//", "/\\")), (target, location)
            resolved = httpx.URL(node.url("/admin/login")).join(location)
            assert resolved.host == "127.0.0.1", (target, location)
            # Browsers read a raw backslash as a slash: it must not reach the Location header.
            assert "\\" not in location, (target, location)
        # A same-site path is honoured.
        response = await login(http, "admin", PASSWORD, next_="/actors/alpha")
        assert response.headers["location"] == "/actors/alpha"
