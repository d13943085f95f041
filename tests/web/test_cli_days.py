"""`iwsn day ...` as an organizer types it, and the day's own page, feed and home page."""

from __future__ import annotations

import httpx
from icalendar import Calendar
from support import run_iwsn

run = run_iwsn
AS2 = {"Accept": "application/activity+json"}


DAY = ("--date", "2027-03-08", "--theme", "Housing is a right", "--slogan", "No evictions")


async def test_day_lifecycle_from_the_command_line(start_node):
    node = await start_node("alpha")
    env = node.env
    created = await run(env, "day", "create", *DAY, "--hashtag", "#NoEvictions", "--org", "alpha")
    url = created.stdout.strip()
    assert url.startswith(node.url("/days/")) and "\n" not in url  # the URL alone

    listed = (await run(env, "day", "list")).stdout
    assert "2027-03-08\tHousing is a right\tNo evictions\t#NoEvictions\tlocal" in listed

    # An action of the day gets the day's hashtag.
    action = await run(
        env,
        "action",
        "create",
        "--title",
        "Tenants' march",
        "--kind",
        "march",
        "--starts",
        "2027-03-08T10:00",
        "--ends",
        "2027-03-08T12:00",
        "--timezone",
        "Europe/Lisbon",
        "--place",
        "Rossio",
        "--city",
        "Lisboa",
        "--country",
        "PT",
        "--solidarity-day",
        url,
    )
    action_url = action.stdout.strip()
    async with httpx.AsyncClient() as http:
        document = (await http.get(action_url, headers=AS2)).json()
        page = (await http.get(url)).text
        home = (await http.get(node.url("/"))).text
        ics = await http.get(f"{url}.ics")
    assert document["solidarityDay"] == url and document["context"] == url
    assert [t["name"] for t in document["tag"]] == ["#NoEvictions"]
    assert "Tenants&#39; march" in page and "1 action" in page and "Portugal (1)" in page
    assert "Housing is a right" in home and "No evictions" in home
    events = {str(e["UID"]): e for e in Calendar.from_ical(ics.content).walk("VEVENT")}
    assert set(events) == {url, action_url}  # the day itself, all-day, and its action
    assert str(events[action_url]["SUMMARY"]) == "Tenants' march"
    assert events[url]["DTSTART"].params["VALUE"] == "DATE"

    await run(env, "day", "edit", url, "--slogan", "Homes, not profits")
    assert "Homes, not profits" in (await run(env, "day", "list")).stdout

    bad = await run(env, "day", "create", *DAY, "--hashtag", "no evictions", check=False)
    assert bad.returncode == 1 and "not a hashtag" in bad.stderr
    bad_date = await run(
        env, "day", "create", *DAY[2:], "--date", "8 March", "--hashtag", "X1", check=False
    )
    assert bad_date.returncode == 2 and "not a date" in bad_date.stderr
    missing = await run(env, "day", "delete", node.url("/days/nothing"), check=False)
    assert missing.returncode == 1 and "No such solidarity day on this node." in missing.stderr

    await run(env, "day", "delete", url)
    assert "Housing is a right" not in (await run(env, "day", "list")).stdout
    async with httpx.AsyncClient() as http:
        assert (await http.get(url)).status_code == 410
        assert (await http.get(f"{url}.ics")).status_code == 410
        assert "Housing is a right" not in (await http.get(node.url("/"))).text
