"""The outgoing mail table: one row per message to one recipient."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from federation.db import Base, EnumText, UTCDateTime, utcnow


class MailState(StrEnum):
    PENDING = "pending"  # due at next_attempt_at, or being sent under a lease
    SENT = "sent"  # the SMTP server took it
    FAILED = "failed"  # refused for good (a 5xx for the recipient), or out of retries


class OutgoingMail(Base):
    """A rendered message, pending -> sent | failed. Private: addresses and bodies never leave
    this table except to the SMTP server, and are never logged."""

    __tablename__ = "outgoing_mail"
    __table_args__ = (Index("ix_outgoing_mail_due", "state", "next_attempt_at"),)

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
