"""signatures: who signed on (private), our count, and the counts other nodes told us of

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "signatures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("signer", sa.String(length=16), nullable=False),
        sa.Column("organization_name", sa.String(length=200), nullable=True),
        sa.Column("organization_kind", sa.String(length=16), nullable=True),
        sa.Column("website", sa.String(length=2048), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("city", sa.String(length=200), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("wants_membership", sa.Boolean(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirm_token_hash", sa.String(length=64), nullable=True),
        sa.Column("manage_token_hash", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
        sa.UniqueConstraint("confirm_token_hash"),
        sa.UniqueConstraint("manage_token_hash"),
    )
    op.create_index("ix_signatures_confirmed", "signatures", ["confirmed_at", "public"])
    op.create_table(
        "signature_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("confirmed", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "network_counts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("collection_uri", sa.String(length=2048), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("origin_updated", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("collection_uri"),
    )
    op.create_index("ix_network_counts_host", "network_counts", ["host"])


def downgrade() -> None:
    op.drop_index("ix_network_counts_host", table_name="network_counts")
    op.drop_table("network_counts")
    op.drop_table("signature_state")
    op.drop_index("ix_signatures_confirmed", table_name="signatures")
    op.drop_table("signatures")
