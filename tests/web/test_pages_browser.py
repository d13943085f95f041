"""A real browser (Chromium through Playwright) walks the public pages and the admin first run.

Needs the Debian package `chromium` (/usr/bin/chromium) and the pip package `playwright`;
Playwright's own browser download is never used.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

from actors import admins, alerts, events, solidarity_days
from web.security_headers import CONTENT_SECURITY_POLICY

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path("/tmp/iwsn-shots")
PASSWORD = "solidarity forever 1886"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
async def browser():
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


async def new_page(browser: Browser) -> Page:
    context = await browser.new_context(viewport={"width": 1024, "height": 768}, locale="en-US")
    return await context.new_page()


async def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


async def test_visitor_finds_the_organization_and_its_handle(start_node, browser):
    node = await start_node("workers")
    handle = f"@workers@{node.domain}"
    page = await new_page(browser)

    response = await page.goto(node.url("/"))
    assert response is not None and response.status == 200
    await shot(page, "01-home")
    card = page.locator("li.card")
    assert await card.count() == 1
    assert await card.locator("strong").inner_text() == "workers"
    assert await card.locator("code.handle").inner_text() == handle
    assert (await page.title()) == node.domain

    await card.get_by_role("link", name="workers").click()
    await page.wait_for_url(node.url("/actors/workers"))
    await shot(page, "02-organization")
    assert await page.locator("h1").inner_text() == "workers"
    assert await page.locator("code.handle").first.inner_text() == handle
    body = await page.locator("main").inner_text()
    assert f"Search for {handle}" in body
    assert "0 followers" in body
    # The page advertises its ActivityPub twin for servers and browser extensions.
    alternate = page.locator('link[rel="alternate"][type="application/activity+json"]')
    assert await alternate.get_attribute("href") == node.url("/actors/workers")

    response = await page.goto(node.url("/actors/nobody"))
    assert response is not None and response.status == 404
    await shot(page, "03-not-found")
    assert "No such organization" in await page.locator("main").inner_text()


async def test_first_run_setup_login_and_dashboard(start_node, browser):
    node = await start_node("workers")
    token = await admins.issue_setup_token(node.db)
    page = await new_page(browser)

    # An admin page without a session leads to the login form.
    await page.goto(node.url("/admin"))
    await page.wait_for_url(node.url("/admin/login?next=/admin"))

    await page.goto(node.url(f"/admin/setup/{token}"))
    await shot(page, "04-setup")
    assert await page.get_by_label("Username").input_value() == "admin"
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_label("Password again").fill(PASSWORD + " typo")
    await page.get_by_role("button", name="Save").click()
    await page.wait_for_load_state()
    await shot(page, "05-setup-mismatch")
    assert "The two passwords differ." in await page.locator("main").inner_text()
    assert await admins.count(node.db) == 0

    await page.get_by_label("Username").fill("organizer")
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_label("Password again").fill(PASSWORD)
    await page.get_by_role("button", name="Save").click()
    await page.wait_for_url(node.url("/admin/login"))
    assert await admins.count(node.db) == 1
    await shot(page, "06-login")
    assert "Your password is saved" in await page.locator("main").inner_text()
    assert await page.get_by_label("Username").input_value() == "organizer"

    await page.get_by_label("Username").fill("organizer")
    await page.get_by_label("Password").fill("not the password")
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_load_state()
    await shot(page, "07-login-failed")
    assert "do not match" in await page.locator("main").inner_text()

    await page.get_by_label("Username").fill("organizer")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(node.url("/admin"))
    await shot(page, "08-dashboard")
    main = await page.locator("main").inner_text()
    for heading in ("Delivery queue", "Followers", "Following"):
        assert heading in main
    assert await page.get_by_role("button", name="Log out", exact=True).count() == 1

    # The used link now leads a logged-in admin to the dashboard...
    await page.goto(node.url(f"/admin/setup/{token}"))
    await page.wait_for_url(node.url("/admin"))

    await page.get_by_role("button", name="Log out", exact=True).click()
    await page.wait_for_url(node.url("/"))
    assert await page.get_by_role("button", name="Log out", exact=True).count() == 0
    # ...and is dead for everyone else.
    response = await page.goto(node.url(f"/admin/setup/{token}"))
    assert response is not None and response.status == 404
    await shot(page, "09-setup-used")
    await page.goto(node.url("/admin"))
    await page.wait_for_url(node.url("/admin/login?next=/admin"))


async def test_the_pages_keep_to_the_content_security_policy(start_node, browser):
    """No page needs what the policy forbids (inline script or style, other origins)."""
    node = await start_node("workers")
    await admins.create_admin(node.db, "organizer", PASSWORD)
    action = await events.publish(
        node.federation,
        events.EventInput(
            title="Picket at the port",
            kind="picket",
            starts=datetime(2027, 5, 1, 6, 0),
            ends=datetime(2027, 5, 1, 9, 0),
            timezone="Europe/Lisbon",
            place_name="Gate 3",
            city="Lisboa",
            latitude=38.7,
            longitude=-9.1,
            online_url="https://meet.example/picket",
        ),
        category="action",
    )
    await solidarity_days.declare(
        node.federation,
        solidarity_days.DayInput(
            day=date(2027, 3, 8), theme="Care work", slogan="We keep it running", hashtag="Care"
        ),
    )
    alert = await alerts.raise_alert(
        node.federation,
        alerts.AlertInput(
            title="Dockers locked out",
            text="Come to gate 3.",
            country="PT",
            links=["https://x.example/"],
        ),
    )
    page = await new_page(browser)
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.on("pageerror", lambda error: violations.append(str(error)))

    await page.goto(node.url("/admin/login"))
    await page.get_by_label("Username").fill("organizer")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(node.url("/admin"))

    paths = [
        "/",
        "/about",
        "/actions",
        action.uri.removeprefix(node.base_url),
        "/actors/workers",
        "/alerts",
        alerts.page_path(alert).removeprefix(node.base_url),
        "/days",
        "/admin",
        "/admin/events",
        "/admin/events/new",
        "/admin/days",
        "/admin/days/new",
        "/admin/alerts",
        "/admin/alerts/new",
        "/admin/organizations/workers",
    ]
    for path in paths:
        response = await page.goto(node.url(path))
        assert response is not None and response.status == 200, path
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        await page.wait_for_load_state("load")
        # The stylesheet applied: the policy let our own file through.
        margin = await page.locator("body").evaluate("b => getComputedStyle(b).margin")
        assert margin == "0px", path
    assert violations == []
