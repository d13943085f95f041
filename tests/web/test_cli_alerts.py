"""`iwsn alert ...` as an organizer types it; the alert's page and the banner on every page."""

from __future__ import annotations

import httpx
from test_cli_days import AS2, run


async def test_alert_lifecycle_from_the_command_line(start_node):
    node = await start_node("alpha")
    env = node.env
    raised = await run(
        env,
        "alert",
        "raise",
        "--title",
        "Dock strike under attack",
        "--text",
        "Riot police at the port gates.",
        "--country",
        "cl",
        "--region",
        "Valparaíso",
        "--ask",
        "messages",
        "--ask",
        "solidarity_strikes",
        "--urgency",
        "urgent",
        "--link",
        "https://example.org/dockers",
        "--tag",
        "Dockers",
        "--expires",
        "2099-12-01T00:00Z",
        "--org",
        "alpha",
    )
    url = raised.stdout.strip()
    assert url.startswith(node.url("/alerts/")) and "\n" not in url  # the URL alone

    async with httpx.AsyncClient() as http:
        document = (await http.get(url, headers=AS2)).json()
        page = (await http.get(url)).text
        home = (await http.get(node.url("/"))).text
        listing = (await http.get(node.url("/actions"))).text
    assert document["type"] == "Note" and document["country"] == "CL"
    assert document["asks"] == ["messages", "solidarity_strikes"]
    assert document["expires"] == "2099-12-01T00:00:00Z"
    assert "Riot police" in page and "Valparaíso" in page
    # In the banner of every page; on the home page, in its own section instead.
    assert "alert-banner" in listing and "Dock strike under attack" in listing
    assert "home-alerts" in home and "Dock strike under attack" in home

    await run(env, "alert", "update", url, "--title", "Dock strike: police withdraw")
    listed = (await run(env, "alert", "list")).stdout
    assert "active\turgent\tCL\tDock strike: police withdraw\tlocal\thops=0" in listed
    await run(env, "alert", "resolve", url)
    assert "\tresolved\t" in (await run(env, "alert", "list")).stdout
    async with httpx.AsyncClient() as http:
        assert "alert-banner" not in (await http.get(node.url("/actions"))).text
        assert "home-alerts" not in (await http.get(node.url("/"))).text
        assert (await http.get(url, headers=AS2)).json()["alertStatus"] == "resolved"

    await run(env, "alert", "withdraw", url)
    async with httpx.AsyncClient() as http:
        gone = await http.get(url, headers=AS2)
    assert gone.status_code == 410 and gone.json()["type"] == "Tombstone"

    wrong = await run(
        env, "alert", "raise", "--title", "x", "--text", "y", "--country", "ZZ", check=False
    )
    assert wrong.returncode == 1 and "country" in wrong.stderr


async def test_relaying_and_blocked_origins_from_the_command_line(start_node):
    node = await start_node("alpha")
    env = node.env
    shown = await run(env, "alert", "relaying")
    assert shown.stdout == "relaying: on\nblocked: (none)\n"
    off = await run(env, "alert", "relaying", "off")
    assert off.stdout.startswith("relaying: off\n")
    await run(env, "alert", "block", "Bad.Example")
    both = await run(env, "alert", "block", "worse.example:8443")
    assert both.stdout == "relaying: off\nblocked: bad.example worse.example:8443\n"
    left = await run(env, "alert", "unblock", "bad.example")
    assert left.stdout == "relaying: off\nblocked: worse.example:8443\n"
    wrong = await run(env, "alert", "block", "not a host", check=False)
    assert wrong.returncode == 1 and "not a server name" in wrong.stderr
    absent = await run(env, "alert", "unblock", "never.example", check=False)
    assert absent.returncode == 1 and "is not blocked" in absent.stderr
    on = await run(env, "alert", "relaying", "on")
    assert on.stdout == "relaying: on\nblocked: worse.example:8443\n"
