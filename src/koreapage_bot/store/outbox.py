"""The outbox: delivery rows and their life cycle.

pending ──claim──> sending ──> sent
   ^                  │ └────> dead (failed for good, or retries exhausted; retry by hand)
   └── reschedule ────┘
A row is marked `sending` (committed) before the platform call and finished after it, so a
crash leaves it `sending`: "in doubt". The dispatcher settles those at start (see dispatcher).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, Update, and_, func, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncEngine

from koreapage_bot.domain import Brief, Delivery, DeliveryState, Subscription
from koreapage_bot.error_text import bounded_error
from koreapage_bot.store import tables as t
from koreapage_bot.store.briefs import _new_id, write_deliveries
from koreapage_bot.store.rows import (
    brief_from_row,
    delivery_from_row,
    subscription_from_row,
    utcnow,
)


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    delivery: Delivery
    subscription: Subscription
    briefs: tuple[Brief, ...]  # one for a brief delivery, several for a digest
    payload: dict[str, Any]


def _claim(now: datetime) -> Update:
    """pending → sending with the attempt counted. The state check in the WHERE makes a row
    another claimer took first match nothing (re-evaluated under the row lock on PostgreSQL)."""
    return (
        update(t.deliveries)
        .where(t.deliveries.c.state == DeliveryState.PENDING.value)
        .values(
            state=DeliveryState.SENDING.value,
            attempts=t.deliveries.c.attempts + 1,
            claimed_at=now,
            updated_at=now,
        )
    )


class OutboxRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    def _due_query(self, now: datetime, limit: int, platforms: Collection[str]) -> Select[Any]:
        # Per-channel order: a row waits while an earlier row of its subscription is waiting
        # out a retry, and due rows are taken in queue (id) order.
        earlier = t.deliveries.alias("earlier")
        waiting_ahead = (
            select(earlier.c.id)
            .where(
                earlier.c.subscription_id == t.deliveries.c.subscription_id,
                earlier.c.id < t.deliveries.c.id,
                or_(
                    and_(
                        earlier.c.state == DeliveryState.PENDING.value,
                        earlier.c.next_attempt_at > now,
                    ),
                    # In flight or in doubt: wait until it is settled.
                    earlier.c.state == DeliveryState.SENDING.value,
                ),
            )
            .exists()
        )
        return (
            select(t.deliveries.c.id)
            .join(t.subscriptions, t.subscriptions.c.id == t.deliveries.c.subscription_id)
            .where(
                t.deliveries.c.state == DeliveryState.PENDING.value,
                t.deliveries.c.next_attempt_at <= now,
                t.subscriptions.c.state == "active",
                t.subscriptions.c.platform.in_(list(platforms)),
                ~waiting_ahead,
            )
            .order_by(t.deliveries.c.id)
            .limit(limit)
        )

    async def due(
        self, now: datetime, limit: int, platforms: Collection[str]
    ) -> list[ClaimedDelivery]:
        """Up to `limit` due rows of active subscriptions on these platforms, still pending:
        the dispatcher claims each one (`claim_one`) only when its turn to be sent comes, so
        `sending` means "the platform call may be in flight" and nothing else."""
        if not platforms:
            return []
        async with self._engine.connect() as conn:
            ids = (await conn.execute(self._due_query(now, limit, platforms))).scalars().all()
        return await self._load(list(ids))

    async def claim_one(self, delivery_id: int, now: datetime) -> Delivery | None:
        """Mark one pending row `sending` and count the attempt; None when it is no longer
        pending (another dispatcher took it, or it was removed)."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                _claim(now).where(t.deliveries.c.id == delivery_id).returning(*t.deliveries.c)
            )
            row = result.mappings().first()
        return delivery_from_row(row) if row else None

    async def claim_due(
        self, now: datetime, limit: int, platforms: Collection[str]
    ) -> list[ClaimedDelivery]:
        """Take up to `limit` due rows at once: each is marked `sending` and its attempt
        counted before this returns (tools and tests; the dispatcher claims row by row)."""
        if not platforms:
            return []
        async with self._engine.begin() as conn:
            rows = (await conn.execute(self._due_query(now, limit, platforms))).scalars().all()
            if not rows:
                return []
            # One statement for the batch; the state check (re-evaluated under the row lock on
            # PostgreSQL) means a row another claimer took first is not returned here.
            result = await conn.execute(
                _claim(now).where(t.deliveries.c.id.in_(list(rows))).returning(t.deliveries.c.id)
            )
            claimed = list(result.scalars())
        return await self._load(claimed)

    async def in_doubt(
        self, platforms: Collection[str], claimed_before: datetime | None = None
    ) -> list[ClaimedDelivery]:
        """Rows left `sending` by a crash: the platform call may or may not have happened.
        `claimed_before` skips rows a live dispatcher may still be sending (a lease)."""
        async with self._engine.connect() as conn:
            ids = (
                (
                    await conn.execute(
                        select(t.deliveries.c.id)
                        .join(
                            t.subscriptions,
                            t.subscriptions.c.id == t.deliveries.c.subscription_id,
                        )
                        .where(
                            t.deliveries.c.state == DeliveryState.SENDING.value,
                            t.subscriptions.c.platform.in_(list(platforms)),
                            t.deliveries.c.claimed_at <= claimed_before
                            if claimed_before is not None
                            else true(),
                        )
                        .order_by(t.deliveries.c.id)
                    )
                )
                .scalars()
                .all()
            )
        return await self._load(list(ids))

    async def _load(self, ids: Sequence[int]) -> list[ClaimedDelivery]:
        if not ids:
            return []
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(t.deliveries, t.subscriptions)
                    .join(
                        t.subscriptions,
                        t.subscriptions.c.id == t.deliveries.c.subscription_id,
                    )
                    .where(t.deliveries.c.id.in_(list(ids)))
                    .order_by(t.deliveries.c.id)
                )
            ).all()
            loaded: list[tuple[Delivery, Subscription, dict[str, Any], list[int]]] = []
            for row in rows:
                mapping = row._mapping
                d = delivery_from_row(
                    {c.name: mapping[t.deliveries.c[c.name]] for c in t.deliveries.c}
                )
                s = subscription_from_row(
                    {c.name: mapping[t.subscriptions.c[c.name]] for c in t.subscriptions.c}
                )
                payload = dict(mapping[t.deliveries.c.payload] or {})
                brief_ids = [d.brief_id] if d.brief_id is not None else payload.get("briefs", [])
                loaded.append((d, s, payload, brief_ids))
            # The briefs of the whole batch in one query (a fan-out shares one brief).
            wanted = sorted({i for *_, ids in loaded for i in ids})
            by_id: dict[int, Brief] = {}
            for start in range(0, len(wanted), 500):
                brows = await conn.execute(
                    select(t.briefs).where(t.briefs.c.id.in_(wanted[start : start + 500]))
                )
                by_id.update((r["id"], brief_from_row(r)) for r in brows.mappings())
        return [
            ClaimedDelivery(d, s, tuple(by_id[i] for i in ids if i in by_id), payload)
            for d, s, payload, ids in loaded
        ]

    async def mark_sent(self, delivery_id: int, message_id: str | None, now: datetime) -> None:
        await self._update(
            delivery_id,
            state=DeliveryState.SENT.value,
            message_id=message_id,
            sent_at=now,
            last_error=None,
            updated_at=now,
        )

    async def reschedule(
        self,
        delivery_id: int,
        at: datetime,
        error: str,
        *,
        rate_limited: bool,
        maybe_sent: bool = False,
    ) -> None:
        values: dict[str, Any] = {
            "state": DeliveryState.PENDING.value,
            "next_attempt_at": at,
            "last_error": bounded_error(error),
            "updated_at": utcnow(),
        }
        if rate_limited:
            values["rate_limited"] = t.deliveries.c.rate_limited + 1
        else:
            values["maybe_sent"] = maybe_sent
        await self._update(delivery_id, **values)

    async def release(
        self, delivery_id: int, at: datetime, note: str, *, maybe_sent: bool | None = None
    ) -> None:
        """Put a claimed row back without spending an attempt (paused channel, a row in doubt
        after a crash: `maybe_sent=True`)."""
        extra: dict[str, Any] = {} if maybe_sent is None else {"maybe_sent": maybe_sent}
        await self._update(
            delivery_id,
            **extra,
            state=DeliveryState.PENDING.value,
            attempts=func.max(t.deliveries.c.attempts - 1, 0)
            if self._engine.dialect.name == "sqlite"
            else func.greatest(t.deliveries.c.attempts - 1, 0),
            next_attempt_at=at,
            last_error=bounded_error(note),
            updated_at=utcnow(),
        )

    async def mark_dead(self, delivery_id: int, error: str, now: datetime) -> None:
        await self._update(
            delivery_id,
            state=DeliveryState.DEAD.value,
            last_error=bounded_error(error),
            updated_at=now,
        )

    async def retry(self, delivery_id: int, now: datetime | None = None) -> bool:
        """Send a dead delivery again (by hand): a fresh set of attempts, due now."""
        now = now or utcnow()
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(t.deliveries)
                .where(
                    t.deliveries.c.id == delivery_id,
                    t.deliveries.c.state == DeliveryState.DEAD.value,
                )
                .values(
                    state=DeliveryState.PENDING.value,
                    attempts=0,
                    rate_limited=0,
                    next_attempt_at=now,
                    updated_at=now,
                )
            )
        return bool(result.rowcount)

    async def all(self, state: DeliveryState | None = None, limit: int = 100) -> list[Delivery]:
        query = select(t.deliveries).order_by(t.deliveries.c.id.desc()).limit(limit)
        if state is not None:
            query = query.where(t.deliveries.c.state == state.value)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [delivery_from_row(r) for r in rows]

    async def get(self, delivery_id: int) -> Delivery | None:
        async with self._engine.connect() as conn:
            row = (
                (await conn.execute(select(t.deliveries).where(t.deliveries.c.id == delivery_id)))
                .mappings()
                .first()
            )
        return delivery_from_row(row) if row else None

    async def counts(self) -> dict[str, int]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                select(t.deliveries.c.state, func.count()).group_by(t.deliveries.c.state)
            )
            return {state: int(n) for state, n in rows}

    async def add_digest(
        self,
        subscription_id: int,
        brief_ids: Sequence[int],
        up_to: datetime,
        now: datetime,
        *,
        title: str | None = None,
    ) -> int | None:
        """Queue one digest message and move the subscription's digest mark, atomically, so a
        crash can neither lose a digest nor queue the same briefs twice."""
        async with self._engine.begin() as conn:
            await conn.execute(
                update(t.subscriptions)
                .where(t.subscriptions.c.id == subscription_id)
                .values(last_digest_at=up_to, updated_at=now)
            )
            if not brief_ids:
                return None
            result = await conn.execute(
                t.deliveries.insert().values(
                    subscription_id=subscription_id,
                    brief_id=None,
                    kind="digest",
                    payload={"briefs": list(brief_ids), "title": title or "Daily digest"},
                    state=DeliveryState.PENDING.value,
                    attempts=0,
                    rate_limited=0,
                    next_attempt_at=now,
                    created_at=now,
                    updated_at=now,
                )
            )
            return _new_id(result)

    async def backfill(self, briefs: Sequence[Brief], now: datetime | None = None) -> int:
        """Queue these (already archived) briefs for every matching subscription."""
        now = now or utcnow()
        total = 0
        async with self._engine.begin() as conn:
            for brief in briefs:
                total += await write_deliveries(conn, brief, now)
        return total

    async def _update(self, delivery_id: int, **values: Any) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                update(t.deliveries).where(t.deliveries.c.id == delivery_id).values(**values)
            )
