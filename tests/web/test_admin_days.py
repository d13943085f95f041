"""The admin event form offers the coming solidarity days and attaches an action to one."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from test_admin import PASSWORD, client, csrf_from, login

from actors import admins, solidarity_days
from actors.models import Event


async def test_the_event_form_offers_coming_days(start_node):
    node = await start_node("alpha")
    day = await solidarity_days.declare(
        node.federation,
        solidarity_days.DayInput(
            day=date(2027, 3, 8), theme="Housing", slogan="No evictions", hashtag="NoEvictions"
        ),
    )
    past = await solidarity_days.declare(
        node.federation,
        solidarity_days.DayInput(
            day=date(2020, 3, 8), theme="Long ago", slogan="Past", hashtag="LongAgo"
        ),
    )
    await admins.create_admin(node.db, "organizer", PASSWORD)
    async with client(node) as http:
        assert (await login(http, "organizer", PASSWORD)).status_code == 303
        page = await http.get("/admin/events/new?category=action")
        assert f'<option value="{day.uri}"' in page.text
        assert past.uri not in page.text  # only the coming days
        form = {
            "csrf_token": csrf_from(page.text),
            "category": "action",
            "title": "Tenants' march",
            "kind": "march",
            "starts": "2027-03-08T10:00",
            "ends": "2027-03-08T12:00",
            "timezone": "Europe/Lisbon",
            "place_name": "Rossio",
            "city": "Lisboa",
            "country": "PT",
            "tags": "",
            "solidarity_day_uri": day.uri,
        }
        assert (await http.post("/admin/events/new", data=form)).status_code == 303
    async with node.db.read() as session:
        event = (await session.execute(select(Event))).scalar_one()
    assert event.solidarity_day_uri == day.uri and event.hashtags == ["NoEvictions"]
