"""The home page in a real Chromium: on a 360 px phone with JavaScript off the call reads first,
nothing is wider than the screen, and the near-you box finds an action; axe-core finds nothing
on it, image and alert included, in English and in German.

Screenshots (desktop and phone) go to /tmp/iwsn-shots for people to look at.
"""

from __future__ import annotations

import json
import struct
import zlib
from datetime import date, datetime, timedelta

import pytest
from playwright.async_api import async_playwright
from test_accessibility import ARGS, AXE, CHROMIUM, SHOTS, violations

from actors import alerts, call, events, solidarity_days
from web import home_call

SOON = date.today() + timedelta(days=25)


def banner_png(width: int = 640, height: int = 420) -> bytes:
    """A PNG to look at (red to dark stripes), built without an imaging library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = []
    for y in range(height):
        shade = 200 - (150 * y) // height
        row = bytearray()
        for x in range(width):
            stripe = ((x + y) // 40) % 2
            row += bytes((shade, 20 + 10 * stripe, 28 + 10 * stripe))
        rows.append(b"\x00" + bytes(row))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
async def home(start_node):
    node = await start_node("workers", places=True)
    when = datetime.combine(SOON, datetime.min.time()).replace(hour=10)
    day = await solidarity_days.declare(
        node.federation,
        solidarity_days.DayInput(
            day=SOON, theme="Housing is a right", slogan="No evictions!", hashtag="HousingForAll"
        ),
    )
    await events.publish(
        node.federation,
        events.EventInput(
            title="Tenants' march",
            kind="march",
            starts=when,
            ends=when + timedelta(hours=3),
            timezone="Europe/Lisbon",
            place_name="Praça do Comércio",
            city="Lisboa",
            country="PT",
            latitude=38.7077,
            longitude=-9.1365,
            solidarity_day_uri=day.uri,
        ),
        category="action",
    )
    await alerts.raise_alert(
        node.federation,
        alerts.AlertInput(
            title="Port workers locked out",
            text="Send messages of support.",
            country="PT",
            region="Setúbal",
            urgency="urgent",
            asks=["messages", "donations"],
        ),
    )
    await call.save_image(
        node.db,
        home_call.image_directory(node.node.settings),
        call.ImageInput(
            banner_png(),
            {"en": "Red and dark stripes", "de": "Rote und dunkle Streifen"},
        ),
    )
    return node


async def test_the_home_page_on_a_360px_phone_without_javascript(home):
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            desktop = await browser.new_context(viewport={"width": 1280, "height": 900})
            page = await desktop.new_page()
            await page.goto(home.url("/"))
            SHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SHOTS / "60-home-desktop.png"), full_page=True)
            await desktop.close()

            phone = await browser.new_context(
                viewport={"width": 360, "height": 740},
                is_mobile=True,
                java_script_enabled=False,
                locale="es",
            )
            page = await phone.new_page()
            response = await page.goto(home.url("/"))
            assert response is not None and response.status == 200
            await page.screenshot(path=str(SHOTS / "61-home-phone.png"), full_page=True)
            await page.screenshot(path=str(SHOTS / "62-home-phone-first-screen.png"))
            assert await page.evaluate("document.documentElement.scrollWidth") <= 360
            # The call first: its headline is the first thing in the page's content.
            main = (await page.locator("main").inner_text()).casefold()  # whatever the case CSS
            assert main.index("red internacional de solidaridad obrera") == 0
            assert main.index("toda lucha es una lucha obrera") < main.index("port workers")
            assert await page.get_by_alt_text("Red and dark stripes").is_visible()
            button = page.get_by_role("link", name="Encuentra una acción cerca de ti")
            assert (await button.bounding_box() or {}).get("height", 0) >= 44  # a thumb's size

            box = page.locator("section.near-box")
            await box.get_by_label("Ciudad o pueblo").fill("Lisbon")
            await box.get_by_label("En un radio de").select_option("25")
            await box.get_by_role("button", name="Buscar").click()
            await page.wait_for_url("**/near?place=Lisbon&radius=25")
            results = await page.locator("ol.near").inner_text()
            assert "Tenants' march" in results and " km" in results
        finally:
            await browser.close()


async def test_the_home_page_has_no_axe_violation(home):
    assert AXE.exists(), "axe-core is missing: run scripts/test (it installs tests/browser)"
    found: dict[str, list[dict]] = {}
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for lang, width in (("en", 1280), ("de", 360)):
                context = await browser.new_context(
                    viewport={"width": width, "height": 800}, locale=lang, bypass_csp=True
                )
                page = await context.new_page()
                response = await page.goto(home.url(f"/?lang={lang}"))
                assert response is not None and response.status == 200
                assert await page.locator("img.call-image").count() == 1
                problems = await violations(page)
                if problems:
                    found[f"home ({lang}, {width}px)"] = problems
                await context.close()
        finally:
            await browser.close()
    assert found == {}, json.dumps(found, indent=1)
