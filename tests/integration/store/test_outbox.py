"""The outbox repository on SQLite and PostgreSQL: claiming, transitions, uniqueness."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from koreapage_bot.dates import utcnow
from koreapage_bot.delivery.fanout import recipients
from koreapage_bot.domain import Delivery, DeliveryState
from koreapage_bot.store import tables as t
from koreapage_bot.store.store import Store
from tests.integration.delivery.support import a_brief, a_feed, claim_heads, subscribe


async def row(store: Store, delivery_id: int) -> Delivery:
    found = await store.outbox.get(delivery_id)
    assert found is not None
    return found


async def rows_by_channel(store: Store) -> dict[str, Delivery]:
    subs = {s.id: s.channel for s in await store.subscriptions.all()}
    return {subs[d.subscription_id]: d for d in await store.outbox.all()}


async def test_due_rows_are_those_of_active_subscriptions_on_the_platforms(
    store: Store,
) -> None:
    for channel in ("ch-due", "ch-later", "ch-paused"):
        await subscribe(store, channel)
    other = await subscribe(store, "ch-other", platform="other")
    _, queued = await a_brief(store, await a_feed(store), "Alliance summit")
    assert queued == 4
    rows = await rows_by_channel(store)
    now = utcnow() + timedelta(seconds=1)
    await store.outbox.reschedule(
        rows["ch-later"].id, now + timedelta(hours=1), "503", rate_limited=False
    )
    await store.subscriptions.pause(rows["ch-paused"].subscription_id, "403 Missing Access")

    assert await store.outbox.due_ids(now, 10, ["fake"]) == [rows["ch-due"].id]
    claimed = await claim_heads(store, now, ["fake"])

    assert [c.subscription.channel for c in claimed] == ["ch-due"]
    [item] = claimed
    assert (item.delivery.state, item.delivery.attempts) == (DeliveryState.SENDING, 1)
    assert item.briefs[0].title == "Alliance summit"
    assert await store.outbox.claim_one(item.delivery.id, now) is None  # never twice
    assert await store.outbox.due_ids(now, 10, ["fake"]) == []
    assert await store.outbox.due_ids(now, 10, []) == []
    assert [c.subscription.id for c in await claim_heads(store, now, ["other"])] == [other.id]
    # Not due yet: a claim refuses it however it was found.
    assert await store.outbox.claim_one(rows["ch-later"].id, now) is None
    later = await claim_heads(store, now + timedelta(hours=2), ["fake"])
    assert [c.subscription.channel for c in later] == ["ch-later"]
    assert (await row(store, rows["ch-paused"].id)).state is DeliveryState.PENDING


async def test_due_ids_keep_queue_order_and_a_share_per_channel(store: Store) -> None:
    for i in range(5):
        await subscribe(store, f"ch-{i}")
    feed = await a_feed(store)
    for title in ("Alliance summit", "Troop talks", "GSOMIA"):
        await a_brief(store, feed, title)
    now = utcnow() + timedelta(seconds=1)
    every = await store.outbox.due_ids(now, 100, ["fake"])
    assert len(every) == 15 and every == sorted(every)
    assert await store.outbox.due_ids(now, 2, ["fake"]) == every[:2]
    firsts = await store.outbox.due_ids(now, 100, ["fake"], per_subscription=1)
    loaded = await store.outbox.load(firsts)
    assert sorted(c.subscription.channel for c in loaded) == [f"ch-{i}" for i in range(5)]
    assert {c.briefs[0].title for c in loaded} == {"Alliance summit"}


async def test_concurrent_claims_never_share_a_row(store: Store) -> None:
    for i in range(30):
        await subscribe(store, f"ch-{i:02d}")
    await a_brief(store, await a_feed(store), "Alliance summit")
    now = utcnow() + timedelta(seconds=1)
    ids = await store.outbox.due_ids(now, 100, ["fake"])
    assert len(ids) == 30
    # Four dispatchers that read the same queue each try to claim every row.
    rounds = await asyncio.gather(
        *(asyncio.gather(*(store.outbox.claim_one(i, now, f"d{n}") for i in ids)) for n in range(4))
    )
    won = [d.id for batch in rounds for d in batch if d is not None]
    assert sorted(won) == sorted(ids)
    assert {d.attempts for d in await store.outbox.all()} == {1}


async def test_a_row_waiting_out_a_retry_holds_back_later_rows_of_its_channel(
    store: Store,
) -> None:
    await subscribe(store, "ch-1")
    await subscribe(store, "ch-2")
    feed = await a_feed(store)
    await a_brief(store, feed, "Brief 1")
    await a_brief(store, feed, "Brief 2")
    now = utcnow() + timedelta(seconds=1)
    [head] = await claim_heads(store, now, ["fake"], limit=1)
    assert head.subscription.channel == "ch-1"
    await store.outbox.reschedule(
        head.delivery.id, now + timedelta(seconds=30), "429", rate_limited=True
    )

    due = await store.outbox.load(await store.outbox.due_ids(now, 10, ["fake"]))

    # ch-2 goes on; ch-1's second brief waits behind its first.
    assert [(c.subscription.channel, c.briefs[0].title) for c in due] == [
        ("ch-2", "Brief 1"),
        ("ch-2", "Brief 2"),
    ]
    # And one at a time: a claim takes only the row at its channel's head.
    assert await store.outbox.claim_one(due[1].delivery.id, now) is None
    assert await store.outbox.claim_one(due[0].delivery.id, now) is not None
    assert await store.outbox.claim_one(due[1].delivery.id, now) is None  # first in flight
    later = now + timedelta(seconds=31)
    after = await store.outbox.load(await store.outbox.due_ids(later, 10, ["fake"]))
    assert [(c.subscription.channel, c.briefs[0].title) for c in after] == [
        ("ch-1", "Brief 1"),
        ("ch-1", "Brief 2"),
    ]


async def test_transitions(store: Store) -> None:
    await subscribe(store, "ch-1")
    await a_brief(store, await a_feed(store), "Alliance summit")
    outbox = store.outbox
    now = utcnow() + timedelta(seconds=1)
    [c] = await claim_heads(store, now, ["fake"])
    d_id = c.delivery.id
    assert [x.delivery.id for x in await outbox.in_doubt(["fake"])] == [d_id]
    assert await outbox.in_doubt(["other"]) == []

    # A 429: back to pending, counted as rate limited, due when the platform said.
    await outbox.reschedule(d_id, now + timedelta(seconds=5), "429", rate_limited=True)
    d = await row(store, d_id)
    assert (d.state, d.attempts, d.rate_limited, d.last_error) == (
        DeliveryState.PENDING,
        1,
        1,
        "429",
    )
    assert d.next_attempt_at == now + timedelta(seconds=5)
    assert await outbox.in_doubt(["fake"]) == []

    # A 5xx: pending again, not counted as rate limited.
    now += timedelta(seconds=10)
    assert await outbox.claim_one(d_id, now) is not None
    await outbox.reschedule(d_id, now + timedelta(seconds=60), "503", rate_limited=False)
    d = await row(store, d_id)
    assert (d.state, d.attempts, d.rate_limited) == (DeliveryState.PENDING, 2, 1)

    # Release (paused channel, shutdown): no attempt spent.
    now += timedelta(seconds=120)
    assert await outbox.claim_one(d_id, now) is not None
    assert (await row(store, d_id)).attempts == 3
    await outbox.release(d_id, now, "subscription paused: 403")
    d = await row(store, d_id)
    assert (d.state, d.attempts, d.last_error) == (
        DeliveryState.PENDING,
        2,
        "subscription paused: 403",
    )

    # Dead, visible, retried by hand with a fresh set of attempts.
    assert await outbox.claim_one(d_id, now) is not None
    await outbox.mark_dead(d_id, "gave up", now)
    assert [x.id for x in await outbox.all(DeliveryState.DEAD)] == [d_id]
    assert await outbox.due_ids(now + timedelta(days=1), 10, ["fake"]) == []
    assert await outbox.claim_one(d_id, now + timedelta(days=1)) is None
    assert await outbox.counts() == {"dead": 1}
    assert await outbox.retry(d_id, now)
    d = await row(store, d_id)
    assert (d.state, d.attempts, d.rate_limited) == (DeliveryState.PENDING, 0, 0)
    assert not await outbox.retry(d_id, now)  # only dead rows

    assert await outbox.claim_one(d_id, now) is not None
    await outbox.mark_sent(d_id, "msg-42", now)
    d = await row(store, d_id)
    assert (d.state, d.message_id, d.last_error, d.attempts) == (
        DeliveryState.SENT,
        "msg-42",
        None,
        1,
    )
    assert await outbox.all(DeliveryState.DEAD) == []


async def test_release_never_takes_attempts_below_zero(store: Store) -> None:
    await subscribe(store, "ch-1")
    await a_brief(store, await a_feed(store), "Alliance summit")
    [d] = await store.outbox.all()
    await store.outbox.release(d.id, utcnow(), "held")
    assert (await row(store, d.id)).attempts == 0


async def test_one_delivery_per_subscription_and_brief(sql_store: Store) -> None:
    store = sql_store  # the unique constraint itself
    await subscribe(store, "ch-1")
    await subscribe(store, "ch-2")
    feed = await a_feed(store)
    brief, queued = await a_brief(store, feed, "Alliance summit")
    assert queued == 2
    assert await store.outbox.enqueue([brief], recipients) == 0  # already queued
    [first, _] = await store.outbox.all()
    with pytest.raises(IntegrityError):
        async with store.engine.begin() as conn:
            await conn.execute(
                t.deliveries.insert().values(
                    subscription_id=first.subscription_id,
                    brief_id=first.brief_id,
                    kind="brief",
                    state="pending",
                    attempts=0,
                    rate_limited=0,
                    next_attempt_at=utcnow(),
                    created_at=utcnow(),
                    updated_at=utcnow(),
                )
            )
    assert len(await store.outbox.all()) == 2


async def test_store_post_without_deliver_writes_no_deliveries_until_backfill(
    store: Store,
) -> None:
    await subscribe(store, "ch-1")
    await subscribe(store, "ch-gsomia", issues=["gsomia"])  # does not match
    feed = await a_feed(store)
    brief, queued = await a_brief(store, feed, "Baseline post", deliver=False)
    assert queued == 0
    assert await store.outbox.all() == []
    assert await store.outbox.enqueue([brief], recipients) == 1
    assert await store.outbox.enqueue([brief], recipients) == 0
    [d] = await store.outbox.all()
    assert d.brief_id == brief.id


async def test_add_digest_moves_the_mark_with_the_row(store: Store) -> None:
    sub = await subscribe(store, "ch-1", per_brief=False, digest_time="08:00")
    feed = await a_feed(store)
    brief, queued = await a_brief(store, feed, "Alliance summit")
    assert queued == 0
    now = utcnow()
    mark = now - timedelta(minutes=1)
    digest_id = await store.outbox.add_digest(sub.id, [brief.id], mark, now)
    assert digest_id is not None
    d = await row(store, digest_id)
    assert (d.kind, d.brief_id, d.state) == ("digest", None, DeliveryState.PENDING)
    moved = await store.subscriptions.get(sub.id)
    assert moved is not None and moved.last_digest_at == mark
    [c] = await claim_heads(store, now + timedelta(seconds=1), ["fake"])
    assert (c.delivery.id, [b.id for b in c.briefs]) == (digest_id, [brief.id])

    assert await store.outbox.add_digest(sub.id, [], now, now) is None
    moved = await store.subscriptions.get(sub.id)
    assert moved is not None and moved.last_digest_at == now
    assert len(await store.outbox.all()) == 1


async def test_removing_a_subscription_removes_its_undelivered_rows(store: Store) -> None:
    sub = await subscribe(store, "ch-1")
    await subscribe(store, "ch-2")
    await a_brief(store, await a_feed(store), "Alliance summit")
    assert await store.subscriptions.remove(sub.id)
    assert [d.subscription_id for d in await store.outbox.all()] != [sub.id]
    assert len(await store.outbox.all()) == 1


async def test_claim_one_names_its_holder_and_keeps_the_first_attempt(store: Store) -> None:
    await subscribe(store, "ch-1")
    await a_brief(store, await a_feed(store), "Alliance summit")
    first = utcnow() + timedelta(seconds=1)
    claimed = await store.outbox.claim_one(1, first, "host/ns/10/20")
    assert claimed is not None
    assert (claimed.claimed_by, claimed.claimed_at, claimed.first_attempt_at) == (
        "host/ns/10/20",
        first,
        first,
    )
    await store.outbox.reschedule(1, first, "lost answer", rate_limited=False, maybe_sent=True)
    later = first + timedelta(minutes=5)
    again = await store.outbox.claim_one(1, later, "host/ns/11/21")
    assert again is not None
    assert (again.claimed_by, again.claimed_at, again.first_attempt_at) == (
        "host/ns/11/21",
        later,
        first,  # a look-up searches from the first attempt on
    )
    assert again.attempts == 2 and again.maybe_sent


async def test_claim_one_never_overtakes_an_unsettled_row_or_a_retry_time(store: Store) -> None:
    """The claim itself keeps per-channel order, whatever the caller's view of the queue."""
    await subscribe(store, "ch-1")
    feed = await a_feed(store)
    await a_brief(store, feed, "Brief 1")
    await a_brief(store, feed, "Brief 2")
    now = utcnow() + timedelta(seconds=1)
    assert await store.outbox.claim_one(2, now) is None  # brief 1 is still pending
    assert await store.outbox.claim_one(1, now) is not None
    assert await store.outbox.claim_one(2, now) is None  # brief 1 is in flight
    await store.outbox.reschedule(1, now + timedelta(seconds=30), "429", rate_limited=True)
    assert await store.outbox.claim_one(1, now) is None  # not before its Retry-After
    assert await store.outbox.claim_one(2, now) is None  # nor its follower
    assert await store.outbox.claim_one(1, now + timedelta(seconds=30)) is not None
    await store.outbox.mark_sent(1, "m-1", now)
    assert await store.outbox.claim_one(2, now) is not None


async def test_due_ids_takes_a_few_rows_of_each_channel(store: Store) -> None:
    for channel in ("ch-1", "ch-2"):
        await subscribe(store, channel)
    feed = await a_feed(store)
    for n in range(5):
        await a_brief(store, feed, f"Brief {n}")
    now = utcnow() + timedelta(seconds=1)
    ids = await store.outbox.due_ids(now, 100, ["fake"], per_subscription=2)
    by_channel = await rows_by_channel_ids(store, ids)
    assert by_channel == {"ch-1": 2, "ch-2": 2}
    assert ids == sorted(ids)
    assert len(await store.outbox.due_ids(now, 100, ["fake"])) == 10


async def rows_by_channel_ids(store: Store, ids: list[int]) -> dict[str, int]:
    subs = {s.id: s.channel for s in await store.subscriptions.all()}
    counts: dict[str, int] = {}
    for d in await store.outbox.all():
        if d.id in ids:
            counts[subs[d.subscription_id]] = counts.get(subs[d.subscription_id], 0) + 1
    return counts


async def test_settle_pending_records_what_a_lookup_found(store: Store) -> None:
    await subscribe(store, "ch-1")
    feed = await a_feed(store)
    for n in range(3):
        await a_brief(store, feed, f"Brief {n}")
    now = utcnow() + timedelta(seconds=1)
    for delivery_id in (1, 2, 3):
        await store.outbox.reschedule(delivery_id, now, "x", rate_limited=False, maybe_sent=True)
    await store.outbox.claim_one(1, now)  # in flight elsewhere: left alone
    assert await store.outbox.settle_pending({1: "m-1", 2: "m-2"}, [3]) == 1
    assert (await row(store, 1)).state is DeliveryState.SENDING
    assert ((await row(store, 2)).state, (await row(store, 2)).message_id) == (
        DeliveryState.SENT,
        "m-2",
    )
    three = await row(store, 3)
    assert (three.state, three.maybe_sent) == (DeliveryState.PENDING, False)


async def test_heartbeats(store: Store) -> None:
    now = utcnow()
    await store.outbox.heartbeat("a", now)
    await store.outbox.heartbeat("b", now - timedelta(days=2))
    await store.outbox.heartbeat("a", now + timedelta(seconds=5))
    assert await store.outbox.holders() == {
        "a": now + timedelta(seconds=5),
        "b": now - timedelta(days=2),
    }
    assert await store.outbox.forget_holders(now - timedelta(days=1)) == 1
    await store.outbox.remove_holder("a")
    assert await store.outbox.holders() == {}
