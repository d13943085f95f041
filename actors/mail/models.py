"""The outgoing mail table: one row per message to one recipient."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from federation import content_version
from federation.db import Base, EnumText, UTCDateTime, utcnow


class MailState(StrEnum):
    PENDING = "pending"  # due at next_attempt_at, or being sent under a lease
    SENT = "sent"  # the SMTP server took it
    FAILED = "failed"  # refused for good (a 5xx for the recipient), or out of retries


class OutgoingMail(Base):
    """A rendered message, pending -> sent | failed. Private: addresses and bodies never leave
    this table except to the SMTP server, and are never logged."""

    __tablename__ = "outgoing_mail"
    __table_args__ = (
        Index("ix_outgoing_mail_due", "state", "next_attempt_at"),
        Index("ix_outgoing_mail_batch", "batch_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(320))
    language: Mapped[str] = mapped_column(String(16))
    # Which mail it is (a template name), for the admin's list; the text is below.
    template: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(Text)
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    # Fixed when queued, so a message sent again after a crash is recognisably the same one.
    message_id: Mapped[str] = mapped_column(String(255))
    headers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[MailState] = mapped_column(EnumText(MailState), default=MailState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # One of many mails sent together at a pace (`MailBatch`); None: sent as soon as due.
    # No foreign key: sent rows are pruned, their batch (its counts) stays.
    batch_id: Mapped[int | None] = mapped_column(Integer)


class MailBatch(Base):
    """Mails queued together and sent at most `per_window` every `window_seconds`.

    The pacing state lives here, not in a worker: every worker process claims a batch's mails
    with this row locked (`FOR UPDATE` on PostgreSQL, the write lock on SQLite), so the rate
    holds whatever the number of workers. The counts are kept here too, because the mail rows
    themselves are pruned a week after they went out.
    """

    __tablename__ = "mail_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    per_window: Mapped[int] = mapped_column(Integer)
    window_seconds: Mapped[int] = mapped_column(Integer)
    # The current window: when it began and how many of its mails were claimed in it.
    window_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    sent: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    # Taken out of the queue before they went (the recipient unsubscribed or withdrew).
    cancelled: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


content_version.not_shown("outgoing_mail", "mail_batches")  # the mail queue, for workers only
