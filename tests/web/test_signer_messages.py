"""Messages from the admins to the signers, caught by an SMTP server on loopback: who gets
them and in which language, unsubscribing, the pace the admin sets, refusals; and sending the
links again (by signing again, or from the admin's list)."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select
from support import eventually
from test_admin import PASSWORD, client, csrf_from, login, setup_admin
from test_signatures import GOOD, form_fields, links

from actors import signatures, signer_messages
from actors.errors import ValidationError
from actors.mail.models import MailBatch, MailState, OutgoingMail
from actors.mail.smtp import SmtpServer
from actors.mail.worker import MailWorker
from actors.models import Signature, SignerMessage
from actors.signatures import SignatureInput
from federation.db import utcnow

UNSUBSCRIBE = re.compile(r"https?://\S+/sign/unsubscribe/([A-Za-z0-9_-]+)")
SENDER = "Node <node@iwsn.example>"


class Clock:
    """The worker's time, moved by the test: windows are counted, never waited for."""

    def __init__(self) -> None:
        # After every mail's due time (queued at the real now).
        self.now = utcnow() + timedelta(minutes=1)

    def __call__(self):
        return self.now


def worker(node, catcher, clock, name: str = "w") -> MailWorker:
    server = SmtpServer("127.0.0.1", catcher.port, "plain")
    return MailWorker(node.db, server, sender=SENDER, name=name, clock=clock)


async def drain(*workers: MailWorker) -> int:
    """Run passes (the workers' at the same time) until none finds anything it may send now;
    how many were tried."""
    tried = 0
    while True:
        now = sum(await asyncio.gather(*(each.run_once() for each in workers)))
        if not now:
            return tried
        tried += now


async def signer(node, email: str, language: str, *, confirmed: bool = True, name: str = ""):
    signed = await signatures.sign(
        node.federation,
        SignatureInput(name=name or email.split("@")[0], email=email, language=language),
        mail=node.node.mail,
    )
    if confirmed:
        await signatures.confirm_by_admin(node.federation, signed.signature_id)
    return signed


def text_of(mail) -> str:
    return mail.get_body(("plain",)).get_content()


def html_of(mail) -> str:
    return mail.get_body(("html",)).get_content()


FORM_KEY = re.compile(r'name="form_key" value="([^"]+)"')


async def message_form(http) -> dict[str, str]:
    """The hidden fields of a new message's form, as the page gives them."""
    page = await http.get("/admin/signatures/messages")
    assert page.status_code == 200
    return {"csrf_token": csrf_from(page.text), "form_key": FORM_KEY.search(page.text).group(1)}


async def post_message(http, **fields):
    data = {**await message_form(http), "rate": "100", "per": "minute", **fields}
    return await http.post("/admin/signatures/messages", data=data)


async def counts(node) -> tuple[int, int, int]:
    async with node.db.read() as session:
        return tuple(
            [
                (await session.execute(select(func.count()).select_from(table))).scalar_one()
                for table in (OutgoingMail, SignerMessage, MailBatch)
            ]
        )


async def test_a_message_reaches_confirmed_subscribed_signers_in_their_language(
    start_node, smtp_catcher
):
    catcher = smtp_catcher()
    catcher.start()
    node = await start_node("union", workers=0)
    await setup_admin(node)
    await signer(node, "ana@example.org", "pt", name="Ana")
    await signer(node, "bob@example.org", "fr", name="Bob")
    await signer(node, "carl@example.org", "de", name="Carl")
    await signer(node, "dora@example.org", "en", confirmed=False)
    eve = await signer(node, "eve@example.org", "es")
    assert await signatures.withdraw(node.federation, eve.manage_token or "")
    clock = Clock()
    mailer = worker(node, catcher, clock)
    await drain(mailer)  # the confirmations' mails: not what this test counts
    catcher.caught.clear()

    async with client(node) as http:
        await login(http, "admin", PASSWORD)
        page = await http.get("/admin/signatures/messages")
        assert "3 confirmed signers take messages." in page.text
        sent = await post_message(
            http,
            subject="Assembly on Saturday",
            body="Dear all,\n\nthe assembly meets on Saturday <at 10>.",
            subject_pt="Assembleia no sábado",
            body_pt="Caros todos,\n\na assembleia reúne-se no sábado.",
        )
        assert sent.status_code == 303, sent.text
        assert sent.headers["location"].startswith("/admin/signatures/messages?queued=")
        page = await http.get(sent.headers["location"])
        assert "The message is queued." in page.text
        assert "Sent 0, waiting 3, failed 0, of 3." in page.text
        # Queued, never sent inline.
        assert catcher.caught == []

        assert await drain(mailer) == 3
        assert sorted(r for mail in catcher.caught for r in mail.recipients) == [
            "ana@example.org",
            "bob@example.org",
            "carl@example.org",
        ]
        (ana,) = catcher.to("ana@example.org")
        assert ana["Subject"] == "Assembleia no sábado"
        assert "a assembleia reúne-se no sábado." in text_of(ana)
        assert "Recebe esta mensagem porque assinou o apelo" in text_of(ana)
        assert ana["Content-Language"] == "pt"
        (bob,) = catcher.to("bob@example.org")
        # No French version: the main text, with the node's words in French.
        assert bob["Subject"] == "Assembly on Saturday"
        assert "the assembly meets on Saturday <at 10>." in text_of(bob)
        assert "the assembly meets on Saturday &lt;at 10&gt;." in html_of(bob)
        assert "Vous recevez ce message parce que vous avez signé l’appel" in text_of(bob)
        for mail in catcher.caught:
            message = mail.message
            link = UNSUBSCRIBE.search(text_of(message))
            assert link, text_of(message)
            # Folded when long (RFC 5322): whitespace before the bracket is allowed.
            assert message["List-Unsubscribe"].strip() == f"<{link.group(0)}>"
            assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
            assert link.group(0) in html_of(message)
        page = await http.get("/admin/signatures/messages")
        assert "Sent 3, waiting 0, failed 0, of 3." in page.text
        assert "Assembly on Saturday" in page.text

    # Carl unsubscribes: the page asks first, the one-click POST (no cookie, no form token,
    # as a mail program sends it) does it, and again changes nothing.
    (carl,) = catcher.to("carl@example.org")
    url = UNSUBSCRIBE.search(text_of(carl)).group(0)
    async with httpx.AsyncClient(follow_redirects=False) as http:
        asked = await http.get(url)
        assert asked.status_code == 200 and "Yes, send me no more messages" in asked.text
        done = await http.post(url, data={"List-Unsubscribe": "One-Click"})
        assert done.status_code == 200 and "you will get no more messages" in done.text
        again = await http.post(url, data={"List-Unsubscribe": "One-Click"})
        assert again.status_code == 200 and "already asked" in again.text
        assert (await http.get(url)).status_code == 200
        forged = await http.post(url + "x", data={"List-Unsubscribe": "One-Click"})
        assert forged.status_code == 404 and "not valid" in forged.text
        assert (await http.get(node.url("/sign/unsubscribe/" + "a" * 500))).status_code == 404
    async with node.db.read() as session:
        kept = (
            await session.execute(select(Signature).where(Signature.email == "carl@example.org"))
        ).scalar_one()
    # Still signed, still counted.
    assert kept.confirmed_at is not None and kept.unsubscribed_at is not None
    async with httpx.AsyncClient() as http:
        assert "3 have signed on." in (await http.get(node.url("/signatures"))).text

    catcher.caught.clear()
    async with client(node) as http:
        await login(http, "admin", PASSWORD)
        sent = await post_message(http, subject="Second", body="Again.")
        assert sent.status_code == 303
    assert await drain(mailer) == 2
    assert sorted(r for mail in catcher.caught for r in mail.recipients) == [
        "ana@example.org",
        "bob@example.org",
    ]
    # The same link in every message.
    (ana_again,) = catcher.to("ana@example.org")
    assert UNSUBSCRIBE.search(text_of(ana_again)).group(0) == UNSUBSCRIBE.search(
        text_of(ana)
    ).group(0)


async def test_the_rate_holds_across_workers_and_single_mails_go_first(start_node, smtp_catcher):
    catcher = smtp_catcher()
    catcher.start()
    node = await start_node("union", workers=0)
    for number in range(7):
        await signer(node, f"p{number}@example.org", "en")
    clock = Clock()
    # Two workers, as in two processes: they share the pace through the database.
    first, second = worker(node, catcher, clock, "one"), worker(node, catcher, clock, "two")
    await drain(first, second)
    catcher.caught.clear()
    message_id = await signer_messages.send(
        node.db,
        node.node.mail,
        node.node.settings.base_url,
        signer_messages.MessageInput(subject="S", body="B", rate="3", per="minute"),
    )
    window = timedelta(seconds=60)
    start = clock.now

    sent_per_window = []
    for step in range(4):
        clock.now = start + step * window
        sent_per_window.append(await drain(first, second))
        if step == 0:
            # Late in the first window: still nothing more...
            clock.now = start + window - timedelta(seconds=1)
            assert await drain(second, first) == 0
            # ... except a single mail, which never waits behind a batch.
            await signer(node, "late@example.org", "en", confirmed=False)
            assert await drain(first, second) == 1
            assert [m.recipients for m in catcher.caught][-1] == ["late@example.org"]
    assert sent_per_window == [3, 3, 1, 0]
    async with node.db.read() as session:
        (item,) = await signer_messages.history(session)
    assert item.message.id == message_id
    assert (item.progress.sent, item.progress.waiting, item.progress.total) == (7, 0, 7)

    # An hourly rate: windows of an hour.
    message_id = await signer_messages.send(
        node.db,
        node.node.mail,
        node.node.settings.base_url,
        signer_messages.MessageInput(subject="S2", body="B2", rate="5", per="hour"),
    )
    clock.now = start + timedelta(hours=1)
    assert await drain(first, second) == 5
    clock.now += timedelta(minutes=59)
    assert await drain(first, second) == 0
    clock.now += timedelta(minutes=1)
    assert await drain(first, second) == 2


async def test_the_personal_link_stops_messages_and_takes_them_again(start_node, smtp_catcher):
    catcher = smtp_catcher()
    catcher.start()
    node = await start_node("union", workers=0)
    signed = await signer(node, "a@example.org", "fr")
    manage = node.url(f"/sign/manage/{signed.manage_token}")
    async with httpx.AsyncClient(follow_redirects=False) as http:
        page = await http.get(manage)
        assert "Send me no more messages" in page.text
        token = csrf_from(page.text)
        stopped = await http.post(manage, data={"csrf_token": token, "messages": "off"})
        assert stopped.status_code == 303
        page = await http.get(node.url(stopped.headers["location"]))
        assert "you will get no more messages" in page.text
        assert "Get their messages again" in page.text
        given = signer_messages.MessageInput(subject="S", body="B")
        with pytest.raises(ValidationError):
            await signer_messages.send(node.db, node.node.mail, node.node.settings.base_url, given)
        again = await http.post(manage, data={"csrf_token": token, "messages": "on"})
        assert again.status_code == 303
        assert "again" in (await http.get(node.url(again.headers["location"]))).text
        await signer_messages.send(node.db, node.node.mail, node.node.settings.base_url, given)
        assert await drain(worker(node, catcher, Clock())) == 2  # the signature's, and this
        # Nothing else changed: the signature is as it was, confirmed.
        async with node.db.read() as session:
            (row,) = (await session.execute(select(Signature))).scalars()
        assert row.confirmed_at is not None and row.name == "a" and row.unsubscribed_at is None


async def test_unsubscribing_takes_waiting_mails_out_of_the_queue(start_node, smtp_catcher):
    catcher = smtp_catcher()
    catcher.start()
    node = await start_node("union", workers=0)
    await signer(node, "a@example.org", "en")
    withdrawing = await signer(node, "b@example.org", "en")
    clock = Clock()
    mailer = worker(node, catcher, clock)
    await drain(mailer)
    catcher.caught.clear()
    given = signer_messages.MessageInput(subject="S", body="B", rate="1", per="hour")
    await signer_messages.send(node.db, node.node.mail, node.node.settings.base_url, given)
    await signer_messages.send(node.db, node.node.mail, node.node.settings.base_url, given)
    async with node.db.read() as session:
        token = (
            await session.execute(
                select(Signature.unsubscribe_token).where(Signature.email == "a@example.org")
            )
        ).scalar_one()
    assert await signer_messages.unsubscribe(node.db, token) == "done"
    assert await signer_messages.unsubscribe(node.db, token) == "already"
    # Withdrawing erases the address from the queue too.
    assert await signatures.withdraw(node.federation, withdrawing.manage_token or "")
    async with node.db.read() as session:
        left = (
            (
                await session.execute(
                    select(OutgoingMail.recipient).where(OutgoingMail.state == MailState.PENDING)
                )
            )
            .scalars()
            .all()
        )
        history = await signer_messages.history(session)
    assert left == []
    assert [(h.progress.cancelled, h.progress.waiting) for h in history] == [(2, 0), (2, 0)]
    assert await drain(mailer) == 0 and catcher.caught == []


@pytest.mark.parametrize(
    ("fields", "field", "says"),
    [
        ({"subject": "", "body": "Hello"}, "subject", "Give the message a subject."),
        ({"subject": "Hi", "body": "  \n "}, "body", "Write the text of the message."),
        ({"subject": "Hi", "body": "x" * 100_000}, "body", "longer than 20,000 characters"),
        ({"subject": "x" * 201, "body": "B"}, "subject", "longer than 200 characters"),
        (
            {"subject": "Hi", "body": "B", "subject_es": "Hola"},
            "subject_es",
            "both the subject and the text in this language",
        ),
        ({"subject": "Hi", "body": "B", "rate": "0"}, "rate", "from 1 to 10,000"),
        ({"subject": "Hi", "body": "B", "rate": "ten"}, "rate", "whole number"),
        ({"subject": "Hi", "body": "B", "per": "year"}, "rate", "a minute or an hour"),
    ],
)
async def test_bad_input_gets_a_clear_message_and_queues_nothing(start_node, fields, field, says):
    node = await start_node("union", workers=0)
    await setup_admin(node)
    await signer(node, "a@example.org", "en")
    before = await counts(node)
    async with client(node) as http:
        await login(http, "admin", PASSWORD)
        answer = await post_message(http, **fields)
    assert answer.status_code == 400
    assert f'id="err-{field}"' in answer.text and says in answer.text
    assert "Not sent." in answer.text
    if fields.get("subject") == "Hi":
        assert 'value="Hi"' in answer.text  # what was typed is kept
    assert await counts(node) == before


async def test_the_same_form_sent_twice_queues_the_message_once(start_node):
    node = await start_node("union", workers=0)
    await setup_admin(node)
    await signer(node, "a@example.org", "en")
    await signer(node, "b@example.org", "en")
    async with client(node) as http:
        await login(http, "admin", PASSWORD)
        hidden = await message_form(http)
        data = {**hidden, "subject": "Once", "body": "B", "rate": "5", "per": "minute"}
        # Twice at once (a double click), then again later (the browser sending it again).
        answers = await asyncio.gather(
            http.post("/admin/signatures/messages", data=data),
            http.post("/admin/signatures/messages", data=data),
        )
        answers.append(await http.post("/admin/signatures/messages", data=data))
        assert [answer.status_code for answer in answers] == [303, 303, 303]
        assert len({answer.headers["location"] for answer in answers}) == 1
        # A new form is a new message.
        assert (await post_message(http, subject="Twice", body="B")).status_code == 303
    before = await counts(node)
    assert before[1:] == (2, 2)
    async with node.db.read() as session:
        batched = await session.execute(
            select(func.count(OutgoingMail.id)).where(OutgoingMail.batch_id.is_not(None))
        )
        assert batched.scalar_one() == 4


async def test_without_subscribed_signers_nothing_is_queued(start_node):
    node = await start_node("union", workers=0)
    await setup_admin(node)
    await signer(node, "waiting@example.org", "en", confirmed=False)
    before = await counts(node)
    async with client(node) as http:
        await login(http, "admin", PASSWORD)
        answer = await post_message(http, subject="Hi", body="B")
    assert answer.status_code == 400
    assert "No confirmed signer of this node takes messages yet" in answer.text
    assert await counts(node) == before


async def test_the_links_are_sent_again_by_signing_again_and_by_the_admin(start_node, smtp_catcher):
    catcher = smtp_catcher()
    catcher.start()
    node = await start_node(
        "union", workers=0, env={"IWSN_SMTP_URL": catcher.url, "IWSN_MAIL_FROM": SENDER}
    )
    await setup_admin(node)
    mailer = worker(node, catcher, Clock())
    address = GOOD["email"].lower()
    async with httpx.AsyncClient(follow_redirects=False) as http:
        fields = await form_fields(http, node)
        for _ in range(4):
            signed = await http.post(node.url("/sign"), data={**fields, **GOOD})
            assert signed.status_code == 303
        sent = await http.get(node.url("/sign/sent"))
        assert "sign again with the same address" in sent.text
    # Three mails an hour to one address, whoever signs with it; the page says the same.
    assert await drain(mailer) == 3
    mails = catcher.to(address)
    assert len(mails) == 3
    # The fourth sent nothing and changed no link: the last mail's link still confirms.
    assert await signatures.confirm(node.federation, links(mails[-1])["confirm"]) == "confirmed"
    async with node.db.read() as session:
        (row,) = (await session.execute(select(Signature))).scalars()

    async with client(node) as http:
        await login(http, "admin", PASSWORD)
        listing = await http.get("/admin/signatures")
        assert "Send the personal link again" in listing.text
        answer = await http.post(
            f"/admin/signatures/{row.id}/resend", data={"csrf_token": csrf_from(listing.text)}
        )
        assert answer.status_code == 303
        page = await http.get(answer.headers["location"])
        assert "queued again" in page.text
        missing = await http.post(
            "/admin/signatures/999/resend", data={"csrf_token": csrf_from(listing.text)}
        )
        assert missing.status_code == 404
    assert await drain(mailer) == 1
    resent = catcher.to(address)[-1]
    assert resent["Subject"] == "Your signature of the call"
    manage = links(resent)["manage"]
    async with node.db.read() as session:
        assert await signatures.by_manage_token(session, manage) is not None
        assert await signatures.by_manage_token(session, links(mails[-1])["manage"]) is None


async def test_the_admin_changes_the_rate_of_a_message_going_out_or_stops_it(
    start_node, smtp_catcher
):
    catcher = smtp_catcher()
    catcher.start()
    node = await start_node("union", workers=0)
    await setup_admin(node)
    for number in range(6):
        await signer(node, f"p{number}@example.org", "en")
    clock = Clock()
    mailer = worker(node, catcher, clock)
    await drain(mailer)
    async with client(node) as http:
        await login(http, "admin", PASSWORD)
        sent = await post_message(http, subject="Slow", body="B", rate="1", per="hour")
        assert sent.status_code == 303
        assert await drain(mailer) == 1
        page = await http.get("/admin/signatures/messages")
        assert "Sent 1, waiting 5, failed 0, of 6." in page.text
        (item,) = await history(node)
        token = csrf_from(page.text)
        path = f"/admin/signatures/messages/{item.message.id}"
        refused = await http.post(
            f"{path}/rate", data={"csrf_token": token, "rate": "-3", "per": "minute"}
        )
        assert refused.status_code == 400
        assert f'id="err-rate-{item.message.id}"' in refused.text
        assert "whole number from 1 to 10,000" in refused.text
        assert "Not sent." not in refused.text
        faster = await http.post(
            f"{path}/rate", data={"csrf_token": token, "rate": "3", "per": "minute"}
        )
        assert faster.status_code == 303
        assert "The new rate applies" in (await http.get(faster.headers["location"])).text
        # The window is a minute now, and the mail claimed in it counts.
        assert await drain(mailer) == 2
        clock.now += timedelta(minutes=1)
        assert await drain(mailer) == 3
        assert (await history(node))[0].progress.sent == 6

        second = await post_message(http, subject="Stopped", body="B", rate="2", per="hour")
        assert second.status_code == 303
        assert await drain(mailer) == 2
        newest = (await history(node))[0]
        stopped = await http.post(
            f"/admin/signatures/messages/{newest.message.id}/stop", data={"csrf_token": token}
        )
        assert stopped.status_code == 303
        page = await http.get(stopped.headers["location"])
        assert "Stopped: what had not gone out yet will not be sent." in page.text
        assert "Sent 2, waiting 0, failed 0, of 6." in page.text
        assert "(stopped, or the signer unsubscribed or withdrew): 4." in page.text
        missing = await http.post("/admin/signatures/messages/999/stop", data={"csrf_token": token})
        assert missing.status_code == 404
    clock.now += timedelta(hours=2)
    assert await drain(mailer) == 0


async def history(node):
    async with node.db.read() as session:
        return await signer_messages.history(session)


async def test_the_nodes_own_mail_worker_sends_a_message(start_node, smtp_catcher):
    catcher = smtp_catcher()
    catcher.start()
    node = await start_node("union", env={"IWSN_SMTP_URL": catcher.url, "IWSN_MAIL_FROM": SENDER})
    await setup_admin(node)
    await signer(node, "a@example.org", "es")
    async with client(node) as http:
        await login(http, "admin", PASSWORD)
        page = await http.get("/admin/signatures/messages")
        assert "no mail server set" not in page.text
        sent = await post_message(http, subject="Hola", body="Nos vemos.", rate="10")
        assert sent.status_code == 303

    async def arrived():
        return [m for m in catcher.to("a@example.org") if m["Subject"] == "Hola"]

    (mail,) = await eventually(arrived)
    assert "Nos vemos." in text_of(mail) and mail["Content-Language"] == "es"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
