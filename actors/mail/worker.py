"""The mail worker: claims due mail under a lease, sends it, records the outcome.

Each row is sent by one holder only (the lease) and marked sent, under that same lease, as
soon as the server has taken it: a mail is sent twice only if the process dies between the
server's "250" and that write. Failures wait on `MAIL_RETRY`; a 5xx about the message or its
recipient is final at once.

Mails of a batch (a message to many) are claimed at the batch's pace: in windows of
`window_seconds`, at most `per_window` of them, counted in the batch's row under its lock so
that every worker process shares one count. A window begins at the first claim after the last
one ended. A mail counts when claimed: one that fails and is retried takes a place again.
Single mails (a confirmation, a reply) are claimed first and never wait behind a batch.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any

from sqlalchemy import Row, select, update

from actors.mail.models import MailBatch, MailState, OutgoingMail
from actors.mail.smtp import SendFailed, SmtpServer, send
from federation.db import Database, rowcount, utcnow
from federation.lease_loop import LeaseLoop
from federation.retry import Backoff

log = logging.getLogger(__name__)

# 1 minute doubling, capped at 6 hours, 20 tries: about three days, so a mail server down for
# a long weekend loses nothing; past that, a mail is stale and the admin sees it failed.
MAIL_RETRY = Backoff(base=60.0, factor=2, attempts=20, cap=6 * 3600.0, jitter=0.2)

_CLAIMED = (
    OutgoingMail.id,
    OutgoingMail.recipient,
    OutgoingMail.language,
    OutgoingMail.subject,
    OutgoingMail.body_text,
    OutgoingMail.body_html,
    OutgoingMail.message_id,
    OutgoingMail.headers,
    OutgoingMail.attempts,
    OutgoingMail.created_at,
    OutgoingMail.batch_id,
)


def build(row: Row[Any], sender: str) -> EmailMessage:
    """The message as it goes out: plain text, with the HTML as its alternative."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = row.recipient
    message["Subject"] = row.subject
    message["Date"] = format_datetime(row.created_at)
    message["Message-ID"] = row.message_id
    for name, value in (row.headers or {}).items():
        message[name] = value
    message.set_content(row.body_text)
    message.add_alternative(row.body_html, subtype="html")
    # After the content: setting it clears every Content-* header.
    message["Content-Language"] = row.language
    return message


def _window_over(batch: MailBatch, now: datetime) -> bool:
    started = batch.window_started_at
    return started is None or now >= started + timedelta(seconds=batch.window_seconds)


def _has_room(batch: MailBatch, now: datetime) -> bool:
    return _window_over(batch, now) or batch.used < batch.per_window


class MailWorker:
    def __init__(
        self,
        db: Database,
        server: SmtpServer,
        *,
        sender: str,
        name: str | None = None,
        batch_size: int = 20,
        lease: timedelta = timedelta(seconds=30),
        clock: Callable[[], datetime] = utcnow,
        poll_interval: float = 5.0,
    ) -> None:
        self.db = db
        self.server = server
        self.sender = sender
        # The envelope's sender is the bare address of the From ("Name <address>").
        self.envelope_sender = parseaddr(sender)[1] or sender
        self.batch_size = batch_size
        self.clock = clock
        self.loop = LeaseLoop(
            db,
            OutgoingMail.id,
            kind="mail",
            lease=lease,
            clock=clock,
            poll_interval=poll_interval,
            name=name,
        )

    def _due(self, now: datetime, *where: Any, limit: int) -> Any:
        return (
            select(OutgoingMail.id)
            .where(
                OutgoingMail.state == MailState.PENDING,
                OutgoingMail.next_attempt_at <= now,
                self.loop.free(now),
                *where,
            )
            .order_by(OutgoingMail.attempts > 0, OutgoingMail.next_attempt_at, OutgoingMail.id)
            .limit(limit)
        )

    async def claim(self) -> list[Row[Any]]:
        now = self.clock()
        single = self._due(now, OutgoingMail.batch_id.is_(None), limit=self.batch_size)
        rows = list(await self.loop.claim(single, *_CLAIMED, now=now))
        if len(rows) < self.batch_size:
            rows += await self._claim_paced(now, self.batch_size - len(rows))
        return sorted(rows, key=lambda row: row.id)

    async def _claim_paced(self, now: datetime, room: int) -> list[Row[Any]]:
        """Due mails of batches, as many as each batch's window still allows."""
        rows: list[Row[Any]] = []
        # Looked for first without the write lock (SQLite's is the whole database's): most
        # passes find no batch at all.
        async with self.db.read() as session:
            found = (
                await session.execute(
                    select(OutgoingMail.batch_id)
                    .where(
                        OutgoingMail.batch_id.is_not(None),
                        OutgoingMail.state == MailState.PENDING,
                        OutgoingMail.next_attempt_at <= now,
                        self.loop.free(now),
                    )
                    .distinct()
                    .limit(50)
                )
            ).scalars()
            waiting = [key for key in found if key is not None]
            paces = (
                await session.execute(select(MailBatch).where(MailBatch.id.in_(waiting)))
            ).scalars()
            # A batch whose window is used up waits for the next without taking the lock;
            # what is read here is checked again under it.
            batch_ids = sorted(batch.id for batch in paces if _has_room(batch, now))
        if not batch_ids:
            return rows
        async with self.db.transaction() as session:
            for batch_id in batch_ids:
                if room <= 0:
                    break
                # Locked until this transaction ends: another worker claiming from the same
                # batch waits, then reads how many this one took.
                batch = (
                    await session.execute(
                        select(MailBatch)
                        .where(MailBatch.id == batch_id)
                        .with_for_update()
                        .execution_options(populate_existing=True)
                    )
                ).scalar_one_or_none()
                if batch is None:
                    continue
                if _window_over(batch, now):
                    batch.window_started_at, batch.used = now, 0
                allowed = min(room, batch.per_window - batch.used)
                if allowed <= 0:
                    continue
                due = self._due(now, OutgoingMail.batch_id == batch_id, limit=allowed)
                locked = due.with_for_update(skip_locked=True).scalar_subquery()
                claimed = (
                    await session.execute(
                        update(OutgoingMail)
                        .where(OutgoingMail.id.in_(locked))
                        .values(lease_until=now + self.loop.lease, lease_owner=self.loop.name)
                        .returning(*_CLAIMED)
                        .execution_options(synchronize_session=False)
                    )
                ).all()
                batch.used += len(claimed)
                room -= len(claimed)
                rows += claimed
        self.loop.held.update(row.id for row in rows)
        return rows

    async def run_once(self) -> int:
        """Send one batch; returns how many mails were tried."""
        rows = await self.claim()
        if not rows:
            return 0
        async with self.loop.holding():
            for row in rows:
                await self._send(row)
                self.loop.held.discard(row.id)
        return len(rows)

    async def _send(self, row: Row[Any]) -> None:
        now = self.clock()
        try:
            try:
                message = build(row, self.sender)
            except (ValueError, TypeError) as exc:
                # A header the mail library refuses: no server will take it either.
                raise SendFailed(f"could not be composed: {exc}", permanent=True) from None
            await send(self.server, message, sender=self.envelope_sender, recipient=row.recipient)
        except SendFailed as failure:
            await self._failed(row, failure, now)
            return
        await self._record(
            row,
            state=MailState.SENT,
            sent_at=self.clock(),
            last_attempt_at=now,
            attempts=row.attempts + 1,
            last_error=None,
        )
        log.info("mail %d sent", row.id)

    async def _failed(self, row: Row[Any], failure: SendFailed, now: datetime) -> None:
        attempts = row.attempts + 1
        delay = None if failure.permanent else MAIL_RETRY.delay(attempts)
        values: dict[str, Any] = {
            "attempts": attempts,
            "last_attempt_at": now,
            # The server's reply may name the recipient: kept for the admin, never logged.
            "last_error": failure.reason[:1000],
        }
        if delay is None:
            values["state"] = MailState.FAILED
            log.warning("mail %d failed for good (%s)", row.id, failure.code or "no reply")
        else:
            values["next_attempt_at"] = now + timedelta(seconds=delay)
            log.info("mail %d not sent, trying again in %.0f s", row.id, delay)
        await self._record(row, **values)

    async def _record(self, row: Row[Any], **values: Any) -> None:
        async with self.db.transaction() as session:
            result = await session.execute(
                update(OutgoingMail)
                .where(OutgoingMail.id == row.id, self.loop.ours())
                .values(lease_until=None, lease_owner=None, **values)
            )
            state = values.get("state")
            # Counted with the row's own change, and only if it was still ours to change.
            if row.batch_id is not None and state is not None and rowcount(result) == 1:
                column = MailBatch.sent if state == MailState.SENT else MailBatch.failed
                await session.execute(
                    update(MailBatch)
                    .where(MailBatch.id == row.batch_id)
                    .values({column.key: column + 1})
                )

    async def run(self, stop: asyncio.Event, wake: asyncio.Event) -> None:
        async def batch() -> bool:
            return await self.run_once() >= self.batch_size

        await self.loop.run(batch, stop, wake)
