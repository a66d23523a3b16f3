"""stories: briefs of one event across outlets share a story (briefs.story_id)

Revision ID: 0009_stories
Revises: 0008_scaleout
Create Date: 2026-12-09

Every brief stored before becomes a story of its own, with the brief's id as the story's id
(so no brief is ever without one). A plain ADD COLUMN on briefs: rebuilding it on SQLite would
drop its FTS triggers.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_stories"
down_revision = "0008_scaleout"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_stories"),
    )
    op.add_column("briefs", sa.Column("story_id", sa.Integer(), nullable=True))
    op.execute(
        "INSERT INTO stories (id, created_at, updated_at) "
        "SELECT id, created_at, created_at FROM briefs"
    )
    op.execute("UPDATE briefs SET story_id = id")
    if op.get_bind().dialect.name == "postgresql":
        # The ids above were given by hand: new stories number on from the highest.
        op.execute(
            "SELECT setval(pg_get_serial_sequence('stories', 'id'), "
            "coalesce((SELECT max(id) FROM stories), 0) + 1, false)"
        )
    op.create_index("ix_briefs_story", "briefs", ["story_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_briefs_story", "briefs")
    op.drop_column("briefs", "story_id")
    op.drop_table("stories")
