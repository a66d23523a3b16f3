"""Posts and briefs: storing analysed entries (with their outbox rows, atomically) and querying
briefs (latest, by issue, full-text search)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Select,
    desc,
    func,
    literal_column,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from koreapage_bot.domain import Analysis, Brief, DeliveryState, Feed, FeedEntry, Subscription
from koreapage_bot.links import web_link
from koreapage_bot.store import tables as t
from koreapage_bot.store.rows import brief_from_row, subscription_from_row, utcnow
from koreapage_bot.store.search import SearchTerms, fts5_query, parse_query, websearch_query


@dataclass(frozen=True, slots=True)
class NewPost:
    entry: FeedEntry
    analysis: Analysis
    content_hash: str
    relevant: bool  # the analysis decision under the configured threshold


@dataclass(frozen=True, slots=True)
class StoredPost:
    post_id: int
    brief: Brief | None
    deliveries: int


def analysis_to_json(analysis: Analysis) -> dict[str, Any]:
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
    }


async def write_deliveries(conn: AsyncConnection, brief: Brief, now: datetime) -> int:
    """Outbox rows for every per-brief subscription the brief matches, in the caller's
    transaction. Existing rows (same subscription and brief) are left alone. A paused
    subscription gets its rows too: they wait, unclaimed, until it is resumed (when the
    recent ones go out and a stale backlog is skipped; see SubscriptionRepository)."""
    query = select(t.subscriptions).where(t.subscriptions.c.per_brief.is_(True))
    subs = [subscription_from_row(r) for r in (await conn.execute(query)).mappings().all()]
    matching = [s for s in subs if s.matches(brief)]
    if not matching:
        return 0
    existing = set(
        (
            await conn.execute(
                select(t.deliveries.c.subscription_id).where(t.deliveries.c.brief_id == brief.id)
            )
        ).scalars()
    )
    rows = [
        {
            "subscription_id": s.id,
            "brief_id": brief.id,
            "kind": "brief",
            "state": DeliveryState.PENDING.value,
            "attempts": 0,
            "rate_limited": 0,
            "next_attempt_at": now,
            "created_at": now,
            "updated_at": now,
        }
        for s in matching
        if s.id not in existing
    ]
    if rows:
        await conn.execute(t.deliveries.insert(), rows)
    return len(rows)


def _new_id(result: CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


class BriefRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._dialect = engine.dialect.name

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
        self, feed: Feed, post: NewPost, *, deliver: bool, now: datetime | None = None
    ) -> StoredPost:
        """Insert the post, its brief when relevant, and (when `deliver`) its outbox rows, in
        one transaction: a crash leaves either all of them or none."""
        now = now or utcnow()
        entry, analysis = post.entry, post.analysis
        url = web_link(entry.url)  # whoever built the entry, only a usable link is stored
        async with self._engine.begin() as conn:
            result = await conn.execute(
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
                    analysis=analysis_to_json(analysis),
                    created_at=now,
                    updated_at=now,
                )
            )
            post_id = _new_id(result)
            if not post.relevant:
                return StoredPost(post_id, None, 0)
            tags = [k.tag for k in analysis.key_issues]
            search_text = " ".join(
                filter(
                    None,
                    [analysis.author, feed.name, " ".join(k.label for k in tags), analysis.text],
                )
            )
            result = await conn.execute(
                t.briefs.insert().values(
                    post_id=post_id,
                    feed_id=feed.id,
                    title=entry.title,
                    url=url,
                    author=analysis.author,
                    source=feed.name,
                    published=entry.published,
                    summary=analysis.summary,
                    key_issues=[{"id": k.id, "label": k.label} for k in tags],
                    relevance=analysis.relevance,
                    search_text=search_text,
                    created_at=now,
                )
            )
            brief_id = _new_id(result)
            if tags:
                await conn.execute(
                    t.brief_issues.insert(),
                    [
                        {"brief_id": brief_id, "issue_id": k.id, "rank": i}
                        for i, k in enumerate(tags)
                    ],
                )
            brief = Brief(
                id=brief_id,
                post_id=post_id,
                feed_id=feed.id,
                title=entry.title,
                url=url,
                author=analysis.author,
                source=feed.name,
                published=entry.published,
                summary=analysis.summary,
                key_issues=tuple(tags),
                relevance=analysis.relevance,
                created_at=now,
            )
            count = await write_deliveries(conn, brief, now) if deliver else 0
        return StoredPost(post_id, brief, count)

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
                (await conn.execute(select(t.briefs).where(t.briefs.c.id == brief_id)))
                .mappings()
                .first()
            )
        return brief_from_row(row) if row else None

    async def get_many(self, brief_ids: Sequence[int]) -> list[Brief]:
        if not brief_ids:
            return []
        async with self._engine.connect() as conn:
            rows = (
                (await conn.execute(select(t.briefs).where(t.briefs.c.id.in_(list(brief_ids)))))
                .mappings()
                .all()
            )
        by_id = {r["id"]: brief_from_row(r) for r in rows}
        return [by_id[i] for i in brief_ids if i in by_id]

    def _newest(self) -> Select[Any]:
        # Published date first (what readers mean by "latest"), created_at for undated posts.
        return select(t.briefs).order_by(
            desc(func.coalesce(t.briefs.c.published, t.briefs.c.created_at)), desc(t.briefs.c.id)
        )

    def _with_issue(self, query: Select[Any], issue: str | None) -> Select[Any]:
        if not issue:
            return query
        return query.where(
            t.briefs.c.id.in_(
                select(t.brief_issues.c.brief_id).where(t.brief_issues.c.issue_id == issue)
            )
        )

    async def latest(
        self,
        limit: int = 5,
        *,
        issue: str | None = None,
        feed_id: int | None = None,
        offset: int = 0,
    ) -> list[Brief]:
        query = self._with_issue(self._newest().limit(limit).offset(offset), issue)
        if feed_id is not None:
            query = query.where(t.briefs.c.feed_id == feed_id)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [brief_from_row(r) for r in rows]

    async def created_since(self, since: datetime | None, limit: int = 200) -> list[Brief]:
        query = select(t.briefs).order_by(t.briefs.c.created_at, t.briefs.c.id).limit(limit)
        if since is not None:
            query = query.where(t.briefs.c.created_at > since)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [brief_from_row(r) for r in rows]

    async def for_subscription_since(
        self, subscription: Subscription, since: datetime | None, limit: int = 25
    ) -> list[Brief]:
        """Briefs created after `since` that the subscription's filters let through."""
        matching = [b for b in await self.created_since(since, 1000) if subscription.matches(b)]
        return matching[-limit:]

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
        issue: all words first, any word when that finds none. `offset` pages through the same
        results: a later page widens to any word only when all words match nothing at all,
        so pages never mix the two."""
        terms = parse_query(query)
        if terms.empty:
            return []
        for any_term in (False, True):
            found = await self._search(terms, any_term, limit, offset, newest, issue)
            if found or len(terms.phrases) < 2:
                return found
            if offset and await self._search(terms, any_term, 1, 0, newest, issue):
                return []  # past the last page of the all-words results
        return []

    async def _search(
        self,
        terms: SearchTerms,
        any_term: bool,
        limit: int,
        offset: int,
        newest: bool,
        issue: str | None,
    ) -> list[Brief]:
        if self._dialect == "sqlite":
            match = fts5_query(terms, any_term)
            if newest:
                matching: Select[Any] = (
                    select(literal_column("rowid"))
                    .select_from(text("briefs_fts"))
                    .where(text("briefs_fts MATCH :match"))
                )
                query = self._with_issue(self._newest().where(t.briefs.c.id.in_(matching)), issue)
                async with self._engine.connect() as conn:
                    result = await conn.execute(query.limit(limit).offset(offset), {"match": match})
                    rows = result.mappings().all()
                return [brief_from_row(r) for r in rows]
            return await self._search_sqlite(match, limit, offset, issue)
        return await self._search_postgres(
            websearch_query(terms, any_term), limit, offset, newest, issue
        )

    async def _search_sqlite(
        self, match: str, limit: int, offset: int, issue: str | None
    ) -> list[Brief]:
        params: dict[str, Any] = {"match": match, "limit": limit, "offset": offset}
        on_issue = ""
        if issue:
            on_issue = " AND rowid IN (SELECT brief_id FROM brief_issues WHERE issue_id = :issue)"
            params["issue"] = issue
        sql = text(
            "SELECT rowid AS id, bm25(briefs_fts, 10.0, 4.0, 1.0) AS rank FROM briefs_fts "
            f"WHERE briefs_fts MATCH :match{on_issue} "
            "ORDER BY rank, rowid DESC LIMIT :limit OFFSET :offset"
        )
        async with self._engine.connect() as conn:
            found = [row.id for row in await conn.execute(sql, params)]
        return await self.get_many(found)

    async def _search_postgres(
        self, websearch: str, limit: int, offset: int, newest: bool, issue: str | None
    ) -> list[Brief]:
        tsquery = func.websearch_to_tsquery("english", websearch)
        vector: ColumnElement[Any] = literal_column("briefs.search_vector")
        query = self._newest() if newest else select(t.briefs)
        query = self._with_issue(query.where(vector.op("@@")(tsquery)), issue)
        if not newest:
            query = query.order_by(desc(func.ts_rank_cd(vector, tsquery)), desc(t.briefs.c.id))
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query.limit(limit).offset(offset))).mappings().all()
        return [brief_from_row(r) for r in rows]

    async def count(self) -> int:
        async with self._engine.connect() as conn:
            return int(
                (await conn.execute(select(func.count()).select_from(t.briefs))).scalar_one()
            )
