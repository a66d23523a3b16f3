"""The notice log (ports.NoticeLog): one row per notice, cause, admin channel and day. The
unique key makes the claim atomic across processes: a second insert of the same notice finds
the first and inserts nothing."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from koreapage_bot.store import tables as t


class NoticeRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def claim(
        self, cause: str, platform: str, channel: str, day: date, now: datetime
    ) -> int | None:
        dialect = sqlite if self._engine.dialect.name == "sqlite" else postgresql
        insert = (
            dialect.insert(t.notices)
            .values(cause=cause, platform=platform, channel=channel, day=day, created_at=now)
            .on_conflict_do_nothing(index_elements=["cause", "platform", "channel", "day"])
            .returning(t.notices.c.id)
        )
        async with self._engine.begin() as conn:
            return (await conn.execute(insert)).scalar_one_or_none()

    async def mark_sent(self, notice_id: int, now: datetime) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                update(t.notices).where(t.notices.c.id == notice_id).values(sent_at=now)
            )

    async def release(self, notice_id: int) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(delete(t.notices).where(t.notices.c.id == notice_id))

    async def prune(self, before: date) -> int:
        async with self._engine.begin() as conn:
            result = await conn.execute(delete(t.notices).where(t.notices.c.day < before))
            return int(result.rowcount or 0)
