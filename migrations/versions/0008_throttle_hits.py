"""throttle hits: failed logins and sign-ups counted in the database, shared by all processes

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 08:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "throttle_hits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_throttle_hits_at", "throttle_hits", ["at"], unique=False)
    op.create_index(
        "ix_throttle_hits_scope_key_at", "throttle_hits", ["scope", "key_hash", "at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_throttle_hits_scope_key_at", table_name="throttle_hits")
    op.drop_index("ix_throttle_hits_at", table_name="throttle_hits")
    op.drop_table("throttle_hits")
