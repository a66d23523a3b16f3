"""A database made by an older release upgrades in place, keeping its rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncConnection

from koreapage_bot.domain import DeliveryState
from koreapage_bot.store import tables as t
from koreapage_bot.store.database import create_engine
from koreapage_bot.store.migrate import alembic_config
from koreapage_bot.store.store import Store
from tests.conftest import _reset_pg

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def _to(revision: str) -> object:
    def run(conn: Connection) -> None:
        command.upgrade(alembic_config(conn), revision)

    return run


def _down(revision: str) -> object:
    def run(conn: Connection) -> None:
        command.downgrade(alembic_config(conn), revision)

    return run


async def test_upgrade_from_the_first_schema_keeps_deliveries(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(_to("0001"))  # type: ignore[arg-type]
        now = "2026-01-01 00:00:00"
        await conn.execute(
            text(
                "INSERT INTO subscriptions (id, platform, channel, issues, feeds, min_relevance,"
                " state, created_at, updated_at, per_brief, digest_tz, options) VALUES"
                " (1, 'console', 'c', '[]', '[]', 0, 'active', :n, :n, 1, 'UTC', '{}')"
            ),
            {"n": now},
        )
        await conn.execute(
            text(
                "INSERT INTO deliveries (id, subscription_id, kind, state, attempts,"
                " rate_limited, next_attempt_at, created_at, updated_at) VALUES"
                " (7, 1, 'digest', 'pending', 2, 0, :n, :n, :n)"
            ),
            {"n": now},
        )
    await engine.dispose()

    store = await Store.open(url)  # migrates to the newest revision
    try:
        row = await store.outbox.get(7)
        assert row is not None and row.state is DeliveryState.PENDING and row.attempts == 2
        assert row.maybe_sent is False
    finally:
        await store.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def old_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database on each backend, not yet migrated."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    url: str = request.getfixturevalue("pg_database")
    await _reset_pg(url)
    return url


async def _brief_rows(conn: AsyncConnection) -> None:
    """A feed, three briefs (one undated) and their issues, as the first schema stored them."""
    day = timedelta(days=1)
    await conn.execute(
        t.feeds.insert().values(
            id=1,
            url="https://desk.example/feed",
            name="News Desk",
            state="active",
            next_poll_at=T0,
            consecutive_failures=0,
            baselined=True,
            created_at=T0,
        )
    )
    rows = [  # id, published, stored, issues
        (1, T0 - 3 * day, T0, ["gsomia"]),
        (2, None, T0 - day, ["gsomia", "usfk"]),
        (3, T0, T0, ["usfk"]),
    ]
    for brief_id, published, stored, issues in rows:
        common = {"id": brief_id, "feed_id": 1, "title": f"GSOMIA talks {brief_id}"}
        await conn.execute(
            t.posts.insert().values(
                **common,
                entry_key=f"k{brief_id}",
                published=published,
                text="Seoul and Tokyo",
                content_hash="h",
                relevant=True,
                relevance=0.9,
                created_at=stored,
                updated_at=stored,
            )
        )
        await conn.execute(
            t.briefs.insert().values(
                **common,
                post_id=brief_id,
                source="News Desk",
                published=published,
                summary="Seoul weighs the pact.",
                key_issues=[{"id": i, "label": i} for i in issues],
                relevance=0.9,
                search_text="News Desk Seoul and Tokyo",
                created_at=stored,
            )
        )
        for rank, issue in enumerate(issues):
            await conn.execute(
                text("INSERT INTO brief_issues (brief_id, issue_id, rank) VALUES (:b, :i, :r)"),
                {"b": brief_id, "i": issue, "r": rank},
            )


async def test_upgrade_from_the_first_schema_indexes_the_briefs_it_has(old_url: str) -> None:
    engine = create_engine(old_url)
    async with engine.begin() as conn:
        await conn.run_sync(_to("0001"))  # type: ignore[arg-type]
        await _brief_rows(conn)
    await engine.dispose()

    store = await Store.open(old_url)  # migrates to the newest revision, in place
    try:
        async with store.engine.connect() as conn:
            copied = (
                await conn.execute(
                    text(
                        "SELECT count(*) FROM brief_issues JOIN briefs ON briefs.id = brief_id"
                        " WHERE brief_issues.sort_at = briefs.sort_at"
                    )
                )
            ).scalar_one()
        assert copied == 4  # every issue row got its brief's sort key
        assert [b.id for b in await store.briefs.latest(5)] == [3, 2, 1]
        assert [b.id for b in await store.briefs.latest(5, issue="gsomia")] == [2, 1]
        assert [b.id for b in await store.briefs.latest(5, issue="usfk")] == [3, 2]
        assert [b.id for b in await store.briefs.latest(5, feed_id=1)] == [3, 2, 1]
        # Search still finds what the first schema indexed, title matches first.
        assert {b.id for b in await store.briefs.search("gsomia")} == {1, 2, 3}
        assert [b.id for b in await store.briefs.search("tokyo seoul")] == [3, 2, 1]
    finally:
        await store.close()


async def test_the_search_indexes_migration_downgrades_and_upgrades_again(old_url: str) -> None:
    url = old_url
    store = await Store.open(url)
    await store.close()
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(_down("0004_delivery_holder"))  # type: ignore[arg-type]
        await _brief_rows(conn)  # the schema before 0005 takes rows without sort keys
    await engine.dispose()
    store = await Store.open(url)
    try:
        assert [b.id for b in await store.briefs.latest(5, issue="gsomia")] == [2, 1]
    finally:
        await store.close()


async def test_briefs_stored_before_stories_each_become_a_story_of_their_own(
    old_url: str,
) -> None:
    engine = create_engine(old_url)
    async with engine.begin() as conn:
        await conn.run_sync(_to("0008_scaleout"))  # type: ignore[arg-type]
        await _brief_rows_without_issues(conn)
    await engine.dispose()
    store = await Store.open(old_url)
    try:
        briefs = await store.briefs.get_many([1, 2, 3])
        assert [b.story_id for b in briefs] == [1, 2, 3]
        reports = await store.stories.reports([1, 2, 3])
        assert {k: [b.id for b in v] for k, v in reports.items()} == {1: [1], 2: [2], 3: [3]}
        # A story made now numbers on from them (PostgreSQL's sequence was moved past them).
        feed = await store.feeds.get(1)
        assert feed is not None
        from tests.integration.store.test_stories import post

        stored = await store.briefs.store_post(feed, post("new", "A new report"), now=T0)
        assert stored.brief is not None and stored.brief.story_id == 4
    finally:
        await store.close()


async def _brief_rows_without_issues(conn: AsyncConnection) -> None:
    await conn.execute(
        text(
            "INSERT INTO feeds (id, url, name, state, next_poll_at, consecutive_failures,"
            " baselined, created_at) VALUES (1, 'https://desk.example/feed', 'News Desk',"
            " 'active', :t, 0, :yes, :t)"
        ),
        {"t": T0, "yes": True},
    )
    for n in (1, 2, 3):
        await conn.execute(
            text(
                "INSERT INTO posts (id, feed_id, entry_key, title, text, content_hash, relevant,"
                " relevance, created_at, updated_at) VALUES (:n, 1, :k, 'Old', '', 'h', :yes,"
                " 0.9, :t, :t)"
            ),
            {"n": n, "k": f"k{n}", "t": T0, "yes": True},
        )
        await conn.execute(
            text(
                "INSERT INTO briefs (id, post_id, feed_id, title, source, summary, key_issues,"
                " relevance, search_text, created_at) VALUES (:n, :n, 1, 'Old', 'News Desk',"
                " 'An old brief.', '[]', 0.9, '', :t)"
            ),
            {"n": n, "t": T0},
        )
    if conn.dialect.name == "postgresql":  # ids given by hand: the next ones follow them
        for table in ("feeds", "posts", "briefs"):
            await conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), 3)"))
