"""Confirmed signatures as CSV, for the admin page and `iwsn signatures export`."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import datetime

from actors import signatures
from federation.as2 import format_datetime
from federation.db import Database

COLUMNS = (
    "name",
    "email",
    "signer",
    "organization_name",
    "organization_kind",
    "website",
    "country",
    "city",
    "public",
    "wants_membership",
    "language",
    "comment",
    "confirmed_at",
    # When the signer asked for no more messages: whoever mails them from this list must not.
    "unsubscribed_at",
)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value)
    # A spreadsheet runs a cell starting like a formula: what a signer typed must stay text.
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


async def rows(db: Database) -> AsyncIterator[str]:
    """The CSV, header first, a line at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(COLUMNS)
    yield flush()
    async with db.read() as session:
        async for signature in signatures.confirmed(session):
            values = [getattr(signature, column) for column in COLUMNS]
            writer.writerow(
                [
                    format_datetime(value) if isinstance(value, datetime) else _cell(value)
                    for value in values
                ]
            )
            yield flush()
