"""The outbox: delivery rows and their life cycle.

pending ──claim──> sending ──> sent
   ^                  │ └────> dead (failed for good, or retries exhausted; retry by hand)
   └── reschedule ────┘
A row is marked `sending` (committed) before the platform call and finished after it, so a
crash leaves it `sending`: "in doubt". The claim records the process that made it
(`claimed_by`, see delivery.holder); the dispatcher settles the in-doubt rows of a process that
is gone (see dispatcher).
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Select,
    Update,
    and_,
    bindparam,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.dml import ReturningUpdate
from sqlalchemy.sql.elements import BindParameter

from koreapage_bot.dates import utcnow
from koreapage_bot.domain import Brief, Delivery, DeliveryState, Subscription
from koreapage_bot.error_text import bounded_error
from koreapage_bot.ports import Claim, ClaimedDelivery, FanOut, StoryContext
from koreapage_bot.store import tables as t
from koreapage_bot.store.briefs import _new_id, write_deliveries
from koreapage_bot.store.rows import (
    BRIEF_COLUMNS,
    brief_from_row,
    delivery_from_row,
    subscription_from_row,
)


def _claim(now: datetime | BindParameter[Any], holder: str | BindParameter[Any] | None) -> Update:
    """pending → sending with the attempt counted and its holder named. The state check in the
    WHERE makes a row another claimer took first match nothing (re-evaluated under the row lock
    on PostgreSQL)."""
    return (
        update(t.deliveries)
        .where(t.deliveries.c.state == DeliveryState.PENDING.value)
        .values(
            state=DeliveryState.SENDING.value,
            attempts=t.deliveries.c.attempts + 1,
            claimed_at=now,
            claimed_by=holder,
            first_attempt_at=func.coalesce(t.deliveries.c.first_attempt_at, now),
            updated_at=now,
        )
    )


def _unsettled_ahead(rows: FromClause | None = None) -> ColumnElement[bool]:
    """An earlier row of the same subscription is not settled yet (waiting for its turn, a
    retry, or in flight): this row must not go before it. `rows`: the deliveries table or an
    alias of it that the condition is about."""
    rows = t.deliveries if rows is None else rows
    earlier = t.deliveries.alias("ahead")
    return (
        select(earlier.c.id)
        .where(
            earlier.c.subscription_id == rows.c.subscription_id,
            earlier.c.id < rows.c.id,
            earlier.c.state.in_([DeliveryState.PENDING.value, DeliveryState.SENDING.value]),
        )
        .exists()
    )


def _preferred(
    subscription_id: ColumnElement[int], prefer: tuple[int, int] | None
) -> list[ColumnElement[int]]:
    """ORDER BY terms that put the channels of rank `prefer[0]` (of `prefer[1]`) first."""
    if prefer is None or prefer[1] <= 1:
        return []
    rank, processes = prefer
    return [(subscription_id + (processes - rank % processes)) % processes]


@functools.cache
def _pg_claim_statement() -> ReturningUpdate[Any]:
    """claim_one on PostgreSQL, built once: building it (an alias of `deliveries` and its
    column proxies) took more of a dispatcher's CPU than anything else it did per delivery.

    Several processes: the row is locked with SKIP LOCKED, so a claim another process is
    making right now answers "not yours" at once instead of waiting for it, and the holder
    (this claim's lease, see delivery.holder) is written in the same statement. The order
    check reads committed rows only; `write_deliveries` makes a channel's rows commit in id
    order, so none can appear ahead of a claimed one."""
    now = bindparam("kp_now", type_=t.deliveries.c.claimed_at.type)
    holder = bindparam("kp_holder", type_=t.deliveries.c.claimed_by.type)
    claimable = t.deliveries.alias("claimable")
    locked = (
        select(claimable.c.id)
        .where(
            claimable.c.id == bindparam("kp_id", type_=t.deliveries.c.id.type),
            claimable.c.state == DeliveryState.PENDING.value,
            claimable.c.next_attempt_at <= now,
            ~_unsettled_ahead(claimable),
        )
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    return _claim(now, holder).where(t.deliveries.c.id == locked).returning(*t.deliveries.c)


class OutboxRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    def _due_query(
        self,
        now: datetime,
        limit: int,
        platforms: Collection[str],
        per_subscription: int | None = None,
        prefer: tuple[int, int] | None = None,
    ) -> Select[Any]:
        # Per-channel order: a row waits while an earlier row of its subscription is waiting
        # out a retry or in flight, and due rows are taken in queue (id) order.
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
        conditions = (
            t.deliveries.c.state == DeliveryState.PENDING.value,
            t.deliveries.c.next_attempt_at <= now,
            t.subscriptions.c.state == "active",
            t.subscriptions.c.platform.in_(list(platforms)),
            ~waiting_ahead,
        )
        joined = t.deliveries.join(
            t.subscriptions, t.subscriptions.c.id == t.deliveries.c.subscription_id
        )
        if per_subscription is None:
            return (
                select(t.deliveries.c.id)
                .select_from(joined)
                .where(*conditions)
                .order_by(*_preferred(t.deliveries.c.subscription_id, prefer), t.deliveries.c.id)
                .limit(limit)
            )
        # At most `per_subscription` rows of each channel, so one channel's backlog cannot
        # fill the whole answer and keep the other channels waiting.
        rank = (
            func.row_number()
            .over(partition_by=t.deliveries.c.subscription_id, order_by=t.deliveries.c.id)
            .label("rank")
        )
        ranked = (
            select(
                t.deliveries.c.id.label("id"),
                t.deliveries.c.subscription_id.label("subscription_id"),
                rank,
            )
            .select_from(joined)
            .where(*conditions)
            .subquery()
        )
        return (
            select(ranked.c.id)
            .where(ranked.c.rank <= per_subscription)
            .order_by(*_preferred(ranked.c.subscription_id, prefer), ranked.c.id)
            .limit(limit)
        )

    async def due(
        self, now: datetime, limit: int, platforms: Collection[str]
    ) -> list[ClaimedDelivery]:
        """Up to `limit` due rows of active subscriptions on these platforms, still pending:
        the dispatcher claims each one (`claim_one`) only when its turn to be sent comes, so
        `sending` means "the platform call may be in flight" and nothing else."""
        return await self.load(await self.due_ids(now, limit, platforms))

    async def due_ids(
        self,
        now: datetime,
        limit: int,
        platforms: Collection[str],
        *,
        per_subscription: int | None = None,
        prefer: tuple[int, int] | None = None,
    ) -> list[int]:
        """The ids `due` would load, in queue order; with `per_subscription`, at most that many
        of each subscription (the first ones in its queue). With `prefer=(rank, processes)`
        the channels whose id is `rank` modulo `processes` come first, then the next rank's:
        several dispatchers reading the same queue each start on their own channels instead of
        all racing for the same heads (only order changes: any process may take any row)."""
        if not platforms:
            return []
        async with self._engine.connect() as conn:
            query = self._due_query(now, limit, platforms, per_subscription, prefer)
            return list((await conn.execute(query)).scalars().all())

    async def claim_one(
        self, delivery_id: int, now: datetime, holder: str | None = None
    ) -> Delivery | None:
        """Mark one pending row `sending`, count the attempt and name its holder; None when it
        is no longer pending and due (another dispatcher took it, it waits for a retry, or it was
        removed) or when an earlier
        row of its channel is not settled yet (per-channel order holds even against a caller
        whose view of the queue is out of date)."""
        if self._engine.dialect.name == "postgresql":
            async with self._engine.begin() as conn:
                result = await conn.execute(
                    _pg_claim_statement(),
                    {"kp_id": delivery_id, "kp_now": now, "kp_holder": holder},
                )
                row = result.mappings().first()
            return delivery_from_row(row) if row else None
        else:
            statement = _claim(now, holder).where(
                t.deliveries.c.id == delivery_id,
                t.deliveries.c.next_attempt_at <= now,
                ~_unsettled_ahead(),
            )
        async with self._engine.begin() as conn:
            result = await conn.execute(statement.returning(*t.deliveries.c))
            row = result.mappings().first()
        return delivery_from_row(row) if row else None

    async def in_doubt(self, platforms: Collection[str]) -> list[ClaimedDelivery]:
        """Rows in `sending`: in flight, or left so by a process that stopped mid-send. Each
        says who claimed it and when; the dispatcher decides which are in doubt."""
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
                        )
                        .order_by(t.deliveries.c.id)
                    )
                )
                .scalars()
                .all()
            )
        return await self.load(list(ids))

    async def load(self, ids: Sequence[int]) -> list[ClaimedDelivery]:
        """These rows (any state) with their subscription and briefs, in id order."""
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

    async def settle_pending(self, found: dict[int, str], not_there: Sequence[int]) -> int:
        """After a look-up: rows still pending that the platform has (`found`: id -> message id)
        are sent; those it does not have no longer need a look-up. Rows that are not pending
        any more (another process took them meanwhile) are left alone. Returns how many were
        marked sent."""
        now = utcnow()
        sent = 0
        async with self._engine.begin() as conn:
            for delivery_id, message_id in found.items():
                result = await conn.execute(
                    update(t.deliveries)
                    .where(
                        t.deliveries.c.id == delivery_id,
                        t.deliveries.c.state == DeliveryState.PENDING.value,
                    )
                    .values(
                        state=DeliveryState.SENT.value,
                        message_id=message_id,
                        sent_at=now,
                        last_error=None,
                        maybe_sent=False,
                        updated_at=now,
                    )
                )
                sent += result.rowcount
            if not_there:
                await conn.execute(
                    update(t.deliveries)
                    .where(
                        t.deliveries.c.id.in_(list(not_there)),
                        t.deliveries.c.state == DeliveryState.PENDING.value,
                    )
                    .values(maybe_sent=False, updated_at=now)
                )
        return sent

    async def reschedule(
        self,
        delivery_id: int,
        at: datetime,
        error: str,
        *,
        rate_limited: bool,
        maybe_sent: bool | None = None,
    ) -> None:
        """Back to pending, due at `at`. `maybe_sent` None keeps the flag as it is, except that
        a failed attempt that is not a rate limit (the platform answered) clears it."""
        if maybe_sent is None and not rate_limited:
            maybe_sent = False
        values: dict[str, Any] = {
            "state": DeliveryState.PENDING.value,
            "next_attempt_at": at,
            "last_error": bounded_error(error),
            "updated_at": utcnow(),
        }
        if rate_limited:
            values["rate_limited"] = t.deliveries.c.rate_limited + 1
        if maybe_sent is not None:
            values["maybe_sent"] = maybe_sent
        await self._update(delivery_id, **values)

    async def release(
        self,
        delivery_id: int,
        at: datetime,
        note: str,
        *,
        maybe_sent: bool | None = None,
        claim: Claim | None = None,
    ) -> bool:
        """Put a claimed row back without spending an attempt (paused channel, a row in doubt
        after a crash: `maybe_sent=True`). With `claim` (holder, claimed at) only while the
        row is still `sending` under that claim: another process that settled the same
        orphan a moment earlier may have claimed it again since. True when it was put back."""
        extra: dict[str, Any] = {} if maybe_sent is None else {"maybe_sent": maybe_sent}
        where: list[ColumnElement[bool]] = [t.deliveries.c.id == delivery_id]
        if claim is not None:
            holder, claimed_at = claim
            where += [
                t.deliveries.c.state == DeliveryState.SENDING.value,
                t.deliveries.c.claimed_by.is_(None)
                if holder is None
                else t.deliveries.c.claimed_by == holder,
                t.deliveries.c.claimed_at.is_(None)
                if claimed_at is None
                else t.deliveries.c.claimed_at == claimed_at,
            ]
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(t.deliveries).where(*where).values(**self._released(at, note, extra))
            )
        return bool(result.rowcount)

    def _released(self, at: datetime, note: str, extra: dict[str, Any]) -> dict[str, Any]:
        return dict(
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
        day: str | None = None,
    ) -> int | None:
        """Queue one digest message and move the subscription's digest mark, atomically, so a
        crash can neither lose a digest nor queue the same briefs twice. With `day`, at most
        one digest per subscription and day: when that day's is queued already (another
        process, a leader that changed mid-run) nothing changes and None is returned."""
        try:
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
                        digest_day=day,
                    )
                )
                return _new_id(result)
        except IntegrityError:
            # The day's digest exists (the unique index), or the subscription is gone: the
            # transaction, digest mark included, is rolled back.
            return None

    async def has_digest(self, subscription_id: int, day: str) -> bool:
        """Whether the subscription's digest for `day` is queued (or sent)."""
        async with self._engine.connect() as conn:
            found = (
                await conn.execute(
                    select(t.deliveries.c.id).where(
                        t.deliveries.c.subscription_id == subscription_id,
                        t.deliveries.c.digest_day == day,
                    )
                )
            ).first()
        return found is not None

    async def enqueue(
        self, briefs: Sequence[Brief], fan_out: FanOut, now: datetime | None = None
    ) -> int:
        """Queue these (already stored) briefs for the subscriptions `fan_out` picks."""
        async with self._engine.begin() as conn:
            return await write_deliveries(conn, briefs, fan_out, now or utcnow())

    async def story_context(self, delivery_id: int) -> StoryContext | None:
        """The story's message in the row's channel and the reports to show (StoryContext):
        read when a story row is claimed, so it sees what the channel's earlier rows did."""
        d, b = t.deliveries, t.briefs
        async with self._engine.connect() as conn:
            head = (
                await conn.execute(
                    select(d, t.subscriptions)
                    .join(t.subscriptions, t.subscriptions.c.id == d.c.subscription_id)
                    .where(d.c.id == delivery_id, d.c.kind == "story")
                )
            ).first()
            if head is None:
                return None
            mapping = head._mapping
            row = delivery_from_row({c.name: mapping[d.c[c.name]] for c in d.c})
            sub = subscription_from_row(
                {c.name: mapping[t.subscriptions.c[c.name]] for c in t.subscriptions.c}
            )
            own = (
                (await conn.execute(select(*BRIEF_COLUMNS).where(b.c.id == row.brief_id)))
                .mappings()
                .first()
            )
            if own is None or own["story_id"] is None:
                return None
            brief = brief_from_row(own)
            story_id = int(own["story_id"])
            members = [
                brief_from_row(r)
                for r in (
                    await conn.execute(
                        select(*BRIEF_COLUMNS)
                        .where(b.c.story_id == story_id)
                        .order_by(b.c.sort_at, b.c.id)
                    )
                ).mappings()
            ]
            anchor_row = (
                (
                    await conn.execute(
                        select(d)
                        .join(b, b.c.id == d.c.brief_id)
                        .where(
                            b.c.story_id == story_id,
                            d.c.subscription_id == row.subscription_id,
                            d.c.id < row.id,
                            d.c.state == DeliveryState.SENT.value,
                            d.c.message_id.is_not(None),
                        )
                        .order_by(d.c.id)
                        .limit(1)
                    )
                )
                .mappings()
                .first()
            )
        anchor = delivery_from_row(anchor_row) if anchor_row is not None else None
        return StoryContext.of(brief, sub, anchor, members)

    # -- dispatcher processes (see delivery.holder) ----------------------------------------

    async def heartbeat(self, holder: str, now: datetime) -> None:
        """Register `holder` or refresh its sign of life."""
        dialect = sqlite if self._engine.dialect.name == "sqlite" else postgresql
        stmt = dialect.insert(t.delivery_holders).values(id=holder, started_at=now, seen_at=now)
        stmt = stmt.on_conflict_do_update(index_elements=["id"], set_={"seen_at": now})
        async with self._engine.begin() as conn:
            await conn.execute(stmt)

    async def holders(self) -> dict[str, datetime]:
        """Every registered holder and its last heartbeat."""
        async with self._engine.connect() as conn:
            rows = await conn.execute(select(t.delivery_holders.c.id, t.delivery_holders.c.seen_at))
            return {holder: seen for holder, seen in rows}

    async def remove_holder(self, holder: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(delete(t.delivery_holders).where(t.delivery_holders.c.id == holder))

    async def forget_holders(self, seen_before: datetime) -> int:
        """Drop the rows of processes silent since `seen_before` (crashed long ago)."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                delete(t.delivery_holders).where(t.delivery_holders.c.seen_at < seen_before)
            )
        return int(result.rowcount)

    async def _update(self, delivery_id: int, **values: Any) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                update(t.deliveries).where(t.deliveries.c.id == delivery_id).values(**values)
            )
