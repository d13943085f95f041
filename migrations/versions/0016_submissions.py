"""submissions: plans for actions sent by anyone through /submit or by a fediverse actor,
waiting for a moderator, the addresses and domains refused as submitters, and who hears of
new plans by e-mail

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 08:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "submissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.Column("submitter_name", sa.String(length=200), nullable=False),
        sa.Column("submitter_organization", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("credit", sa.Boolean(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("remote_actor_uri", sa.String(length=2048), nullable=True),
        sa.Column("remote_activity_uri", sa.String(length=2048), nullable=True),
        sa.Column("remote_object_uri", sa.String(length=2048), nullable=True),
        sa.Column("remote_object", sa.JSON(), nullable=True),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
        sa.UniqueConstraint("remote_object_uri"),
    )
    op.create_index("ix_submissions_state", "submissions", ["state", "created_at"])
    op.create_table(
        "submission_blocks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pattern", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("pattern"),
    )


    op.create_table(
        "submission_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notify_to", sa.Text(), nullable=False),
        sa.Column("notify_language", sa.String(length=16), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("submission_settings")
    op.drop_table("submission_blocks")
    op.drop_index("ix_submissions_state", table_name="submissions")
    op.drop_table("submissions")
