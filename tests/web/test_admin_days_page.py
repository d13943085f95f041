"""Admin pages for Monthly Workers Solidarity Days over real HTTP: declare, edit, delete; and the
coming days on the public organization page."""

from __future__ import annotations

import html
from datetime import UTC, date, datetime, timedelta

import httpx
from sqlalchemy import func, select
from test_admin import client, csrf_from
from test_admin_events import logged_in

from actors import solidarity_days
from actors.models import SolidarityDay
from actors.organizations import create_organization

AS2 = {"Accept": "application/activity+json"}
SOON = date.today() + timedelta(days=40)
LATER = date.today() + timedelta(days=70)


def day_form(csrf: str, **changes) -> dict:
    form = {
        "csrf_token": csrf,
        "date": SOON.isoformat(),
        "theme": "Housing is a right",
        "slogan": "No evictions!",
        "hashtag": "#HousingForAll",
        "description": "Tenants' unions everywhere **march** on the same day.",
    }
    form.update(changes)
    return form


async def form_token(http: httpx.AsyncClient, path: str = "/admin/days/new") -> str:
    page = await http.get(path)
    assert page.status_code == 200, page.text
    return csrf_from(page.text)


async def count_days(node) -> int:
    async with node.db.read() as session:
        return (await session.execute(select(func.count()).select_from(SolidarityDay))).scalar_one()


async def only_day(node) -> SolidarityDay:
    async with node.db.read() as session:
        return (await session.execute(select(SolidarityDay))).scalar_one()


async def test_a_day_declared_from_the_form_is_listed_public_and_served(start_node):
    node = await start_node("alpha")
    async with logged_in(node) as http:
        dashboard = await http.get("/admin")
        assert 'href="/admin/days"' in dashboard.text
        listing = await http.get("/admin/days")
        assert listing.status_code == 200
        assert 'href="/admin/days/new"' in listing.text
        assert "Declare a solidarity day" in listing.text

        page = await http.get("/admin/days/new")
        for name in ("date", "theme", "slogan", "hashtag", "description"):
            assert f'name="{name}"' in page.text
        assert 'name="org"' not in page.text  # one organization: nothing to choose
        response = await http.post("/admin/days/new", data=day_form(csrf_from(page.text)))
        assert response.status_code == 303
        assert response.headers["location"] == "/admin/days"

        day = await only_day(node)
        listing = await http.get("/admin/days")
        text = html.unescape(listing.text)
        # The notice says what happened once, and links to the public page.
        assert "“Housing is a right” is declared" in text
        assert f'href="{day.uri}"' in listing.text
        assert f'href="/admin/days/{day.id}/edit"' in listing.text
        assert f'action="/admin/days/{day.id}/delete"' in listing.text
        assert "#HousingForAll" in text
        again = await http.get("/admin/days")
        assert "is declared" not in html.unescape(again.text)

    async with node.db.read() as session:
        found = await solidarity_days.by_uri(session, day.uri)
        coming = await solidarity_days.coming(session)
    assert found is not None and found.is_local
    assert (found.day, found.theme, found.slogan, found.hashtag) == (
        SOON,
        "Housing is a right",
        "No evictions!",
        "HousingForAll",
    )
    assert "<strong>march</strong>" in found.description_html
    assert [item.uri for item in coming] == [day.uri]

    async with client(node) as http:
        public = await http.get("/days")
        assert "Housing is a right" in public.text and day.uri in public.text
        document = (await http.get(day.uri, headers=AS2)).json()
    assert document["type"] == "Event" and document["eventCategory"] == "solidarity-day"
    assert document["startTime"].startswith(SOON.isoformat())


async def test_invalid_input_is_refused_with_messages_and_kept(start_node):
    node = await start_node("alpha")
    async with logged_in(node) as http:
        csrf = await form_token(http)
        bad_date = await http.post(
            "/admin/days/new", data=day_form(csrf, date="8 March", theme="Keep me")
        )
        assert bad_date.status_code == 400
        text = html.unescape(bad_date.text)
        assert "“8 March” is not a date: write it like 2027-03-08." in text
        assert 'value="8 March"' in text and 'value="Keep me"' in text  # what was typed stays
        assert 'value="No evictions!"' in text and "**march**" in text
        assert 'aria-invalid="true"' in bad_date.text

        no_theme = await http.post("/admin/days/new", data=day_form(csrf, theme="  "))
        assert no_theme.status_code == 400
        assert "A theme is required." in no_theme.text

        # Everything wrong at once is reported at once.
        several = await http.post(
            "/admin/days/new", data=day_form(csrf, date="", slogan="", hashtag="Housing for all")
        )
        assert several.status_code == 400
        text = html.unescape(several.text)
        for message in (
            "A date like 2027-03-08 is required",
            "A slogan is required",
            "not a hashtag",
        ):
            assert message in text
        assert 'value="Housing for all"' in text
    assert await count_days(node) == 0


async def test_a_day_is_edited_and_deleted_from_its_pages(start_node):
    node = await start_node("alpha")
    async with logged_in(node) as http:
        csrf = await form_token(http)
        await http.post("/admin/days/new", data=day_form(csrf))
        day = await only_day(node)

        edit = await http.get(f"/admin/days/{day.id}/edit")
        assert edit.status_code == 200
        assert f'value="{SOON.isoformat()}"' in edit.text
        assert 'value="#HousingForAll"' in edit.text
        assert f'href="{day.uri}"' in edit.text  # the public page
        invalid = await http.post(
            f"/admin/days/{day.id}/edit", data=day_form(csrf, theme="Changed", hashtag="")
        )
        assert invalid.status_code == 400 and 'value="Changed"' in invalid.text
        assert (await only_day(node)).theme == "Housing is a right"

        saved = await http.post(
            f"/admin/days/{day.id}/edit",
            data=day_form(csrf, date=LATER.isoformat(), theme="Homes, not profits"),
        )
        assert saved.status_code == 303 and saved.headers["location"] == "/admin/days"
        listing = await http.get("/admin/days")
        assert "“Homes, not profits” is saved" in html.unescape(listing.text)
        async with node.db.read() as session:
            changed = await solidarity_days.by_uri(session, day.uri)
        assert changed is not None
        assert (changed.theme, changed.day) == ("Homes, not profits", LATER)

        deleted = await http.post(f"/admin/days/{day.id}/delete", data={"csrf_token": csrf})
        assert deleted.status_code == 303 and deleted.headers["location"] == "/admin/days"
        listing = await http.get("/admin/days")
        assert "“Homes, not profits” is deleted" in html.unescape(listing.text)
        assert f"/admin/days/{day.id}/edit" not in listing.text
        assert (await http.get(f"/admin/days/{day.id}/edit")).status_code == 404
        gone = await http.post(f"/admin/days/{day.id}/delete", data={"csrf_token": csrf})
        assert gone.status_code == 404

    async with node.db.read() as session:
        assert await solidarity_days.coming(session) == []
    async with client(node) as http:
        assert "Homes, not profits" not in (await http.get("/days")).text
        assert (await http.get(day.uri)).status_code == 410


async def test_coming_days_are_listed_before_past_ones(start_node):
    node = await start_node("alpha")
    for when, theme in (
        (date(2020, 3, 8), "Long ago"),
        (LATER, "Later"),
        (date(2021, 5, 1), "Less long ago"),
        (SOON, "Soon"),
    ):
        await solidarity_days.declare(
            node.federation,
            solidarity_days.DayInput(day=when, theme=theme, slogan="S", hashtag="Tag"),
        )
    async with logged_in(node) as http:
        text = (await http.get("/admin/days")).text
    coming, past = text.split("<h2>Past</h2>")
    assert coming.index("Soon") < coming.index("Later")
    assert past.index("Less long ago") < past.index("Long ago")
    assert "Long ago" not in coming


async def test_several_organizations_choose_which_one_declares(start_node):
    node = await start_node("workers")
    await create_organization(node.federation, "dockers", display_name="Dockers' Union")
    async with logged_in(node) as http:
        page = await http.get("/admin/days/new")
        assert '<option value="dockers">Dockers&#39; Union (@dockers)</option>' in page.text
        response = await http.post(
            "/admin/days/new", data=day_form(csrf_from(page.text), org="dockers")
        )
        assert response.status_code == 303
        day = await only_day(node)
        assert day.origin_name == "Dockers' Union"
        listing = await http.get("/admin/days")
        assert "declared by Dockers&#39; Union" in listing.text
        edit = await http.get(f"/admin/days/{day.id}/edit")
        assert 'name="org"' not in edit.text and "Dockers&#39; Union" in edit.text


async def test_posts_without_csrf_are_refused(start_node):
    node = await start_node("alpha")
    async with logged_in(node) as http:
        await form_token(http)
        form = day_form("")
        del form["csrf_token"]
        assert (await http.post("/admin/days/new", data=form)).status_code == 403
        forged = await http.post("/admin/days/new", data=day_form("forged"))
        assert forged.status_code == 403
        assert await count_days(node) == 0

        day = await solidarity_days.declare(
            node.federation,
            solidarity_days.DayInput(day=SOON, theme="Kept", slogan="S", hashtag="Tag"),
        )
        edit = await http.post(f"/admin/days/{day.id}/edit", data=form)
        delete = await http.post(f"/admin/days/{day.id}/delete", data={})
        assert edit.status_code == 403 and delete.status_code == 403
    async with node.db.read() as session:
        kept = await solidarity_days.by_uri(session, day.uri)
    assert kept is not None and kept.deleted_at is None and kept.theme == "Kept"


async def test_the_pages_need_an_admin_login(start_node):
    node = await start_node("alpha")
    day = await solidarity_days.declare(
        node.federation,
        solidarity_days.DayInput(day=SOON, theme="Kept", slogan="S", hashtag="Tag"),
    )
    async with client(node) as http:
        for path in ("/admin/days", "/admin/days/new", f"/admin/days/{day.id}/edit"):
            response = await http.get(path)
            assert response.status_code == 303
            assert response.headers["location"] == f"/admin/login?next={path}"
        posted = await http.post("/admin/days/new", data=day_form("x"))
        assert posted.status_code == 303 and posted.headers["location"].startswith("/admin/login")
        deleted = await http.post(f"/admin/days/{day.id}/delete", data={"csrf_token": "x"})
        assert deleted.status_code == 303
    assert await count_days(node) == 1
    async with node.db.read() as session:
        assert (await solidarity_days.by_uri(session, day.uri)).deleted_at is None


async def test_the_organization_page_names_coming_days_from_here_and_elsewhere(start_node):
    node = await start_node("alpha")
    async with client(node) as http:
        quiet = await http.get("/actors/alpha")
    assert quiet.status_code == 200 and "Coming solidarity days" not in quiet.text

    ours = await solidarity_days.declare(
        node.federation,
        solidarity_days.DayInput(day=LATER, theme="Homes for all", slogan="S", hashtag="Homes"),
    )
    await solidarity_days.declare(
        node.federation,
        solidarity_days.DayInput(day=date(2020, 1, 1), theme="Over", slogan="S", hashtag="Over"),
    )
    now = datetime.now(UTC)
    async with node.db.transaction() as session:
        theirs = SolidarityDay(
            uri="https://elsewhere.example/days/1",
            url="https://elsewhere.example/days/1",
            is_local=False,
            origin_actor_uri="https://elsewhere.example/actors/dockers",
            origin_host="elsewhere.example",
            origin_name="Dockers of Elsewhere",
            day=SOON,
            theme="Safe ports",
            slogan="No more deaths",
            hashtag="SafePorts",
            published_at=now,
            updated_at=now,
        )
        session.add(theirs)
    async with node.db.read() as session:
        theirs = await solidarity_days.by_uri(session, "https://elsewhere.example/days/1")

    async with client(node) as http:
        page = await http.get("/actors/alpha")
    assert page.status_code == 200
    section = page.text.split("Coming solidarity days", 1)[1]
    assert section.index("Safe ports") < section.index("Homes for all")  # soonest first
    assert f'href="/days/remote/{theirs.id}"' in section
    assert f'href="{ours.uri}"' in section
    assert "declared by <bdi>Dockers of Elsewhere</bdi>" in section and "#SafePorts" in section
    assert "Over" not in section  # past days are not coming
