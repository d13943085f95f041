"""Queueing a mail with the change that causes it, and what the admin reads of the queue."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import make_msgid
from html import escape as html_escape
from typing import Any, Protocol

from sqlalchemy import case, delete, event, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from actors.mail.models import MailBatch, MailState, OutgoingMail
from federation.db import Database, rowcount, utcnow
from federation.wakeups import notify_with_commit

WAKE_KIND = "mail"
# Private data (addresses, what people wrote): kept only as long as an admin may want to see
# what went out or why it did not.
KEEP_SENT = timedelta(days=7)
KEEP_FAILED = timedelta(days=30)


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


class Renderer(Protocol):
    """Words a mail: its template, in the recipient's language, with the context's values.
    The web layer provides it (templates and catalogs live there)."""

    def __call__(self, template: str, language: str, context: Mapping[str, Any]) -> Rendered: ...


class MailQueue:
    """Where every outgoing mail starts. `announce` tells the workers (of this process and,
    on SQLite, of the others) once a transaction holding new mail commits."""

    def __init__(
        self, render: Renderer, *, sender: str, announce: Callable[[], None] | None = None
    ) -> None:
        self.render = render
        self.sender = sender
        self.announce = announce

    def _row(
        self,
        *,
        to: str,
        language: str,
        template: str,
        context: Mapping[str, Any],
        headers: Mapping[str, str] | None,
        batch_id: int | None,
    ) -> dict[str, Any]:
        words = self.render(template, language, context)
        domain = self.sender.rpartition("@")[2] or None
        return {
            "recipient": to,
            "language": language,
            "template": template,
            "subject": words.subject,
            "body_text": words.text,
            "body_html": words.html,
            "message_id": make_msgid(domain=domain),
            "headers": dict(headers or {}),
            "state": MailState.PENDING,
            "attempts": 0,
            "next_attempt_at": utcnow(),
            "created_at": utcnow(),
            "batch_id": batch_id,
        }

    async def _announce(self, session: AsyncSession) -> None:
        await notify_with_commit(session, WAKE_KIND)
        if self.announce is not None:
            announce = self.announce
            event.listen(session.sync_session, "after_commit", lambda _s: announce(), once=True)

    async def enqueue(
        self,
        session: AsyncSession,
        *,
        to: str,
        language: str,
        template: str,
        context: Mapping[str, Any],
        headers: Mapping[str, str] | None = None,
    ) -> OutgoingMail:
        """Queue one mail in the caller's transaction: sent if, and only if, it commits."""
        mail = OutgoingMail(
            **self._row(
                to=to,
                language=language,
                template=template,
                context=context,
                headers=headers,
                batch_id=None,
            )
        )
        session.add(mail)
        await session.flush()
        await self._announce(session)
        return mail

    async def enqueue_batch(
        self, session: AsyncSession, batch: MailBatch, mails: Iterable[Outgoing]
    ) -> int:
        """Queue many mails as one batch (`new_batch`), in the caller's transaction; returns
        how many. Each distinct text is worded once, its `personal` values put in after; rows
        go in a few hundred a statement: a message to ten thousand signers is queued in
        seconds, not one template and one round trip per mail."""
        count = 0
        rows: list[dict[str, Any]] = []
        worded: dict[tuple[Any, ...], Rendered] = {}
        domain = self.sender.rpartition("@")[2] or None
        now = utcnow()
        for mail in mails:
            key = (mail.template, mail.language, tuple(sorted(mail.context.items())))
            words = worded.get(key)
            if words is None:
                marked = {name: _mark(name) for name in mail.personal}
                words = self.render(mail.template, mail.language, {**mail.context, **marked})
                worded[key] = words
            rows.append(
                {
                    "recipient": mail.to,
                    "language": mail.language,
                    "template": mail.template,
                    "subject": _personalized(words.subject, mail.personal, html=False),
                    "body_text": _personalized(words.text, mail.personal, html=False),
                    "body_html": _personalized(words.html, mail.personal, html=True),
                    "message_id": make_msgid(domain=domain),
                    "headers": dict(mail.headers),
                    "state": MailState.PENDING,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                    "batch_id": batch.id,
                }
            )
            if len(rows) >= _INSERT_ROWS:
                await session.execute(insert(OutgoingMail), rows)
                count, rows = count + len(rows), []
        if rows:
            await session.execute(insert(OutgoingMail), rows)
            count += len(rows)
        batch.total += count
        await session.flush()
        if count:
            await self._announce(session)
        return count


@dataclass(frozen=True)
class Outgoing:
    """One mail of a batch, before it is worded."""

    to: str
    language: str
    template: str
    context: Mapping[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)
    # Values only this recipient's mail has (their own link): put into the worded text, so
    # that the same text for many recipients is worded once.
    personal: Mapping[str, str] = field(default_factory=dict)


_INSERT_ROWS = 500


def _mark(name: str) -> str:
    # Letters and digits only: the same after HTML escaping and in any template filter.
    return f"XIWSNPERSONAL{name.replace('_', '')}X"


def _personalized(text: str, personal: Mapping[str, str], *, html: bool) -> str:
    for name, value in personal.items():
        text = text.replace(_mark(name), html_escape(value) if html else value)
    return text


async def new_batch(session: AsyncSession, *, per_window: int, window_seconds: int) -> MailBatch:
    """A batch whose mails go out at most `per_window` every `window_seconds`, whatever the
    number of workers; queue its mails with `MailQueue.enqueue_batch` in the same transaction."""
    if per_window < 1 or window_seconds < 1:
        raise ValueError("a batch's pace needs at least one mail in a window of a second or more")
    batch = MailBatch(
        per_window=per_window,
        window_seconds=window_seconds,
        used=0,
        total=0,
        sent=0,
        failed=0,
        cancelled=0,
        created_at=utcnow(),
    )
    session.add(batch)
    await session.flush()
    return batch


async def repace(
    session: AsyncSession, batch_id: int, *, per_window: int, window_seconds: int
) -> None:
    """A new pace for what of the batch still waits; the mails claimed in the current window
    count against it."""
    await session.execute(
        update(MailBatch)
        .where(MailBatch.id == batch_id)
        .values(per_window=per_window, window_seconds=window_seconds)
    )


async def cancel_batch(session: AsyncSession, batch_id: int) -> int:
    """Take out of the queue what of the batch still waits (and no worker is sending):
    the admin stopped it. Counted as cancelled."""
    now = utcnow()
    result = await session.execute(
        delete(OutgoingMail).where(
            OutgoingMail.batch_id == batch_id,
            OutgoingMail.state == MailState.PENDING,
            or_(OutgoingMail.lease_until.is_(None), OutgoingMail.lease_until < now),
        )
    )
    count = rowcount(result)
    if count:
        await session.execute(
            update(MailBatch)
            .where(MailBatch.id == batch_id)
            .values(cancelled=MailBatch.cancelled + count)
        )
    return count


async def cancel_waiting(session: AsyncSession, recipient: str, *, batched_only: bool) -> int:
    """Take out of the queue what still waits for `recipient` (and no worker is sending):
    when someone unsubscribes (`batched_only`: mails sent to many) or erases their data (all).
    Their batches count them as cancelled."""
    now = utcnow()
    where = [
        OutgoingMail.recipient == recipient,
        OutgoingMail.state == MailState.PENDING,
        or_(OutgoingMail.lease_until.is_(None), OutgoingMail.lease_until < now),
    ]
    if batched_only:
        where.append(OutgoingMail.batch_id.is_not(None))
    rows = (
        await session.execute(select(OutgoingMail.id, OutgoingMail.batch_id).where(*where))
    ).all()
    if not rows:
        return 0
    await session.execute(delete(OutgoingMail).where(OutgoingMail.id.in_([row.id for row in rows])))
    by_batch: dict[int, int] = {}
    for row in rows:
        if row.batch_id is not None:
            by_batch[row.batch_id] = by_batch.get(row.batch_id, 0) + 1
    for batch_id, count in by_batch.items():
        await session.execute(
            update(MailBatch)
            .where(MailBatch.id == batch_id)
            .values(cancelled=MailBatch.cancelled + count)
        )
    return len(rows)


@dataclass(frozen=True)
class BatchProgress:
    total: int
    sent: int
    failed: int
    cancelled: int

    @property
    def waiting(self) -> int:
        return max(0, self.total - self.sent - self.failed - self.cancelled)


async def batch_progress(session: AsyncSession, batch_ids: list[int]) -> dict[int, BatchProgress]:
    rows = await session.execute(select(MailBatch).where(MailBatch.id.in_(batch_ids)))
    return {
        batch.id: BatchProgress(batch.total, batch.sent, batch.failed, batch.cancelled)
        for batch in rows.scalars()
    }


@dataclass
class QueueStatus:
    waiting: int = 0
    sent: int = 0
    failed: int = 0
    # Rows still trying after a failure: the last error tells why.
    retrying: int = 0
    recent: list[OutgoingMail] = field(default_factory=list)


async def status(session: AsyncSession, *, recent: int = 50) -> QueueStatus:
    found = QueueStatus()
    tried = func.sum(case((OutgoingMail.attempts > 0, 1), else_=0))
    rows = await session.execute(
        select(OutgoingMail.state, func.count(), tried).group_by(OutgoingMail.state)
    )
    for state, count, retrying in rows:
        if state == MailState.PENDING:
            found.waiting += count
            found.retrying += int(retrying or 0)
        elif state == MailState.SENT:
            found.sent += count
        else:
            found.failed += count
    found.recent = list(
        (
            await session.execute(
                select(OutgoingMail)
                .order_by(OutgoingMail.created_at.desc(), OutgoingMail.id.desc())
                .limit(recent)
            )
        ).scalars()
    )
    return found


async def retry_now(db: Database, queue: MailQueue, *, now: datetime | None = None) -> int:
    """Make every waiting mail due at once (the server is back, or its settings fixed)."""
    now = now or utcnow()
    async with db.transaction() as session:
        result = await session.execute(
            update(OutgoingMail)
            .where(OutgoingMail.state == MailState.PENDING, OutgoingMail.next_attempt_at > now)
            .values(next_attempt_at=now)
        )
        await notify_with_commit(session, WAKE_KIND)
    if queue.announce is not None:
        queue.announce()
    return rowcount(result)


async def prune(db: Database, *, now: datetime | None = None) -> int:
    now = now or utcnow()
    async with db.transaction() as session:
        sent = await session.execute(
            delete(OutgoingMail).where(
                OutgoingMail.state == MailState.SENT, OutgoingMail.sent_at < now - KEEP_SENT
            )
        )
        failed = await session.execute(
            delete(OutgoingMail).where(
                OutgoingMail.state == MailState.FAILED,
                OutgoingMail.last_attempt_at < now - KEEP_FAILED,
            )
        )
    return rowcount(sent) + rowcount(failed)
