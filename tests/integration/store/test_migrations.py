"""The migrations build exactly the schema that store/tables.py describes, on both backends."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect

from koreapage_bot.store import migrate
from koreapage_bot.store.store import Store
from koreapage_bot.store.tables import metadata


@pytest.fixture
def store(sql_store: Store) -> Store:
    """The schema is the SQL store's own."""
    return sql_store


def _include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    # Full-text search lives outside the Core tables on purpose (FTS5 table and its shadow
    # tables on SQLite; a generated tsvector column and its GIN index on PostgreSQL).
    if name and (
        name.startswith("briefs_fts") or name in ("search_vector", "ix_briefs_search_vector")
    ):
        return False
    return name != "alembic_version"


def _diff(conn: Connection) -> list[Any]:
    context = MigrationContext.configure(
        conn, opts={"include_object": _include, "compare_type": True}
    )
    return list(compare_metadata(context, metadata))


async def test_migrated_schema_matches_the_tables(store: Store) -> None:
    async with store.engine.connect() as conn:
        diff = await conn.run_sync(_diff)
    assert diff == []


async def test_upgrade_is_idempotent_and_search_exists(store: Store) -> None:
    await migrate.upgrade(store.engine)  # a restart runs it again: no-op
    async with store.engine.connect() as conn:
        names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        columns = await conn.run_sync(
            lambda c: {col["name"] for col in inspect(c).get_columns("briefs")}
        )
    assert {"feeds", "posts", "briefs", "brief_issues", "subscriptions", "deliveries"} <= names
    if store.engine.dialect.name == "sqlite":
        assert "briefs_fts" in names
    else:
        assert "search_vector" in columns


async def test_several_starts_on_a_new_database_at_once_all_succeed(tmp_path: Path) -> None:
    # Serialised by a lock file: without it the second start fails "table feeds already exists".
    url = f"sqlite+aiosqlite:///{tmp_path / 'race.db'}"
    stores = await asyncio.gather(*(Store.open(url) for _ in range(4)))
    for opened in stores:
        await opened.close()


async def test_search_storage_is_tuned_for_ranking_few_rows(store: Store) -> None:
    async with store.engine.connect() as conn:
        if store.engine.dialect.name == "sqlite":
            # FTS5's rank column scores with the weighted bm25 (title, summary, body).
            rank = await conn.exec_driver_sql("SELECT v FROM briefs_fts_config WHERE k = 'rank'")
            assert rank.scalar_one() == "bm25(10.0, 4.0, 1.0)"
            return
        # The tsvector stays in the row; the GIN index has no pending list to read.
        storage = await conn.exec_driver_sql(
            "SELECT attstorage::text FROM pg_attribute "
            "WHERE attrelid = 'briefs'::regclass AND attname = 'search_vector'"
        )
        assert storage.scalar_one() == "m"
        options = await conn.exec_driver_sql(
            "SELECT reloptions FROM pg_class WHERE relname = 'ix_briefs_search_vector'"
        )
        assert options.scalar_one() == ["fastupdate=off"]
