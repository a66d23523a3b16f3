"""indexes that keep lists and search fast on a large archive

Revision ID: 0005_search_indexes
Revises: 0004_delivery_holder
Create Date: 2026-12-01

- briefs.sort_at = coalesce(published, created_at), computed by the database, indexed alone and
  per feed: "latest" walks an index instead of sorting every brief.
- brief_issues.sort_at, a copy of it (briefs never change once stored), indexed per issue: the
  latest briefs on an issue are one index walk however rare or common the issue is.
- ix_briefs_created becomes (created_at, id), the digest list's order.
- SQLite: the FTS5 table's `rank` column uses the weighted bm25 (title, summary, body).
- PostgreSQL: the search tsvector is kept inside the row (STORAGE MAIN) and its GIN index is
  updated at insert (fastupdate off), so a search never reads a pending list.

Upgrades a database in place, keeping its rows. SQLite adds the generated column as VIRTUAL
(ALTER TABLE can add those); briefs is never rebuilt there, because rebuilding it would drop
the FTS triggers and, with foreign keys on, cascade deletes into brief_issues and deliveries.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_search_indexes"
down_revision = "0004_delivery_holder"
branch_labels = None
depends_on = None

FTS_RANK = "bm25(10.0, 4.0, 1.0)"  # title, summary, body (author, feed, issues and text)


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if not sqlite:
        # Search tests each candidate's tsvector (about 1 kB); kept in the row instead of the
        # TOAST table it is read without TOAST lookups (measured on 100,000 briefs: testing
        # 20,000 rows took ~45 ms instead of ~75). Set before the stored column below, whose
        # table rewrite then moves the existing values.
        op.execute("ALTER TABLE briefs ALTER COLUMN search_vector SET STORAGE MAIN")
        # GIN's fast update parks new entries in a pending list that every search then reads
        # in full until a vacuum merges it (measured: a search of a mid-frequency word took
        # twice as long with 1.4 MB pending). Briefs arrive a few a minute, so each insert
        # updates the index itself: "consistent response time over update speed", as the
        # PostgreSQL manual puts it.
        op.execute("ALTER INDEX ix_briefs_search_vector SET (fastupdate = off)")
        op.execute("SELECT gin_clean_pending_list('ix_briefs_search_vector')")
    # SQLite can only add a VIRTUAL generated column; PostgreSQL can only index a STORED one.
    computed = sa.Computed("coalesce(published, created_at)", persisted=not sqlite)
    op.add_column("briefs", sa.Column("sort_at", sa.DateTime(timezone=True), computed))
    op.create_index("ix_briefs_sort", "briefs", ["sort_at", "id"])
    op.create_index("ix_briefs_feed_sort", "briefs", ["feed_id", "sort_at", "id"])
    # Digests list the newest briefs since the last one: (created_at, id) gives that order
    # whole on PostgreSQL too (SQLite's index carries the rowid anyway).
    op.drop_index("ix_briefs_created", "briefs")
    op.create_index("ix_briefs_created", "briefs", ["created_at", "id"])

    op.add_column("brief_issues", sa.Column("sort_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE brief_issues SET sort_at = "
        "(SELECT briefs.sort_at FROM briefs WHERE briefs.id = brief_issues.brief_id)"
    )
    # brief_issues is rebuilt on SQLite to make the column NOT NULL: nothing refers to it.
    with op.batch_alter_table("brief_issues") as batch_op:
        batch_op.alter_column("sort_at", existing_type=sa.DateTime(timezone=True), nullable=False)
        batch_op.drop_index("ix_brief_issues_issue")
        batch_op.create_index("ix_brief_issues_sort", ["issue_id", "sort_at", "brief_id"])

    if sqlite:
        op.execute(f"INSERT INTO briefs_fts(briefs_fts, rank) VALUES ('rank', '{FTS_RANK}')")


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("INSERT INTO briefs_fts(briefs_fts, rank) VALUES ('rank', 'bm25()')")
    with op.batch_alter_table("brief_issues") as batch_op:
        batch_op.drop_index("ix_brief_issues_sort")
        batch_op.create_index("ix_brief_issues_issue", ["issue_id", "brief_id"])
        batch_op.drop_column("sort_at")
    op.drop_index("ix_briefs_created", "briefs")
    op.create_index("ix_briefs_created", "briefs", ["created_at"])
    op.drop_index("ix_briefs_feed_sort", "briefs")
    op.drop_index("ix_briefs_sort", "briefs")
    op.drop_column("briefs", "sort_at")
    if not sqlite:
        op.execute("ALTER INDEX ix_briefs_search_vector RESET (fastupdate)")
        op.execute("ALTER TABLE briefs ALTER COLUMN search_vector SET STORAGE EXTENDED")
