"""Plans for actions sent by anyone (`/submit`), moderated before anything is published.

A submission is the action's fields (kept as given, `plan_json`) and its submitter: a name,
an optional organization, a private e-mail address, and whether they agree to be credited.
It waits for a moderator of the organization it was sent to, who approves it (it is then
published as that organization's action, in the same transaction), rejects it with a reason,
or removes it as spam, possibly refusing its sender's address or domain from then on.

The submitter follows it through a private link sent by e-mail (only its hash is kept): they
see its state, change it while it waits, or withdraw it, which erases it. Never federated:
no AS2 mapper imports this module or its tables; what is published is the event, and the
submitter's name only if they agreed.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from actors import events
from actors.errors import Message, NotFound, Problems, ValidationError
from actors.mail import addresses
from actors.mail.queue import MailQueue
from actors.models import Event, Organization, Submission, SubmissionBlock, SubmissionSettings
from actors.organizations import resolve
from actors.text import has_markup, link_count, strip_controls
from federation.db import Database, utcnow
from federation.node import Federation

WAITING, APPROVED, REJECTED = "waiting", "approved", "rejected"
NAME_LIMIT = 200
ORGANIZATION_LIMIT = 200
REASON_LIMIT = 2_000
MAX_NOTIFIED = 10
# A plan's description may hold a few links (a map, a call-out); a list of them is spam.
MAX_LINKS = 5
_DATETIME_FIELDS = ("starts", "ends")


@dataclass(frozen=True)
class Submitter:
    name: str
    email: str
    organization: str = ""
    credit: bool = False
    # The language of the form: the mails about the submission are worded in it.
    language: str = "en"


def plan_json(data: events.EventInput) -> dict[str, Any]:
    """The action's fields as stored while the plan waits: the input as given, JSON-ready."""
    values: dict[str, Any] = {}
    for field in fields(events.EventInput):
        value = getattr(data, field.name)
        if field.name in _DATETIME_FIELDS:
            value = value.isoformat() if value is not None else None
        values[field.name] = value
    return values


def plan_from_json(values: dict[str, Any]) -> events.EventInput:
    known = {field.name for field in fields(events.EventInput)}
    given = {name: value for name, value in values.items() if name in known}
    for name in _DATETIME_FIELDS:
        if given.get(name):
            given[name] = datetime.fromisoformat(given[name])
    return events.EventInput(**given)


def _token() -> tuple[str, str]:
    token = secrets.token_urlsafe(24)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _line(problems: Problems, name: str, value: str, limit: int, *, required: Message | None):
    text = " ".join(strip_controls(value).split())
    if not text and required is not None:
        problems.add(name, required)
    elif len(text) > limit:
        problems.add(name, Message.FIELD_TOO_LONG, limit=limit)
    elif has_markup(text) or link_count(text):
        problems.add(name, Message.NO_MARKUP)
    return text


def check(
    data: events.EventInput, submitter: Submitter, *, now: datetime | None = None
) -> tuple[events.Checked, Submitter]:
    """The plan and its submitter as they will be stored, or ValidationError with everything
    wrong with either. A plan is for an action to come, described in text (no HTML)."""
    problems = Problems()
    checked: events.Checked | None = None
    try:
        checked = events.check(data, "action")
    except ValidationError as error:
        problems.extend(error)
    if checked is not None:
        starts_at = checked.values["starts_at"]
        if isinstance(starts_at, datetime) and starts_at <= (now or utcnow()):
            problems.add("starts", Message.START_IN_PAST)
    if data.description_format != "markdown":
        problems.add("description", Message.NO_MARKUP)
    elif has_markup(data.description):
        problems.add("description", Message.NO_MARKUP)
    elif link_count(data.description) > MAX_LINKS:
        problems.add("description", Message.TOO_MANY_LINKS, limit=MAX_LINKS)
    name = _line(problems, "name", submitter.name, NAME_LIMIT, required=Message.YOUR_NAME_REQUIRED)
    organization = _line(
        problems, "organization", submitter.organization, ORGANIZATION_LIMIT, required=None
    )
    email = addresses.normalized(submitter.email)
    if not submitter.email.strip():
        problems.add("email", Message.EMAIL_REQUIRED)
    elif email is None:
        problems.add("email", Message.EMAIL_INVALID)
    problems.raise_any()
    assert checked is not None and email is not None
    return checked, Submitter(name, email, organization, submitter.credit, submitter.language)


async def _blocked(session: AsyncSession, email: str) -> bool:
    domain = "@" + email.rpartition("@")[2].casefold()
    found = await session.execute(
        select(SubmissionBlock.id).where(SubmissionBlock.pattern.in_([email.casefold(), domain]))
    )
    return found.first() is not None


async def submit(
    db: Database,
    mail: MailQueue,
    data: events.EventInput,
    submitter: Submitter,
    *,
    org: str | None,
    base_url: str,
) -> tuple[Submission, str]:
    """Store a plan as waiting and queue the mail with its private link, together; returns it
    and the link's token (shown nowhere else)."""
    _checked, who = check(data, submitter)
    token, hashed = _token()
    async with db.transaction() as session:
        if await _blocked(session, who.email):
            raise ValidationError.one("email", Message.SUBMITTER_BLOCKED)
        organization, _actor = await resolve(session, org)
        now = utcnow()
        row = Submission(
            organization_id=organization.id,
            state=WAITING,
            plan=plan_json(data),
            submitter_name=who.name,
            submitter_organization=who.organization,
            email=who.email,
            credit=who.credit,
            language=who.language,
            token_hash=hashed,
            reason="",
            source="form",
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        await session.flush()
        await _mail(session, mail, row, "submission_received", base_url, token=token)
        await notify_moderators(session, mail, row, organization, base_url=base_url)
    return row, token


async def notify_moderators(
    session: AsyncSession,
    mail: MailQueue,
    row: Submission,
    organization: Organization,
    *,
    base_url: str,
) -> None:
    """A notice of a new plan to each address the moderators asked for, in their language."""
    kept = await settings(session)
    recipients, _bad = addresses.listed(kept.notify_to)
    for address in recipients:
        await mail.enqueue(
            session,
            to=address,
            language=kept.notify_language,
            template="submission_waiting",
            context={
                "title": str(row.plan.get("title", "")),
                "sender": row.submitter_name,
                "organization": organization.display_name,
                "link": f"{base_url}/admin/submissions/{row.id}",
            },
            headers={"List-Unsubscribe": f"<{base_url}/admin/submissions#settings>"},
        )


async def settings(session: AsyncSession) -> SubmissionSettings:
    """The stored settings, or the defaults (not stored): nobody is e-mailed."""
    row = (await session.execute(select(SubmissionSettings).limit(1))).scalar_one_or_none()
    return row or SubmissionSettings(notify_to="", notify_language="en")


async def save_settings(db: Database, *, notify_to: str, language: str) -> SubmissionSettings:
    good, bad = addresses.listed(notify_to)
    if bad:
        raise ValidationError.one("notify_to", Message.FORWARD_ADDRESS_INVALID, value=bad[0][:100])
    if len(good) > MAX_NOTIFIED:
        raise ValidationError.one("notify_to", Message.TOO_MANY_ADDRESSES, limit=MAX_NOTIFIED)
    async with db.transaction() as session:
        row = (await session.execute(select(SubmissionSettings).limit(1))).scalar_one_or_none()
        if row is None:
            row = SubmissionSettings()
            session.add(row)
        row.notify_to = "\n".join(good)
        row.notify_language = language
        row.updated_at = utcnow()
    return row


async def _mail(
    session: AsyncSession,
    mail: MailQueue,
    row: Submission,
    template: str,
    base_url: str,
    *,
    token: str | None = None,
    event: Event | None = None,
) -> None:
    await mail.enqueue(
        session,
        to=row.email,
        language=row.language,
        template=template,
        context={
            "name": row.submitter_name,
            "title": str(row.plan.get("title", "")),
            # In the language of the form, whatever the browser that opens it asks for.
            "status_url": (
                f"{base_url}/submit/status/{token}?lang={row.language}" if token else None
            ),
            "reason": row.reason,
            "event_url": (event.url or event.uri) if event is not None else None,
        },
    )


async def by_token(session: AsyncSession, token: str) -> Submission:
    """The submission a private link is for; NotFound for a link never sent or withdrawn."""
    row = (
        await session.execute(select(Submission).where(Submission.token_hash == token_hash(token)))
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(Message.SUBMISSION_NOT_FOUND)
    return row


async def change(db: Database, token: str, data: events.EventInput) -> Submission:
    """The submitter's own correction, while the plan still waits."""
    async with db.transaction() as session:
        row = await by_token(session, token)
        who = Submitter(
            row.submitter_name, row.email, row.submitter_organization, row.credit, row.language
        )
        check(data, who)
        if row.state != WAITING:
            raise ValidationError.one("form", Message.SUBMISSION_DECIDED)
        row.plan = plan_json(data)
        row.updated_at = utcnow()
    return row


async def withdraw(db: Database, token: str) -> None:
    """The submitter takes the plan back: it is erased, with their address."""
    async with db.transaction() as session:
        row = await by_token(session, token)
        await session.delete(row)


async def get(session: AsyncSession, submission_id: int) -> Submission:
    row = await session.get(Submission, submission_id)
    if row is None:
        raise NotFound(Message.SUBMISSION_NOT_FOUND, str(submission_id))
    return row


async def waiting(session: AsyncSession, *, limit: int = 200) -> Sequence[Submission]:
    """The queue, oldest first: the first to come is the first to hear back."""
    return (
        (
            await session.execute(
                select(Submission)
                .where(Submission.state == WAITING)
                .order_by(Submission.created_at, Submission.id)
                .limit(limit)
            )
        )
        .scalars()
        .all()
    )


async def decided(session: AsyncSession, *, limit: int = 50) -> Sequence[Submission]:
    """The latest approved or rejected, newest first."""
    return (
        (
            await session.execute(
                select(Submission)
                .where(Submission.state != WAITING)
                .order_by(Submission.decided_at.desc(), Submission.id.desc())
                .limit(limit)
            )
        )
        .scalars()
        .all()
    )


async def waiting_count(session: AsyncSession) -> int:
    return (
        await session.execute(
            select(func.count()).select_from(Submission).where(Submission.state == WAITING)
        )
    ).scalar_one()


async def organization_of(session: AsyncSession, row: Submission) -> Organization:
    organization = await session.get(Organization, row.organization_id)
    assert organization is not None  # the foreign key cascades
    return organization


async def approve(
    federation: Federation,
    mail: MailQueue,
    submission_id: int,
    data: events.EventInput,
    *,
    credit_line: str | None,
    base_url: str,
) -> Event:
    """Publish the plan (as the moderator left it) as the organization's action, mark the
    submission approved and tell its submitter: all of it, or none."""
    if credit_line:
        # The submitter named at the end of the description, as they agreed to be.
        data = replace(data, description=f"{data.description.rstrip()}\n\n{credit_line}".strip())
    checked = events.check(data, "action")
    async with federation.db.transaction() as session:
        row = await get(session, submission_id)
        if row.state != WAITING:
            raise ValidationError.one("form", Message.SUBMISSION_DECIDED)
        organization = await organization_of(session, row)
        event = await events.publish_in(
            session, federation, checked, category="action", org=organization.name
        )
        row.state, row.event_id = APPROVED, event.id
        row.plan = plan_json(data)
        row.decided_at = row.updated_at = utcnow()
        await _mail(session, mail, row, "submission_approved", base_url, event=event)
    return event


def checked_reason(reason: str) -> str:
    """A moderator's reason as it is kept, or ValidationError."""
    text = strip_controls(reason).replace("\r\n", "\n").strip()
    if not text:
        raise ValidationError.one("reason", Message.REASON_REQUIRED)
    if len(text) > REASON_LIMIT:
        raise ValidationError.one("reason", Message.FIELD_TOO_LONG, limit=REASON_LIMIT)
    return text


async def reject(
    db: Database, mail: MailQueue, submission_id: int, reason: str, *, base_url: str
) -> None:
    """Refuse the plan, and tell the submitter why (their words stay; nothing is published)."""
    text = checked_reason(reason)
    async with db.transaction() as session:
        row = await get(session, submission_id)
        if row.state != WAITING:
            raise ValidationError.one("form", Message.SUBMISSION_DECIDED)
        row.state, row.reason = REJECTED, text
        row.decided_at = row.updated_at = utcnow()
        await _mail(session, mail, row, "submission_rejected", base_url)


async def remove_as_spam(db: Database, submission_id: int, *, block: str = "") -> str | None:
    """Erase the submission, and refuse its sender's `block` ("address" or "domain") from now
    on; returns the pattern refused, if any. No mail goes to a spammer."""
    async with db.transaction() as session:
        row = await get(session, submission_id)
        pattern = None
        if row.source != "form":
            pass  # no address to refuse: a server is refused with the node's blocks
        elif block == "address":
            pattern = row.email.casefold()
        elif block == "domain":
            pattern = "@" + row.email.rpartition("@")[2].casefold()
        if pattern is not None:
            known = await session.execute(
                select(SubmissionBlock.id).where(SubmissionBlock.pattern == pattern)
            )
            if known.first() is None:
                session.add(SubmissionBlock(pattern=pattern, created_at=utcnow()))
        await session.execute(delete(Submission).where(Submission.id == submission_id))
    return pattern
