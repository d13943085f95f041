"""indexes for "near you": live events by latitude, then longitude; and live events with no
place by start (those joined online from anywhere)

Without it SQLite (which keeps no statistics unless ANALYZE runs) reads every live event
through `ix_events_upcoming` (`deleted_at IS NULL` looks like a selective equality to it) and
never the latitude band; with `deleted_at` first, the band is one range of this index. The
same misreading made the online-from-anywhere list read every live event; the second index
gives it the few events without a latitude, already by start.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 08:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_events_near", "events", ["deleted_at", "geo_latitude", "geo_longitude"])
    op.create_index("ix_events_placeless", "events", ["deleted_at", "geo_latitude", "starts_at"])


def downgrade() -> None:
    op.drop_index("ix_events_placeless", table_name="events")
    op.drop_index("ix_events_near", table_name="events")
