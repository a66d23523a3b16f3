"""slack_replays: signatures of Slack requests already run, until they expire

Revision ID: 0003_slack_replay
Revises: 0002
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_slack_replay"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "slack_replays",
        sa.Column("signature", sa.String(length=128), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("signature", name=op.f("pk_slack_replays")),
    )
    op.create_index(
        op.f("ix_slack_replays_expires_at"), "slack_replays", ["expires_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_slack_replays_expires_at"), table_name="slack_replays")
    op.drop_table("slack_replays")
