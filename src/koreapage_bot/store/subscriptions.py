"""Subscriptions: which channel follows which briefs, and whether it can take posts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from koreapage_bot.dates import utcnow
from koreapage_bot.domain import DeliveryState, Subscription, SubscriptionState
from koreapage_bot.error_text import bounded_error
from koreapage_bot.ports import SubscriptionSpec
from koreapage_bot.store import tables as t
from koreapage_bot.store.briefs import _new_id
from koreapage_bot.store.rows import subscription_from_row

# On resume, briefs queued while a channel was paused go out when younger than this; older
# ones are skipped (visible as `skipped`), so fixing a channel does not flood it.
RESUME_BACKLOG = timedelta(days=2)


async def _skip_stale_backlog(conn: AsyncConnection, subscription_id: int, now: datetime) -> None:
    await conn.execute(
        update(t.deliveries)
        .where(
            t.deliveries.c.subscription_id == subscription_id,
            t.deliveries.c.state == DeliveryState.PENDING.value,
            t.deliveries.c.created_at < now - RESUME_BACKLOG,
        )
        .values(
            state=DeliveryState.SKIPPED.value,
            last_error="not sent: queued more than 2 days before the subscription resumed",
            updated_at=now,
        )
    )


class SubscriptionRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def upsert(
        self, spec: SubscriptionSpec, now: datetime | None = None
    ) -> tuple[Subscription, bool]:
        """One subscription per channel and platform: subscribing again updates its filters
        (and resumes it). Returns the subscription and whether it was created."""
        now = now or utcnow()
        values: dict[str, object] = {
            "workspace": spec.workspace,
            "issues": list(spec.issues),
            "feeds": list(spec.feeds),
            "min_relevance": spec.min_relevance,
            "per_brief": spec.per_brief,
            "digest_time": spec.digest_time,
            "digest_tz": spec.digest_tz,
            "state": SubscriptionState.ACTIVE.value,
            "paused_reason": None,
            "updated_at": now,
        }
        if spec.options is not None:
            values["options"] = spec.options
        existing = await self.for_channel(spec.platform, spec.channel)
        if existing is None:
            try:
                async with self._engine.begin() as conn:
                    result = await conn.execute(
                        t.subscriptions.insert().values(
                            platform=spec.platform,
                            channel=spec.channel,
                            created_by=spec.created_by,
                            created_at=now,
                            options=spec.options or {},
                            # A new digest starts from now, not from the beginning of time.
                            last_digest_at=now,
                            **{k: v for k, v in values.items() if k != "options"},
                        )
                    )
                sub = await self.get(_new_id(result))
                assert sub is not None
                return sub, True
            except IntegrityError:
                existing = await self.for_channel(spec.platform, spec.channel)
                assert existing is not None
        async with self._engine.begin() as conn:
            await conn.execute(
                update(t.subscriptions).where(t.subscriptions.c.id == existing.id).values(**values)
            )
            if existing.state is SubscriptionState.PAUSED:
                await _skip_stale_backlog(conn, existing.id, now)
        sub = await self.get(existing.id)
        assert sub is not None
        return sub, False

    async def get(self, subscription_id: int) -> Subscription | None:
        async with self._engine.connect() as conn:
            row = (
                (
                    await conn.execute(
                        select(t.subscriptions).where(t.subscriptions.c.id == subscription_id)
                    )
                )
                .mappings()
                .first()
            )
        return subscription_from_row(row) if row else None

    async def for_channel(self, platform: str, channel: str) -> Subscription | None:
        async with self._engine.connect() as conn:
            row = (
                (
                    await conn.execute(
                        select(t.subscriptions).where(
                            t.subscriptions.c.platform == platform,
                            t.subscriptions.c.channel == channel,
                        )
                    )
                )
                .mappings()
                .first()
            )
        return subscription_from_row(row) if row else None

    async def all(
        self,
        platform: str | None = None,
        workspace: str | None = None,
        channels: Sequence[str] | None = None,
    ) -> list[Subscription]:
        query = select(t.subscriptions).order_by(t.subscriptions.c.id)
        if platform:
            query = query.where(t.subscriptions.c.platform == platform)
        if workspace:
            query = query.where(t.subscriptions.c.workspace == workspace)
        if channels is not None:
            query = query.where(t.subscriptions.c.channel.in_(list(channels)))
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [subscription_from_row(r) for r in rows]

    async def with_digest(self) -> list[Subscription]:
        query = select(t.subscriptions).where(
            t.subscriptions.c.digest_time.is_not(None),
            t.subscriptions.c.state == SubscriptionState.ACTIVE.value,
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [subscription_from_row(r) for r in rows]

    async def remove(self, subscription_id: int) -> bool:
        """Delete a subscription and its undelivered outbox rows (cascade)."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                delete(t.subscriptions).where(t.subscriptions.c.id == subscription_id)
            )
        return bool(result.rowcount)

    async def pause(self, subscription_id: int, reason: str) -> bool:
        return await self._set_state(subscription_id, SubscriptionState.PAUSED, reason)

    async def resume(self, subscription_id: int, now: datetime | None = None) -> bool:
        """Active again: its held deliveries go out, except a backlog older than
        RESUME_BACKLOG, which is skipped."""
        now = now or utcnow()
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(t.subscriptions)
                .where(t.subscriptions.c.id == subscription_id)
                .values(state=SubscriptionState.ACTIVE.value, paused_reason=None, updated_at=now)
            )
            if result.rowcount:
                await _skip_stale_backlog(conn, subscription_id, now)
        return bool(result.rowcount)

    async def _set_state(
        self, subscription_id: int, state: SubscriptionState, reason: str | None
    ) -> bool:
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(t.subscriptions)
                .where(t.subscriptions.c.id == subscription_id)
                .values(state=state.value, paused_reason=bounded_error(reason), updated_at=utcnow())
            )
        return bool(result.rowcount)
