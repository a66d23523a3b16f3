"""notices: what the operators' admin channels were told, one per cause, channel and day

Revision ID: 0007_notices
Revises: 0006_brief_language
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_notices"
down_revision = "0006_brief_language"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cause", sa.String(length=200), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=200), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
        sa.UniqueConstraint("cause", "platform", "channel", "day", name="uq_notices_cause_day"),
    )
    op.create_index(op.f("ix_notices_day"), "notices", ["day"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_notices_day"), table_name="notices")
    op.drop_table("notices")
