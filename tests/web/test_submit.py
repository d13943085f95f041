"""Submit your plans, over real HTTP: a visitor sends a plan, gets a private link by e-mail
(an SMTP server on loopback), a moderator approves it and a node that follows sees the action,
or rejects it and the visitor reads why; spam is removed and its sender refused; bad input
comes back with messages, and nothing private ever leaves the node."""

from __future__ import annotations

import json
import re
import time
from datetime import date

import httpx
import pytest
from sqlalchemy import func, select
from support import eventually
from test_admin import PASSWORD, csrf_from, login, setup_admin
from test_contact import smtp_env
from test_near import node_follows

from actors.models import Event, Submission, SubmissionBlock
from federation.models import OutboxActivity, ReceivedActivity
from web.form_guard import FormGuard

VISITOR = "lucia.ramos@sindicato.example"
NEXT_YEAR = date.today().year + 1


def started(node, seconds_ago: float = 60.0) -> str:
    """The form's signed start, as if the visitor had opened it a minute ago."""
    return FormGuard(node.node.settings.secret_key, "submit").token(now=time.time() - seconds_ago)


def plan(**changes) -> dict[str, str]:
    fields = {
        "title": "Huelga de las kellys en Madrid",
        "kind": "strike",
        "starts": f"{NEXT_YEAR}-05-01T10:00",
        "ends": f"{NEXT_YEAR}-05-01T14:00",
        "timezone": "Europe/Madrid",
        "place_name": "Puerta del Sol",
        "street_address": "",
        "postal_code": "",
        "city": "Madrid",
        "country": "ES",
        "latitude": "",
        "longitude": "",
        "online_url": "",
        "tags": "#MayDay",
        "description": "Las camareras de piso paran. **Ven a apoyar.**",
        "contact": "",
        "language": "es",
        "solidarity_day_uri": "",
    }
    fields.update(changes)
    return fields


def submitter(**changes) -> dict[str, str]:
    fields = {
        "name": "Lucía Ramos",
        "email": VISITOR,
        "organization": "Sindicato de Camareras",
        "credit": "1",
    }
    fields.update(changes)
    return {name: value for name, value in fields.items() if value is not None}


async def send_plan(http: httpx.AsyncClient, node, *, lang: str = "es", **changes):
    page = await http.get(f"/submit?lang={lang}")
    assert page.status_code == 200
    who = {k: changes.pop(k) for k in ("name", "email", "organization", "credit") if k in changes}
    data = {
        "csrf_token": csrf_from(page.text),
        "started": started(node),
        "website": "",
        **plan(**changes),
        **submitter(**who),
    }
    return await http.post("/submit", data=data)


async def count(node, model, *where) -> int:
    async with node.db.read() as session:
        return (
            await session.execute(select(func.count()).select_from(model).where(*where))
        ).scalar_one()


def status_link(mail) -> str:
    text = mail.get_body(("plain",)).get_content()
    return re.search(r"(http://\S+/submit/status/\S+)", text).group(1)


async def admin_session(node) -> httpx.AsyncClient:
    await setup_admin(node)
    http = httpx.AsyncClient(base_url=node.base_url, timeout=30)
    assert (await login(http, "admin", PASSWORD)).status_code == 303
    return http


async def waiting_id(node) -> int:
    async with node.db.read() as session:
        return (
            await session.execute(select(Submission.id).where(Submission.state == "waiting"))
        ).scalar_one()


async def test_a_plan_is_sent_approved_and_reaches_a_following_node(start_node, smtp_catcher):
    catcher = smtp_catcher()
    catcher.start()
    a = await start_node("alpha", env=smtp_env(catcher))
    b = await start_node("beta")
    await node_follows(b, a.url("/actor"))

    async with httpx.AsyncClient(base_url=a.base_url, timeout=30) as visitor:
        sent = await send_plan(visitor, a)
        assert sent.status_code == 303 and sent.headers["location"] == "/submit/sent"
        assert "Gracias" in (await visitor.get("/submit/sent")).text
        # Nothing is published before a moderator approves it.
        assert await count(a, Event, Event.title == "Huelga de las kellys en Madrid") == 0

        # The private link, by e-mail, in the visitor's language.
        await eventually(lambda: _caught(catcher, VISITOR), expect=1)
        received = catcher.to(VISITOR)[0]
        assert received["Subject"] == "Hemos recibido tu plan: Huelga de las kellys en Madrid"
        link = status_link(received)
        status = await visitor.get(link)
        assert status.status_code == 200
        assert "Esperando" in status.text and "Puerta del Sol" in status.text

    admin = await admin_session(a)
    try:
        assert "1 plan waiting for a decision" in (await admin.get("/admin?lang=en")).text
        queue = await admin.get("/admin/submissions?lang=en")
        assert "Huelga de las kellys en Madrid" in queue.text and "Lucía Ramos" in queue.text
        submission_id = await waiting_id(a)
        page = await admin.get(f"/admin/submissions/{submission_id}?lang=en")
        assert VISITOR in page.text  # the moderator sees the address; nobody else does
        # The moderator corrects the title, then approves.
        approved = await admin.post(
            f"/admin/submissions/{submission_id}/approve",
            data={
                "csrf_token": csrf_from(page.text),
                **plan(title="Huelga de las kellys: Madrid para"),
            },
        )
        assert approved.status_code == 303, approved.text
        assert "Approved and published" in (await admin.get("/admin/submissions?lang=en")).text
    finally:
        await admin.aclose()

    async with a.db.read() as session:
        event = (
            await session.execute(select(Event).where(Event.title.like("Huelga de las kellys%")))
        ).scalar_one()
    assert event.is_local and event.title == "Huelga de las kellys: Madrid para"
    # Credited as the visitor agreed, in the plan's language.
    assert "Plan enviado por Lucía Ramos (Sindicato de Camareras)" in event.description_source

    async def on_b():
        async with b.db.read() as session:
            found = (
                await session.execute(select(Event).where(Event.uri == event.uri))
            ).scalar_one_or_none()
        return found

    shown = await eventually(on_b)
    assert shown.title == "Huelga de las kellys: Madrid para"
    async with httpx.AsyncClient(timeout=30) as http:
        assert "Huelga de las kellys" in (await http.get(b.url("/actions"))).text

    # The visitor hears it is published, with its link; the status page says so too.
    await eventually(lambda: _caught(catcher, VISITOR), expect=2)
    published = catcher.to(VISITOR)[1]
    assert published["Subject"] == "Tu plan está publicado: Huelga de las kellys: Madrid para"
    assert event.uri in published.get_body(("plain",)).get_content()
    async with httpx.AsyncClient(timeout=30) as http:
        assert "Aprobado y publicado" in (await http.get(link)).text

    # The address never left A: not in what A sent, what B received, nor A's public pages.
    async with a.db.read() as session:
        outbox = (await session.execute(select(OutboxActivity.body))).scalars().all()
    async with b.db.read() as session:
        inbox = (await session.execute(select(ReceivedActivity.body))).scalars().all()
    async with httpx.AsyncClient(timeout=30) as http:
        public = "".join(
            [
                (await http.get(a.url(path))).text
                for path in ("/", "/actions", "/actions.atom", "/actions.ics", "/actors/alpha")
            ]
        )
        public += (await http.get(event.uri, headers={"Accept": "application/activity+json"})).text
    wire = json.dumps([outbox, inbox]) + public
    assert "sindicato.example" not in wire and "lucia.ramos" not in wire


def _caught(catcher, address):
    async def count_mail():
        return len(catcher.to(address))

    return count_mail()


async def test_a_rejected_plan_mails_its_reason_and_publishes_nothing(start_node, smtp_catcher):
    catcher = smtp_catcher()
    catcher.start()
    a = await start_node("alpha", env=smtp_env(catcher))
    async with httpx.AsyncClient(base_url=a.base_url, timeout=30) as visitor:
        assert (await send_plan(visitor, a, lang="en")).status_code == 303
    await eventually(lambda: _caught(catcher, VISITOR), expect=1)
    link = status_link(catcher.to(VISITOR)[0])
    admin = await admin_session(a)
    try:
        submission_id = await waiting_id(a)
        page = await admin.get(f"/admin/submissions/{submission_id}")
        token = csrf_from(page.text)
        empty = await admin.post(
            f"/admin/submissions/{submission_id}/reject", data={"csrf_token": token, "reason": " "}
        )
        assert empty.status_code == 400 and "Say why" in empty.text
        rejected = await admin.post(
            f"/admin/submissions/{submission_id}/reject",
            data={"csrf_token": token, "reason": "Already announced by the union."},
        )
        assert rejected.status_code == 303
        # Decided once: approving it afterwards is refused, and publishes nothing.
        late = await admin.post(
            f"/admin/submissions/{submission_id}/approve", data={"csrf_token": token, **plan()}
        )
        assert late.status_code == 400 and "already been decided" in late.text
    finally:
        await admin.aclose()
    await eventually(lambda: _caught(catcher, VISITOR), expect=2)
    mail = catcher.to(VISITOR)[1]
    assert mail["Subject"] == "About your plan: Huelga de las kellys en Madrid"
    assert "Already announced by the union." in mail.get_body(("plain",)).get_content()
    assert await count(a, Event) == 0
    async with httpx.AsyncClient(timeout=30) as http:
        status = await http.get(link)
    assert "Not approved" in status.text and "Already announced by the union." in status.text


async def test_the_submitter_corrects_the_plan_then_withdraws_it(start_node, smtp_catcher):
    catcher = smtp_catcher()
    catcher.start()
    a = await start_node("alpha", env=smtp_env(catcher))
    async with httpx.AsyncClient(base_url=a.base_url, timeout=30) as visitor:
        assert (await send_plan(visitor, a, lang="en")).status_code == 303
        await eventually(lambda: _caught(catcher, VISITOR), expect=1)
        link = status_link(catcher.to(VISITOR)[0])
        page = await visitor.get(link)
        token = csrf_from(page.text)
        bad = await visitor.post(link, data={"csrf_token": token, **plan(timezone="Mars/Olympus")})
        assert bad.status_code == 400 and "Mars/Olympus" in bad.text
        fixed = await visitor.post(link, data={"csrf_token": token, **plan(city="Getafe")})
        assert fixed.status_code == 303
        assert "Getafe" in (await visitor.get(fixed.headers["location"])).text
        async with a.db.read() as session:
            row = (await session.execute(select(Submission))).scalar_one()
        assert row.plan["city"] == "Getafe" and row.plan["timezone"] == "Europe/Madrid"

        gone = await visitor.post(link, data={"csrf_token": token, "withdraw": "1"})
        assert gone.status_code == 303 and gone.headers["location"] == "/submit/withdrawn"
        assert await count(a, Submission) == 0  # erased, address and all
        again = await visitor.get(link)
        assert again.status_code == 404


async def test_spam_is_removed_and_its_domain_refused(start_node):
    a = await start_node("alpha")
    async with httpx.AsyncClient(base_url=a.base_url, timeout=30) as visitor:
        assert (await send_plan(visitor, a, email="bot@spam.example")).status_code == 303
    admin = await admin_session(a)
    try:
        submission_id = await waiting_id(a)
        page = await admin.get(f"/admin/submissions/{submission_id}")
        removed = await admin.post(
            f"/admin/submissions/{submission_id}/spam",
            data={"csrf_token": csrf_from(page.text), "block": "domain"},
        )
        assert removed.status_code == 303
        notice = (await admin.get("/admin/submissions?lang=en")).text
        assert "plans from @spam.example are refused" in notice
    finally:
        await admin.aclose()
    assert await count(a, Submission) == 0
    assert await count(a, SubmissionBlock, SubmissionBlock.pattern == "@spam.example") == 1
    async with httpx.AsyncClient(base_url=a.base_url, timeout=30) as visitor:
        refused = await send_plan(visitor, a, lang="en", email="other@SPAM.example")
        assert refused.status_code == 400
        assert "not accepted on this node" in refused.text
        # Someone else still can.
        assert (await send_plan(visitor, a, email="ok@union.example")).status_code == 303
    assert await count(a, Submission) == 1


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"title": ""}, "A title is required."),
        ({"starts": "2001-05-01T10:00", "ends": "2001-05-01T12:00"}, "This start is in the past"),
        ({"ends": f"{NEXT_YEAR}-05-01T09:00"}, "must be after"),
        ({"timezone": "Mars/Olympus"}, "Mars/Olympus"),
        ({"starts": "tomorrow"}, "date and time"),
        ({"email": "not-an-address"}, "does not look right"),
        ({"name": ""}, "your name"),
        ({"name": "<b>Lucía</b>"}, "HTML"),
        ({"description": "<script>alert(1)</script>"}, "HTML"),
        ({"description": "x" * 20_001}, "20,000"),
        ({"online_url": "javascript:alert(1)", "place_name": "", "city": ""}, "http"),
    ],
)
async def test_bad_input_comes_back_with_a_message_and_nothing_is_stored(start_node, changes, says):
    a = await start_node("alpha")
    async with httpx.AsyncClient(base_url=a.base_url, timeout=30) as visitor:
        answer = await send_plan(visitor, a, lang="en", **changes)
    assert answer.status_code == 400
    assert says.lower() in answer.text.lower()
    assert 'role="alert"' in answer.text
    # What was typed is kept.
    assert "Puerta del Sol" in answer.text or changes.get("place_name") == ""
    assert await count(a, Submission) == 0


async def test_a_form_filled_by_a_program_is_refused(start_node):
    a = await start_node("alpha")
    async with httpx.AsyncClient(base_url=a.base_url, timeout=30) as bot:
        page = await bot.get("/submit")
        data = {
            "csrf_token": csrf_from(page.text),
            "started": started(a, seconds_ago=0),
            "website": "",
            **plan(),
            **submitter(),
        }
        too_fast = await bot.post("/submit", data=data)
        trap = await bot.post("/submit", data={**data, "started": started(a), "website": "x"})
    assert too_fast.status_code == 400 and trap.status_code == 400
    assert await count(a, Submission) == 0


async def test_submissions_from_one_address_are_limited(start_node):
    a = await start_node("alpha")
    async with httpx.AsyncClient(base_url=a.base_url, timeout=30) as visitor:
        answers = [
            await send_plan(visitor, a, lang="en", email=f"person{n}@union.example")
            for n in range(11)
        ]
    assert [r.status_code for r in answers[:10]] == [303] * 10
    assert answers[10].status_code == 429 and "Retry-After" in answers[10].headers
    assert await count(a, Submission) == 10


def test_no_mapper_to_activitystreams_reads_the_submissions():
    from pathlib import Path

    from actors import submissions

    package = Path(submissions.__file__).parent
    for mapper in [*package.glob("*_to_as.py"), package / "activitystreams.py"]:
        source = mapper.read_text()
        assert "Submission" not in source and "submissions" not in source, mapper



async def test_moderators_who_asked_for_it_get_a_notice_of_each_new_plan(start_node, smtp_catcher):
    catcher = smtp_catcher()
    catcher.start()
    a = await start_node("alpha", env=smtp_env(catcher))
    admin = await admin_session(a)
    try:
        page = await admin.get("/admin/submissions?lang=fr")
        bad = await admin.post(
            "/admin/submissions/settings",
            data={"csrf_token": csrf_from(page.text), "notify_to": "mod@union.example\nnope"},
        )
        assert bad.status_code == 400 and "nope" in bad.text
        saved = await admin.post(
            "/admin/submissions/settings?lang=fr",
            data={
                "csrf_token": csrf_from(page.text),
                "notify_to": "mod@union.example, deux@union.example",
            },
        )
        assert saved.status_code == 303
    finally:
        await admin.aclose()
    async with httpx.AsyncClient(base_url=a.base_url, timeout=30) as visitor:
        assert (await send_plan(visitor, a)).status_code == 303
    await eventually(lambda: _caught(catcher, "deux@union.example"), expect=1)
    notice = catcher.to("mod@union.example")[0]
    assert notice["Subject"] == "Nouveau projet à modérer : Huelga de las kellys en Madrid"
    text = notice.get_body(("plain",)).get_content()
    submission_id = await waiting_id(a)
    assert f"{a.base_url}/admin/submissions/{submission_id}" in text
    assert VISITOR not in text  # the notice needs no address; the admin page has it
