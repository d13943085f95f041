"""The contact form's messages: taken from anyone, kept on this node, read by its admins.

Never federated: no AS2 mapper imports this module or its table. A message is stored and its
forwards queued (actors.mail) in one transaction; an admin reads it, answers by e-mail, or
deletes it, and housekeeping deletes what is older than the retention the admin chose.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from actors.errors import Message, NotFound, Problems
from actors.mail import addresses
from actors.mail.queue import MailQueue
from actors.models import ContactMessage, ContactSettings
from actors.text import has_markup, link_count, strip_controls
from federation.db import Database, rowcount, utcnow

TOPICS = ("question", "idea", "press", "joining", "other")
NAME_LIMIT = 200
ORGANIZATION_LIMIT = 200
MESSAGE_LIMIT = 5_000
REPLY_LIMIT = 20_000
# A question may point at a page or two; a list of links is what spam looks like.
MAX_LINKS = 3
RETENTION_DEFAULT = 365
RETENTION_RANGE = (1, 3650)
MAX_FORWARDS = 10



@dataclass(frozen=True)
class ContactInput:
    name: str
    email: str
    organization: str
    topic: str
    message: str
    language: str


def check(raw: ContactInput) -> ContactInput:
    """The input as it will be stored, or ValidationError with everything wrong with it."""
    problems = Problems()
    name = " ".join(strip_controls(raw.name).split())
    organization = " ".join(strip_controls(raw.organization).split())
    message = strip_controls(raw.message).replace("\r\n", "\n").strip()
    if not name:
        problems.add("name", Message.YOUR_NAME_REQUIRED)
    elif len(name) > NAME_LIMIT:
        problems.add("name", Message.FIELD_TOO_LONG, limit=NAME_LIMIT)
    email = addresses.normalized(raw.email)
    if not raw.email.strip():
        problems.add("email", Message.EMAIL_REQUIRED)
    elif email is None:
        problems.add("email", Message.EMAIL_INVALID)
    if len(organization) > ORGANIZATION_LIMIT:
        problems.add("organization", Message.FIELD_TOO_LONG, limit=ORGANIZATION_LIMIT)
    if raw.topic not in TOPICS:
        problems.add("topic", Message.TOPIC_UNKNOWN)
    if not message:
        problems.add("message", Message.MESSAGE_REQUIRED)
    elif len(message) > MESSAGE_LIMIT:
        problems.add("message", Message.MESSAGE_TOO_LONG, limit=MESSAGE_LIMIT)
    elif link_count(message) > MAX_LINKS:
        problems.add("message", Message.TOO_MANY_LINKS, limit=MAX_LINKS)
    for field, value in (("name", name), ("organization", organization), ("message", message)):
        if has_markup(value):
            problems.add(field, Message.NO_MARKUP)
    if link_count(name) or link_count(organization):
        problems.add("name" if link_count(name) else "organization", Message.NO_MARKUP)
    problems.raise_any()
    assert email is not None
    return ContactInput(name, email, organization, raw.topic, message, raw.language)


async def submit(db: Database, mail: MailQueue, raw: ContactInput, *, base_url: str) -> int:
    """Store a message and queue its forwards, together; returns its id."""
    data = check(raw)
    async with db.transaction() as session:
        row = ContactMessage(
            name=data.name,
            email=data.email,
            organization=data.organization,
            topic=data.topic,
            message=data.message,
            language=data.language,
            created_at=utcnow(),
        )
        session.add(row)
        await session.flush()
        kept = await settings(session)
        forwards, _bad = addresses.listed(kept.forward_to)
        for address in forwards:
            await mail.enqueue(
                session,
                to=address,
                language=kept.forward_language,
                template="contact_forward",
                context={
                    "name": data.name,
                    "email": data.email,
                    "organization": data.organization,
                    "topic": data.topic,
                    "message": data.message,
                    "language": data.language,
                    "link": f"{base_url}/admin/contact/{row.id}",
                },
                # The admin's mail program answers the person who wrote, not the node.
                headers={
                    "Reply-To": data.email,
                    "List-Unsubscribe": f"<{base_url}/admin/contact#settings>",
                },
            )
        return row.id


async def inbox(session: AsyncSession, *, limit: int = 200) -> Sequence[ContactMessage]:
    """The newest messages first."""
    return (
        (
            await session.execute(
                select(ContactMessage)
                .order_by(ContactMessage.created_at.desc(), ContactMessage.id.desc())
                .limit(limit)
            )
        )
        .scalars()
        .all()
    )


async def unread_count(session: AsyncSession) -> int:
    return (
        await session.execute(
            select(func.count()).select_from(ContactMessage).where(ContactMessage.read_at.is_(None))
        )
    ).scalar_one()


async def read(db: Database, message_id: int) -> ContactMessage:
    """One message, marked read the first time an admin opens it."""
    async with db.transaction() as session:
        row = await session.get(ContactMessage, message_id)
        if row is None:
            raise NotFound(Message.CONTACT_MESSAGE_NOT_FOUND, str(message_id))
        if row.read_at is None:
            row.read_at = utcnow()
    return row


async def reply(
    db: Database, mail: MailQueue, message_id: int, text: str, *, node_name: str
) -> None:
    """E-mail the admin's answer to the person, in the language they wrote in."""
    answer = strip_controls(text).replace("\r\n", "\n").strip()
    problems = Problems()
    if not answer:
        problems.add("reply", Message.REPLY_REQUIRED)
    elif len(answer) > REPLY_LIMIT:
        problems.add("reply", Message.MESSAGE_TOO_LONG, limit=REPLY_LIMIT)
    problems.raise_any()
    async with db.transaction() as session:
        row = await session.get(ContactMessage, message_id)
        if row is None:
            raise NotFound(Message.CONTACT_MESSAGE_NOT_FOUND, str(message_id))
        await mail.enqueue(
            session,
            to=row.email,
            language=row.language,
            template="contact_reply",
            context={
                "name": row.name,
                "answer": answer,
                "message": row.message,
                "node_name": node_name,
                "written_at": row.created_at,
            },
        )
        row.replied_at = utcnow()
        row.read_at = row.read_at or row.replied_at


async def remove(db: Database, message_id: int) -> None:
    async with db.transaction() as session:
        result = await session.execute(
            delete(ContactMessage).where(ContactMessage.id == message_id)
        )
    if not rowcount(result):
        raise NotFound(Message.CONTACT_MESSAGE_NOT_FOUND, str(message_id))


async def settings(session: AsyncSession) -> ContactSettings:
    """The stored settings, or the defaults (not stored) when an admin never set them."""
    row = (await session.execute(select(ContactSettings).limit(1))).scalar_one_or_none()
    return row or ContactSettings(
        forward_to="", forward_language="en", retention_days=RETENTION_DEFAULT
    )


async def save_settings(
    db: Database, *, forward_to: str, retention_days: str, language: str
) -> ContactSettings:
    problems = Problems()
    good, bad = addresses.listed(forward_to)
    if bad:
        problems.add("forward_to", Message.FORWARD_ADDRESS_INVALID, value=bad[0][:100])
    elif len(good) > MAX_FORWARDS:
        problems.add("forward_to", Message.TOO_MANY_ADDRESSES, limit=MAX_FORWARDS)
    low, high = RETENTION_RANGE
    days = int(retention_days) if retention_days.strip().isdigit() else None
    if days is None or not low <= days <= high:
        problems.add("retention_days", Message.RETENTION_RANGE, low=low, high=high)
    problems.raise_any()
    assert days is not None
    async with db.transaction() as session:
        row = (await session.execute(select(ContactSettings).limit(1))).scalar_one_or_none()
        if row is None:
            row = ContactSettings()
            session.add(row)
        row.forward_to = "\n".join(good)
        row.forward_language = language
        row.retention_days = days
        row.updated_at = utcnow()
    return row


async def prune(db: Database, *, now: datetime | None = None) -> int:
    """Delete the messages older than the retention (housekeeping)."""
    now = now or utcnow()
    async with db.transaction() as session:
        days = (await settings(session)).retention_days
        result = await session.execute(
            delete(ContactMessage).where(ContactMessage.created_at < now - timedelta(days=days))
        )
    return rowcount(result)
