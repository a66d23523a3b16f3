"""The replay cache of signed requests (ports.ReplayGuard), shared by every process that uses
this database: a signature is inserted once; a second insert finds it and fails."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from koreapage_bot.dates import utcnow
from koreapage_bot.store import tables as t

PRUNE_EVERY = timedelta(minutes=1)


class ReplayRepository:
    def __init__(self, engine: AsyncEngine, clock: Callable[[], datetime] = utcnow) -> None:
        self._engine = engine
        self._clock = clock
        self._pruned: datetime | None = None

    async def first_seen(self, key: str, expires_at: datetime) -> bool:
        now = self._clock()
        dialect = sqlite if self._engine.dialect.name == "sqlite" else postgresql
        insert = (
            dialect.insert(t.slack_replays)
            .values(signature=key, expires_at=expires_at)
            .on_conflict_do_nothing(index_elements=["signature"])
        )
        async with self._engine.begin() as conn:
            if self._pruned is None or now - self._pruned >= PRUNE_EVERY:
                # Rows are only needed until they expire; whoever comes by clears old ones.
                await conn.execute(
                    delete(t.slack_replays).where(t.slack_replays.c.expires_at < now)
                )
                self._pruned = now
            # An expired row not pruned yet still counts: its timestamp fails the age check
            # before it gets here, so it cannot be mistaken for a replay.
            inserted = (await conn.execute(insert)).rowcount
        return bool(inserted)

    async def forget(self, key: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(delete(t.slack_replays).where(t.slack_replays.c.signature == key))

    async def count(self) -> int:
        """Rows held (for tests and housekeeping checks)."""
        async with self._engine.connect() as conn:
            return int(
                (await conn.execute(select(func.count()).select_from(t.slack_replays))).scalar_one()
            )
