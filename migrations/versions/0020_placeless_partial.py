"""the index of live events with no place becomes partial: only those events, by start

As it was, `(deleted_at, geo_latitude, starts_at)`, it began like `ix_events_near` and SQLite,
which keeps no statistics, took it for the latitude band of "near you": it then read every
event of the band from the table to check its longitude, where `ix_events_near` has the
longitude in the index. Partial (`WHERE geo_latitude IS NULL`), it holds only the events the
online list wants and no query with a latitude range can use it.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PLACELESS = sa.text("geo_latitude IS NULL")


def upgrade() -> None:
    op.drop_index("ix_events_placeless", table_name="events")
    op.create_index(
        "ix_events_placeless",
        "events",
        ["deleted_at", "starts_at"],
        sqlite_where=PLACELESS,
        postgresql_where=PLACELESS,
    )


def downgrade() -> None:
    op.drop_index("ix_events_placeless", table_name="events")
    op.create_index("ix_events_placeless", "events", ["deleted_at", "geo_latitude", "starts_at"])
