"""Search ranking and the latest lists, on SQLite (FTS5) and PostgreSQL (tsvector + GIN).

Search ranks only the newest `WINDOW` matches of a query (store/search.py); these tests shrink
the window to a few briefs so that "many matches" takes a dozen rows, not hundreds.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, text

from koreapage_bot.domain import Analysis, Brief, Feed, FeedEntry, KeyIssue
from koreapage_bot.ports import NewPost, SubscriptionSpec
from koreapage_bot.store import search as search_module
from koreapage_bot.store.store import Store


@pytest.fixture
def store(sql_store: Store) -> Store:
    """Full-text ranking and the shared replay table are the SQL store's own."""
    return sql_store


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
        feed, NewPost(entry, analysis, f"hash-{n}", True), now=stored
    )
    assert stored_post.brief is not None
    return stored_post.brief


def ids(briefs: list[Brief]) -> list[int]:
    return [b.id for b in briefs]


@pytest.fixture
def small_window(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(search_module, "WINDOW", 4)
    return 4


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


# -- ranking ---------------------------------------------------------------------------------


async def test_a_common_word_shows_the_strongest_of_its_newest_matches(
    store: Store, small_window: int
) -> None:
    feed = await a_feed(store)
    strong_but_old = await brief(
        store, feed, "Alliance alliance alliance", "The alliance, the alliance and the alliance."
    )
    weak = [
        await brief(store, feed, f"Budget talks {i}", f"{FILLER} The alliance.") for i in range(6)
    ]
    strong_new = await brief(store, feed, "Alliance holds", "The alliance held, the alliance said.")
    newest_weak = await brief(store, feed, "Budget talks again", f"{FILLER} The alliance.")

    found = await store.briefs.search("alliance", limit=10)

    # The newest strong match leads; only the newest `WINDOW` matches are ranked, so the
    # stronger but older brief (eight matches back) is not among them.
    assert found[0].id == strong_new.id
    assert set(ids(found)) == {strong_new.id, newest_weak.id, weak[-1].id, weak[-2].id}
    assert strong_but_old.id not in ids(found)


async def test_a_rare_term_has_all_its_matches_found_and_ranked(
    store: Store, small_window: int
) -> None:
    feed = await a_feed(store)
    strongest = await brief(
        store, feed, "Halvorsen in Seoul", "Ambassador Halvorsen met Halvorsen's counterpart."
    )
    middle = await brief(store, feed, "Halvorsen visits", "The ambassador visited the base.")
    for i in range(8):  # newer briefs that do not mention the name
        await brief(store, feed, f"Other news {i}")
    weakest = await brief(
        store, feed, "Long day", f"{FILLER} {FILLER} {FILLER} Halvorsen was there too."
    )

    found = await store.briefs.search("halvorsen", limit=10)

    # Three matches (fewer than the window): every one is ranked, the oldest strongest first:
    # the name in the title and twice in the text, in the title, once deep in a long text.
    assert ids(found) == [strongest.id, middle.id, weakest.id]


async def test_a_phrase_needs_its_words_together(store: Store) -> None:
    feed = await a_feed(store)
    together = await brief(store, feed, "Talks", "Talks on cost sharing resumed.")
    apart = await brief(store, feed, "Bases", "The cost of the bases and the sharing of data.")
    assert ids(await store.briefs.search('"cost sharing"')) == [together.id]
    assert set(ids(await store.briefs.search("cost sharing"))) == {together.id, apart.id}


async def test_excluded_words_remove_matches(store: Store, small_window: int) -> None:
    feed = await a_feed(store)
    keep = await brief(store, feed, "Alliance drills", "The alliance trained at sea.")
    for i in range(6):
        await brief(store, feed, f"Battery {i}", "The alliance argued over THAAD again.")
    found = await store.briefs.search("alliance -thaad")
    # Six newer matches carry the excluded word; the window is drawn after excluding them.
    assert ids(found) == [keep.id]


async def test_no_brief_with_every_word_falls_back_to_any_word(
    store: Store, small_window: int
) -> None:
    feed = await a_feed(store)
    rare = [await brief(store, feed, "Envoy", "Ambassador Halvorsen arrived.") for _ in range(2)]
    common = [await brief(store, feed, f"Summit {i}", "The alliance met.") for i in range(8)]

    found = await store.briefs.search("alliance halvorsen", limit=10)

    # No brief says both. Each word then draws its own newest matches: the rare word's two
    # (older than every brief with the common word) are ranked beside the common word's.
    assert set(ids(rare)) <= set(ids(found))
    assert set(ids(found)) - set(ids(rare)) == set(ids(common[-small_window:]))
    # One word alone never falls back: a word nothing contains finds nothing.
    assert await store.briefs.search("zzzunknownword") == []
    assert ids(await store.briefs.search("halvorsen zzzunknownword")) == ids(rare[::-1])


async def test_words_in_most_briefs_are_not_weighed_beside_a_rarer_one(store: Store) -> None:
    # "korea" is in every brief: bm25 gives it no weight (its IDF is clamped), so ranking
    # leaves it out beside "gsomia" (SQLite; counting it walks all its postings). The order
    # is the one bm25 gives with it.
    feed = await a_feed(store)
    for i in range(6):
        await brief(store, feed, f"Korea news {i}", f"{FILLER} Korea.")
    mentions = [
        await brief(store, feed, "Korea and GSOMIA", f"Korea on GSOMIA. {FILLER}"),
        await brief(store, feed, "GSOMIA GSOMIA", "Korea: GSOMIA, GSOMIA and GSOMIA again."),
        await brief(store, feed, "Korea talks", f"{FILLER} Korea. {FILLER} GSOMIA."),
    ]
    counts = store.briefs._word_counts
    with statements(store) as seen:
        found = await store.briefs.search("korea gsomia")
    assert set(ids(found)) == {m.id for m in mentions}
    if store.engine.dialect.name != "sqlite":
        return
    assert ids(found) == [mentions[1].id, mentions[0].id, mentions[2].id]
    [params] = [p for s, p in seen if "scored0" in s]
    assert '"gsomia"' in params and '"korea" AND "gsomia"' not in params
    async with store.engine.connect() as conn:
        assert await counts.weightless(conn, ["korea", "gsomia"]) == {"korea"}
        assert await counts.weightless(conn, ["korea"]) == frozenset()  # alone, it ranks
    store.briefs._word_counts = None  # type: ignore[assignment]
    assert ids(await store.briefs.search("korea gsomia")) == ids(found)


async def test_search_reads_its_result_rows_in_one_statement(store: Store) -> None:
    feed = await a_feed(store)
    for i in range(5):
        await brief(store, feed, f"Alliance {i}", issues=("usfk", "opcon"))
    with statements(store) as seen:
        found = await store.briefs.search("alliance")
    assert len(found) == 5 and all(b.key_issues and b.source == feed.name for b in found)
    reading_rows = [s for s, _ in seen if "briefs.key_issues" in s]
    assert len(reading_rows) == 1


async def test_a_long_query_with_no_brief_matching_every_word_ranks_a_bounded_set(
    store: Store, small_window: int
) -> None:
    feed = await a_feed(store)
    words = ["thaad", "opcon", "gsomia", "usfk", "tariffs", "drills"]
    for word in words:  # each word in its own briefs, never two together
        for i in range(3):
            await brief(store, feed, f"Report {i}", f"{FILLER} {word.upper()}.")
    found = await store.briefs.search(" ".join(words), limit=50)
    # Six words share a budget of twice the window: the newest match of each word.
    assert search_module.window(len(words)) == 1
    assert len(found) == len(words)


@pytest.mark.postgres
@pytest.mark.parametrize("sql_store", ["postgres"], indirect=True)  # FTS5 has no stop words
async def test_words_postgres_drops_as_stop_words_cost_no_scan(store: Store) -> None:
    feed = await a_feed(store)
    await brief(store, feed, "The talks", "The talks of the allies.")
    with statements(store) as seen:
        assert await store.briefs.search("the of") == []
    # The first round trip of each attempt (all words, then any) finds that no group keeps a
    # word: no slice is scanned, nothing is ranked.
    assert len(seen) == 2 and all("numnode" in sql for sql, _ in seen)


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


async def test_the_digest_list_is_the_newest_matching_briefs_since_the_last_digest(
    store: Store,
) -> None:
    desk, other = await a_feed(store), await a_feed(store, "Other Desk")
    hour = timedelta(hours=1)
    made = []
    for i in range(40):  # every fourth on GSOMIA; the last ten from another feed
        feed = other if i >= 30 else desk
        issues = ("gsomia",) if i % 4 == 0 else ("usfk",)
        made.append(await brief(store, feed, f"B{i}", stored=NOW + i * hour, issues=issues))
    sub, _ = await store.subscriptions.upsert(SubscriptionSpec("discord", "1"), NOW)
    gsomia, _ = await store.subscriptions.upsert(
        SubscriptionSpec("discord", "2", issues=("gsomia",), feeds=(desk.id,)), NOW
    )

    # No digest yet: the newest, not the oldest of the archive; oldest first, as before.
    assert ids(await store.briefs.for_subscription_since(sub, None, 3)) == ids(made[-3:])
    since = made[33].created_at
    assert ids(await store.briefs.for_subscription_since(sub, since, 25)) == ids(made[34:])
    # Filters apply before the limit: the newest GSOMIA briefs of that feed, however sparse.
    expected = [b.id for b in made[:30] if b.key_issues[0].id == "gsomia"][-3:]
    assert ids(await store.briefs.for_subscription_since(gsomia, None, 3)) == expected


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
    subscription, _ = await store.subscriptions.upsert(SubscriptionSpec("discord", "1"), NOW)
    cases = {
        "ix_briefs_sort": store.briefs.latest(5),
        "ix_brief_issues_sort": store.briefs.latest(5, issue="usfk"),
        "ix_briefs_feed_sort": store.briefs.latest(5, feed_id=feed.id),
        "ix_briefs_created": store.briefs.for_subscription_since(subscription, None, 10),
    }
    for index, call in cases.items():
        [plan] = await _plans(store, [call])
        assert index in plan, plan
        if store.engine.dialect.name == "sqlite":
            assert "TEMP B-TREE" not in plan, plan
        else:
            assert "Sort" not in plan and "Seq Scan" not in plan, plan


async def test_search_uses_the_full_text_index(store: Store) -> None:
    feed = await a_feed(store)
    for i in range(30):
        await brief(store, feed, f"Alliance {i}", f"{FILLER} Halvorsen {i}.")
    plans = await _plans(
        store, [store.briefs.search("alliance"), store.briefs.search("halvorsen zzzunknown")]
    )
    joined = "\n".join(plans)
    if store.engine.dialect.name == "sqlite":
        assert "VIRTUAL TABLE" in joined  # FTS5 finds and scores the matches
        # briefs is read by primary key, for the rows shown only, never scanned
        assert "SCAN briefs\n" not in joined + "\n" and "SCAN briefs " not in joined, joined
    else:
        assert "ix_briefs_search_vector" in joined or "pk_briefs" in joined, joined
        assert "Seq Scan" not in joined, joined


async def test_a_search_page_filters_by_issue_sorts_by_date_and_pages_past_the_window(
    store: Store, small_window: int
) -> None:
    feed = await a_feed(store)
    day = timedelta(days=1)
    # Nine matches, older published dates stored later, every third one on GSOMIA.
    made = [
        await brief(
            store,
            feed,
            f"Alliance talks {i}",
            "The alliance met again.",
            published=NOW - i * day,
            issues=("gsomia",) if i % 3 == 0 else ("usfk",),
        )
        for i in range(9)
    ]
    by_date = ids(sorted(made, key=lambda b: b.published or NOW, reverse=True))

    # Only GSOMIA briefs, even though the newest matches by id are mostly others.
    on_issue = await store.briefs.search("alliance", 10, issue="gsomia")
    assert set(ids(on_issue)) == {made[0].id, made[3].id, made[6].id}
    # Newest first by published date, a page at a time, beyond the ranking window (4).
    first = await store.briefs.search("alliance", 3, newest=True)
    assert ids(first) == by_date[:3]
    later = await store.briefs.search("alliance", 3, offset=6, newest=True)
    assert ids(later) == by_date[6:9]
    # Best-first pages never repeat a brief and together reach every match.
    pages = [await store.briefs.search("alliance", 3, offset=n) for n in (0, 3, 6)]
    seen = [b.id for page in pages for b in page]
    assert sorted(seen) == sorted(ids(made))
