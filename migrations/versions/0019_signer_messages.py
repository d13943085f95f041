"""messages to signers: paced mail batches, unsubscribe links, the history of messages

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mail_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("per_window", sa.Integer(), nullable=False),
        sa.Column("window_seconds", sa.Integer(), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("cancelled", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("outgoing_mail") as table:
        table.add_column(sa.Column("batch_id", sa.Integer(), nullable=True))
        table.create_index("ix_outgoing_mail_batch", ["batch_id", "state"])
    with op.batch_alter_table("signatures") as table:
        table.add_column(sa.Column("unsubscribe_token", sa.String(length=64), nullable=True))
        table.add_column(sa.Column("unsubscribed_at", sa.DateTime(timezone=True), nullable=True))
        table.create_unique_constraint("uq_signatures_unsubscribe_token", ["unsubscribe_token"])
    op.create_table(
        "signer_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("texts", sa.JSON(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("rate", sa.Integer(), nullable=False),
        sa.Column("per", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("form_key", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("form_key"),
    )


def downgrade() -> None:
    op.drop_table("signer_messages")
    with op.batch_alter_table("signatures") as table:
        table.drop_constraint("uq_signatures_unsubscribe_token", type_="unique")
        table.drop_column("unsubscribed_at")
        table.drop_column("unsubscribe_token")
    with op.batch_alter_table("outgoing_mail") as table:
        table.drop_index("ix_outgoing_mail_batch")
        table.drop_column("batch_id")
    op.drop_table("mail_batches")
