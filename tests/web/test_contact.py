"""The contact form over real HTTP: stored for the admins, forwarded by e-mail through the
durable mail queue to an SMTP server on loopback, answered, deleted; and what it refuses."""

from __future__ import annotations

import asyncio
import re
import time
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import func, select
from support import eventually
from test_admin import PASSWORD, csrf_from, login, setup_admin

from actors import contact
from actors.mail.models import MailState, OutgoingMail
from actors.models import ContactMessage, ContactSettings
from web.form_guard import FormGuard

VISITOR = "ana.souza@sindicato.example"


def started(node, seconds_ago: float = 60.0) -> str:
    """The form's signed start, as if the visitor had opened it a minute ago."""
    return FormGuard(node.node.settings.secret_key, "contact").token(now=time.time() - seconds_ago)


def smtp_env(catcher) -> dict[str, str]:
    return {"IWSN_SMTP_URL": catcher.url, "IWSN_MAIL_FROM": "Node <node@iwsn.example>"}


async def send_contact(http: httpx.AsyncClient, node, *, lang: str = "en", **fields):
    page = await http.get(f"/contact?lang={lang}")
    assert page.status_code == 200
    data = {
        "csrf_token": csrf_from(page.text),
        "started": started(node),
        "website": "",
        "name": "Ana Souza",
        "email": VISITOR,
        "organization": "Sindicato dos Metalúrgicos",
        "topic": "joining",
        "message": "Queremos entrar na rede. Como fazemos?",
    }
    data.update(fields)
    return await http.post("/contact", data=data)


async def count(node, model, *where) -> int:
    async with node.db.read() as session:
        return (
            await session.execute(select(func.count()).select_from(model).where(*where))
        ).scalar_one()


async def mails(node) -> list[OutgoingMail]:
    async with node.db.read() as session:
        return list(
            (await session.execute(select(OutgoingMail).order_by(OutgoingMail.id))).scalars()
        )


@asynccontextmanager
async def admin_client(node):
    await setup_admin(node)
    async with httpx.AsyncClient(base_url=node.base_url, timeout=30) as http:
        assert (await login(http, "admin", PASSWORD)).status_code == 303
        yield http


async def forward_to(http: httpx.AsyncClient, addresses: str, *, lang: str = "en") -> None:
    page = await http.get(f"/admin/contact?lang={lang}")
    response = await http.post(
        "/admin/contact/settings",
        data={
            "csrf_token": csrf_from(page.text),
            "forward_to": addresses,
            "retention_days": "90",
        },
    )
    assert response.status_code == 303, response.text


async def test_a_message_reaches_the_inbox_is_forwarded_and_answered(start_node, smtp_catcher):
    catcher = smtp_catcher()
    catcher.start()
    node = await start_node("alpha", env=smtp_env(catcher))
    async with admin_client(node) as admin:
        # The admin reads German: forwards are worded in it.
        await forward_to(admin, "orga@iwsn.example, second@iwsn.example", lang="de")
        async with httpx.AsyncClient(base_url=node.base_url, timeout=30) as visitor:
            response = await send_contact(visitor, node, lang="pt")
            assert response.status_code == 303
            assert response.headers["location"] == "/contact/thanks"
            thanks = await visitor.get("/contact/thanks")
            assert "Obrigado" in thanks.text

        dashboard = await admin.get("/admin?lang=en")
        assert "1 unread message" in dashboard.text
        inbox = await admin.get("/admin/contact?lang=en")
        assert "Ana Souza" in inbox.text and "1 unread message." in inbox.text
        link = re.search(r'href="(/admin/contact/\d+)"', inbox.text).group(1)
        page = await admin.get(link)
        assert VISITOR in page.text and "Queremos entrar na rede" in page.text
        assert "0 unread messages." in (await admin.get("/admin/contact")).text

        # One forward to each address, in German, text and HTML, answerable to the visitor.
        await eventually(lambda: _caught(catcher), expect=2)
        forward = catcher.to("orga@iwsn.example")[0]
        assert len(catcher.to("second@iwsn.example")) == 1
        assert forward["Subject"] == "Kontaktformular: Dem Netzwerk beitreten, von Ana Souza"
        assert forward["Reply-To"] == VISITOR
        assert forward["Content-Language"] == "de"
        assert forward["List-Unsubscribe"] == f"<{node.base_url}/admin/contact#settings>"
        text = forward.get_body(("plain",)).get_content()
        html = forward.get_body(("html",)).get_content()
        assert "Queremos entrar na rede" in text and "Queremos entrar na rede" in html
        assert "Name: Ana Souza" in text
        assert f"{node.base_url}{link}" in text
        assert '<html lang="de">' in html

        # The answer goes to the visitor in the language they wrote in (Portuguese).
        reply = await admin.post(
            f"{link}/reply",
            data={"csrf_token": csrf_from(page.text), "reply": "Bem-vindos! Escrevam-nos."},
        )
        assert reply.status_code == 303
        await eventually(lambda: _caught(catcher), expect=3)
        answer = catcher.to(VISITOR)[0]
        assert answer["Subject"] == f"A sua mensagem para {node.domain}"
        body = answer.get_body(("plain",)).get_content()
        assert body.startswith("Olá Ana Souza,") and "Bem-vindos! Escrevam-nos." in body
        assert "> Queremos entrar na rede" in body
        assert answer.get_body(("html",)) is not None
        assert await count(node, ContactMessage, ContactMessage.replied_at.is_not(None)) == 1

        queue = await admin.get("/admin/mail")
        assert queue.text.count("sent 20") == 3

        # Deleted: gone from the inbox and from the database.
        deleted = await admin.post(f"{link}/delete", data={"csrf_token": csrf_from(page.text)})
        assert deleted.status_code == 303
        assert await count(node, ContactMessage) == 0
        assert (await admin.get(link)).status_code == 404


async def _caught(catcher) -> int:
    return len(catcher.caught)


async def test_mail_waits_while_the_server_is_down_and_goes_once_it_is_back(
    start_node, smtp_catcher
):
    catcher = smtp_catcher()  # not started: nothing listens on its port
    node = await start_node("alpha", env=smtp_env(catcher))
    async with admin_client(node) as admin:
        await forward_to(admin, "orga@iwsn.example")
        async with httpx.AsyncClient(base_url=node.base_url, timeout=30) as visitor:
            assert (await send_contact(visitor, node)).status_code == 303

        async def tried():
            found = await mails(node)
            return found and found[0].attempts >= 1

        await eventually(tried)
        (mail,) = await mails(node)
        assert mail.state == MailState.PENDING
        assert mail.last_error and mail.next_attempt_at > mail.last_attempt_at
        page = await admin.get("/admin/mail")
        assert "waiting; next try" in page.text and "Retrying" in page.text

        catcher.start()
        retry = await admin.post("/admin/mail/retry", data={"csrf_token": csrf_from(page.text)})
        assert retry.status_code == 303

        async def state():
            return (await mails(node))[0].state

        await eventually(state, expect=MailState.SENT)
        assert len(catcher.caught) == 1
        # Another pass of the worker finds nothing to send.
        assert await count(node, OutgoingMail, OutgoingMail.state == MailState.PENDING) == 0
        (mail,) = await mails(node)
        assert mail.attempts == 2 and mail.last_error is None
        assert len(catcher.caught) == 1


async def test_a_permanent_refusal_marks_the_mail_failed_with_the_reply(start_node, smtp_catcher):
    catcher = smtp_catcher(refuse={"gone@iwsn.example": "550 5.1.1 No such mailbox here"})
    catcher.start()
    node = await start_node("alpha", env=smtp_env(catcher))
    async with admin_client(node) as admin:
        await forward_to(admin, "gone@iwsn.example\nstill@iwsn.example")
        async with httpx.AsyncClient(base_url=node.base_url, timeout=30) as visitor:
            assert (await send_contact(visitor, node)).status_code == 303

        async def states():
            return sorted(str(mail.state) for mail in await mails(node))

        await eventually(states, expect=["failed", "sent"])
        failed = next(mail for mail in await mails(node) if mail.state == MailState.FAILED)
        assert failed.recipient == "gone@iwsn.example" and failed.attempts == 1
        assert "550" in failed.last_error and "No such mailbox" in failed.last_error
        page = await admin.get("/admin/mail")
        assert "failed after 1 tries" in page.text and "No such mailbox here" in page.text
        assert [m.recipients for m in catcher.caught] == [["still@iwsn.example"]]


async def test_without_a_mail_server_mail_is_kept_and_shown_as_not_sent(start_node):
    node = await start_node("alpha")
    async with admin_client(node) as admin:
        await forward_to(admin, "orga@iwsn.example")
        async with httpx.AsyncClient(base_url=node.base_url, timeout=30) as visitor:
            form = await visitor.get("/contact")
            assert "you get no confirmation by e-mail" in form.text
            assert (await send_contact(visitor, node)).status_code == 303
        assert await count(node, ContactMessage) == 1
        (mail,) = await mails(node)
        assert mail.state == MailState.PENDING and mail.attempts == 0
        page = await admin.get("/admin/mail")
        assert page.status_code == 200
        assert "not sent (no mail server set)" in page.text
        assert "1 mail not sent (no mail server set)" in (await admin.get("/admin")).text


LONG = "x" * 6_000
FIVE_MB = "y" * (5 * 1024 * 1024)


@pytest.mark.parametrize(
    ("fields", "status", "says"),
    [
        ({"name": "", "email": "", "topic": "", "message": ""}, 400, "Please give your name."),
        ({"email": "ana at sindicato"}, 400, "That email address does not look right."),
        ({"email": "ana@x.example\r\nBcc: all@example.org"}, 400, "does not look right"),
        ({"topic": "spam"}, 400, "Choose what your message is about."),
        ({"message": LONG}, 400, "The message is longer than 5,000 characters."),
        ({"website": "http://spam.example"}, 400, "filled in by a program"),
        ({"started": "not-signed"}, 400, "too old or damaged"),
        (
            {"message": "see http://a.example http://b.example www.c.example https://d.example"},
            400,
            "At most 3 links.",
        ),
        ({"message": "hi <script>alert(1)</script>"}, 400, "without HTML tags"),
        ({"name": "<b>Ana</b>"}, 400, "without HTML tags"),
    ],
)
async def test_bad_input_is_refused_with_a_message_and_nothing_is_stored(
    start_node, fields, status, says
):
    node = await start_node("alpha")
    async with admin_client(node) as admin:
        await forward_to(admin, "orga@iwsn.example")
    async with httpx.AsyncClient(base_url=node.base_url, timeout=30) as visitor:
        response = await send_contact(visitor, node, **fields)
    assert response.status_code == status
    assert says in response.text.replace("&lt;", "<").replace("&gt;", ">")
    if status == 400:
        # Everything typed comes back (escaped), to fix and send again.
        assert 'value="Sindicato dos Metalúrgicos"' in response.text
        assert "aria-invalid" in response.text or "err-form" in response.text
    assert await count(node, ContactMessage) == 0
    assert await count(node, OutgoingMail) == 0


async def test_a_5_mb_message_is_refused_before_it_is_read(start_node):
    node = await start_node("alpha")
    async with httpx.AsyncClient(base_url=node.base_url, timeout=30) as visitor:
        page = await visitor.get("/contact")
    cookie = "; ".join(f"{name}={value}" for name, value in visitor.cookies.items())
    body = urlencode(
        {"csrf_token": csrf_from(page.text), "started": started(node), "message": FIVE_MB}
    ).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", node.port)
    writer.write(
        b"POST /contact HTTP/1.1\r\nHost: " + node.domain.encode() + b"\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n"
        b"Cookie: " + cookie.encode() + b"\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body[:1000]
    )
    await writer.drain()
    try:
        # Answered from the declared length alone: the rest of the body is never sent.
        status_line = await asyncio.wait_for(reader.readline(), timeout=30)
        rest = await asyncio.wait_for(reader.read(), timeout=30)
    finally:
        writer.close()
    assert status_line.startswith(b"HTTP/1.1 413"), status_line
    assert b"This form is too large (more than 1 MB)" in rest
    assert await count(node, ContactMessage) == 0
    assert await count(node, OutgoingMail) == 0


async def test_a_form_sent_at_once_is_too_fast(start_node):
    node = await start_node("alpha")
    async with httpx.AsyncClient(base_url=node.base_url, timeout=30) as visitor:
        page = await visitor.get("/contact")
        fresh = re.search(r'name="started" value="([^"]+)"', page.text).group(1)
        response = await send_contact(visitor, node, started=fresh)
    assert response.status_code == 400
    assert "That was very fast" in response.text
    assert "Queremos entrar na rede. Como fazemos?</textarea>" in response.text
    assert await count(node, ContactMessage) == 0


async def test_the_address_is_never_public(start_node):
    node = await start_node("alpha")
    async with httpx.AsyncClient(base_url=node.base_url, timeout=30) as visitor:
        assert (await send_contact(visitor, node)).status_code == 303
        as2 = {"Accept": "application/activity+json"}
        pages = [
            ("/", {}),
            ("/actions", {}),
            ("/days", {}),
            ("/alerts", {}),
            ("/contact", {}),
            ("/contact/thanks", {}),
            ("/actions.atom", {}),
            ("/events.ics", {}),
            ("/actors/alpha", as2),
            ("/actors/alpha", {}),
            ("/actors/alpha/outbox", as2),
            ("/actor", as2),
            ("/nodeinfo/2.1", {}),
            (f"/.well-known/webfinger?resource=acct:alpha@{node.domain}", {}),
        ]
        for path, headers in pages:
            response = await visitor.get(path, headers=headers)
            assert response.status_code == 200, path
            assert VISITOR not in response.text and "Ana Souza" not in response.text, path
    assert await count(node, ContactMessage) == 1


def test_no_activitypub_mapper_reads_contact_or_mail():
    from pathlib import Path

    root = Path(__file__).parents[2]
    mappers = [*root.glob("actors/*_to_as.py"), *root.glob("federation/*.py")]
    for path in mappers:
        source = path.read_text()
        for private in ("ContactMessage", "actors.contact", "actors.mail", "OutgoingMail"):
            assert private not in source, f"{path.name} imports {private}"


async def test_bad_settings_are_refused_and_old_messages_are_deleted(start_node):
    node = await start_node("alpha")
    async with admin_client(node) as admin:
        page = await admin.get("/admin/contact?lang=en")
        response = await admin.post(
            "/admin/contact/settings",
            data={
                "csrf_token": csrf_from(page.text),
                "forward_to": "orga@iwsn.example\nnot-an-address",
                "retention_days": "0",
            },
        )
        assert response.status_code == 400
        assert "“not-an-address” is not an e-mail address." in response.text
        assert "Keep messages between 1 and 3,650 days." in response.text
        assert "orga@iwsn.example\nnot-an-address</textarea>" in response.text
        assert await count(node, ContactSettings) == 0
        await forward_to(admin, "orga@iwsn.example")  # and 90 days
    now = datetime.now(UTC)
    async with node.db.transaction() as session:
        for age in (91, 89):
            session.add(
                ContactMessage(
                    name=f"{age} days",
                    email="a@x.example",
                    organization="",
                    topic="other",
                    message="Hi",
                    language="en",
                    created_at=now - timedelta(days=age),
                )
            )
    assert await contact.prune(node.db, now=now) == 1
    async with node.db.read() as session:
        kept = (await session.execute(select(ContactMessage.name))).scalars().all()
    assert kept == ["89 days"]
