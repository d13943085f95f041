"""The mail queue on its own: a mail exists only if the transaction that queued it commits,
and two workers draining one queue together send each mail once."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from actors.mail.models import MailState, OutgoingMail
from actors.mail.smtp import SmtpServer
from actors.mail.worker import MailWorker


async def queued(node) -> int:
    async with node.db.read() as session:
        return (await session.execute(select(func.count()).select_from(OutgoingMail))).scalar_one()


def context(n: int) -> dict:
    return {
        "name": f"Person {n}",
        "answer": "Thanks.",
        "message": "Hi",
        "node_name": "Node",
        "written_at": datetime(2027, 5, 1),
    }


async def test_a_mail_is_queued_only_with_its_transaction(start_node):
    node = await start_node("alpha", workers=0)
    with pytest.raises(RuntimeError):
        async with node.db.transaction() as session:
            await node.node.mail.enqueue(
                session,
                to="a@x.example",
                language="fr",
                template="contact_reply",
                context=context(1),
            )
            raise RuntimeError("the domain change failed")
    assert await queued(node) == 0
    async with node.db.transaction() as session:
        mail = await node.node.mail.enqueue(
            session, to="a@x.example", language="fr", template="contact_reply", context=context(1)
        )
    assert await queued(node) == 1
    assert mail.subject.startswith("Votre message à") and mail.body_text.startswith("Bonjour")
    assert '<html lang="fr">' in mail.body_html and mail.message_id.startswith("<")


async def test_two_workers_send_each_mail_once(start_node, smtp_catcher):
    catcher = smtp_catcher()
    catcher.start()
    node = await start_node("alpha", workers=0)
    async with node.db.transaction() as session:
        for n in range(30):
            await node.node.mail.enqueue(
                session,
                to=f"p{n}@x.example",
                language="en",
                template="contact_reply",
                context=context(n),
            )
    server = SmtpServer("127.0.0.1", catcher.port, "plain")
    workers = [
        MailWorker(node.db, server, sender="Node <n@x.example>", name=f"w{k}", batch_size=4)
        for k in range(2)
    ]
    while True:
        tried = await asyncio.gather(*(worker.run_once() for worker in workers))
        if not any(tried):
            break
    recipients = sorted(r for mail in catcher.caught for r in mail.recipients)
    assert recipients == sorted(f"p{n}@x.example" for n in range(30))
    async with node.db.read() as session:
        states = (await session.execute(select(OutgoingMail.state))).scalars().all()
    assert set(states) == {MailState.SENT}
    message = catcher.caught[0].message
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == [
        "text/plain",
        "text/html",
    ]
    assert message["From"] == "Node <n@x.example>" and catcher.caught[0].sender == "n@x.example"


async def test_a_failed_try_waits_on_the_backoff(start_node, smtp_catcher):
    catcher = smtp_catcher()  # never started
    node = await start_node("alpha", workers=0)
    async with node.db.transaction() as session:
        await node.node.mail.enqueue(
            session, to="a@x.example", language="en", template="contact_reply", context=context(1)
        )
    worker = MailWorker(node.db, SmtpServer("127.0.0.1", catcher.port, "plain"), sender="n@x.io")
    assert await worker.run_once() == 1
    async with node.db.read() as session:
        (mail,) = (await session.execute(select(OutgoingMail))).scalars()
    assert mail.state == MailState.PENDING and mail.attempts == 1
    wait = mail.next_attempt_at - mail.last_attempt_at
    assert timedelta(seconds=47) < wait < timedelta(seconds=73)
    assert mail.lease_owner is None
    # Not due yet: the next pass leaves it alone.
    assert await worker.run_once() == 0
