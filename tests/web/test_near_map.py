"""The map beside the results of /near, in Debian's Chromium: Leaflet from the node's own
static files, markers for the listed results, out of the accessibility tree and of the
keyboard's way; no request leaves the page without a tile server; with one (a tile server on
loopback), the Content-Security-Policy lets exactly its origin in and its credit shows."""

from __future__ import annotations

import struct
import zlib
from datetime import date, datetime
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from support import _serve, free_socket

from actors import events, places
from web.security_headers import CONTENT_SECURITY_POLICY

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
SHOTS = Path("/tmp/iwsn-shots")
NEXT_YEAR = date.today().year + 1
SEARCH = "/near?place=Lisboa&radius=300"
PLACES = [
    ("Rally at the ministry", "Lisboa", 38.7077, -9.1365),
    ("Dockers' picket", "Setúbal", 38.5244, -8.8882),
    ("Assembly in Coimbra", "Coimbra", 40.2033, -8.4103),
]


def png() -> bytes:
    """A 1×1 grey PNG: what the stand-in tile server answers for every tile."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xcc")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


class TileServer:
    """A tile server on loopback that counts what it is asked for."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.port = 0

    async def start(self) -> None:
        tile = png()

        async def answer(request: Request) -> Response:
            self.asked.append(request.url.path)
            return Response(tile, media_type="image/png")

        sock = free_socket()
        self.port = sock.getsockname()[1]
        self.server, self.task = await _serve(
            Starlette(routes=[Route("/{path:path}", answer)]), sock
        )

    async def stop(self) -> None:
        self.server.stop()
        await self.task


@pytest.fixture
async def browser():
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


async def node_with_actions(start_node, env=None):
    # The place table at once (a copy of the test process's: support.DatabaseTemplate), not
    # filled again for every test here, seconds each.
    node = await start_node("workers", env=env, places=True)
    for title, city, latitude, longitude in PLACES:
        await events.publish(
            node.federation,
            events.EventInput(
                title=title,
                kind="rally",
                starts=datetime(NEXT_YEAR, 5, 1, 10, 0),
                ends=datetime(NEXT_YEAR, 5, 1, 12, 0),
                timezone="Europe/Lisbon",
                place_name="Square",
                city=city,
                country="PT",
                latitude=latitude,
                longitude=longitude,
            ),
            category="action",
        )
    # What the first search would do before answering (the table is there, the events carry
    # their coordinates): here, so the page is judged on its work.
    await places.ready(node.db)
    return node


async def watched_page(browser: Browser, problems: list[str], **options) -> tuple[Page, list[str]]:
    """A page that records every request it makes and every policy violation or error."""
    context = await browser.new_context(**{"viewport": {"width": 1024, "height": 768}, **options})
    page = await context.new_page()
    page.set_default_timeout(90_000)  # a loaded test machine; nothing here is timed
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    # The browser asks for /favicon.ico by itself; any other failed request is the page's.
    page.on(
        "response",
        lambda answer: (
            problems.append(f"{answer.status} {answer.url}")
            if answer.status >= 400 and not answer.url.endswith("/favicon.ico")
            else None
        ),
    )
    page.on(
        "console",
        lambda message: (
            problems.append(message.text)
            if message.type == "error" and not message.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on("pageerror", lambda error: problems.append(str(error)))
    return page, requests


async def test_the_map_shows_the_results_and_asks_no_other_host(start_node, browser):
    node = await node_with_actions(start_node)
    problems: list[str] = []
    page, requests = await watched_page(browser, problems, locale="en-US")
    response = await page.goto(node.url(SEARCH))
    assert response is not None and response.status == 200
    # Without a tile server the policy is the one every page has.
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    await page.wait_for_selector("#near-map[data-markers]")
    await page.wait_for_load_state("networkidle")
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / "60-near-map.png"), full_page=True)

    assert await page.locator("#near-map").is_visible()
    markers = page.locator("#near-map path.leaflet-interactive")
    assert await markers.count() == len(PLACES)
    assert await page.locator("#near-map img").count() == 0  # no tiles: a plain background
    assert await page.locator(".map-credit").count() == 0
    # Nothing but the node itself was asked for anything: Leaflet, its stylesheet, near.js.
    assert requests and all(url.startswith(node.base_url + "/") for url in requests), requests
    assert node.url("/static/leaflet/leaflet.js") in requests
    assert problems == []

    # The list is what assistive technology reads; the map is hidden from it and takes no
    # keyboard focus (the zoom buttons are for the mouse; Tab goes past the map).
    canvas = page.locator(".near-map-canvas")
    assert await canvas.get_attribute("aria-hidden") == "true"
    tabbable = await canvas.evaluate(
        """c => [...c.querySelectorAll('a, button, input, [tabindex]')]
                 .filter(e => e.tabIndex >= 0).length"""
    )
    assert tabbable == 0
    assert await canvas.evaluate("c => c.tabIndex") < 0

    # A marker clicked leads to its item in the list: nearest first, as the list orders them.
    titles = await page.locator("ol.near > li strong").all_inner_texts()
    assert titles == [title for title, *_ in PLACES]
    await page.locator("#near-map").scroll_into_view_if_needed()
    await markers.nth(2).click(force=True)
    focused = await page.evaluate("document.activeElement.closest('li')?.innerText || ''")
    assert "Assembly in Coimbra" in focused
    assert await page.locator("ol.near > li.near-picked").count() == 1


async def test_the_map_fits_a_360px_phone(start_node, browser):
    node = await node_with_actions(start_node)
    problems: list[str] = []
    page, _requests = await watched_page(
        browser, problems, viewport={"width": 360, "height": 740}, is_mobile=True, locale="fr"
    )
    await page.goto(node.url(SEARCH + "&lang=fr"))
    await page.wait_for_selector("#near-map[data-markers]")
    await page.screenshot(path=str(SHOTS / "61-near-map-phone.png"), full_page=True)
    assert await page.evaluate("document.documentElement.scrollWidth") <= 360
    box = await page.locator(".near-map-canvas").bounding_box()
    assert box is not None and box["width"] <= 360 and box["height"] > 100
    assert problems == []


async def test_without_javascript_there_is_no_map_and_the_list_is_whole(start_node, browser):
    node = await node_with_actions(start_node)
    problems: list[str] = []
    page, requests = await watched_page(browser, problems, java_script_enabled=False)
    await page.goto(node.url(SEARCH))
    assert not await page.locator("#near-map").is_visible()
    assert await page.locator("ol.near > li").count() == len(PLACES)
    assert node.url("/static/leaflet/leaflet.js") not in requests


async def test_a_tile_server_is_let_in_by_exactly_its_origin(start_node, browser):
    tiles = TileServer()
    await tiles.start()
    try:
        origin = f"http://127.0.0.1:{tiles.port}"
        node = await node_with_actions(
            start_node,
            env={
                "IWSN_MAP_TILE_URL": f"{origin}/tiles/{{z}}/{{x}}/{{y}}.png",
                "IWSN_MAP_ATTRIBUTION": "© Loopback tiles & friends",
            },
        )
        problems: list[str] = []
        page, requests = await watched_page(browser, problems, locale="de")
        response = await page.goto(node.url(SEARCH + "&lang=de"))
        assert response is not None
        policy = response.headers["content-security-policy"]
        assert policy == f"{CONTENT_SECURITY_POLICY}; img-src 'self' {origin}"
        await page.wait_for_selector("#near-map img.leaflet-tile-loaded")
        await page.wait_for_load_state("networkidle")
        await page.screenshot(path=str(SHOTS / "62-near-map-tiles.png"), full_page=True)
        assert tiles.asked and all(path.startswith("/tiles/") for path in tiles.asked)
        others = [u for u in requests if not u.startswith((node.base_url + "/", origin + "/"))]
        assert others == []
        credit = await page.locator(".map-credit").inner_text()
        assert credit == "Kartenkacheln: © Loopback tiles & friends"
        assert problems == []
        # Any other page has the same policy: the map's origin, and nothing more.
        other = await page.goto(node.url("/actions"))
        assert other is not None and other.headers["content-security-policy"] == policy
    finally:
        await tiles.stop()
