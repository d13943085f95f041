"""Registering for an assembly from its page; the email never leaves the node."""

from __future__ import annotations

import re
from datetime import datetime

import httpx
from sqlalchemy import select
from test_admin import PASSWORD, client, csrf_from, login

from actors import admins, events, participation
from actors.models import Participant

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def test_register_fill_up_and_wait(start_node):
    node = await start_node("union")
    assembly = await events.publish(
        node.federation,
        events.EventInput(
            title="Care workers' assembly",
            kind="other",
            starts=datetime(2027, 6, 5, 18, 0),
            ends=datetime(2027, 6, 5, 20, 0),
            timezone="America/Sao_Paulo",
            place_name="Sindicato",
            city="São Paulo",
            capacity=1,
            agenda="1. Wages\n2. Night shifts",
            sections=["nurses", "cleaners"],
        ),
        category="assembly",
    )
    async with httpx.AsyncClient(follow_redirects=False) as http:
        page = await http.get(assembly.uri)
        assert "0 people take part" in page.text
        token = CSRF.search(page.text).group(1)
        first = await http.post(
            f"{assembly.uri}/register",
            data={"csrf_token": token, "name": "Maria", "email": "maria@example.org"},
        )
        assert first.status_code == 303
        assert "registered=going" in first.headers["location"]
        second = await http.post(
            f"{assembly.uri}/register", data={"csrf_token": token, "name": "Ana", "email": ""}
        )
        assert "registered=waiting" in second.headers["location"]
        empty = await http.post(f"{assembly.uri}/register", data={"csrf_token": token, "name": " "})
        assert empty.status_code == 303
        assert "Please give your name." in (await http.get(assembly.uri)).text
        await http.post(
            f"{assembly.uri}/register?lang=es",
            data={"csrf_token": token, "name": "Eva", "email": "no address"},
        )
        assert "Esa dirección de correo no parece correcta." in (await http.get(assembly.uri)).text
        await http.get(f"{assembly.uri}?lang=en")
        forged = await http.post(f"{assembly.uri}/register", data={"name": "Bot"})
        assert forged.status_code == 403
        page = (await http.get(assembly.uri)).text
        assert "1 person takes part" in page and "1 on the waiting list" in page
        document = (
            await http.get(assembly.uri, headers={"Accept": "application/activity+json"})
        ).text
        attendees = (await http.get(f"{assembly.uri}/attendees")).json()
    assert attendees["totalItems"] == 1
    assert "maria@example.org" not in document and "Maria" not in document
    assert "Night shifts" in page and "nurses, cleaners" in page
    async with node.db.read() as session:
        people = (await session.execute(select(Participant.name, Participant.state))).all()
    assert sorted(people) == [("Ana", "waiting"), ("Maria", "going")]


async def test_organizers_see_who_takes_part_and_give_places(start_node):
    node = await start_node("union")
    assembly = await events.publish(
        node.federation,
        events.EventInput(
            title="Drivers' assembly",
            kind="other",
            starts=datetime(2027, 6, 5, 18, 0),
            ends=datetime(2027, 6, 5, 20, 0),
            timezone="Europe/Madrid",
            place_name="Local",
            city="Madrid",
            capacity=1,
        ),
        category="assembly",
    )
    await participation.register_locally(
        node.federation, assembly.uri, name="Lucía", email="lucia@example.org"
    )
    waiting = await participation.register_locally(
        node.federation, assembly.uri, name="Pedro", email=None
    )
    assert waiting.state == "waiting"
    await admins.create_admin(node.db, "organizer", PASSWORD)
    async with client(node) as http:
        assert (await http.get(f"/admin/events/{assembly.id}/participants")).status_code == 303
        await login(http, "organizer", PASSWORD)
        page = await http.get(f"/admin/events/{assembly.id}/participants")
        assert "lucia@example.org" in page.text and "Pedro" in page.text
        token = csrf_from(page.text)
        admitted = await http.post(
            f"/admin/events/{assembly.id}/participants/{waiting.id}/admit",
            data={"csrf_token": token},
        )
        assert admitted.status_code == 303
    async with node.db.read() as session:
        people = (await session.execute(select(Participant.name, Participant.state))).all()
    assert sorted(people) == [("Lucía", "going"), ("Pedro", "going")]
    # The count is public, the names are not.
    async with httpx.AsyncClient() as http:
        public = (await http.get(assembly.uri)).text
    assert "2 people take part" in public and "Lucía" not in public


async def test_registrations_from_one_address_are_throttled(start_node):
    node = await start_node("union")
    assembly = await events.publish(
        node.federation,
        events.EventInput(
            title="Big assembly",
            kind="other",
            starts=datetime(2027, 6, 5, 18, 0),
            ends=datetime(2027, 6, 5, 20, 0),
            timezone="Europe/Rome",
            place_name="Piazza",
            city="Roma",
        ),
        category="assembly",
    )
    async with httpx.AsyncClient(follow_redirects=False) as http:
        token = CSRF.search((await http.get(assembly.uri)).text).group(1)
        answers = [
            await http.post(
                f"{assembly.uri}/register", data={"csrf_token": token, "name": f"Bot {n}"}
            )
            for n in range(31)
        ]
    assert all("registered=going" in a.headers["location"] for a in answers[:30])
    assert "Retry-After" in answers[30].headers
    async with node.db.read() as session:
        assert len((await session.execute(select(Participant))).all()) == 30


async def test_a_registrant_withdraws_with_their_own_link(start_node):
    node = await start_node("union")
    assembly = await events.publish(
        node.federation,
        events.EventInput(
            title="Teachers' assembly",
            kind="other",
            starts=datetime(2027, 6, 5, 18, 0),
            ends=datetime(2027, 6, 5, 20, 0),
            timezone="America/Bogota",
            place_name="Sede",
            city="Bogotá",
            capacity=1,
        ),
        category="assembly",
    )
    async with httpx.AsyncClient(follow_redirects=True) as http:
        token = CSRF.search((await http.get(assembly.uri)).text).group(1)
        page = await http.post(
            f"{assembly.uri}/register", data={"csrf_token": token, "name": "Carmen"}
        )
        link = re.search(r'href="([^"]+/leave/[^"]+)"', page.text).group(1)
        # Someone else waits for the place.
        async with httpx.AsyncClient(follow_redirects=True) as other:
            other_token = CSRF.search((await other.get(assembly.uri)).text).group(1)
            await other.post(
                f"{assembly.uri}/register", data={"csrf_token": other_token, "name": "Diego"}
            )
        forged = link.rsplit(".", 1)[0] + ".0000"
        refused = await http.post(forged, data={"csrf_token": token})
        assert refused.status_code == 404
        confirm = await http.get(link)
        assert "Yes, withdraw my registration" in confirm.text
        done = await http.post(link, data={"csrf_token": token})
        assert "Your registration is withdrawn" in done.text
        again = await http.post(link, data={"csrf_token": token})
        assert again.status_code == 404
    async with node.db.read() as session:
        people = (await session.execute(select(Participant.name, Participant.state))).all()
    assert people == [("Diego", "going")]
