"""The dispatcher against a real store: outcomes, retries, pauses, crash recovery, order."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from io import StringIO

import pytest
from rich.console import Console

from koreapage_bot.adapters.console import ConsolePublisher
from koreapage_bot.config import DeliveryConfig
from koreapage_bot.delivery.dispatcher import Dispatcher
from koreapage_bot.delivery.holder import STALE_AFTER, Holder
from koreapage_bot.domain import Delivery, DeliveryState, SubscriptionState
from koreapage_bot.ports import (
    BriefView,
    DeliveryTarget,
    Failed,
    Found,
    LookupOutcome,
    Publisher,
    PublishOutcome,
    RetryAfter,
    Sent,
)
from koreapage_bot.store.store import Store
from tests.integration.delivery.support import (
    Clock,
    FakePlatform,
    FakePlatformWithLookup,
    a_brief,
    a_feed,
    channel_gone,
    claim_heads,
    permanent,
    rate_limited,
    server_error,
    subscribe,
)

# Past the publish timeout plus the dispatcher's margin: the in-doubt lease has run out.
LEASE = DeliveryConfig().publish_timeout_seconds + 60

CONFIG = DeliveryConfig(
    max_attempts=3,
    base_backoff_seconds=30.0,
    max_backoff_seconds=3600.0,
    publish_timeout_seconds=0.05,
    batch_size=100,
)


class Crash(BaseException):
    """The process dies here: nothing after this line runs (not an Exception, so no handler
    in the product catches it)."""


def dispatcher(
    store: Store,
    publisher: Publisher,
    clock: Clock,
    config: DeliveryConfig = CONFIG,
    **kwargs: object,
) -> Dispatcher:
    return Dispatcher(store, {publisher.platform: publisher}, config, clock=clock, **kwargs)  # type: ignore[arg-type]


async def only_delivery(store: Store) -> Delivery:
    rows = await store.outbox.all()
    assert len(rows) == 1, rows
    return rows[0]


# -- the happy path ----------------------------------------------------------------------


async def test_console_publisher_prints_each_brief_once(sqlite_store: Store) -> None:
    store, clock = sqlite_store, Clock()
    await subscribe(store, "console", platform="console")
    feed = await a_feed(store)
    brief, queued = await a_brief(store, feed, "USFK rotation plan announced")
    assert queued == 1
    out = StringIO()
    d = dispatcher(store, ConsolePublisher(Console(file=out, width=100)), clock)

    stats = await d.drain()
    again = await d.drain()

    assert (stats.sent, again.sent) == (1, 0)
    row = await only_delivery(store)
    assert row.state is DeliveryState.SENT
    assert row.message_id == f"console-{row.id}"
    assert out.getvalue().count(f"brief {brief.id} · relevance 0.80") == 1  # one panel
    assert "USFK rotation plan announced" in out.getvalue()
    assert "USFK presence" in out.getvalue()


async def test_run_loop_recovers_then_sends_on_wake_and_stops(sqlite_store: Store) -> None:
    store, clock = sqlite_store, Clock()
    await subscribe(store, "ch-1")
    feed = await a_feed(store)
    platform = FakePlatform()
    config = DeliveryConfig(dispatch_interval_seconds=30.0)  # only wake() can make it sweep
    d = dispatcher(store, platform, clock, config)
    stop = asyncio.Event()
    task = asyncio.create_task(d.run(stop))
    await asyncio.sleep(0.05)
    await a_brief(store, feed, "Cost-sharing talks resume")
    d.wake()
    for _ in range(200):
        if platform.delivered:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert [c.views[0].title for c in platform.delivered] == ["Cost-sharing talks resume"]
    assert (await only_delivery(store)).state is DeliveryState.SENT


# -- retries -----------------------------------------------------------------------------


async def test_rate_limits_never_spend_attempts_nor_kill_a_delivery(sqlite_store: Store) -> None:
    store, clock = sqlite_store, Clock()
    await subscribe(store, "ch-1")
    await a_brief(store, await a_feed(store), "Alliance summit")
    many = 4 * CONFIG.max_attempts + 3
    platform = FakePlatform(answers=[rate_limited(2.0) for _ in range(many)])
    d = dispatcher(store, platform, clock)

    for i in range(1, many + 1):
        stats = await d.drain()
        assert stats.retried == 1
        row = await only_delivery(store)
        assert row.state is DeliveryState.PENDING
        assert (row.attempts, row.rate_limited) == (i, i)
        # Exactly what the platform asked for: no backoff added on top of a 429.
        assert row.next_attempt_at == clock.now + timedelta(seconds=2)
        clock.advance(1.0)
        assert (await d.drain()).retried == 0  # not due before the platform's retry-after
        clock.advance(1.0)

    assert (await d.drain()).sent == 1
    row = await only_delivery(store)
    assert row.state is DeliveryState.SENT
    assert await store.outbox.all(DeliveryState.DEAD) == []
    assert len(platform.calls) == many + 1
    assert len(set(platform.keys())) == 1  # one delivery, one idempotency key


async def test_server_errors_and_timeouts_back_off_then_go_dead_and_retry_by_hand(
    sqlite_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    store, clock = sqlite_store, Clock()
    sub = await subscribe(store, "ch-1")
    await a_brief(store, await a_feed(store), "Troop levels debate")
    # A 5xx, a publisher timing out by itself, one hanging past publish_timeout_seconds.
    platform = FakePlatform(answers=[server_error(), TimeoutError("read timeout"), 5.0])
    d = dispatcher(store, platform, clock)
    base = CONFIG.base_backoff_seconds

    for failures in (1, 2):
        assert (await d.drain()).retried == 1
        row = await only_delivery(store)
        assert row.state is DeliveryState.PENDING
        waited = (row.next_attempt_at - clock.now).total_seconds()
        ceiling = base * 2 ** (failures - 1)
        assert ceiling / 2 <= waited <= ceiling  # exponential, jittered in the upper half
        clock.advance(waited)

    stats = await d.drain()  # third failure: the hang, cut off by publish_timeout_seconds
    assert stats.dead == 1
    dead = await store.outbox.all(DeliveryState.DEAD)
    assert [r.id for r in dead] == [row.id]
    assert dead[0].last_error is not None
    assert "gave up after 3 attempts" in dead[0].last_error
    assert "did not answer within" in dead[0].last_error
    events = [(r.event, r.delivery_id, r.platform) for r in caplog.records if hasattr(r, "event")]
    assert ("delivery_dead", row.id, "fake") in events
    clock.advance(10 * 3600)
    assert (await d.drain()).sent == 0  # dead stays dead
    assert len(platform.calls) == 3

    assert await store.outbox.retry(row.id, clock.now)
    assert not await store.outbox.retry(row.id, clock.now)  # only dead rows can be retried
    assert (await d.drain()).sent == 1
    row = await only_delivery(store)
    assert row.state is DeliveryState.SENT
    assert [c.target.attempt for c in platform.calls] == [1, 2, 3, 1]
    assert len(set(platform.keys())) == 1
    assert (await store.subscriptions.get(sub.id)).state is SubscriptionState.ACTIVE  # type: ignore[union-attr]


async def test_a_servers_retry_after_is_honoured_when_longer_than_backoff(
    sqlite_store: Store,
) -> None:
    store, clock = sqlite_store, Clock()
    await subscribe(store, "ch-1")
    await a_brief(store, await a_feed(store), "Alliance summit")
    d = dispatcher(store, FakePlatform(answers=[server_error(600.0)]), clock)
    await d.drain()
    row = await only_delivery(store)
    assert row.next_attempt_at == clock.now + timedelta(seconds=600)


async def test_rate_limits_do_not_shrink_the_cap_for_real_failures(sqlite_store: Store) -> None:
    store, clock = sqlite_store, Clock()
    await subscribe(store, "ch-1")
    await a_brief(store, await a_feed(store), "Alliance summit")
    answers = [rate_limited(1.0)] * 10 + [server_error()] * CONFIG.max_attempts
    platform = FakePlatform(answers=list(answers))
    d = dispatcher(store, platform, clock)
    outcomes = []
    for _ in answers:
        stats = await d.drain()
        outcomes.append("dead" if stats.dead else "retried")
        clock.advance(3600 * 2)
    assert outcomes == ["retried"] * (len(answers) - 1) + ["dead"]


async def test_a_publisher_bug_is_retried_not_lost(sqlite_store: Store) -> None:
    store, clock = sqlite_store, Clock()
    await subscribe(store, "ch-1")
    await a_brief(store, await a_feed(store), "Alliance summit")
    d = dispatcher(store, FakePlatform(answers=[KeyError("embed")]), clock)
    assert (await d.drain()).retried == 1
    clock.advance(3600)
    assert (await d.drain()).sent == 1


async def test_permanent_failure_is_dead_at_once_and_the_channel_stays_active(
    sqlite_store: Store,
) -> None:
    store, clock = sqlite_store, Clock()
    sub = await subscribe(store, "ch-1")
    await a_brief(store, await a_feed(store), "Alliance summit")
    platform = FakePlatform(answers=[permanent("400 embed too large")])
    d = dispatcher(store, platform, clock)
    assert (await d.drain()).dead == 1
    row = await only_delivery(store)
    assert (row.state, row.last_error) == (DeliveryState.DEAD, "400 embed too large")
    assert (await store.subscriptions.get(sub.id)).state is SubscriptionState.ACTIVE  # type: ignore[union-attr]
    assert len(platform.calls) == 1


async def test_unusable_channel_pauses_its_subscription_and_holds_its_rows(
    sqlite_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    store, clock = sqlite_store, Clock()
    gone = await subscribe(store, "ch-gone")
    fine = await subscribe(store, "ch-fine")
    feed = await a_feed(store)
    for title in ("First brief", "Second brief"):
        await a_brief(store, feed, title)
    platform = FakePlatform(per_channel={"ch-gone": [channel_gone("403 Missing Access")]})
    d = dispatcher(store, platform, clock)
    stats = await d.drain()

    assert (stats.sent, stats.paused) == (2, 1)
    paused = [r for r in caplog.records if getattr(r, "event", None) == "subscription_paused"]
    assert [(r.subscription_id, r.platform) for r in paused] == [(gone.id, "fake")]
    state = await store.subscriptions.get(gone.id)
    assert state is not None
    assert (state.state, state.paused_reason) == (SubscriptionState.PAUSED, "403 Missing Access")
    # The second row of the paused channel was not attempted after the first said "gone".
    assert [c.target.channel for c in platform.calls].count("ch-gone") == 1
    held = [r for r in await store.outbox.all() if r.subscription_id == gone.id]
    assert [(r.state, r.attempts) for r in held] == [(DeliveryState.PENDING, 0)] * 2

    # While paused: nothing is attempted; new briefs are queued for it and held.
    clock.advance(3600)
    await a_brief(store, feed, "Third brief")
    assert (await d.drain()).sent == 1
    assert platform.delivered_titles("ch-gone") == []
    assert platform.delivered_titles("ch-fine") == ["First brief", "Second brief", "Third brief"]

    assert await store.subscriptions.resume(gone.id)
    assert (await d.drain()).sent == 3
    assert platform.delivered_titles("ch-gone") == ["First brief", "Second brief", "Third brief"]
    assert fine.id != gone.id
    assert await store.outbox.all(DeliveryState.PENDING) == []


# -- crashes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lookup", "in_doubt", "sends", "final"),
    [
        (False, "resend", 1, DeliveryState.SENT),
        (True, "resend", 1, DeliveryState.SENT),
        (True, "drop", 1, DeliveryState.SENT),  # the lookup knows it was not sent
        (False, "drop", 0, DeliveryState.DEAD),  # at-most-once: an unsent row is dropped
    ],
)
async def test_crash_between_claim_and_send(
    sqlite_store: Store, lookup: bool, in_doubt: str, sends: int, final: DeliveryState
) -> None:
    store, clock = sqlite_store, Clock()
    await subscribe(store, "ch-1")
    await a_brief(store, await a_feed(store), "Alliance summit")
    claimed = await claim_heads(store, clock.now, ["fake"])  # then the process dies
    assert [c.delivery.state for c in claimed] == [DeliveryState.SENDING]

    platform = (FakePlatformWithLookup if lookup else FakePlatform)()
    config = DeliveryConfig(in_doubt=in_doubt)
    restarted = dispatcher(store, platform, clock, config)
    await restarted.recover()  # too young: a live dispatcher may still be sending it
    assert platform.calls == [] and (await only_delivery(store)).state is DeliveryState.SENDING
    clock.advance(LEASE)
    await restarted.recover()
    await restarted.drain()

    assert len(platform.delivered) == sends
    assert len(platform.messages) == sends
    assert (await only_delivery(store)).state is final


@pytest.mark.parametrize("how", ["crash", "cancel"])
@pytest.mark.parametrize(
    ("lookup", "in_doubt", "resent", "final"),
    [
        (True, "resend", False, DeliveryState.SENT),  # exactly once: the lookup finds it
        (False, "resend", True, DeliveryState.SENT),  # at-least-once, same idempotency key
        (False, "drop", False, DeliveryState.DEAD),  # at-most-once: not resent
    ],
)
async def test_crash_between_send_and_record(
    sqlite_store: Store, how: str, lookup: bool, in_doubt: str, resent: bool, final: DeliveryState
) -> None:
    store, clock = sqlite_store, Clock()
    await subscribe(store, "ch-1")
    await a_brief(store, await a_feed(store), "Alliance summit")
    kind = FakePlatformWithLookup if lookup else FakePlatform
    first = kind()
    if how == "crash":
        first.crash_after_send = Crash
        with pytest.raises(Crash):
            await dispatcher(store, first, clock).drain()
    else:  # shutdown cancels the sweep while the platform call is in flight
        first.answers = [Sent(None)]
        gate = asyncio.Event()

        async def hold(target: object, view: object) -> Sent:
            await FakePlatform.publish(first, target, view)  # type: ignore[arg-type]
            gate.set()
            await asyncio.sleep(60)
            raise AssertionError("not reached")

        first.publish = hold  # type: ignore[method-assign]
        # A long publish timeout: the cancellation, not the timeout, ends the call.
        task = asyncio.create_task(dispatcher(store, first, clock, DeliveryConfig()).drain())
        await asyncio.wait_for(gate.wait(), 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert len(first.messages) == 1  # the platform has it ...
    row = await only_delivery(store)
    assert row.state is DeliveryState.SENDING  # ... but the store does not know

    # Restart: a new publisher object, the same platform (its messages survive).
    second = kind(messages=first.messages)
    restarted = dispatcher(store, second, clock, DeliveryConfig(in_doubt=in_doubt))
    clock.advance(LEASE)  # the crashed process's lease on the row has run out
    await restarted.recover()
    await restarted.drain()

    assert len(second.calls) == (1 if resent else 0)
    if resent:
        assert second.keys() == first.keys()  # same key: a nonce-deduping platform keeps one
    assert len(second.messages) == 1
    row = await only_delivery(store)
    assert row.state is final
    if final is DeliveryState.SENT:
        assert row.message_id == "msg-1"
    else:
        assert row.last_error is not None
        assert "in doubt" in row.last_error


async def test_a_row_held_by_another_host_is_settled_once_its_heartbeat_stops(
    sqlite_store: Store,
) -> None:
    store, clock = sqlite_store, Clock()
    await subscribe(store, "ch-1")
    await a_brief(store, await a_feed(store), "Alliance summit")
    other = Holder("another-host", "4026531836", 7, "99").id
    await store.outbox.heartbeat(other, clock.now)
    await claim_heads(store, clock.now, ["fake"], other)
    platform = FakePlatformWithLookup()
    d = dispatcher(store, platform, clock)

    clock.advance(LEASE)  # a lease means nothing while its holder keeps beating
    await store.outbox.heartbeat(other, clock.now)
    assert (await d.recover()).retried == 0
    clock.advance(STALE_AFTER.total_seconds())  # then it falls silent
    assert (await d.recover()).retried == 1
    await d.drain()
    assert platform.lookups == [["kp-1"]] and len(platform.delivered) == 1
    assert (await only_delivery(store)).state is DeliveryState.SENT


@pytest.mark.parametrize("in_doubt", ["resend", "drop"])
async def test_a_lookup_that_cannot_answer_now_is_asked_again_and_never_resent_blind(
    sqlite_store: Store, in_doubt: str
) -> None:
    store, clock = sqlite_store, Clock()
    await subscribe(store, "ch-1")
    await a_brief(store, await a_feed(store), "Alliance summit")
    await claim_heads(store, clock.now, ["fake"])  # then the process dies

    class Unreachable(FakePlatformWithLookup):
        down = True

        async def find_sent(self, targets: Sequence[DeliveryTarget]) -> LookupOutcome:
            if self.down:
                raise ConnectionError("history unavailable")
            return await super().find_sent(targets)

    platform = Unreachable()
    restarted = dispatcher(store, platform, clock, DeliveryConfig(in_doubt=in_doubt))
    clock.advance(LEASE)
    await restarted.recover()
    await restarted.drain()  # the lookup happens when the row's turn comes, and fails
    row = await only_delivery(store)
    assert platform.calls == []  # neither resent blind ...
    assert (row.state, row.maybe_sent) == (DeliveryState.PENDING, True)  # ... nor given up
    assert row.next_attempt_at > clock.now

    platform.down = False
    clock.advance(3600)
    await restarted.drain()
    assert len(platform.delivered) == 1  # not there: sent, once
    assert (await only_delivery(store)).state is DeliveryState.SENT


@pytest.mark.parametrize(
    ("in_doubt", "sends", "final"),
    [("resend", 1, DeliveryState.SENT), ("drop", 0, DeliveryState.DEAD)],
)
async def test_a_lookup_that_can_never_answer_follows_the_in_doubt_policy(
    sqlite_store: Store, in_doubt: str, sends: int, final: DeliveryState
) -> None:
    store, clock = sqlite_store, Clock()
    await subscribe(store, "ch-1")
    await a_brief(store, await a_feed(store), "Alliance summit")
    await claim_heads(store, clock.now, ["fake"])

    class NoPermission(FakePlatformWithLookup):
        async def find_sent(self, targets: Sequence[DeliveryTarget]) -> LookupOutcome:
            return Failed("missing permission to read the channel")

    platform = NoPermission()
    restarted = dispatcher(store, platform, clock, DeliveryConfig(in_doubt=in_doubt))
    clock.advance(LEASE)
    await restarted.recover()
    await restarted.drain()
    assert len(platform.delivered) == sends
    assert (await only_delivery(store)).state is final


# -- order -------------------------------------------------------------------------------


async def test_briefs_for_one_channel_go_out_in_order(sqlite_store: Store) -> None:
    store, clock = sqlite_store, Clock()
    channels = [f"ch-{i}" for i in range(8)]
    for channel in channels:
        await subscribe(store, channel)
    feed = await a_feed(store)
    titles = [f"Brief {n}" for n in range(3)]
    for title in titles:
        await a_brief(store, feed, title)

    class Jittery(FakePlatform):
        async def publish(self, target, view):  # type: ignore[no-untyped-def]
            await asyncio.sleep(0.001 * (int(target.channel[3:]) % 3))  # channels interleave
            return await super().publish(target, view)

    platform = Jittery()
    assert (await dispatcher(store, platform, clock).drain()).sent == 24
    for channel in channels:
        assert platform.delivered_titles(channel) == titles


async def test_a_rate_limited_brief_is_not_overtaken_by_the_next_one(sqlite_store: Store) -> None:
    store, clock = sqlite_store, Clock()
    await subscribe(store, "ch-1")
    feed = await a_feed(store)
    await a_brief(store, feed, "Brief 1")
    await a_brief(store, feed, "Brief 2")
    platform = FakePlatform(answers=[rate_limited(5.0)])
    d = dispatcher(store, platform, clock)
    await d.drain()
    await a_brief(store, feed, "Brief 3")  # arrives while brief 1 waits out the 429
    await d.drain()
    clock.advance(5.0)
    await d.drain()
    assert platform.delivered_titles("ch-1") == ["Brief 1", "Brief 2", "Brief 3"]
    rows = await store.outbox.all()
    assert {r.state for r in rows} == {DeliveryState.SENT}
    assert sum(r.attempts for r in rows) == 4  # the held rows spent no attempt


class NoDedupePlatform:
    """Like Slack: every send posts, whatever its key; history can be searched by key."""

    platform = "fake"

    def __init__(self, answers: list[object]) -> None:
        self.answers = answers
        self.posts: list[str] = []  # idempotency keys, one per post in the channel
        self.lookups = 0

    async def publish(self, target: DeliveryTarget, view: BriefView) -> PublishOutcome:
        self.posts.append(target.idempotency_key)  # the post lands ...
        answer = self.answers.pop(0) if self.answers else Sent(f"ts-{len(self.posts)}")
        return answer  # type: ignore[return-value]  # ... whatever answer comes back

    async def publish_digest(
        self, target: DeliveryTarget, views: object, title: str
    ) -> PublishOutcome:
        raise AssertionError("no digests here")


class NoDedupeWithHistory(NoDedupePlatform):
    def resend_window(self, target: DeliveryTarget) -> float:
        return 0.0

    async def find_sent(self, targets: Sequence[DeliveryTarget]) -> LookupOutcome:
        self.lookups += 1
        return Found(
            {t.idempotency_key: "found-ts" for t in targets if t.idempotency_key in self.posts}
        )


@pytest.mark.parametrize("lookup", [True, False])
async def test_a_lost_answer_is_looked_up_before_posting_again(
    sqlite_store: Store, lookup: bool
) -> None:
    store, clock = sqlite_store, Clock()
    await subscribe(store, "ch-1")
    await a_brief(store, await a_feed(store), "Alliance summit")
    lost = RetryAfter(0, "network error after the request was sent", maybe_sent=True)
    platform = (NoDedupeWithHistory if lookup else NoDedupePlatform)([lost])
    d = dispatcher(store, platform, clock)  # type: ignore[arg-type]
    await d.drain()
    clock.advance(3600)  # past the backoff
    await d.drain()
    row = await only_delivery(store)
    assert row.state is DeliveryState.SENT
    if lookup:
        assert isinstance(platform, NoDedupeWithHistory)
        assert platform.posts == ["kp-1"] and platform.lookups == 1  # found: not posted again
        assert row.message_id == "found-ts"
    else:
        assert platform.posts == ["kp-1", "kp-1"]  # nothing to ask: at-least-once


async def test_stop_ends_the_sweep_after_the_sends_in_flight(sqlite_store: Store) -> None:
    store, clock = sqlite_store, Clock()
    await subscribe(store, "ch-1")
    feed = await a_feed(store)
    for n in range(10):
        await a_brief(store, feed, f"Brief {n}")
    stop = asyncio.Event()

    class StopsAfterOne(FakePlatform):
        async def publish(self, target, view):  # type: ignore[no-untyped-def]
            stop.set()  # SIGTERM arrives while the first send is in flight
            return await super().publish(target, view)

    platform = StopsAfterOne()
    await asyncio.wait_for(dispatcher(store, platform, clock).run(stop), 10)
    assert len(platform.calls) == 1
    assert len(await store.outbox.all(DeliveryState.SENT)) == 1
    assert len(await store.outbox.all(DeliveryState.PENDING)) == 9  # nothing lost
