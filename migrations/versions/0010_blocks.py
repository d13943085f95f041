"""blocks: servers and actors refused everything; the alert block list becomes server blocks

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 09:00:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MIGRATED = "blocked for alerts before server blocks existed"


def upgrade() -> None:
    blocks = op.create_table(
        "blocks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=2048), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("target"),
    )
    versions = op.create_table(
        "block_list_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    # The servers whose alerts were refused are now refused everything (README says so).
    connection = op.get_bind()
    settings = sa.table("alert_settings", sa.column("blocked_hosts", sa.JSON()))
    hosts: list[str] = []
    for (listed,) in connection.execute(sa.select(settings.c.blocked_hosts)):
        hosts += [h for h in listed or [] if isinstance(h, str) and h not in hosts]
    now = datetime.now(UTC)
    if hosts:
        op.bulk_insert(
            blocks,
            [{"kind": "server", "target": h, "reason": MIGRATED, "created_at": now} for h in hosts],
        )
    op.bulk_insert(versions, [{"id": 1, "version": 1}])
    with op.batch_alter_table("alert_settings") as batch:
        batch.drop_column("blocked_hosts")


def downgrade() -> None:
    with op.batch_alter_table("alert_settings") as batch:
        batch.add_column(sa.Column("blocked_hosts", sa.JSON(), nullable=False, server_default="[]"))
    op.drop_table("block_list_version")
    op.drop_table("blocks")
