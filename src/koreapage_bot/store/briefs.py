"""Posts and briefs: storing analysed entries (with their outbox rows, atomically) and querying
briefs (latest, by issue, full-text search)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, RowMapping, Select, desc, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from koreapage_bot.dates import utcnow
from koreapage_bot.domain import Analysis, Brief, DeliveryState, Feed, Subscription
from koreapage_bot.links import web_link
from koreapage_bot.ports import EntryAlreadyStored, FanOut, NewPost, RowKind, StoredPost
from koreapage_bot.store import tables as t
from koreapage_bot.store.rows import (
    BRIEF_COLUMNS,
    brief_from_row,
    subscription_from_row,
    tags_to_json,
)
from koreapage_bot.store.search import (
    SearchPage,
    SearchTerms,
    WordCounts,
    parse_query,
    search_postgres,
    search_sqlite,
)


def analysis_record(analysis: Analysis) -> dict[str, Any]:
    """The analysis as the posts.analysis JSON column keeps it (scores and evidence too)."""
    return {
        "relevant": analysis.relevant,
        "relevance": analysis.relevance,
        "key_issues": [
            {"id": k.id, "label": k.label, "score": k.score, "evidence": list(k.evidence)}
            for k in analysis.key_issues
        ],
        "author": analysis.author,
        "summary": analysis.summary,
        "why": list(analysis.why),
        "language": analysis.language,
    }


async def write_deliveries(
    conn: AsyncConnection,
    briefs: Sequence[Brief],
    fan_out: FanOut,
    now: datetime,
    row_kind: RowKind | None = None,
) -> int:
    """Outbox rows for `briefs`, one for each subscription `fan_out` picks, in the caller's
    transaction (which also reads the subscriptions, so none can vanish in between). A row
    that exists (same subscription and brief) is left alone. With `row_kind`, a brief whose
    story another brief's row already brought to a channel gets the kind it says there (a
    story update). Returns how many were written."""
    if not briefs:
        return 0
    subs = [
        subscription_from_row(r)
        for r in (await conn.execute(select(t.subscriptions))).mappings().all()
    ]
    picks = [(brief, fan_out(brief, subs)) for brief in briefs]
    if conn.dialect.name == "postgresql":
        # Several processes may write rows for one channel at once. Its rows must commit in
        # id (queue) order, or a dispatcher could send a later row while an earlier one is
        # still uncommitted, hence invisible to its order check: hold each recipient's
        # subscription row until this transaction commits (in id order: no deadlock). FOR NO
        # KEY UPDATE leaves foreign-key checks of other writers alone.
        recipients = sorted({s.id for _, chosen in picks for s in chosen})
        for start in range(0, len(recipients), 1000):
            await conn.execute(
                select(t.subscriptions.c.id)
                .where(t.subscriptions.c.id.in_(recipients[start : start + 1000]))
                .order_by(t.subscriptions.c.id)
                .with_for_update(key_share=True)
            )
    total = 0
    for brief, chosen in picks:
        if not chosen:
            continue
        existing = set(
            (
                await conn.execute(
                    select(t.deliveries.c.subscription_id).where(
                        t.deliveries.c.brief_id == brief.id
                    )
                )
            ).scalars()
        )
        with_story = await _channels_with_story(conn, brief) if row_kind is not None else set[int]()
        rows = []
        for s in {s.id: s for s in chosen}.values():
            if s.id in existing:
                continue
            kind = row_kind(s, s.id in with_story) if row_kind is not None else "brief"
            rows.append(
                {
                    "subscription_id": s.id,
                    "brief_id": brief.id,
                    "kind": kind,
                    "payload": {"story": brief.story_id} if kind == "story" else None,
                    "state": DeliveryState.PENDING.value,
                    "attempts": 0,
                    "rate_limited": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        if rows:
            await conn.execute(t.deliveries.insert(), rows)
            total += len(rows)
    return total


async def _channels_with_story(conn: AsyncConnection, brief: Brief) -> set[int]:
    """Subscriptions with a row of another brief of `brief`'s story (any state)."""
    if brief.story_id is None:
        return set()
    b, d = t.briefs, t.deliveries
    query = (
        select(d.c.subscription_id)
        .select_from(d.join(b, b.c.id == d.c.brief_id))
        .where(b.c.story_id == brief.story_id, b.c.id != brief.id)
        .distinct()
    )
    return set((await conn.execute(query)).scalars())


def _new_id(result: CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


class BriefRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._dialect = engine.dialect.name
        # Per repository: which search words bm25 gives no weight (store/search.py).
        self._word_counts = WordCounts()

    # -- posts ---------------------------------------------------------------------------

    async def known_entries(self, feed_id: int, keys: Iterable[str]) -> dict[str, tuple[int, str]]:
        """Entry key → (post id, content hash) for the keys this feed has already seen."""
        keys = list(keys)
        found: dict[str, tuple[int, str]] = {}
        async with self._engine.connect() as conn:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                rows = await conn.execute(
                    select(t.posts.c.entry_key, t.posts.c.id, t.posts.c.content_hash).where(
                        t.posts.c.feed_id == feed_id, t.posts.c.entry_key.in_(chunk)
                    )
                )
                for key, post_id, content_hash in rows:
                    found[key] = (post_id, content_hash)
        return found

    async def store_post(
        self,
        feed: Feed,
        post: NewPost,
        *,
        fan_out: FanOut | None = None,
        now: datetime | None = None,
        story: int | None = None,
        row_kind: RowKind | None = None,
    ) -> StoredPost:
        """Insert the post, its brief when relevant (in `story`, or a new story), and (with
        `fan_out`) its outbox rows, in one transaction: a crash leaves either all of them or
        none."""
        now = now or utcnow()
        entry = post.entry
        url = web_link(entry.url)  # whoever built the entry, only a usable link is stored
        async with self._engine.begin() as conn:
            try:
                result = await self._insert_post(conn, feed, post, url, now)
            except IntegrityError as exc:  # (feed, entry key) is unique
                raise EntryAlreadyStored(entry.key) from exc
            post_id = _new_id(result)
            if not post.relevant:
                return StoredPost(post_id, None, 0)
            story_id = await self._story_for(conn, story, now)
            brief = await self._insert_brief(conn, feed, post_id, post, now, story_id)
            count = await write_deliveries(conn, [brief], fan_out, now, row_kind) if fan_out else 0
        return StoredPost(post_id, brief, count)

    async def _story_for(self, conn: AsyncConnection, story: int | None, now: datetime) -> int:
        """The story a new brief joins (its latest report is now) or, for None or a story
        that is not there, a new one."""
        if story is not None:
            result = await conn.execute(
                update(t.stories).where(t.stories.c.id == story).values(updated_at=now)
            )
            if result.rowcount:
                return story
        created = await conn.execute(t.stories.insert().values(created_at=now, updated_at=now))
        return _new_id(created)

    async def _insert_post(
        self, conn: AsyncConnection, feed: Feed, post: NewPost, url: str | None, now: datetime
    ) -> CursorResult[Any]:
        entry, analysis = post.entry, post.analysis
        return await conn.execute(
            t.posts.insert().values(
                feed_id=feed.id,
                entry_key=entry.key,
                url=url,
                title=entry.title,
                author=analysis.author,
                published=entry.published,
                text=analysis.text,
                content_hash=post.content_hash,
                relevant=post.relevant,
                relevance=analysis.relevance,
                analysis=analysis_record(analysis),
                created_at=now,
                updated_at=now,
            )
        )

    async def _insert_brief(
        self,
        conn: AsyncConnection,
        feed: Feed,
        post_id: int,
        post: NewPost,
        now: datetime,
        story_id: int,
    ) -> Brief:
        made = post.brief(feed, brief_id=0, post_id=post_id, now=now, story_id=story_id)
        result = await conn.execute(
            t.briefs.insert().values(
                post_id=made.post_id,
                feed_id=made.feed_id,
                title=made.title,
                url=made.url,
                author=made.author,
                source=made.source,
                published=made.published,
                summary=made.summary,
                key_issues=tags_to_json(made.key_issues),
                relevance=made.relevance,
                search_text=post.search_text(feed),
                created_at=made.created_at,
                language=made.language,
                story_id=story_id,
            )
        )
        brief = replace(made, id=_new_id(result))
        if brief.key_issues:
            # briefs.sort_at, as the database computes it: coalesce(published, created_at)
            sort_at = brief.published or now
            await conn.execute(
                t.brief_issues.insert(),
                [
                    {"brief_id": brief.id, "issue_id": k.id, "rank": i, "sort_at": sort_at}
                    for i, k in enumerate(brief.key_issues)
                ],
            )
        return brief

    async def touch_post(
        self, post_id: int, *, title: str, content_hash: str, now: datetime | None = None
    ) -> None:
        """An entry we already have changed its content: record it, never repost it."""
        async with self._engine.begin() as conn:
            await conn.execute(
                update(t.posts)
                .where(t.posts.c.id == post_id)
                .values(title=title, content_hash=content_hash, updated_at=now or utcnow())
            )

    # -- briefs --------------------------------------------------------------------------

    async def get(self, brief_id: int) -> Brief | None:
        async with self._engine.connect() as conn:
            row = (
                (await conn.execute(select(*BRIEF_COLUMNS).where(t.briefs.c.id == brief_id)))
                .mappings()
                .first()
            )
        return brief_from_row(row) if row else None

    async def get_many(self, brief_ids: Sequence[int]) -> list[Brief]:
        if not brief_ids:
            return []
        async with self._engine.connect() as conn:
            query = select(*BRIEF_COLUMNS).where(t.briefs.c.id.in_(list(brief_ids)))
            rows = (await conn.execute(query)).mappings().all()
        by_id = {r["id"]: brief_from_row(r) for r in rows}
        return [by_id[i] for i in brief_ids if i in by_id]

    async def latest(
        self,
        limit: int = 5,
        *,
        issue: str | None = None,
        feed_id: int | None = None,
        offset: int = 0,
    ) -> list[Brief]:
        """Newest first: by published date, undated posts by when they were stored. Each form
        walks one index (ix_briefs_sort, ix_briefs_feed_sort, ix_brief_issues_sort) and stops
        after `limit` rows; none sorts the archive."""
        query: Select[Any]
        if issue:
            bi = t.brief_issues
            query = (
                select(*BRIEF_COLUMNS)
                .select_from(bi.join(t.briefs, t.briefs.c.id == bi.c.brief_id))
                .where(bi.c.issue_id == issue)
                .order_by(desc(bi.c.sort_at), desc(bi.c.brief_id))
            )
        else:
            query = select(*BRIEF_COLUMNS).order_by(desc(t.briefs.c.sort_at), desc(t.briefs.c.id))
        query = query.limit(limit).offset(offset)
        if feed_id is not None:
            query = query.where(t.briefs.c.feed_id == feed_id)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [brief_from_row(r) for r in rows]

    async def for_subscription_since(
        self, subscription: Subscription, since: datetime | None, limit: int = 25
    ) -> list[Brief]:
        """The newest `limit` briefs created after `since` that the subscription's filters let
        through, oldest first. The filters run in SQL while walking ix_briefs_created from the
        newest end, so a first digest (no `since`) or a long silence costs `limit` matches, not
        the archive; it used to take the oldest 1,000 briefs after `since` and filter those."""
        b, bi = t.briefs, t.brief_issues
        query = select(*BRIEF_COLUMNS).order_by(desc(b.c.created_at), desc(b.c.id)).limit(limit)
        if since is not None:
            query = query.where(b.c.created_at > since)
        # The same rules as Subscription.matches (brief_issues holds each brief's key issues).
        if subscription.feeds:
            query = query.where(b.c.feed_id.in_(subscription.feeds))
        if subscription.min_relevance > 0:
            query = query.where(b.c.relevance >= subscription.min_relevance)
        if subscription.issues:
            on_issue = bi.c.issue_id.in_(subscription.issues)
            query = query.where(
                select(bi.c.brief_id).where(bi.c.brief_id == b.c.id, on_issue).exists()
            )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [brief_from_row(r) for r in reversed(rows)]

    async def search(
        self,
        query: str,
        limit: int = 10,
        *,
        offset: int = 0,
        newest: bool = False,
        issue: str | None = None,
    ) -> list[Brief]:
        """Full-text search, best match first (`newest`: newest first), optionally on one key
        issue: all words first, any word when that finds none. Ranks the newest matches only
        (see store/search.py) and reads just the rows shown. `offset` pages through the same
        results: a later page widens to any word only when all words match nothing at all,
        so pages never mix the two."""
        terms = parse_query(query)
        if terms.empty:
            return []
        page = SearchPage(limit=limit, offset=offset, newest=newest, issue=issue)
        async with self._engine.connect() as conn:
            for any_term in (False, True):
                rows = await self._search(conn, terms, page, any_term)
                if rows or len(terms.phrases) < 2:
                    break
                if offset and await self._search(
                    conn, terms, replace(page, limit=1, offset=0), any_term
                ):
                    break  # past the last page of the all-words results
        return [brief_from_row(r) for r in rows]

    async def _search(
        self, conn: AsyncConnection, terms: SearchTerms, page: SearchPage, any_term: bool
    ) -> Sequence[RowMapping]:
        if self._dialect == "sqlite":
            return await search_sqlite(conn, terms, page, any_term, self._word_counts)
        return await search_postgres(conn, terms, page, any_term)

    async def count(self) -> int:
        async with self._engine.connect() as conn:
            return int(
                (await conn.execute(select(func.count()).select_from(t.briefs))).scalar_one()
            )
