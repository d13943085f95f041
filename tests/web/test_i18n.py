"""Pages in the visitor's language, over real HTTP; and catalogs that stay complete.

`?lang=` (remembered in a cookie) > the `lang` cookie > Accept-Language > English. Servers
asking for ActivityStreams, feeds and the inbox get exactly what they got before.
"""

from __future__ import annotations

import asyncio
import io
import re
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import httpx
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from actors import alerts, events, solidarity_days
from web import i18n

ROOT = Path(__file__).resolve().parents[2]
LOCALES = ROOT / "web" / "locales"
LANGUAGES = ("es", "fr", "pt", "de")
HTML_LANG = re.compile(r'<html lang="([a-z-]+)">')


def client(node, **kwargs) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=node.base_url, follow_redirects=False, **kwargs)


def html_lang(text: str) -> str:
    match = HTML_LANG.search(text)
    assert match, "no <html lang> in the page"
    return match.group(1)


async def test_accept_language_gives_the_home_page_in_spanish(start_node):
    node = await start_node("alpha")
    async with client(node) as http:
        page = await http.get("/", headers={"Accept-Language": "es-ES,es;q=0.9,en;q=0.5"})
    assert page.status_code == 200
    assert html_lang(page.text) == "es"
    assert "Este nodo publica en el fediverso las acciones de sus organizaciones." in page.text
    assert "<h2>Organizaciones</h2>" in page.text
    assert '<a href="/days">Jornadas de Solidaridad</a>' in page.text
    assert "Parte de la Red Internacional de Solidaridad Obrera." in page.text
    assert "Coming up" not in page.text
    assert page.headers["content-language"] == "es"
    vary = [v.strip() for v in page.headers["vary"].split(",")]
    assert "Accept-Language" in vary and vary.count("Cookie") == 1
    assert "set-cookie" not in page.headers or "lang=" not in page.headers["set-cookie"]


async def test_the_lang_parameter_is_remembered_in_a_cookie(start_node):
    node = await start_node("alpha")
    async with client(node) as http:
        chosen = await http.get("/days?lang=fr", headers={"Accept-Language": "de"})
        assert html_lang(chosen.text) == "fr"
        assert "<h1>Journées mensuelles de solidarité ouvrière</h1>" in chosen.text
        cookie = next(c for c in chosen.headers.get_list("set-cookie") if c.startswith("lang="))
        assert cookie.startswith("lang=fr;")
        assert "samesite=lax" in cookie.lower()
        assert f"max-age={i18n.COOKIE_MAX_AGE}" in cookie.lower()
        assert "path=/" in cookie.lower()

        # The next page, without the parameter and with a browser asking for German.
        following = await http.get("/actions", headers={"Accept-Language": "de"})
        assert html_lang(following.text) == "fr"
        assert "<h1>Prochaines actions et assemblées</h1>" in following.text
        assert "Accept-Language" in following.headers["vary"]

        # The parameter wins over the cookie, and replaces it.
        switched = await http.get("/actions?lang=pt")
        assert html_lang(switched.text) == "pt"
        assert http.cookies["lang"] == "pt"


async def test_unknown_languages_fall_back_to_english(start_node):
    node = await start_node("alpha")
    async with client(node) as http:
        japanese = await http.get("/", headers={"Accept-Language": "ja-JP,ja;q=0.9"})
        assert html_lang(japanese.text) == "en"
        assert "<h2>Coming up</h2>" in japanese.text
        nothing = await http.get("/")
        assert html_lang(nothing.text) == "en"
        unknown = await http.get("/?lang=xx")
        assert html_lang(unknown.text) == "en"
        assert "lang" not in http.cookies
    async with client(node, cookies={"lang": "zz"}) as http:
        assert html_lang((await http.get("/")).text) == "en"


async def test_regional_variants_map_to_the_language(start_node):
    node = await start_node("alpha")
    async with client(node) as http:
        brazil = await http.get("/", headers={"Accept-Language": "pt-BR,pt;q=0.9,en;q=0.8"})
        assert html_lang(brazil.text) == "pt"
        assert "<h2>Organizações</h2>" in brazil.text
        latin_america = await http.get("/", headers={"Accept-Language": "es-419"})
        assert html_lang(latin_america.text) == "es"
        # The first language the node speaks, in the order of the visitor's preference.
        swiss = await http.get("/", headers={"Accept-Language": "rm, de-CH;q=0.8, fr;q=0.9"})
        assert html_lang(swiss.text) == "fr"
        assert html_lang((await http.get("/?lang=pt-BR")).text) == "pt"
        assert http.cookies["lang"] == "pt"


def test_accept_language_is_read_by_quality():
    assert i18n.preferences("en;q=0.3, de-AT, fr;q=0.7, *;q=0.1, es;q=0") == [
        "de-AT",
        "fr",
        "en",
    ]
    assert i18n.preferences("") == []
    assert i18n.preferences("de;q=nonsense, pt") == ["pt"]


async def test_the_login_page_is_translated(start_node):
    node = await start_node("alpha")
    async with client(node) as http:
        page = await http.get("/admin/login", headers={"Accept-Language": "de"})
    assert page.status_code == 200
    assert html_lang(page.text) == "de"
    assert "<title>Anmelden — " in page.text
    assert "Benutzername" in page.text and "Passwort" in page.text
    assert '<button type="submit">Anmelden</button>' in page.text


async def test_the_switcher_links_every_language_on_the_same_page(start_node):
    node = await start_node("alpha")
    async with client(node) as http:
        page = await http.get("/actions?x=1&lang=es")
    switcher = page.text.split('<nav class="languages"', 1)[1].split("</nav>", 1)[0]
    names = re.findall(r'hreflang="([a-z]+)"[^>]*>(?:<strong>)?([^<]+)<', switcher)
    assert dict(names) == {
        "de": "Deutsch",
        "en": "English",
        "es": "Español",
        "fr": "Français",
        "pt": "Português",
    }
    assert 'href="/actions?x=1&amp;lang=de"' in switcher
    assert 'hreflang="es" aria-current="true"><strong>Español</strong></a>' in switcher
    assert switcher.count("aria-current") == 1
    async with client(node) as http:
        elsewhere = await http.get(node.url("//elsewhere.example/x"))
    assert 'href="/elsewhere.example/x?lang=de"' in elsewhere.text


async def test_concurrent_pages_each_keep_their_language(start_node):
    node = await start_node("alpha")
    wanted = {"en": "<h2>Coming up</h2>", "es": "<h2>Próximamente</h2>", "de": "<h2>Demnächst</h2>"}
    wanted |= {"fr": "<h2>À venir</h2>", "pt": "<h2>Em breve</h2>"}
    async with client(node) as http:
        langs = list(wanted) * 8
        pages = await asyncio.gather(
            *(http.get("/", headers={"Accept-Language": lang}) for lang in langs)
        )
    for lang, page in zip(langs, pages, strict=True):
        assert html_lang(page.text) == lang
        assert wanted[lang] in page.text


async def test_the_day_page_speaks_german_dates_and_countries(start_node):
    node = await start_node("alpha")
    day = await solidarity_days.declare(
        node.federation,
        solidarity_days.DayInput(
            day=date(2027, 3, 8), theme="Wohnen", slogan="Keine Räumungen", hashtag="Wohnen"
        ),
    )
    await events.publish(
        node.federation,
        events.EventInput(
            title="Mietendemo",
            kind="march",
            starts=datetime(2027, 3, 8, 11, 0),
            ends=datetime(2027, 3, 8, 14, 0),
            timezone="Europe/Berlin",
            place_name="Alexanderplatz",
            city="Berlin",
            country="DE",
            solidarity_day_uri=day.uri,
        ),
        category="action",
    )
    async with client(node) as http:
        german = await http.get(day.uri, headers={"Accept-Language": "de-DE"})
        english = await http.get(day.uri)
        days = await http.get("/days", headers={"Accept-Language": "es"})
    assert "Monatlicher Tag der Arbeitersolidarität · Montag, 8. März 2027" in german.text
    assert "<h3>Deutschland (1)</h3>" in german.text
    assert "Demozug" in german.text and "1 Aktion" in german.text
    assert "Monday, March 8, 2027" in english.text and "<h3>Germany (1)</h3>" in english.text
    assert "lunes, 8 de marzo de 2027" in days.text


async def test_an_alert_reads_in_the_visitors_language(start_node):
    """The place and what is asked are worded on the page, in its language; the Note for
    Mastodon keeps the words it was raised with."""
    node = await start_node("alpha")
    alert = await alerts.raise_alert(
        node.federation,
        alerts.AlertInput(
            title="Dock strike attacked",
            text="Police charged the picket.",
            country="DE",
            region="Hamburg",
            asks=["donations", "messages"],
        ),
    )
    spanish = {"Accept-Language": "es"}
    async with httpx.AsyncClient() as http:
        page = (await http.get(alert.uri, headers=spanish)).text
        home = (await http.get(node.url("/"), headers=spanish)).text
        note = (await http.get(alert.uri, headers={"Accept": "application/activity+json"})).json()
    assert "Hamburg, Alemania" in page and "Hamburg, Alemania" in home  # the banner too
    assert "donaciones a la caja de resistencia, mensajes de solidaridad" in page
    assert "Germany" in note["content"] and "donations to the strike fund" in note["content"]


async def test_activitypub_and_feeds_are_untouched(start_node):
    node = await start_node("alpha")
    as2 = {"Accept": "application/activity+json"}
    async with client(node) as http:
        for path in ("/actors/alpha", "/actors/alpha?lang=es", "/events.ics", "/actions.atom"):
            plain = await http.get(path, headers=as2)
            spanish = await http.get(path, headers={**as2, "Accept-Language": "es"})
            assert plain.status_code == spanish.status_code == 200, path
            assert _stable(spanish.content) == _stable(plain.content), path
            assert "content-language" not in spanish.headers, path
            assert "Accept-Language" not in spanish.headers.get("vary", ""), path
            assert "lang=" not in spanish.headers.get("set-cookie", ""), path
        assert "lang" not in http.cookies


def _stable(body: bytes) -> bytes:
    """Without the feeds' timestamps of when they were generated."""
    return re.sub(rb"DTSTAMP:[0-9TZ]+|<updated>[^<]*</updated>", b"", body)


def _catalog(path: Path, lang: str | None = None):
    with path.open("rb") as source:
        return read_po(source, locale=lang)


def _ids(catalog) -> set:
    return {message.id if isinstance(message.id, str) else tuple(message.id) for message in catalog}


def test_every_catalog_translates_every_message_and_compiles():
    template = _ids(_catalog(LOCALES / "messages.pot")) - {""}
    assert len(template) > 300
    found = {path.parts[-3]: path for path in LOCALES.glob("*/LC_MESSAGES/messages.po")}
    assert set(LANGUAGES) <= set(found)
    for lang, path in sorted(found.items()):
        catalog = _catalog(path, lang)
        assert _ids(catalog) - {""} == template, f"{lang}: run pybabel update (README)"
        untranslated = [
            m.id
            for m in catalog
            if m.id and not (all(m.string) if isinstance(m.string, tuple) else m.string)
        ]
        assert not untranslated, f"{lang}: untranslated {untranslated[:5]}"
        fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
        assert not fuzzy, f"{lang}: fuzzy entries to review {fuzzy[:5]}"
        # babel's checkers: the same placeholders as the English, the right plural forms.
        problems = [(m.id, [str(e) for e in errors]) for m, errors in catalog.check()]
        assert not problems, f"{lang}: {problems[:5]}"
        write_mo(io.BytesIO(), catalog)


def test_the_template_is_up_to_date_with_the_sources(tmp_path):
    extracted = tmp_path / "messages.pot"
    pybabel = [sys.executable, "-m", "babel.messages.frontend"]
    subprocess.run(
        [*pybabel, "extract", "-F", "babel.cfg", "-o", str(extracted), "."],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    fresh = _ids(_catalog(extracted))
    committed = _ids(_catalog(LOCALES / "messages.pot"))
    assert fresh - committed == set(), "new strings: re-extract the catalogs (README, Languages)"
    assert committed - fresh == set(), "strings gone: re-extract the catalogs (README, Languages)"
