"""The latest lists and search, on SQLite (FTS5) and PostgreSQL (tsvector + GIN)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, text

from koreapage_bot.domain import Analysis, Brief, Feed, FeedEntry, KeyIssue
from koreapage_bot.store.briefs import NewPost
from koreapage_bot.store.store import Store

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
FILLER = (
    "Officials met in Seoul on Tuesday to review plans for the coming year and agreed to "
    "meet again before the summer."
)
_serial = iter(range(1_000_000))


async def a_feed(store: Store, name: str = "News Desk") -> Feed:
    feed, _ = await store.feeds.add(f"https://desk.example/{name}", name, now=NOW)
    return feed


async def brief(
    store: Store,
    feed: Feed,
    title: str,
    body: str = FILLER,
    *,
    published: datetime | None = NOW,
    stored: datetime = NOW,
    issues: tuple[str, ...] = (),
) -> Brief:
    n = next(_serial)
    analysis = Analysis(
        relevant=True,
        relevance=0.9,
        key_issues=tuple(KeyIssue(i, i.title(), 0.9) for i in issues),
        author=None,
        summary=FILLER,
        why=("test",),
        text=body,
    )
    entry = FeedEntry(f"id:{n}", f"https://desk.example/{n}", title, None, published, "", None)
    stored_post = await store.briefs.store_post(
        feed, NewPost(entry, analysis, f"hash-{n}", True), deliver=False, now=stored
    )
    assert stored_post.brief is not None
    return stored_post.brief


def ids(briefs: list[Brief]) -> list[int]:
    return [b.id for b in briefs]


@contextmanager
def statements(store: Store) -> Iterator[list[tuple[str, Any]]]:
    """The SQL the store sends while the block runs."""
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        seen.append((statement, params))

    event.listen(store.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(store.engine.sync_engine, "before_cursor_execute", record)


# -- latest ----------------------------------------------------------------------------------


async def test_latest_orders_by_published_date_and_undated_posts_by_when_stored(
    store: Store,
) -> None:
    feed = await a_feed(store)
    day = timedelta(days=1)
    old = await brief(store, feed, "Old", published=NOW - 5 * day, stored=NOW)
    undated_new = await brief(store, feed, "Undated new", published=None, stored=NOW - 1 * day)
    recent = await brief(store, feed, "Recent", published=NOW - 2 * day, stored=NOW)
    undated_old = await brief(store, feed, "Undated old", published=None, stored=NOW - 4 * day)
    newest = await brief(store, feed, "Newest", published=NOW, stored=NOW)

    assert ids(await store.briefs.latest(10)) == [
        newest.id,
        undated_new.id,
        recent.id,
        undated_old.id,
        old.id,
    ]
    assert ids(await store.briefs.latest(2)) == [newest.id, undated_new.id]


async def test_latest_by_issue_and_by_feed(store: Store) -> None:
    desk, other = await a_feed(store), await a_feed(store, "Other Desk")
    day = timedelta(days=1)
    a = await brief(store, desk, "A", published=NOW - 3 * day, issues=("gsomia",))
    b = await brief(store, other, "B", published=None, stored=NOW - day, issues=("gsomia", "usfk"))
    c = await brief(store, desk, "C", published=NOW - 2 * day, issues=("usfk",))
    d = await brief(store, desk, "D", published=NOW, issues=("opcon", "gsomia"))

    assert ids(await store.briefs.latest(10, issue="gsomia")) == [d.id, b.id, a.id]
    assert ids(await store.briefs.latest(1, issue="gsomia")) == [d.id]
    assert ids(await store.briefs.latest(10, issue="usfk")) == [b.id, c.id]
    assert await store.briefs.latest(10, issue="trade") == []
    assert ids(await store.briefs.latest(10, feed_id=desk.id)) == [d.id, c.id, a.id]
    assert ids(await store.briefs.latest(10, issue="gsomia", feed_id=desk.id)) == [d.id, a.id]
    shown = (await store.briefs.latest(1, issue="gsomia"))[0]
    assert [t.id for t in shown.key_issues] == ["opcon", "gsomia"]  # all its issues, in order


# -- query plans -----------------------------------------------------------------------------


async def _plans(store: Store, calls: list[Any]) -> list[str]:
    """The query plan of each statement the store sent for `calls`, as text."""
    with statements(store) as seen:
        for call in calls:
            await call
    plans = []
    async with store.engine.connect() as conn:
        if store.engine.dialect.name == "postgresql":
            # A handful of rows: a sequential scan and a sort would be cheaper, so forbid them
            # to see whether an index can give the order and the filter.
            await conn.execute(text("SET LOCAL enable_seqscan = off"))
            await conn.execute(text("SET LOCAL enable_sort = off"))
        for statement, params in seen:
            if not statement.lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            if store.engine.dialect.name == "sqlite":
                rows = await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)
                plans.append("\n".join(str(r[-1]) for r in rows))
            else:
                rows = await conn.exec_driver_sql("EXPLAIN " + statement, params)
                plans.append("\n".join(str(r[0]) for r in rows))
    return plans


async def test_latest_lists_walk_an_index_instead_of_sorting(store: Store) -> None:
    feed = await a_feed(store)
    for i in range(30):
        await brief(store, feed, f"Brief {i}", published=NOW - timedelta(hours=i), issues=("usfk",))
    cases = {
        "ix_briefs_sort": store.briefs.latest(5),
        "ix_brief_issues_sort": store.briefs.latest(5, issue="usfk"),
        "ix_briefs_feed_sort": store.briefs.latest(5, feed_id=feed.id),
    }
    for index, call in cases.items():
        [plan] = await _plans(store, [call])
        assert index in plan, plan
        if store.engine.dialect.name == "sqlite":
            assert "TEMP B-TREE" not in plan, plan
        else:
            assert "Sort" not in plan and "Seq Scan" not in plan, plan
