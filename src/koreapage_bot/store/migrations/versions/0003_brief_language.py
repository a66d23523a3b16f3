"""briefs.language: the post's language, which the summary keeps

Revision ID: 0003_brief_language
Revises: 0002
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_brief_language"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Briefs stored before are English: the analysis read no other language then.
    with op.batch_alter_table("briefs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("language", sa.String(length=8), nullable=False, server_default="en")
        )


def downgrade() -> None:
    with op.batch_alter_table("briefs", schema=None) as batch_op:
        batch_op.drop_column("language")
