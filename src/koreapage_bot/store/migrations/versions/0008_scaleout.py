"""Several processes on one database: a digest once per subscription and day, a shared rate
budget, and NOTIFY wake-ups on PostgreSQL

Revision ID: 0008_scaleout
Revises: 0007_notices
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_scaleout"
down_revision = "0007_notices"
branch_labels = None
depends_on = None

# Kept in step with store/coordination.py (WAKE_CHANNEL): a committed insert of deliveries or
# feeds wakes every process that LISTENs, with the table's name as the payload.
_NOTIFY_FUNCTION = """
CREATE OR REPLACE FUNCTION koreapage_wake() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('koreapage_wake', TG_TABLE_NAME);
    RETURN NULL;
END
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    # The local day a digest covers: at most one digest row per subscription and day, however
    # many processes (or a leader that changed mid-run) queue it. A plain ADD COLUMN and an
    # index, no batch rebuild on SQLite.
    op.add_column("deliveries", sa.Column("digest_day", sa.String(length=10)))
    op.create_index(
        "ix_deliveries_digest_day",
        "deliveries",
        ["subscription_id", "digest_day"],
        unique=True,
    )
    op.create_table(
        "rate_shares",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("next_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_rate_shares"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_NOTIFY_FUNCTION)
        for table in ("deliveries", "feeds"):
            op.execute(
                f"CREATE TRIGGER {table}_wake AFTER INSERT ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION koreapage_wake()"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in ("deliveries", "feeds"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_wake ON {table}")
        op.execute("DROP FUNCTION IF EXISTS koreapage_wake()")
    op.drop_table("rate_shares")
    op.drop_index("ix_deliveries_digest_day", table_name="deliveries")
    op.drop_column("deliveries", "digest_day")
