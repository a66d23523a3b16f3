"""What the metrics page reads from the database at each scrape (ports.StatsSource): feeds by
state, deliveries by platform and state, and how long the longest-waiting due delivery of each
platform has waited. Three grouped queries, each a single pass."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from koreapage_bot.domain import DeliveryState, SubscriptionState
from koreapage_bot.ports import StoreStats
from koreapage_bot.store import tables as t


class StatsRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def stats(self, now: datetime) -> StoreStats:
        d, s = t.deliveries, t.subscriptions
        feeds_q = select(t.feeds.c.state, func.count()).group_by(t.feeds.c.state)
        deliveries_q = (
            select(s.c.platform, d.c.state, func.count())
            .select_from(d.join(s, d.c.subscription_id == s.c.id))
            .group_by(s.c.platform, d.c.state)
        )
        # Due rows of channels that are not paused (a paused channel's rows wait on purpose).
        oldest_q = (
            select(s.c.platform, func.min(d.c.next_attempt_at))
            .select_from(d.join(s, d.c.subscription_id == s.c.id))
            .where(
                d.c.state == DeliveryState.PENDING.value,
                d.c.next_attempt_at <= now,
                s.c.state == SubscriptionState.ACTIVE.value,
            )
            .group_by(s.c.platform)
        )
        async with self._engine.connect() as conn:
            feeds = {str(state): int(n) for state, n in await conn.execute(feeds_q)}
            deliveries = {
                (str(platform), str(state)): int(n)
                for platform, state, n in await conn.execute(deliveries_q)
            }
            # min() keeps the column's type, so the value comes back an aware UTC datetime.
            oldest = {str(p): when for p, when in await conn.execute(oldest_q) if when is not None}
        return StoreStats(feeds=feeds, deliveries=deliveries, oldest_due=oldest)
