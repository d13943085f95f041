"""reports: reports from the struggle, our own and received; replies to ours, and boosts

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uri", sa.String(length=2048), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=True),
        sa.Column("is_local", sa.Boolean(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=True),
        sa.Column("origin_actor_uri", sa.String(length=2048), nullable=False),
        sa.Column("origin_host", sa.String(length=255), nullable=False),
        sa.Column("origin_name", sa.String(length=300), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("body_source", sa.Text(), nullable=True),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("hashtags", sa.JSON(), nullable=False),
        sa.Column("related", sa.JSON(), nullable=False),
        sa.Column("translations", sa.JSON(), nullable=False),
        sa.Column("image_file", sa.String(length=64), nullable=True),
        sa.Column("image_url", sa.String(length=2048), nullable=True),
        sa.Column("image_type", sa.String(length=32), nullable=True),
        sa.Column("image_alt", sa.String(length=300), nullable=True),
        sa.Column("draft", sa.Boolean(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("document", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uri"),
    )
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.create_index("ix_reports_listed", ["deleted_at", "published_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_reports_organization_id"), ["organization_id"], unique=False
        )
    op.create_table(
        "report_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uri", sa.String(length=2048), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=True),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("in_reply_to", sa.String(length=2048), nullable=False),
        sa.Column("actor_uri", sa.String(length=2048), nullable=False),
        sa.Column("author_name", sa.String(length=300), nullable=False),
        sa.Column("author_handle", sa.String(length=300), nullable=True),
        sa.Column("content_html", sa.Text(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["report_id"], ["reports.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uri"),
    )
    with op.batch_alter_table("report_replies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_report_replies_report_id"), ["report_id"])
    op.create_table(
        "report_boosts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("actor_uri", sa.String(length=2048), nullable=False),
        sa.Column("activity_uri", sa.String(length=2048), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["report_id"], ["reports.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("report_id", "actor_uri"),
    )
    with op.batch_alter_table("report_boosts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_report_boosts_report_id"), ["report_id"])


def downgrade() -> None:
    op.drop_table("report_boosts")
    op.drop_table("report_replies")
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reports_organization_id"))
        batch_op.drop_index("ix_reports_listed")
    op.drop_table("reports")
