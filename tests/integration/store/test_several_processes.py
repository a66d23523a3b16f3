"""What several processes on one database rely on: claims that skip rather than wait, a
channel's rows committed in queue order, one digest per day, orphans released only under the
claim that was seen, a leader and wake-ups (PostgreSQL), a rate shared through the database."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from koreapage_bot.dates import utcnow
from koreapage_bot.delivery.digests import Digests, last_run
from koreapage_bot.delivery.fanout import recipients
from koreapage_bot.domain import DeliveryState
from koreapage_bot.store import tables as t
from koreapage_bot.store.briefs import write_deliveries
from koreapage_bot.store.coordination import PgCoordination
from koreapage_bot.store.rates import SharedRates, wake_topic
from koreapage_bot.store.store import Store
from tests.conftest import _reset_pg
from tests.integration.delivery.support import a_brief, a_feed, subscribe


@pytest.fixture
async def pg(pg_database: str) -> AsyncIterator[Store]:
    await _reset_pg(pg_database)
    store = await Store.open(pg_database)
    try:
        yield store
    finally:
        await store.close()


async def _engine(url: str) -> Any:
    from koreapage_bot.store.database import create_engine

    return create_engine(url)


# -- per-channel order across processes ---------------------------------------------------


@pytest.mark.postgres
async def test_a_channels_rows_commit_in_queue_order_across_writers(pg: Store) -> None:
    """Two processes write a brief for the same channel at once. The one that inserts second
    waits for the first to commit, so its row can never be claimed while an earlier row of
    the channel is still invisible (the cross-process reordering of the two-process trial)."""
    store = pg
    await subscribe(store, "ch-1")
    feed = await a_feed(store)
    first, _ = await a_brief(store, feed, "First", deliver=False)
    second, _ = await a_brief(store, feed, "Second", deliver=False)
    other = Store(await _engine(str(store.engine.url.render_as_string(hide_password=False))))
    try:
        async with store.engine.begin() as conn:  # process A, not committed yet
            assert await write_deliveries(conn, [first], recipients, utcnow()) == 1
            writer = asyncio.create_task(other.outbox.enqueue([second], recipients))
            # Process B either finished (no ordering) or waits for A's subscription lock.
            async with other.engine.connect() as probe:
                for _ in range(200):
                    waiting = (
                        await probe.execute(
                            text(
                                "SELECT count(*) FROM pg_stat_activity "
                                "WHERE wait_event_type = 'Lock' AND datname = current_database()"
                            )
                        )
                    ).scalar_one()
                    if waiting or writer.done():
                        break
                    await asyncio.sleep(0.05)
            if writer.done():
                # Without the lock B committed a later row first: it must not be claimable.
                later = await other.outbox.due_ids(utcnow() + timedelta(seconds=1), 10, ["fake"])
                claimed = [await other.outbox.claim_one(i, utcnow(), "b") for i in later]
                assert claimed == [], "a later row went ahead of an uncommitted earlier one"
            assert not writer.done()
        assert await writer == 1
        rows = sorted(await store.outbox.all(), key=lambda d: d.id)
        assert [r.brief_id for r in rows] == [first.id, second.id]
    finally:
        await other.close()


@pytest.mark.postgres
async def test_a_claim_skips_a_row_another_process_holds(pg: Store) -> None:
    """SKIP LOCKED: a row locked by another transaction is not waited for."""
    store = pg
    await subscribe(store, "ch-1")
    await a_brief(store, await a_feed(store), "Alliance summit")
    (row,) = await store.outbox.all()
    async with store.engine.begin() as conn:
        await conn.execute(
            select(t.deliveries.c.id).where(t.deliveries.c.id == row.id).with_for_update()
        )
        other = Store(await _engine(str(store.engine.url.render_as_string(hide_password=False))))
        try:
            claimed = await asyncio.wait_for(
                other.outbox.claim_one(row.id, utcnow() + timedelta(seconds=1), "b"), 10
            )
        finally:
            await other.close()
    assert claimed is None
    later = await store.outbox.claim_one(row.id, utcnow() + timedelta(seconds=1), "a")
    assert later is not None and later.claimed_by == "a"


@pytest.mark.postgres
async def test_feed_claims_skip_locked_rows_and_take_each_feed_once(pg: Store) -> None:
    store = pg
    feeds = [
        (await store.feeds.add(f"https://news.example.org/{i}.xml", f"F{i}"))[0] for i in range(4)
    ]
    now = utcnow() + timedelta(seconds=1)
    due = await store.feeds.due(now, 10)
    async with store.engine.begin() as conn:  # another process is claiming feed 0
        await conn.execute(
            select(t.feeds.c.id).where(t.feeds.c.id == feeds[0].id).with_for_update()
        )
        first = await asyncio.wait_for(store.feeds.claim(due, now, timedelta(minutes=1)), 10)
    assert sorted(f.id for f in first) == [f.id for f in feeds[1:]]
    again = await store.feeds.claim(due, now, timedelta(minutes=1))
    assert [f.id for f in again] == [feeds[0].id]  # the others are leased already


# -- digests ------------------------------------------------------------------------------


async def test_one_digest_per_subscription_and_day(store: Any) -> None:
    """A second digest for the same day writes nothing, not even the mark."""
    start = utcnow() - timedelta(hours=2)
    sub = await subscribe(store, "ch-d", per_brief=False, digest_time="08:00", now=start)
    feed = await a_feed(store)
    one, _ = await a_brief(store, feed, "One", now=start + timedelta(minutes=1))
    two, _ = await a_brief(store, feed, "Two", now=start + timedelta(minutes=2))
    now = utcnow()
    first = await store.outbox.add_digest(sub.id, [one.id], one.created_at, now, day="2026-12-08")
    assert first is not None
    assert await store.outbox.has_digest(sub.id, "2026-12-08")
    second = await store.outbox.add_digest(sub.id, [two.id], two.created_at, now, day="2026-12-08")
    assert second is None
    mark = await store.subscriptions.get(sub.id)
    assert mark is not None and mark.last_digest_at == one.created_at
    other_day = await store.outbox.add_digest(
        sub.id, [two.id], two.created_at, now, day="2026-12-09"
    )
    assert other_day is not None


async def test_a_new_leader_catches_up_on_a_missed_digest_once(sql_store: Store) -> None:
    """The digest fell due ten minutes ago and no process queued it: the process that leads
    now queues it with the briefs stored by then, and a second one (or a second sync) does
    not queue it again."""
    store = sql_store
    now = utcnow()
    due = now - timedelta(minutes=10)
    sub = await subscribe(
        store, "ch-d", per_brief=False, digest_time=f"{due:%H:%M}", now=now - timedelta(days=1)
    )
    feed = await a_feed(store)
    before, _ = await a_brief(store, feed, "Before", now=due - timedelta(minutes=1))
    await a_brief(store, feed, "After", now=due + timedelta(minutes=1))
    jobs = _Jobs()
    leading = [True]
    digests = Digests(store, jobs, leads=lambda: leading[0])
    await digests.sync()
    await Digests(store, _Jobs()).sync()  # another process that leads later
    rows = [r for r in await store.outbox.all() if r.kind == "digest"]
    assert len(rows) == 1
    (loaded,) = await store.outbox.load([rows[0].id])
    assert [b.id for b in loaded.briefs] == [before.id]
    assert jobs.jobs == {f"digest:{sub.id}"}
    assert await digests.daily(sub.id) is None  # the daily job of the same day: nothing
    leading[0] = False
    await digests.sync()
    assert jobs.jobs == set()  # not the leader: no jobs


def test_last_run_is_the_latest_due_time_in_the_zone() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 12, 8, 0, 30, tzinfo=UTC)  # 09:30 in Seoul
    assert last_run("09:00", "Asia/Seoul", now).isoformat() == "2026-12-08T09:00:00+09:00"
    assert last_run("10:00", "Asia/Seoul", now).isoformat() == "2026-12-07T10:00:00+09:00"


class _Jobs:
    def __init__(self) -> None:
        self.jobs: set[str] = set()

    def set_daily(self, job_id: str, at: str, tz: str, job: object, arg: int) -> None:
        self.jobs.add(job_id)

    def cancel(self, job_id: str) -> None:
        self.jobs.discard(job_id)


# -- orphans ------------------------------------------------------------------------------


async def test_an_orphan_is_released_only_under_the_claim_seen(store: Any) -> None:
    """Two processes settle the same orphan: the second finds it claimed again (by someone
    else, since) and leaves it alone."""
    await subscribe(store, "ch-1")
    await a_brief(store, await a_feed(store), "Alliance summit")
    (row,) = await store.outbox.all()
    now = utcnow() + timedelta(seconds=1)
    dead = await store.outbox.claim_one(row.id, now, "dead-process")
    assert dead is not None
    seen = (dead.claimed_by, dead.claimed_at)
    assert await store.outbox.release(row.id, now, "in doubt", maybe_sent=True, claim=seen)
    again = await store.outbox.claim_one(row.id, now + timedelta(seconds=1), "live-process")
    assert again is not None
    assert not await store.outbox.release(row.id, now, "in doubt", maybe_sent=True, claim=seen)
    current = await store.outbox.get(row.id)
    assert current.state is DeliveryState.SENDING and current.claimed_by == "live-process"


# -- leadership and wake-ups --------------------------------------------------------------


@contextlib.asynccontextmanager
async def _coordination(url: str) -> AsyncIterator[tuple[PgCoordination, Any]]:
    engine = await _engine(url)
    coordination = PgCoordination(engine, retry_seconds=0.2)
    await coordination.start()
    try:
        yield coordination, engine
    finally:
        await coordination.close()
        await engine.dispose()


async def _until(predicate: Any, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


@pytest.mark.postgres
async def test_one_leader_and_another_takes_over_when_its_session_dies(pg: Store) -> None:
    url = pg.engine.url.render_as_string(hide_password=False)
    async with _coordination(url) as (a, _), _coordination(url) as (b, _):
        changes: list[bool] = []
        b.on_leadership(changes.append)
        await _until(lambda: a.is_leader or b.is_leader)
        await asyncio.sleep(0.5)  # several tries later, still one
        assert [a.is_leader, b.is_leader].count(True) == 1
        leader, follower = (a, b) if a.is_leader else (b, a)
        # The leader's session dies (as with kill -9): the server drops its lock.
        async with pg.engine.begin() as conn:
            await conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks "
                    "WHERE locktype = 'advisory' AND granted AND objid = :key"
                ),
                {"key": 0x6B70_6C64},
            )
        await _until(lambda: follower.is_leader)
        await _until(lambda: not leader.is_leader or follower is leader)
        assert follower.is_leader
        if follower is b:
            assert changes == [True]


@pytest.mark.postgres
async def test_rows_written_by_one_process_wake_the_others(pg: Store) -> None:
    url = pg.engine.url.render_as_string(hide_password=False)
    async with _coordination(url) as (listener, _):
        woken: list[str] = []
        listener.on_wake("deliveries", lambda: woken.append("deliveries"))
        listener.on_wake("feeds", lambda: woken.append("feeds"))
        await asyncio.sleep(0.5)  # LISTEN is in place once the session is up
        await subscribe(pg, "ch-1")
        feed = await a_feed(pg)
        await _until(lambda: "feeds" in woken)
        await a_brief(pg, feed, "Alliance summit")
        await _until(lambda: "deliveries" in woken)


# -- dispatchers start on their own channels --------------------------------------------


@pytest.mark.postgres
async def test_each_dispatcher_reads_its_own_channels_first(pg: Store) -> None:
    """With three live dispatchers, each one's due list starts with the channels of its rank
    (ids modulo three), then the next rank's: they do not all race for the same heads, and
    every row is still in every list."""
    subs = [await subscribe(pg, f"ch-{i}") for i in range(6)]
    feed = await a_feed(pg)
    for n in range(2):
        await a_brief(pg, feed, f"Alliance brief {n}")
    now = utcnow() + timedelta(seconds=1)
    plain = await pg.outbox.due_ids(now, 100, ["fake"], per_subscription=10)
    rows = {d.id: d.subscription_id for d in await pg.outbox.all(limit=100)}
    assert {rows[i] for i in plain} == {s.id for s in subs}
    for rank in range(3):
        ids = await pg.outbox.due_ids(now, 100, ["fake"], per_subscription=10, prefer=(rank, 3))
        assert sorted(ids) == sorted(plain)
        groups = [(rows[i] - rank) % 3 for i in ids]
        assert groups == sorted(groups)  # own channels, then the next rank's, then the last
        assert groups[0] == 0
        first_of_group = [i for i in ids if (rows[i] - rank) % 3 == 0]
        assert first_of_group == sorted(first_of_group)  # queue order within a group
    # Limited: a process gets its own channels' rows before anyone else's.
    mine = await pg.outbox.due_ids(now, 2, ["fake"], per_subscription=10, prefer=(1, 3))
    assert all(rows[i] % 3 == 1 for i in mine)


# -- a rate shared through the database ---------------------------------------------------


@pytest.mark.postgres
async def test_shared_rate_view_lists_the_dispatcher_processes(pg: Store) -> None:
    """Each process's share is the rate over the processes registered in delivery_holders."""
    await pg.outbox.heartbeat("host/ns/1/a", utcnow())
    await pg.outbox.heartbeat("host/ns/2/b", utcnow())
    blocked, holders = await SharedRates(pg.engine).view("discord")
    assert blocked <= 0
    assert set(holders) == {"host/ns/1/a", "host/ns/2/b"}


@pytest.mark.postgres
async def test_a_platform_wide_block_reaches_every_process(pg: Store) -> None:
    """A global 429 one process reports is in every process's next view, and its NOTIFY wakes
    the others at once."""
    url = pg.engine.url.render_as_string(hide_password=False)
    engine = await _engine(url)
    listener = PgCoordination(engine, retry_seconds=0.2)
    heard: list[str] = []
    listener.on_wake(wake_topic("discord"), lambda: heard.append("rate"))
    await listener.start()
    try:
        await asyncio.sleep(0.5)  # LISTEN is in place once the session is up
        a, b = SharedRates(pg.engine), SharedRates(engine)
        await a.block("discord", 30.0)
        blocked, _ = await b.view("discord")
        assert 25 < blocked <= 30
        await _until(lambda: heard == ["rate"])
    finally:
        await listener.close()
        await engine.dispose()
