"""The home page is the network's call, over real HTTP: the call shipped in five languages, the
admin's own words per language (sanitized), its image with alt text, the next solidarity day,
the live alerts and a "near you" box that leads to /near."""

from __future__ import annotations

import asyncio
import html
import re
import struct
import zlib
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import httpx
from sqlalchemy import func, select
from test_admin import csrf_from
from test_admin_events import logged_in

from actors import alerts, call, events, solidarity_days
from actors.models import CallImage, CallText
from web import backup, home_call, i18n

LOCALES = Path(__file__).resolve().parents[2] / "web" / "locales"
SOON = date.today() + timedelta(days=30)


def png(width: int = 2, height: int = 1) -> bytes:
    """A real (tiny, red) PNG, built by hand so the test needs no imaging library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xb3\x14\x1c" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def headline(lang: str) -> str:
    """The first heading of the call shipped in `lang`."""
    first = home_call.default_markdown(lang).splitlines()[0]
    assert first.startswith("# "), lang
    return first[2:]


def call_text(page: str) -> str:
    found = re.search(r'<div class="call-text">(.*?)</div>', page, re.S)
    assert found, "no call on the page"
    return html.unescape(found.group(1))


async def declared_too_large(node, http: httpx.AsyncClient, size: int) -> int:
    """The status of an image upload that says it is `size` bytes and sends none of them."""
    reader, writer = await asyncio.open_connection("127.0.0.1", node.port)
    cookies = "; ".join(f"{name}={value}" for name, value in http.cookies.items())
    writer.write(
        f"POST /admin/call/image HTTP/1.1\r\nHost: {node.domain}\r\nCookie: {cookies}\r\n"
        f"Content-Type: multipart/form-data; boundary=x\r\nContent-Length: {size}\r\n\r\n".encode()
    )
    await writer.drain()
    try:
        status_line = await asyncio.wait_for(reader.readline(), timeout=30)
    finally:
        writer.close()
    return int(status_line.split()[1])


async def count(node, table) -> int:
    async with node.db.read() as session:
        return (await session.execute(select(func.count()).select_from(table))).scalar_one()


def test_the_node_ships_its_call_in_every_language_of_its_pages():
    assert set(i18n.catalogs()) == {"en", "es", "fr", "de", "pt"}
    headlines = set()
    for lang in i18n.catalogs():
        path = LOCALES / lang / "call.md"
        assert path.is_file(), f"{lang}: no default call"
        text = path.read_text(encoding="utf-8")
        assert len(text.split()) > 100, f"{lang}: the call is too short"
        headlines.add(headline(lang))
        # Each default names the four asks: the days, organizing, alerts, assemblies.
        assert text.count("\n- **") == 4, lang
        assert "<h2>" in home_call.default_html(lang) and "<script" not in text
    assert len(headlines) == 5  # five languages, not English five times


async def test_the_home_page_opens_with_the_call_then_the_day_the_alerts_and_near_you(start_node):
    node = await start_node("alpha")
    day = await solidarity_days.declare(
        node.federation,
        solidarity_days.DayInput(
            day=SOON, theme="Housing is a right", slogan="No evictions!", hashtag="HousingForAll"
        ),
    )
    await alerts.raise_alert(
        node.federation,
        alerts.AlertInput(
            title="Dock strike attacked",
            text="Police charged the picket.",
            country="DE",
            region="Hamburg",
            urgency="urgent",
            asks=["messages"],
        ),
    )
    async with httpx.AsyncClient(base_url=node.base_url) as http:
        pages = {
            lang: (await http.get("/", headers={"Accept-Language": lang})).text
            for lang in ("en", "es", "fr", "de", "pt")
        }
    for lang, page in pages.items():
        assert f'<html lang="{lang}">' in page
        assert headline(lang) in call_text(page), lang
    english, spanish = pages["en"], pages["es"]
    assert "International Workers Solidarity Network</h1>" in english
    assert "Red Internacional de Solidaridad Obrera</h1>" in spanish
    assert "Every struggle is a workers&#39; struggle" in english or "workers' struggle" in english
    assert "Toda lucha es una lucha obrera" in spanish and "Every struggle" not in spanish
    # The call comes first, before anything else in the page's content.
    main = english.split("<main>", 1)[1]
    assert main.index('class="call') < main.index("Dock strike") < main.index("Coming up")

    # Ways in: the search near you as the first, big button, then the pages the node has; none
    # to a page not built yet.
    ways = re.search(r'<ul class="ways-in">(.*?)</ul>', english, re.S)
    assert ways
    links = re.findall(r'<a class="([^"]+)" href="([^"]+)">([^<]+)</a>', ways.group(1))
    assert links[0] == ("button big", "/near", "Find an action near you")
    assert [path for _, path, _ in links[1:]] == ["/submit", "/sign", "/contact", "/actions"]
    assert 'href="/near">Encuentra una acción cerca de ti</a>' in spanish

    # The next day: date, theme (linked), slogan, hashtag.
    assert html.unescape(english).count("Next Monthly Workers Solidarity Day") == 1
    assert "No evictions!" in english and "#HousingForAll" in english
    assert f'href="{solidarity_days.page_path(day)}"' in english
    assert i18n.format_day(SOON, "es") in spanish
    # The live alert, once (in its section, not in the banner too), in the page's words.
    assert english.count("Dock strike attacked") == 1
    assert "Hamburg, Germany" in english and "Hamburg, Alemania" in spanish
    assert 'class="alert-banner"' not in english
    # Other pages keep the banner.
    async with httpx.AsyncClient(base_url=node.base_url) as http:
        assert 'class="alert-banner"' in (await http.get("/actions")).text


async def test_the_near_box_is_a_get_form_that_finds_an_action(start_node):
    node = await start_node("alpha", places=True)
    when = datetime.combine(SOON, datetime.min.time()).replace(hour=10)
    await events.publish(
        node.federation,
        events.EventInput(
            title="Dockers' march",
            kind="march",
            starts=when,
            ends=when + timedelta(hours=3),
            timezone="Europe/Lisbon",
            place_name="Praça do Comércio",
            city="Lisboa",
            country="PT",
            latitude=38.7077,
            longitude=-9.1365,
        ),
        category="action",
    )
    async with httpx.AsyncClient(base_url=node.base_url, timeout=60) as http:
        home = (await http.get("/")).text
        form = re.search(r'<section class="near-box".*?<form([^>]*)>(.*?)</form>', home, re.S)
        assert form, "no near-you box"
        assert 'method="get"' in form.group(1) and 'action="/near"' in form.group(1)
        fields = form.group(2)
        # Every field labelled; the place is the only one to type.
        for name, id_ in (("place", "home-place"), ("radius", "home-radius")):
            assert f'id="{id_}" name="{name}"' in fields
            assert f'<label for="{id_}">' in fields
        radii = re.findall(r'<option value="(\d+)"( selected)?>', fields)
        assert [km for km, _ in radii] == ["10", "25", "50", "100", "250", "500"]
        assert [km for km, chosen in radii if chosen] == ["50"]
        # What the browser sends for this form, JavaScript or not.
        found = await http.get("/near?" + urlencode({"place": "Lisbonne", "radius": "50"}))
    assert found.status_code == 200
    assert "Dockers&#39; march" in found.text or "Dockers' march" in found.text
    assert '<span class="distance">' in found.text


async def test_an_admin_replaces_the_spanish_call_only(start_node):
    node = await start_node("alpha")
    own = (
        "# ¡A la calle!\n\nEl **1 de mayo** salimos todas.<script>alert('x')</script>\n\n"
        "[mira](javascript:alert(1))"
    )
    async with logged_in(node) as http:
        dashboard = await http.get("/admin")
        assert 'href="/admin/call"' in dashboard.text
        page = await http.get("/admin/call")
        assert page.status_code == 200
        assert page.headers["cache-control"] == "no-store"
        for lang in ("en", "es", "fr", "de", "pt"):
            assert f'name="text-{lang}"' in page.text and f'name="alt-{lang}"' in page.text
            assert f'href="/?lang={lang}"' in page.text  # a link to see it
        # The default is there to read and copy.
        assert html.escape(headline("es"), quote=False) in page.text
        token = csrf_from(page.text)
        form = {"csrf_token": token, **{f"text-{lang}": "" for lang in i18n.catalogs()}}

        # A preview shows the sanitized text and stores nothing.
        preview = await http.post("/admin/call", data={**form, "text-es": own, "action": "preview"})
        assert preview.status_code == 200
        assert "<h2>¡A la calle!</h2>" in preview.text
        assert "<script>alert" not in preview.text
        assert await count(node, CallText) == 0

        # Too long: a message beside the field, nothing stored.
        refused = await http.post(
            "/admin/call",
            data={**form, "text-es": own, "text-fr": "x" * (call.MAX_TEXT + 1), "action": "save"},
        )
        assert refused.status_code == 400
        assert "The text is longer than 10,000 characters." in refused.text
        assert 'id="f-text-fr"' in refused.text and 'aria-invalid="true"' in refused.text
        assert "¡A la calle!" in refused.text  # what was typed is kept
        assert await count(node, CallText) == 0

        saved = await http.post("/admin/call", data={**form, "text-es": own, "action": "save"})
        assert saved.status_code == 303 and saved.headers["location"] == "/admin/call"
        again = await http.get("/admin/call")
        assert "The call is saved." in again.text
        assert "¡A la calle!" in again.text

    async with httpx.AsyncClient(base_url=node.base_url) as visitor:
        spanish = (await visitor.get("/", headers={"Accept-Language": "es"})).text
        english = (await visitor.get("/", headers={"Accept-Language": "en"})).text
        french = (await visitor.get("/?lang=fr")).text
    text = call_text(spanish)
    assert "<h2>¡A la calle!</h2>" in text and "<strong>1 de mayo</strong>" in text
    assert headline("es") not in text
    # No script and no javascript: link survives; the script's words are shown, harmless.
    assert "<script" not in spanish.split("<main>", 1)[1].lower()
    assert "javascript:" not in re.sub(r"\[mira\]\(javascript:alert\(1\)\)", "", text)
    assert 'href="javascript' not in spanish
    # Other languages keep the call shipped with the node.
    assert headline("en") in call_text(english)
    assert headline("fr") in call_text(french)

    # Emptied: Spanish has the default again.
    async with logged_in(node, create=False) as http:
        token = csrf_from((await http.get("/admin/call")).text)
        await http.post("/admin/call", data={"csrf_token": token, "text-es": "", "action": "save"})
    assert await count(node, CallText) == 0
    async with httpx.AsyncClient(base_url=node.base_url) as visitor:
        spanish = (await visitor.get("/?lang=es")).text
    assert headline("es") in call_text(spanish)


async def test_the_image_needs_its_alt_text_and_shows_with_it(start_node):
    node = await start_node("alpha")
    directory = home_call.image_directory(node.node.settings)
    image = png()
    async with logged_in(node) as http:
        token = csrf_from((await http.get("/admin/call")).text)

        async def send(data: dict[str, str], file: tuple[str, bytes, str] | None):
            files = {"image": file} if file else {"image": ("", b"", "application/octet-stream")}
            # Megabytes through a loaded machine: more than httpx's default 5 s to answer.
            return await http.post(
                "/admin/call/image", data={"csrf_token": token, **data}, files=files, timeout=120
            )

        no_alt = await send({"alt-en": "  ", "alt-es": ""}, ("march.png", image, "image/png"))
        assert no_alt.status_code == 400
        assert "Describe the image in a few words" in no_alt.text
        not_image = await send(
            {"alt-en": "A march"}, ("march.png", b"<svg onload=alert(1)>", "image/png")
        )
        assert not_image.status_code == 400
        assert "The image must be a PNG, JPEG or WebP file." in not_image.text
        too_large = await send(
            {"alt-en": "A march"}, ("big.png", image + b"\0" * call.MAX_IMAGE_BYTES, "image/png")
        )
        assert too_large.status_code == 400
        assert "The image is larger than 2 MB" in too_large.text
        # Far larger: refused from its Content-Length, before a byte of the body is read.
        assert await declared_too_large(node, http, 3 * call.MAX_IMAGE_BYTES) == 413
        nothing = await send({"alt-en": "A march"}, None)
        assert nothing.status_code == 400 and "Choose an image file" in nothing.text
        assert await count(node, CallImage) == 0
        assert not directory.exists() or not any(directory.iterdir())

        added = await send(
            {"alt-en": "Dockers march behind a red banner", "alt-es": "Estibadores en marcha"},
            ("march.png", image, "image/png"),
        )
        assert added.status_code == 303, added.text
        stored = list(directory.iterdir())
        assert len(stored) == 1 and stored[0].read_bytes() == image
        assert stored[0] in set(backup._data_files(node.node.settings))  # backups carry it

    async with httpx.AsyncClient(base_url=node.base_url) as visitor:
        english = (await visitor.get("/")).text
        spanish = (await visitor.get("/?lang=es")).text
        german = (await visitor.get("/?lang=de")).text
        src = re.search(r'<img class="call-image" src="([^"]+)" alt="([^"]+)">', english)
        assert src and src.group(2) == "Dockers march behind a red banner"
        assert 'alt="Estibadores en marcha"' in spanish
        assert 'alt="Dockers march behind a red banner"' in german  # English when none given
        served = await visitor.get(src.group(1))
        assert served.status_code == 200 and served.content == image
        assert served.headers["content-type"] == "image/png"
        assert "immutable" in served.headers["cache-control"]
        assert (await visitor.get("/media/call/../secret_key")).status_code == 404
        assert (await visitor.get("/media/call/nothing.png")).status_code == 404

    async with logged_in(node, create=False) as http:
        page = await http.get("/admin/call")
        token = csrf_from(page.text)
        assert 'value="Estibadores en marcha"' in page.text
        # The alt texts alone change; the image stays.
        changed = await http.post(
            "/admin/call/image",
            data={"csrf_token": token, "alt-en": "Dockers on the march"},
            files={"image": ("", b"", "application/octet-stream")},
            timeout=120,
        )
        assert changed.status_code == 303
        assert list(directory.iterdir()) == stored
        # Another image replaces the file: the old one is gone, the new one has a new name.
        other = png(width=3)
        replaced = await http.post(
            "/admin/call/image",
            data={"csrf_token": token, "alt-en": "Dockers on the march"},
            files={"image": ("other.png", other, "image/png")},
            timeout=120,
        )
        assert replaced.status_code == 303
        [now] = list(directory.iterdir())
        assert now != stored[0] and now.read_bytes() == other
        async with httpx.AsyncClient(base_url=node.base_url) as visitor:
            spanish = (await visitor.get("/?lang=es")).text
        assert f'src="/media/call/{now.name}" alt="Dockers on the march"' in spanish
        removed = await http.post("/admin/call/image/remove", data={"csrf_token": token})
        assert removed.status_code == 303
    assert await count(node, CallImage) == 0 and not any(directory.iterdir())
    async with httpx.AsyncClient(base_url=node.base_url) as visitor:
        assert "call-image" not in (await visitor.get("/")).text
