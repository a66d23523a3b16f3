"""Feeds: what to poll, and each feed's politeness state (validators, backoff, errors)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from koreapage_bot.dates import utcnow
from koreapage_bot.domain import Feed, FeedState
from koreapage_bot.error_text import bounded_error
from koreapage_bot.ports import FeedPollUpdate, parse_row_id
from koreapage_bot.store import tables as t
from koreapage_bot.store.briefs import _new_id
from koreapage_bot.store.rows import feed_from_row


class FeedRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add(
        self,
        url: str,
        name: str,
        *,
        interval_seconds: int | None = None,
        added_by: str | None = None,
        now: datetime | None = None,
    ) -> tuple[Feed, bool]:
        """Add a feed, or return the existing one with that URL (re-enabling it if removed)."""
        now = now or utcnow()
        existing = await self.by_url(url)
        if existing is not None:
            if existing.state is FeedState.DISABLED:
                # Re-added: a fresh baseline, so what it published while it was off is
                # archived, not delivered in one burst.
                await self._set(
                    existing.id,
                    state=FeedState.ACTIVE.value,
                    next_poll_at=now,
                    last_error=None,
                    consecutive_failures=0,
                    baselined=False,
                    etag=None,
                    last_modified=None,
                    content_hash=None,
                )
                refreshed = await self.get(existing.id)
                assert refreshed is not None
                return refreshed, True
            return existing, False
        try:
            async with self._engine.begin() as conn:
                result = await conn.execute(
                    t.feeds.insert().values(
                        url=url,
                        name=name,
                        state=FeedState.ACTIVE.value,
                        interval_seconds=interval_seconds,
                        next_poll_at=now,
                        consecutive_failures=0,
                        baselined=False,
                        added_by=added_by,
                        created_at=now,
                    )
                )
                feed_id = _new_id(result)
        except IntegrityError:  # added concurrently
            again = await self.by_url(url)
            assert again is not None
            return again, False
        feed = await self.get(int(feed_id))
        assert feed is not None
        return feed, True

    async def get(self, feed_id: int) -> Feed | None:
        async with self._engine.connect() as conn:
            row = (
                (await conn.execute(select(t.feeds).where(t.feeds.c.id == feed_id)))
                .mappings()
                .first()
            )
        return feed_from_row(row) if row else None

    async def by_url(self, url: str) -> Feed | None:
        async with self._engine.connect() as conn:
            row = (
                (await conn.execute(select(t.feeds).where(t.feeds.c.url == url))).mappings().first()
            )
        return feed_from_row(row) if row else None

    async def find(self, ref: str) -> Feed | None:
        """A feed by id, URL or (case-insensitive) name, as users type it (`3`, `#3`, a URL, a
        name). A number that cannot be an id finds nothing rather than reaching the database."""
        ref = ref.strip().lstrip("#")
        if ref.isascii() and ref.isdigit():
            number = parse_row_id(ref)
            return await self.get(number) if number is not None else None
        async with self._engine.connect() as conn:
            row = (
                (
                    await conn.execute(
                        select(t.feeds)
                        .where(or_(t.feeds.c.url == ref, func.lower(t.feeds.c.name) == ref.lower()))
                        .order_by(t.feeds.c.id)
                    )
                )
                .mappings()
                .first()
            )
        return feed_from_row(row) if row else None

    async def all(self, include_disabled: bool = True) -> list[Feed]:
        query = select(t.feeds).order_by(t.feeds.c.id)
        if not include_disabled:
            query = query.where(t.feeds.c.state != FeedState.DISABLED.value)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [feed_from_row(r) for r in rows]

    async def count_added_by(self, prefix: str) -> int:
        """Feeds still followed whose `added_by` starts with `prefix` ("slack:T123:")."""
        async with self._engine.connect() as conn:
            return int(
                (
                    await conn.execute(
                        select(func.count())
                        .select_from(t.feeds)
                        .where(
                            t.feeds.c.state != FeedState.DISABLED.value,
                            t.feeds.c.added_by.startswith(prefix, autoescape=True),
                        )
                    )
                ).scalar_one()
            )

    async def disable(self, feed_id: int, reason: str | None = None) -> bool:
        """Stop polling a feed; its briefs stay searchable."""
        return await self._set(
            feed_id, state=FeedState.DISABLED.value, last_error=bounded_error(reason)
        )

    async def delete(self, feed_id: int) -> bool:
        async with self._engine.begin() as conn:
            result = await conn.execute(delete(t.feeds).where(t.feeds.c.id == feed_id))
        return bool(result.rowcount)

    async def due(self, due_by: datetime, limit: int) -> list[Feed]:
        """Up to `limit` feeds due by `due_by`, longest overdue first (read only)."""
        async with self._engine.connect() as conn:
            rows = (
                (
                    await conn.execute(
                        select(t.feeds)
                        .where(
                            t.feeds.c.state != FeedState.DISABLED.value,
                            t.feeds.c.next_poll_at <= due_by,
                        )
                        .order_by(t.feeds.c.next_poll_at)
                        .limit(limit)
                    )
                )
                .mappings()
                .all()
            )
        return [feed_from_row(r) for r in rows]

    async def claim(self, feeds: Sequence[Feed], now: datetime, lease: timedelta) -> list[Feed]:
        """Lease `feeds` (as read by `due`) until `now + lease`: the lease is the row's
        `next_poll_at`, so a claim succeeds only while the row still holds the value that was
        read. Another process that claimed (or polled) a feed in between wins; it is skipped."""
        if not feeds:
            return []
        if self._engine.dialect.name == "postgresql":
            return await self._claim_skip_locked(feeds, now, lease)
        claimed = []
        async with self._engine.begin() as conn:
            for feed in feeds:
                result = await conn.execute(
                    update(t.feeds)
                    .where(
                        t.feeds.c.id == feed.id,
                        t.feeds.c.next_poll_at == feed.next_poll_at,
                        t.feeds.c.state != FeedState.DISABLED.value,
                    )
                    .values(next_poll_at=now + lease)
                )
                if result.rowcount:
                    claimed.append(feed)
        return claimed

    async def _claim_skip_locked(
        self, feeds: Sequence[Feed], now: datetime, lease: timedelta
    ) -> list[Feed]:
        """One statement for the batch: rows another process is claiming right now are
        skipped, not waited for (and two processes claiming overlapping batches in different
        orders cannot deadlock); each lease is written as its row is locked."""
        read = or_(
            *(
                and_(t.feeds.c.id == feed.id, t.feeds.c.next_poll_at == feed.next_poll_at)
                for feed in feeds
            )
        )
        locked = (
            select(t.feeds.c.id)
            .where(read, t.feeds.c.state != FeedState.DISABLED.value)
            .with_for_update(skip_locked=True)
            .cte("claimable")
        )
        async with self._engine.begin() as conn:
            ids = set(
                (
                    await conn.execute(
                        update(t.feeds)
                        .where(t.feeds.c.id.in_(select(locked.c.id)))
                        .values(next_poll_at=now + lease)
                        .returning(t.feeds.c.id)
                    )
                ).scalars()
            )
        return [feed for feed in feeds if feed.id in ids]

    async def move_claim(self, feed_id: int, held: datetime, to: datetime) -> bool:
        """Move a lease we hold (`next_poll_at == held`) to `to`: later to renew it, or back to
        the feed's due time to release it. False when the lease is no longer ours (the poll
        wrote its result, or the lease ran out and another process took the feed)."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(t.feeds)
                .where(t.feeds.c.id == feed_id, t.feeds.c.next_poll_at == held)
                .values(next_poll_at=to)
            )
        return bool(result.rowcount)

    async def next_due_at(self) -> datetime | None:
        """When the next feed falls due (None when no feed is followed)."""
        async with self._engine.connect() as conn:
            value = (
                await conn.execute(
                    select(func.min(t.feeds.c.next_poll_at)).where(
                        t.feeds.c.state != FeedState.DISABLED.value
                    )
                )
            ).scalar_one_or_none()
        if value is None:
            return None
        # An aggregate loses the column type on SQLite (text back): read it as the column does.
        return t.UtcDateTime().process_result_value(value, self._engine.dialect)

    async def apply_poll(self, feed_id: int, change: FeedPollUpdate, now: datetime) -> None:
        values: dict[str, object] = {
            "next_poll_at": change.next_poll_at,
            "state": change.state.value,
            "consecutive_failures": change.consecutive_failures,
            "last_error": bounded_error(change.last_error),
            "etag": change.etag,
            "last_modified": change.last_modified,
            "content_hash": change.content_hash,
            "last_polled_at": now,
        }
        if change.new_url:
            values["url"] = change.new_url
        if change.title:
            values["title"] = change.title
        if change.name:
            values["name"] = change.name
        if change.site_url:
            values["site_url"] = change.site_url
        if change.baselined is not None:
            values["baselined"] = change.baselined
        try:
            async with self._engine.begin() as conn:
                await conn.execute(update(t.feeds).where(t.feeds.c.id == feed_id).values(**values))
        except IntegrityError:
            # The redirect target is already a feed of ours: keep the old URL, note why.
            values.pop("url", None)
            values["last_error"] = bounded_error(
                f"permanent redirect to {change.new_url}, already followed"
            )
            async with self._engine.begin() as conn:
                await conn.execute(update(t.feeds).where(t.feeds.c.id == feed_id).values(**values))

    async def rename(self, feed_id: int, name: str) -> bool:
        return await self._set(feed_id, name=name)

    async def set_next_poll(self, feed_id: int, at: datetime) -> bool:
        return await self._set(feed_id, next_poll_at=at)

    async def _set(self, feed_id: int, **values: object) -> bool:
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(t.feeds).where(t.feeds.c.id == feed_id).values(**values)
            )
        return bool(result.rowcount)
