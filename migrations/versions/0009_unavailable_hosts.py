"""delivery hosts: failing days, and servers given up on (unavailable until they answer)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 08:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("delivery_hosts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("failure_days", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("unavailable_since", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("delivery_hosts", schema=None) as batch_op:
        batch_op.drop_column("unavailable_since")
        batch_op.drop_column("last_failure_at")
        batch_op.drop_column("failure_days")
