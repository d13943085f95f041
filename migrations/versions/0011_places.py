"""places: a table of cities (GeoNames) and where "near you" puts each event

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 13:00:00

The table is created empty: `actors.places` fills it at first use (a search, or `iwsn near`),
so a start stays fast; events stored before then are placed at that moment.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "places",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("admin1", sa.String(length=20), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("population", sa.Integer(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_places_lat_lon", "places", ["latitude", "longitude"])
    op.create_table(
        "place_names",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("place_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["place_id"], ["places.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_place_names_key", "place_names", ["key", "place_id"], unique=True)
    op.create_table(
        "place_data",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("places", sa.Integer(), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("geo_latitude", sa.Float(), nullable=True))
        batch.add_column(sa.Column("geo_longitude", sa.Float(), nullable=True))
        batch.add_column(sa.Column("geo_source", sa.String(length=8), nullable=True))
        batch.create_index("ix_events_geo", ["geo_latitude", "geo_longitude"])
        batch.create_index("ix_events_geo_source", ["geo_source"])


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_index("ix_events_geo_source")
        batch.drop_index("ix_events_geo")
        batch.drop_column("geo_source")
        batch.drop_column("geo_longitude")
        batch.drop_column("geo_latitude")
    op.drop_table("place_data")
    op.drop_index("ix_place_names_key", table_name="place_names")
    op.drop_table("place_names")
    op.drop_index("ix_places_lat_lon", table_name="places")
    op.drop_table("places")
