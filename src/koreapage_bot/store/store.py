"""The store: one engine and the repositories over it."""

from __future__ import annotations

import asyncio

from sqlalchemy import select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from koreapage_bot.store import tables as t
from koreapage_bot.store.briefs import BriefRepository
from koreapage_bot.store.database import open_database
from koreapage_bot.store.feeds import FeedRepository
from koreapage_bot.store.notices import NoticeRepository
from koreapage_bot.store.outbox import OutboxRepository
from koreapage_bot.store.replays import ReplayRepository
from koreapage_bot.store.stats import StatsRepository
from koreapage_bot.store.stories import StoryRepository
from koreapage_bot.store.subscriptions import SubscriptionRepository

PING_TIMEOUT = 5.0


class Store:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.feeds = FeedRepository(engine)
        self.briefs = BriefRepository(engine)
        self.subscriptions = SubscriptionRepository(engine)
        self.outbox = OutboxRepository(engine)
        self.replays = ReplayRepository(engine)
        self.notices = NoticeRepository(engine)
        self.stats = StatsRepository(engine)
        self.stories = StoryRepository(engine)

    @classmethod
    async def open(cls, url: str) -> Store:
        """Connect and migrate to the newest schema."""
        return cls(await open_database(url))

    async def close(self) -> None:
        await self.engine.dispose()

    async def ping(self) -> tuple[bool, str]:
        """Whether the database answers (a health check): (ok, detail)."""
        try:
            async with asyncio.timeout(PING_TIMEOUT), self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:
            return False, f"unreachable: {type(exc).__name__}: {str(exc)[:200]}"
        return True, f"reachable ({self.engine.dialect.name})"

    async def get_meta(self, key: str) -> str | None:
        async with self.engine.connect() as conn:
            value = (
                await conn.execute(select(t.meta.c.value).where(t.meta.c.key == key))
            ).scalar_one_or_none()
        return value

    async def set_meta(self, key: str, value: str) -> None:
        dialect = sqlite if self.engine.dialect.name == "sqlite" else postgresql
        stmt = dialect.insert(t.meta).values(key=key, value=value)
        stmt = stmt.on_conflict_do_update(index_elements=["key"], set_={"value": value})
        async with self.engine.begin() as conn:
            await conn.execute(stmt)
