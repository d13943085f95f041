"""Admin pages for solidarity alerts over real HTTP: raise, update, resolve, withdraw, relaying."""

from __future__ import annotations

import html

import feedparser
import httpx
from sqlalchemy import func, select
from test_admin import csrf_from
from test_admin_events import logged_in

from actors import alert_relaying, alerts
from actors.models import Alert

AS2 = {"Accept": "application/activity+json"}


def alert_form(csrf: str, **changes) -> dict:
    form = {
        "csrf_token": csrf,
        "title": "Garment workers' general strike attacked",
        "text": "Police fired on striking garment workers in Ashulia this morning.",
        "country": "BD",
        "region": "Ashulia, Dhaka",
        "asks": ["messages", "donations"],
        "ask_text": "Send messages to the brands.",
        "urgency": "urgent",
        "links": "https://example.org/report\r\nhttps://example.org/fund",
        "tags": "#GarmentStrike, Ashulia",
        "language": "en",
        "expires": "2099-12-01",
    }
    form.update(changes)
    return form


async def form_token(http: httpx.AsyncClient) -> str:
    page = await http.get("/admin/alerts/new")
    assert page.status_code == 200, page.text
    return csrf_from(page.text)


async def only_alert(node) -> Alert:
    async with node.db.read() as session:
        return (await session.execute(select(Alert))).scalar_one()


async def count_alerts(node) -> int:
    async with node.db.read() as session:
        return (await session.execute(select(func.count()).select_from(Alert))).scalar_one()


async def test_an_alert_raised_from_the_form_is_listed_and_served_as_a_note(start_node):
    node = await start_node("alpha")
    async with logged_in(node) as http:
        dashboard = await http.get("/admin")
        assert 'href="/admin/alerts"' in dashboard.text
        page = await http.get("/admin/alerts/new")
        for name in (
            'name="title"',
            'name="text"',
            'name="country"',
            'name="region"',
            'value="solidarity_strikes"',
            'name="ask_text"',
            'name="urgency"',
            'name="links"',
            'name="tags"',
            'name="language"',
            'name="expires"',
        ):
            assert name in page.text
        assert "<script" not in page.text
        response = await http.post("/admin/alerts/new", data=alert_form(csrf_from(page.text)))
        assert response.status_code == 303, response.text
        assert response.headers["location"] == "/admin/alerts"
        listing = await http.get("/admin/alerts")
    alert = await only_alert(node)
    assert "Garment workers" in html.unescape(listing.text)
    assert alert.uri in listing.text and "is raised" in listing.text
    assert (alert.country, alert.region, alert.asks, alert.hashtags) == (
        "BD",
        "Ashulia, Dhaka",
        ["messages", "donations"],
        ["GarmentStrike", "Ashulia"],
    )
    assert alert.links == ["https://example.org/report", "https://example.org/fund"]
    assert alert.expires_at.isoformat() == "2099-12-02T00:00:00+00:00"
    async with httpx.AsyncClient() as http:
        document = (await http.get(alert.uri, headers=AS2)).json()
    assert document["type"] == "Note" and document["alert"] is True
    assert document["urgency"] == "urgent" and document["askText"] == "Send messages to the brands."
    assert document["contentMap"].keys() == {"en"}
    assert document["expires"] == "2099-12-02T00:00:00Z"


async def test_problems_are_shown_beside_each_field_and_what_was_typed_is_kept(start_node):
    node = await start_node("alpha")
    async with logged_in(node) as http:
        csrf = await form_token(http)
        response = await http.post(
            "/admin/alerts/new",
            data=alert_form(
                csrf,
                title="",
                country="",
                links="ftp://example.org/x",
                expires="1st of May",
                text="Riot police at the gates of the <port>.",
            ),
        )
    assert response.status_code == 400
    page = response.text
    for name in ("title", "country", "links", "expires"):
        assert f'id="err-{name}"' in page, name
    assert "“1st of May” is not a date: write it like 2027-03-08." in page
    assert "Riot police at the gates of the &lt;port&gt;." in page  # kept, escaped
    assert 'value="Ashulia, Dhaka"' in page
    assert 'value="donations" checked' in page and 'value="protests" checked' not in page
    assert await count_alerts(node) == 0


async def test_update_resolve_and_withdraw_from_the_admin_page(start_node):
    node = await start_node("alpha")
    async with logged_in(node) as http:
        await http.post("/admin/alerts/new", data=alert_form(await form_token(http)))
        alert = await only_alert(node)
        edit = await http.get(f"/admin/alerts/{alert.id}/edit")
        assert 'value="2099-12-01"' in edit.text and "https://example.org/fund" in edit.text
        changed = await http.post(
            f"/admin/alerts/{alert.id}/edit",
            data=alert_form(csrf_from(edit.text), title="Strike attacked: 3 organizers arrested"),
        )
        assert changed.status_code == 303
        listing = await http.get("/admin/alerts")
        assert "<details" in listing.text and f"/admin/alerts/{alert.id}/resolve" in listing.text
        resolved = await http.post(
            f"/admin/alerts/{alert.id}/resolve", data={"csrf_token": csrf_from(listing.text)}
        )
        assert resolved.status_code == 303
        after = await only_alert(node)
        assert (after.status, after.title) == ("resolved", "Strike attacked: 3 organizers arrested")
        assert after.updated_at > alert.updated_at
        withdrawn = await http.post(
            f"/admin/alerts/{alert.id}/withdraw", data={"csrf_token": csrf_from(listing.text)}
        )
        assert withdrawn.status_code == 303
        again = await http.post(
            f"/admin/alerts/{alert.id}/resolve", data={"csrf_token": csrf_from(listing.text)}
        )
        assert again.status_code == 404
        listing = await http.get("/admin/alerts")
        assert "withdrawn" in listing.text
    async with httpx.AsyncClient() as http:
        gone = await http.get(alert.uri, headers=AS2)
    assert gone.status_code == 410 and gone.json()["type"] == "Tombstone"


async def test_posts_without_the_csrf_token_are_refused(start_node):
    node = await start_node("alpha")
    async with logged_in(node) as http:
        await form_token(http)
        forged = alert_form("forged")
        assert (await http.post("/admin/alerts/new", data=forged)).status_code == 403
        del forged["csrf_token"]
        assert (await http.post("/admin/alerts/new", data=forged)).status_code == 403
        assert await count_alerts(node) == 0
        await http.post("/admin/alerts/new", data=alert_form(await form_token(http)))
        alert = await only_alert(node)
        for action in ("resolve", "withdraw"):
            response = await http.post(f"/admin/alerts/{alert.id}/{action}", data={})
            assert response.status_code == 403
        off = await http.post("/admin/alerts/relaying", data={"blocked_hosts": "evil.example"})
        assert off.status_code == 403
    after = await only_alert(node)
    assert (after.status, after.deleted_at) == ("active", None)
    async with node.db.read() as session:
        assert await alert_relaying.relaying(session) == alert_relaying.Relaying(True, [])


async def test_logged_out_visitors_are_sent_to_login(start_node):
    node = await start_node("alpha")
    async with httpx.AsyncClient(base_url=node.base_url) as http:
        response = await http.get("/admin/alerts")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/admin/login")


async def test_relaying_settings_from_the_admin_page(start_node):
    node = await start_node("alpha")
    async with logged_in(node) as http:
        listing = await http.get("/admin/alerts")
        assert 'name="relay" value="on" checked' in listing.text
        assert 'href="/admin/blocks"' in listing.text  # blocked servers have their own page
        csrf = csrf_from(listing.text)
        # A block list sent the old way is not taken: blocks are made on /admin/blocks.
        saved = await http.post(
            "/admin/alerts/relaying", data={"csrf_token": csrf, "blocked_hosts": "bad.example"}
        )
        assert saved.status_code == 303
        listing = await http.get("/admin/alerts")
        assert 'name="relay" value="on" checked' not in listing.text
        async with node.db.read() as session:
            assert await alert_relaying.relaying(session) == alert_relaying.Relaying(False, [])
        await alert_relaying.block(node.federation, "Bad.Example")
        assert "Blocked servers: bad.example." in (await http.get("/admin/alerts")).text


async def test_the_atom_feed_of_alerts_is_valid_and_drops_withdrawn_ones(start_node):
    node = await start_node("alpha")
    async with httpx.AsyncClient() as http:
        empty = await http.get(node.url("/alerts.atom"))
    assert empty.status_code == 200
    assert empty.headers["content-type"].startswith("application/atom+xml")
    assert feedparser.parse(empty.content).bozo == 0

    def strike(title: str, urgency: str = "urgent") -> alerts.AlertInput:
        return alerts.AlertInput(
            title=title,
            text="Police fired on striking <garment> workers.\nThree are in hospital.",
            country="BD",
            region="Ashulia",
            asks=["messages"],
            urgency=urgency,
            tags=["GarmentStrike"],
        )

    kept = await alerts.raise_alert(node.federation, strike("Garment strike attacked"))
    done = await alerts.raise_alert(node.federation, strike("Dockers reinstated", "normal"))
    await alerts.resolve_alert(node.federation, done.uri)
    gone = await alerts.raise_alert(node.federation, strike("Raised in error"))
    await alerts.withdraw(node.federation, gone.uri)
    async with httpx.AsyncClient() as http:
        response = await http.get(node.url("/alerts.atom"))
        listing = await http.get(node.url("/alerts"))
    feed = feedparser.parse(response.content)
    assert feed.bozo == 0, feed.bozo_exception
    assert '<link rel="alternate" type="application/atom+xml" href="/alerts.atom"' in listing.text
    # The page: what is live now, then the past (resolved, withdrawn), each with its origin.
    live, _, past = listing.text.partition("Past alerts")
    assert "Garment strike attacked" in live and "Garment strike attacked" not in past
    assert "Dockers reinstated" in past and "resolved" in past
    assert "Raised in error" in past and "withdrawn" in past
    assert f"raised by <bdi>{node.env['IWSN_ORG_NAME']}</bdi>" in live
    entries = {entry.id: entry for entry in feed.entries}
    assert set(entries) == {kept.uri, done.uri}
    urgent = entries[kept.uri]
    assert urgent.title == "URGENT: Garment strike attacked"
    assert urgent.link == kept.uri
    assert "&lt;garment&gt;" in urgent.summary and "Ashulia, Bangladesh" in urgent.summary
    assert "Asked: messages of solidarity" in urgent.summary
    assert [tag.term for tag in urgent.tags] == ["GarmentStrike"]
    assert entries[done.uri].title == "RESOLVED: Dockers reinstated"
