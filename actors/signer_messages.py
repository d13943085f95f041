"""Messages from a node's admins to everyone who signed on there, and leaving that list.

A message goes to confirmed signers who did not unsubscribe, each in their language (the
version the admin wrote for it, else the main text), as one paced batch of the mail queue:
`send` only queues, in one transaction, so the message and all its mails exist together or
not at all; the workers send them at the rate the admin set. Every mail carries the signer's
unsubscribe link, in its text and as List-Unsubscribe with one-click POST (RFC 8058).
Unsubscribing keeps the signature counted; it only stops these messages.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from actors import signatures
from actors.errors import Message, NotFound, Problems
from actors.mail import queue as mail_queue
from actors.mail.queue import BatchProgress, MailQueue, Outgoing
from actors.models import Signature, SignerMessage
from actors.text import strip_controls
from federation.db import Database, utcnow

MAX_SUBJECT = 200
MAX_BODY = 20_000
MAX_RATE = 10_000
WINDOWS = {"minute": 60, "hour": 3600}
TEMPLATE = "signer_message"


@dataclass(frozen=True)
class MessageInput:
    """What the admin wrote, unchecked: the main text, versions by language, the rate."""

    subject: str = ""
    body: str = ""
    # language -> (subject, body); both empty: that language gets the main text.
    translations: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    rate: str = "60"
    per: str = "minute"
    # The form's own random key (`new_form_key`): the same form sent twice queues once.
    form_key: str = ""


def _subject(problems: Problems, name: str, text: str) -> str:
    value = " ".join(strip_controls(text).split())
    if len(value) > MAX_SUBJECT:
        problems.add(name, Message.FIELD_TOO_LONG, limit=MAX_SUBJECT)
    return value


def _body(problems: Problems, name: str, text: str) -> str:
    value = strip_controls(text).replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(value) > MAX_BODY:
        problems.add(name, Message.FIELD_TOO_LONG, limit=MAX_BODY)
    return value


@dataclass(frozen=True)
class CheckedMessage:
    subject: str
    body: str
    texts: dict[str, dict[str, str]]
    rate: int
    per: str


def _rate(problems: Problems, rate_text: str, per: str) -> int:
    text = rate_text.strip()
    rate = int(text) if text.isascii() and text.isdigit() and len(text) < 10 else 0
    if not 1 <= rate <= MAX_RATE or per not in WINDOWS:
        problems.add("rate", Message.RATE_INVALID, limit=MAX_RATE)
    return rate


def check(given: MessageInput) -> CheckedMessage:
    """The message to queue, or ValidationError with everything wrong at once."""
    problems = Problems()
    subject = _subject(problems, "subject", given.subject)
    if not subject and "subject" not in problems:
        problems.add("subject", Message.SUBJECT_REQUIRED)
    body = _body(problems, "body", given.body)
    if not body and "body" not in problems:
        problems.add("body", Message.MESSAGE_BODY_REQUIRED)
    texts: dict[str, dict[str, str]] = {}
    for language, (subject_text, body_text) in given.translations.items():
        one = _subject(problems, f"subject_{language}", subject_text)
        other = _body(problems, f"body_{language}", body_text)
        if bool(one) != bool(other):
            problems.add(f"subject_{language}", Message.TRANSLATION_HALF)
        elif one and other:
            texts[language] = {"subject": one, "body": other}
    rate = _rate(problems, given.rate, given.per)
    problems.raise_any()
    return CheckedMessage(subject, body, texts, rate, given.per)


# Who gets a message: signed, confirmed, and did not ask to stop. Withdrawn signers have no
# row any more.
_TAKES_MESSAGES = (Signature.confirmed_at.is_not(None), Signature.unsubscribed_at.is_(None))


async def recipients_count(session: AsyncSession) -> int:
    return (
        await session.execute(select(func.count(Signature.id)).where(*_TAKES_MESSAGES))
    ).scalar_one()


def new_form_key() -> str:
    return secrets.token_urlsafe(24)


async def _sent_with(db: Database, form_key: str) -> int | None:
    async with db.read() as session:
        return (
            await session.execute(
                select(SignerMessage.id).where(SignerMessage.form_key == form_key)
            )
        ).scalar_one_or_none()


def unsubscribe_url(base_url: str, token: str) -> str:
    return f"{base_url}/sign/unsubscribe/{token}"


async def send(db: Database, mail: MailQueue, base_url: str, given: MessageInput) -> int:
    """Queue the message to every confirmed, subscribed signer; returns its id. Refused
    (ValidationError) when the input is wrong or nobody would get it: then nothing is kept.
    The same form sent again answers the id of the message it queued, and queues nothing."""
    checked = check(given)
    form_key = given.form_key.strip()[:64] or None
    if form_key is not None and (done := await _sent_with(db, form_key)) is not None:
        return done
    try:
        return await _queue(db, mail, base_url, checked, form_key)
    except IntegrityError:
        # The same form, sent twice at once: the other request queued it.
        if form_key is not None and (done := await _sent_with(db, form_key)) is not None:
            return done
        raise


async def _queue(
    db: Database, mail: MailQueue, base_url: str, checked: CheckedMessage, form_key: str | None
) -> int:
    async with db.transaction() as session:
        signers = list(
            (
                await session.execute(
                    select(Signature).where(*_TAKES_MESSAGES).order_by(Signature.id)
                )
            ).scalars()
        )
        if not signers:
            problems = Problems()
            problems.add("form", Message.NO_SUBSCRIBED_SIGNERS)
            problems.raise_any()
        batch = await mail_queue.new_batch(
            session, per_window=checked.rate, window_seconds=WINDOWS[checked.per]
        )
        message = SignerMessage(
            subject=checked.subject,
            body=checked.body,
            texts=checked.texts,
            batch_id=batch.id,
            rate=checked.rate,
            per=checked.per,
            created_at=utcnow(),
            form_key=form_key,
        )
        session.add(message)
        # The key is taken before any mail is queued: a twin request fails here, early.
        await session.flush()
        for signer in signers:
            if signer.unsubscribe_token is None:
                signer.unsubscribe_token = secrets.token_urlsafe(24)
        await mail.enqueue_batch(session, batch, (_mail(checked, base_url, s) for s in signers))
        await session.flush()
        return message.id


def _mail(checked: CheckedMessage, base_url: str, signer: Signature) -> Outgoing:
    """The message as this signer gets it: in their language if the admin wrote it, with
    their own link to stop messages (in the text, and in the headers mail programs read)."""
    text = checked.texts.get(signer.language) or {"subject": checked.subject, "body": checked.body}
    link = unsubscribe_url(base_url, signer.unsubscribe_token or "")
    return Outgoing(
        to=signer.email,
        language=signer.language,
        template=TEMPLATE,
        context={"message_subject": text["subject"], "message_body": text["body"]},
        personal={"unsubscribe_url": link},
        headers={
            "List-Unsubscribe": f"<{link}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )


@dataclass(frozen=True)
class SentMessage:
    message: SignerMessage
    progress: BatchProgress


async def history(session: AsyncSession, *, limit: int = 50) -> list[SentMessage]:
    """The messages sent, newest first, each with how far its mails went."""
    messages = list(
        (
            await session.execute(
                select(SignerMessage)
                .order_by(SignerMessage.created_at.desc(), SignerMessage.id.desc())
                .limit(limit)
            )
        ).scalars()
    )
    progress = await mail_queue.batch_progress(session, [m.batch_id for m in messages])
    empty = BatchProgress(0, 0, 0, 0)
    return [SentMessage(m, progress.get(m.batch_id, empty)) for m in messages]


async def _message(session: AsyncSession, message_id: int) -> SignerMessage:
    message = await session.get(SignerMessage, message_id)
    if message is None:
        raise NotFound(Message.SIGNER_MESSAGE_NOT_FOUND, str(message_id))
    return message


async def change_rate(db: Database, message_id: int, rate_text: str, per: str) -> None:
    """The admin changes the pace of a message still going out (too fast for their mail
    provider, or too slow)."""
    problems = Problems()
    rate = _rate(problems, rate_text, per)
    problems.raise_any()
    async with db.transaction() as session:
        message = await _message(session, message_id)
        message.rate, message.per = rate, per
        await mail_queue.repace(
            session, message.batch_id, per_window=rate, window_seconds=WINDOWS[per]
        )


async def stop(db: Database, message_id: int) -> int:
    """The admin stops a message: what has not gone out yet never will. Returns how many."""
    async with db.transaction() as session:
        message = await _message(session, message_id)
        return await mail_queue.cancel_batch(session, message.batch_id)


class Unsubscribe(StrEnum):
    DONE = "done"
    ALREADY = "already"
    UNKNOWN = "unknown"  # no such link: forged, or the signature was withdrawn
    ASK = "ask"  # the link is good and the signer still takes messages


async def unsubscribe_state(session: AsyncSession, token: str) -> Unsubscribe:
    signature = await _by_token(session, token)
    if signature is None:
        return Unsubscribe.UNKNOWN
    return Unsubscribe.ASK if signature.unsubscribed_at is None else Unsubscribe.ALREADY


async def unsubscribe(db: Database, token: str) -> Unsubscribe:
    """Stop messages to this signer (the signature stays), and take out of the queue those
    not sent yet. Idempotent: a second time says it was done already."""
    async with db.transaction() as session:
        signature = await _by_token(session, token)
        if signature is None:
            return Unsubscribe.UNKNOWN
        if signature.unsubscribed_at is not None:
            return Unsubscribe.ALREADY
        signature.unsubscribed_at = utcnow()
        await mail_queue.cancel_waiting(session, signature.email, batched_only=True)
    return Unsubscribe.DONE


async def choose(db: Database, manage_token: str, *, wants_messages: bool) -> bool:
    """The signer, through their personal link, stops messages or takes them again. False:
    no such link."""
    async with db.transaction() as session:
        signature = await signatures.by_manage_token(session, manage_token)
        if signature is None:
            return False
        if wants_messages:
            signature.unsubscribed_at = None
        elif signature.unsubscribed_at is None:
            signature.unsubscribed_at = utcnow()
            await mail_queue.cancel_waiting(session, signature.email, batched_only=True)
    return True


async def _by_token(session: AsyncSession, token: str) -> Signature | None:
    if not token or len(token) > 64:
        return None
    return (
        await session.execute(select(Signature).where(Signature.unsubscribe_token == token))
    ).scalar_one_or_none()
