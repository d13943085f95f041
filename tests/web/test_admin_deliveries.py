"""The delivery queue on the admin dashboard: a server given up on, and the button to resume it."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from test_admin import PASSWORD, client, csrf_from, login, setup_admin

from federation import heartbeats
from federation.db import utcnow
from federation.models import DeliveryHost


async def given_up(node, host):
    now = utcnow()
    async with node.db.transaction() as session:
        session.add(
            DeliveryHost(
                host=host,
                consecutive_failures=30,
                first_failure_at=now - timedelta(days=8),
                failure_days=7,
                last_failure_at=now - timedelta(hours=2),
                unavailable_since=now - timedelta(hours=2),
            )
        )


async def host_row(node, host):
    async with node.db.read() as session:
        return await session.get(DeliveryHost, host)


async def test_the_dashboard_shows_an_unavailable_server_and_resumes_it(start_node):
    node = await start_node("alpha")
    await given_up(node, "gone.example")
    await setup_admin(node)
    async with client(node) as http:
        await login(http, "admin", PASSWORD)
        page = await http.get("/admin")
        assert "gone.example" in page.text
        assert "nothing is sent to it until it is heard from" in page.text
        token = csrf_from(page.text)

        forged = await http.post("/admin/deliveries/resume", data={"host": "gone.example"})
        assert forged.status_code == 403
        assert (await host_row(node, "gone.example")).unavailable_since is not None

        unknown = await http.post(
            "/admin/deliveries/resume", data={"csrf_token": token, "host": "other.example"}
        )
        assert unknown.status_code == 404

        resumed = await http.post(
            "/admin/deliveries/resume", data={"csrf_token": token, "host": "gone.example"}
        )
        assert resumed.status_code == 303
        assert (await host_row(node, "gone.example")).unavailable_since is None
        page = await http.get("/admin")
        assert "nothing is sent to it until it is heard from" not in page.text


async def test_the_dashboard_says_whether_background_work_runs(start_node):
    working = await start_node("alpha")
    idle = await start_node("beta", workers=0)
    while not await heartbeats.alive(working.db):  # the first beat is the task's first step
        await asyncio.sleep(0.01)
    for node in (working, idle):
        await setup_admin(node)
    async with client(working) as http:
        await login(http, "admin", PASSWORD)
        page = await http.get("/admin")
        assert "Background work: 1 process is sending and receiving." in page.text
        assert "No process is sending or receiving" not in page.text
    async with client(idle) as http:
        await login(http, "admin", PASSWORD)
        page = await http.get("/admin?lang=de")
        assert "Kein Prozess sendet oder empfängt" in page.text
