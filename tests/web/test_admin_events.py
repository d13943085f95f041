"""Admin pages for actions and assemblies, over real HTTP and in a real browser."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from babel import Locale
from babel.dates import get_timezone_location
from playwright.async_api import async_playwright
from sqlalchemy import func, select
from test_admin import PASSWORD, client, csrf_from, login

from actors import admins, events
from actors.models import Event
from actors.organizations import create_organization

AS2 = {"Accept": "application/activity+json"}
CHROMIUM = "/usr/bin/chromium"
SHOTS = Path("/tmp/iwsn-shots")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def action_form(csrf: str, **changes: str) -> dict[str, str]:
    form = {
        "csrf_token": csrf,
        "category": "action",
        "title": "May Day march",
        "kind": "march",
        "starts": "2027-05-01T10:00",
        "ends": "2027-05-01T13:00",
        "timezone": "Europe/Lisbon",
        "place_name": "Praça do Comércio",
        "street_address": "",
        "postal_code": "1100-148",
        "city": "Lisboa",
        "country": "PT",
        "latitude": "38.7077",
        "longitude": "-9.1365",
        "online_url": "",
        "tags": "#MayDay, GreveGeral",
        "description": "Bring **banners**.",
        "contact": "lisboa@example.org",
        "language": "pt",
    }
    form.update(changes)
    return form


@asynccontextmanager
async def logged_in(node, *, create: bool = True) -> AsyncIterator[httpx.AsyncClient]:
    if create:
        await admins.create_admin(node.db, "organizer", PASSWORD)
    async with client(node) as http:
        response = await login(http, "organizer", PASSWORD)
        assert response.status_code == 303
        yield http


async def new_form_token(http: httpx.AsyncClient, category: str = "action") -> str:
    page = await http.get(f"/admin/events/new?category={category}")
    assert page.status_code == 200, page.text
    return csrf_from(page.text)


async def local_events(node) -> int:
    async with node.db.read() as session:
        return (await session.execute(select(func.count()).select_from(Event))).scalar_one()


async def event_at(node, path: str) -> Event:
    async with node.db.read() as session:
        return (
            await session.execute(select(Event).where(Event.uri == node.url(path)))
        ).scalar_one()


def may_day(**changes) -> events.EventInput:
    values = dict(
        title="May Day march",
        kind="march",
        starts=datetime(2027, 5, 1, 10, 0),
        ends=datetime(2027, 5, 1, 13, 0),
        timezone="Europe/Lisbon",
        place_name="Praça do Comércio",
        city="Lisboa",
        country="PT",
        tags=["MayDay"],
    )
    values.update(changes)
    return events.EventInput(**values)


async def test_publishing_an_action_from_the_form(start_node):
    node = await start_node("workers")
    async with logged_in(node) as http:
        dashboard = await http.get("/admin")
        assert 'href="/admin/events"' in dashboard.text
        form = await http.get("/admin/events/new?category=action")
        assert form.status_code == 200
        for field in ('type="datetime-local"', 'name="timezone"', 'name="country"'):
            assert field in form.text
        # Human words for kinds and countries; the node has one organization, so no choice.
        assert '<option value="march">March</option>' in form.text
        assert '<option value="PT">Portugal</option>' in form.text
        # A node's first action: no zone preselected, the organizer must choose one.
        assert '<option value="" selected>— choose a time zone —</option>' in form.text
        assert 'name="timezone" required' in form.text
        assert '<option value="Europe/Lisbon">Portugal — Lisbon</option>' in form.text
        assert 'name="org"' not in form.text
        assert 'name="agenda"' not in form.text

        created = await http.post("/admin/events/new", data=action_form(csrf_from(form.text)))
        assert created.status_code == 303, created.text
        path = created.headers["location"]
        assert re.fullmatch(r"/actions/[0-9a-f-]{36}", path)

        page = await http.get(path)
        listing = await http.get("/admin/events")
    assert page.status_code == 200
    assert "May Day march" in page.text
    assert "Praça do Comércio" in page.text
    assert "<strong>banners</strong>" in page.text
    # In the language of the event: the city and the country as Babel names them in Portuguese.
    text = html.unescape(page.text)
    city = get_timezone_location("Europe/Lisbon", locale="pt", return_city=True)
    assert f"{city}, {Locale.parse('pt').territories['PT']}" in text
    assert "May Day march" in listing.text
    assert "announced" in listing.text

    async with httpx.AsyncClient() as anonymous:
        document = (await anonymous.get(node.url(path), headers=AS2)).json()
    # Lisbon is on summer time (UTC+1) on May Day.
    assert document["startTime"] == "2027-05-01T10:00:00+01:00"
    assert document["endTime"] == "2027-05-01T13:00:00+01:00"
    assert document["timezone"] == "Europe/Lisbon"
    assert document["kind"] == "march"
    assert document["inLanguage"] == "pt"
    assert document["location"]["address"]["addressCountry"] == "PT"
    assert document["location"]["address"]["postalCode"] == "1100-148"
    assert document["location"]["latitude"] == pytest.approx(38.7077)
    assert {tag["name"] for tag in document["tag"]} == {"#MayDay", "#GreveGeral"}
    # The next form starts from the zone, country and language just used.
    async with logged_in(node, create=False) as http:
        again = await http.get("/admin/events/new?category=action")
    assert '<option value="PT" selected>' in again.text
    assert '<option value="pt" selected>' in again.text


async def test_invalid_input_is_shown_next_to_each_field_with_the_values_kept(start_node):
    node = await start_node("workers")
    async with logged_in(node) as http:
        csrf = await new_form_token(http)
        response = await http.post(
            "/admin/events/new",
            data=action_form(
                csrf,
                title="   ",
                ends="2027-05-01T09:00",
                city="",
                latitude="north",
                tags="#MayDay may-day",
                description="Bring <em>banners</em> & flags",
            ),
        )
        unreadable = await http.post(
            "/admin/events/new", data=action_form(csrf, starts="", ends="soon", timezone="")
        )
    assert response.status_code == 400
    text = html.unescape(response.text)
    assert "Not saved yet." in text
    alerts = re.findall(r'<p class="field-error" role="alert" id="err-(\w+)">([^<]*)</p>', text)
    found = dict(alerts)
    assert found["title"] == "A title is required."
    assert found["ends"] == "The end must be after the start."
    assert found["location"] == "Give a place and a city, or an online link, or both."
    assert found["latitude"] == "The latitude is a number such as 38.7077."
    assert "“may-day” is not a hashtag" in found["tags"]
    assert 'aria-invalid="true" aria-describedby="hint-title err-title"' in response.text
    # What the person typed is still there, escaped.
    assert 'value="Praça do Comércio"' in response.text
    assert 'value="north"' in response.text
    assert 'value="2027-05-01T09:00"' in response.text
    assert "Bring &lt;em&gt;banners&lt;/em&gt; &amp; flags</textarea>" in response.text
    assert '<option value="march" selected>' in response.text

    assert unreadable.status_code == 400
    found = dict(re.findall(r'id="err-(\w+)">([^<]*)</p>', html.unescape(unreadable.text)))
    assert found["starts"] == "Give the date and time it starts."
    assert found["ends"] == "Write the date and time like 2027-05-01 10:00."
    assert found["timezone"] == "Choose the time zone whose clock the start and end follow."
    assert await local_events(node) == 0


async def test_form_problems_are_in_the_language_of_the_page(start_node):
    """The domain names each problem; the form words it in the page's language, numbers too."""
    node = await start_node("workers")
    async with logged_in(node) as http:
        csrf = await new_form_token(http)
        wrong = {"title": "", "ends": "2027-05-01T09:00", "country": "EU", "tags": "may-day"}
        wrong["description"] = "x" * 20_001
        german = await http.post("/admin/events/new?lang=de", data=action_form(csrf, **wrong))
        spanish = await http.post(
            "/admin/events/new?lang=es", data=action_form(csrf, starts="soon", city="")
        )
    assert german.status_code == spanish.status_code == 400
    found = dict(re.findall(r'id="err-(\w+)">([^<]*)</p>', html.unescape(german.text)))
    assert found == {
        "title": "Ein Titel ist erforderlich.",
        "ends": "Das Ende muss nach dem Beginn liegen.",
        "country": "„EU“ ist kein zweistelliger Ländercode wie PT oder BR.",
        "tags": "„may-day“ ist kein Hashtag: nur Buchstaben, Ziffern und _.",
        "description": "Die Beschreibung ist länger als 20.000 Zeichen.",
    }
    assert "Noch nicht gespeichert." in german.text
    found = dict(re.findall(r'id="err-(\w+)">([^<]*)</p>', html.unescape(spanish.text)))
    assert found == {
        "starts": "Escribe la fecha y la hora así: 2027-05-01 10:00.",
        "location": "Indica un lugar y una ciudad, o un enlace en línea, o ambas cosas.",
    }
    assert await local_events(node) == 0


async def test_what_the_domain_refuses_outside_a_form_gets_a_page_in_its_language(start_node):
    node = await start_node("workers")
    async with logged_in(node) as http:
        csrf = await new_form_token(http)
        missing = await http.get("/admin/events/999/edit?lang=es")
        gone = await http.post("/admin/events/999/cancel?lang=fr", data={"csrf_token": csrf})
        wrong = await http.get("/admin/events/new?category=party&lang=de")
        english = await http.get("/admin/events/new?category=party&lang=en")
    assert missing.status_code == 404
    assert "Esa acción o asamblea no existe en este nodo." in missing.text
    assert gone.status_code == 404
    assert "Cette action ou assemblée n’existe pas sur ce nœud." in html.unescape(gone.text)
    assert wrong.status_code == english.status_code == 400
    assert "<p>Wähle eine Aktion oder eine Versammlung.</p>" in wrong.text
    assert "<p>Choose an action or an assembly.</p>" in english.text


async def test_form_reads_what_people_paste_and_type(start_node):
    node = await start_node("workers")
    async with logged_in(node) as http:
        csrf = await new_form_token(http)
        created = await http.post(
            "/admin/events/new",
            data=action_form(
                csrf,
                latitude="38.7077, -9.1365",
                longitude="",
                online_url="meet.jit.si/maydaylisboa",
                starts="2027-05-01 10:00",
            ),
        )
    assert created.status_code == 303, created.text
    event = await event_at(node, created.headers["location"])
    assert (event.latitude, event.longitude) == (pytest.approx(38.7077), pytest.approx(-9.1365))
    assert event.online_url == "https://meet.jit.si/maydaylisboa"


async def test_editing_changes_the_title_and_keeps_the_rest(start_node):
    node = await start_node("workers")
    event = await events.publish(node.federation, may_day(), category="action")
    async with logged_in(node) as http:
        form = await http.get(f"/admin/events/{event.id}/edit")
        assert form.status_code == 200
        for kept in (
            'value="May Day march"',
            'value="2027-05-01T10:00"',
            'value="2027-05-01T13:00"',
            '<option value="Europe/Lisbon" selected>',
            '<option value="PT" selected>',
            'value="#MayDay"',
        ):
            assert kept in form.text, kept
        values = dict(
            re.findall(r'<input [^>]*name="(\w+)"[^>]*? value="([^"]*)"', html.unescape(form.text))
        )
        values.update(
            {
                "title": "May Day march and picnic",
                "kind": "march",
                "timezone": "Europe/Lisbon",
                "country": "PT",
                "description": "",
            }
        )
        saved = await http.post(f"/admin/events/{event.id}/edit", data=values)
        assert saved.status_code == 303, saved.text
        path = saved.headers["location"]
        page = await http.get(path)
        invalid = await http.post(
            f"/admin/events/{event.id}/edit", data={**values, "ends": "2027-04-30T10:00"}
        )
        missing = await http.get("/admin/events/99999/edit")
    assert path == event.uri.removeprefix(node.base_url)
    assert "May Day march and picnic" in page.text
    assert invalid.status_code == 400
    assert "The end must be after the start." in invalid.text
    assert missing.status_code == 404
    async with httpx.AsyncClient() as anonymous:
        document = (await anonymous.get(event.uri, headers=AS2)).json()
    assert document["name"] == "May Day march and picnic"
    assert document["startTime"] == "2027-05-01T10:00:00+01:00"
    assert document["location"]["name"] == "Praça do Comércio"


async def test_cancel_and_delete(start_node):
    node = await start_node("workers")
    event = await events.publish(node.federation, may_day(), category="action")
    async with logged_in(node) as http:
        listing = await http.get("/admin/events")
        assert f'action="/admin/events/{event.id}/cancel"' in listing.text
        csrf = csrf_from(listing.text)

        cancelled = await http.post(f"/admin/events/{event.id}/cancel", data={"csrf_token": csrf})
        assert cancelled.status_code == 303
        assert cancelled.headers["location"] == "/admin/events"
        after_cancel = await http.get("/admin/events")
        page = await http.get(event.uri)

        deleted = await http.post(f"/admin/events/{event.id}/delete", data={"csrf_token": csrf})
        assert deleted.status_code == 303
        after_delete = await http.get("/admin/events")
        gone = await http.get(event.uri)
        again = await http.post(f"/admin/events/{event.id}/delete", data={"csrf_token": csrf})

    text = html.unescape(after_cancel.text)
    assert "“May Day march” is now marked as cancelled." in text
    assert f'action="/admin/events/{event.id}/cancel"' not in after_cancel.text
    assert "This event is cancelled." in page.text
    assert "“May Day march” is deleted." in html.unescape(after_delete.text)
    assert f"/admin/events/{event.id}/edit" not in after_delete.text
    assert gone.status_code == 410
    assert again.status_code == 404


async def test_an_assembly_with_agenda_sections_and_capacity(start_node):
    node = await start_node("workers")
    await create_organization(node.federation, "dockers", display_name="Dockers' Union")
    async with logged_in(node) as http:
        form = await http.get("/admin/events/new?category=assembly")
        assert 'name="agenda"' in form.text
        assert 'name="kind" value="other"' in form.text
        # Several organizations: the organizer chooses which one announces it.
        assert '<option value="dockers">Dockers&#39; Union (@dockers)</option>' in form.text
        csrf = csrf_from(form.text)
        too_small = await http.post(
            "/admin/events/new",
            data=action_form(
                csrf, category="assembly", kind="other", org="dockers", capacity="zero"
            ),
        )
        created = await http.post(
            "/admin/events/new",
            data=action_form(
                csrf,
                category="assembly",
                kind="other",
                org="dockers",
                title="Port workers' assembly",
                agenda="Wages\nSafety",
                sections="dockers, crane operators",
                capacity="120",
            ),
        )
        assert created.status_code == 303, created.text
        path = created.headers["location"]
        listing = await http.get("/admin/events")
    assert too_small.status_code == 400
    assert "Write the number of places as a whole number" in too_small.text
    assert path.startswith("/assemblies/")
    assert "Dockers&#39; Union" in listing.text
    async with httpx.AsyncClient() as anonymous:
        document = (await anonymous.get(node.url(path), headers=AS2)).json()
    assert document["attributedTo"] == node.url("/actors/dockers")
    assert document["maximumAttendeeCapacity"] == 120
    assert document["sections"] == ["dockers", "crane operators"]
    assert document["agenda"] == "Wages\nSafety"


async def test_posts_without_the_csrf_token_are_refused(start_node):
    node = await start_node("workers")
    event = await events.publish(node.federation, may_day(), category="action")
    async with logged_in(node) as http:
        csrf = await new_form_token(http)
        form = action_form(csrf)
        del form["csrf_token"]
        responses = [
            await http.post("/admin/events/new", data=form),
            await http.post("/admin/events/new", data={**form, "csrf_token": "forged"}),
            await http.post(f"/admin/events/{event.id}/edit", data={**form, "title": "Hijacked"}),
            await http.post(f"/admin/events/{event.id}/cancel", data={}),
            await http.post(f"/admin/events/{event.id}/delete", data={"csrf_token": "forged"}),
        ]
    assert [r.status_code for r in responses] == [403] * 5
    assert await local_events(node) == 1
    stored = await event_at(node, event.uri.removeprefix(node.base_url))
    assert (stored.title, stored.status, stored.deleted_at) == ("May Day march", "scheduled", None)


async def test_not_logged_in_leads_to_the_login(start_node):
    node = await start_node("workers")
    event = await events.publish(node.federation, may_day(), category="action")
    async with client(node) as http:
        for method, path in (
            ("GET", "/admin/events"),
            ("GET", "/admin/events/new?category=action"),
            ("GET", f"/admin/events/{event.id}/edit"),
            ("POST", "/admin/events/new"),
            ("POST", f"/admin/events/{event.id}/cancel"),
            ("POST", f"/admin/events/{event.id}/delete"),
        ):
            response = await http.request(
                method, path, data={"title": "x"} if method == "POST" else None
            )
            assert response.status_code == 303, (method, path)
            assert response.headers["location"].startswith("/admin/login?next=/admin/events"), path
    stored = await event_at(node, event.uri.removeprefix(node.base_url))
    assert (stored.status, stored.deleted_at) == ("scheduled", None)


@pytest.fixture
async def browser():
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


async def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


async def test_an_organizer_announces_an_action_in_the_browser(start_node, browser):
    node = await start_node("workers")
    await admins.create_admin(node.db, "organizer", PASSWORD)
    context = await browser.new_context(viewport={"width": 1024, "height": 768}, locale="en-US")
    page = await context.new_page()

    await page.goto(node.url("/admin/events"))
    await page.wait_for_url(node.url("/admin/login?next=/admin/events"))
    await page.get_by_label("Username").fill("organizer")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(node.url("/admin/events"))
    await shot(page, "20-admin-events-empty")

    await page.get_by_role("link", name="New action").click()
    await page.wait_for_url(node.url("/admin/events/new?category=action"))
    await shot(page, "21-event-form-empty")

    await page.get_by_label("Title").fill("General strike rally")
    await page.get_by_label("Kind of action").select_option(label="Rally")
    await page.get_by_label("Starts").fill("2027-11-14T18:30")
    await page.get_by_label("Ends").fill("2027-11-14T21:00")
    # By the IANA name: how Babel spells the city ("Sao Paulo", "São Paulo") varies by release.
    await page.get_by_label("Time zone").select_option(value="America/Sao_Paulo")
    await page.get_by_label("Place", exact=True).fill("Praça da Sé")
    await page.get_by_label("City or town").fill("São Paulo")
    await page.get_by_label("Country").select_option(label="Brazil")
    await page.get_by_label("Hashtags").fill("#GreveGeral #14N")
    await page.get_by_label("Description", exact=True).fill(
        "Everyone out.\n\n- bring flags\n- bring friends"
    )
    # A mistake first: the end before the start.
    await page.get_by_label("Ends").fill("2027-11-14T17:00")
    await page.get_by_role("button", name="Publish").click()
    await page.wait_for_load_state()
    await shot(page, "22-event-form-problem")
    alert = page.locator("#err-ends")
    assert await alert.inner_text() == "The end must be after the start."
    assert await alert.get_attribute("role") == "alert"
    assert await page.get_by_label("Place", exact=True).input_value() == "Praça da Sé"
    assert await page.get_by_label("Time zone").input_value() == "America/Sao_Paulo"

    await page.get_by_label("Ends").fill("2027-11-14T21:00")
    await page.get_by_role("button", name="Publish").click()
    await page.wait_for_url(re.compile(re.escape(node.url("/actions/")) + r"[0-9a-f-]{36}$"))
    await shot(page, "23-event-page")
    assert await page.locator("h1").inner_text() == "General strike rally"
    main = " ".join((await page.locator("main").inner_text()).split())
    assert "Praça da Sé" in main
    city = get_timezone_location("America/Sao_Paulo", locale="en", return_city=True)
    assert "Sunday, November 14, 2027, 6:30 PM – 9:00 PM · " in main
    zone_words = main.split(" · ", 1)[1]
    assert city in zone_words and Locale.parse("en").territories["BR"] in zone_words
    assert "#GreveGeral" in main

    await page.goto(node.url("/admin/events"))
    await page.get_by_text("Cancel this action…").click()
    await shot(page, "24-admin-events-confirm-cancel")
    await page.get_by_role("button", name="Yes, cancel “General strike rally”").click()
    await page.wait_for_url(node.url("/admin/events"))
    await shot(page, "25-admin-events-cancelled")
    assert "is now marked as cancelled" in await page.locator("main").inner_text()

    # On a phone: the assembly form and the list still read top to bottom.
    await page.set_viewport_size({"width": 390, "height": 844})
    await shot(page, "26-admin-events-phone")
    await page.get_by_role("link", name="New Workers Assembly").click()
    await page.wait_for_url(node.url("/admin/events/new?category=assembly"))
    await shot(page, "27-assembly-form-phone")
    assert await page.get_by_label("Kind of action").count() == 0
    assert await page.get_by_label("Time zone").input_value() == "America/Sao_Paulo"
    assert await page.get_by_label("Country").input_value() == "BR"
    await context.close()
