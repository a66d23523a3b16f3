"""briefs.language: the post's language, which the summary keeps

Revision ID: 0006_brief_language
Revises: 0005_search_indexes
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_brief_language"
down_revision = "0005_search_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Briefs stored before are English: the analysis read no other language then. A plain
    # ADD COLUMN (no batch rebuild): rebuilding `briefs` on SQLite would drop its FTS triggers.
    op.add_column(
        "briefs", sa.Column("language", sa.String(length=8), nullable=False, server_default="en")
    )


def downgrade() -> None:
    op.drop_column("briefs", "language")
