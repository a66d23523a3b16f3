"""deliveries.claimed_by / first_attempt_at and the delivery_holders heartbeat table

Revision ID: 0004_delivery_holder
Revises: 0003_slack_replay
Create Date: 2026-12-05

A row left `sending` names the process that claimed it, so a restart settles the rows of a
process that is gone at once instead of waiting out a lease; the first attempt's time bounds
the look-up that decides whether such a row already reached the platform. An index keeps the
per-channel order checks cheap for channels with a long history.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_delivery_holder"
down_revision = "0003_slack_replay"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=200), nullable=True))
        batch_op.add_column(
            sa.Column("first_attempt_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            "ix_deliveries_subscription_state", ["subscription_id", "state", "id"], unique=False
        )
    op.create_table(
        "delivery_holders",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("delivery_holders")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_subscription_state")
        batch_op.drop_column("first_attempt_at")
        batch_op.drop_column("claimed_by")
