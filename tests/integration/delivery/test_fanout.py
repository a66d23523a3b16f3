"""Fan-out of one brief to 1,000 channels through the real dispatcher and store stays inside a
50 req/s budget.

Why not `run_virtual`: the SQLite store runs on aiosqlite's worker thread, whose results come
back through the loop's self-pipe. The virtual-time loop jumps to the next timer whenever nothing
is ready *at this instant*, so it would race ahead while a query is still in the thread (and
call it a deadlock when no timer is pending). So the store runs on the real loop and only the
budget lives on virtual time: its clock and sleep are injected (the seam `RateBudget` offers
for this). A virtual sleep advances the clock by exactly what was asked; that is exact as long
as one sleeper at a time moves the clock, which the test checks (every channel is distinct, so
only the global bucket's FIFO head ever sleeps). Database work takes no virtual time, so the
figures are the budget's pacing alone: exactly what is under test.
"""

from __future__ import annotations

from dataclasses import asdict

from koreapage_bot.config import DeliveryConfig
from koreapage_bot.delivery.dispatcher import Dispatcher
from koreapage_bot.delivery.ratelimit import RateBudget
from koreapage_bot.domain import DeliveryState
from koreapage_bot.ports import SubscriptionSpec
from koreapage_bot.store.store import Store
from tests.integration.delivery.support import (
    Clock,
    FakePlatform,
    VirtualClock,
    a_brief,
    a_feed,
    add_subscriptions,
    max_in_window,
)

CHANNELS = 1000
RATE = 50.0
EPS = 1e-6


async def test_setup_rows_are_what_upsert_writes(sqlite_store: Store) -> None:
    await add_subscriptions(sqlite_store, 1)
    bulk = await sqlite_store.subscriptions.for_channel("fake", "ch-0000")
    made, _ = await sqlite_store.subscriptions.upsert(
        SubscriptionSpec(platform="fake", channel="other", workspace="guild-1")
    )
    assert bulk is not None
    ignore = {"id", "channel", "created_at", "last_digest_at"}
    assert {k: v for k, v in asdict(bulk).items() if k not in ignore} == {
        k: v for k, v in asdict(made).items() if k not in ignore
    }


def test_max_in_window_counts_half_open_windows() -> None:
    assert max_in_window([0.0, 0.5, 0.99, 1.0, 1.5]) == 3
    assert max_in_window([0.0] * 4 + [1.0]) == 4


async def test_one_brief_to_1000_channels_respects_50_per_second(sqlite_store: Store) -> None:
    store = sqlite_store
    await add_subscriptions(store, CHANNELS)
    _, queued = await a_brief(store, await a_feed(store), "Joint exercise schedule announced")
    assert queued == CHANNELS

    vclock = VirtualClock()
    budget = RateBudget(RATE, 1.0, key_rate=1.0, clock=vclock, sleep=vclock.sleep)
    platform = FakePlatform(clock=vclock)
    dispatcher = Dispatcher(
        store, {"fake": platform}, DeliveryConfig(), {"fake": budget}, clock=Clock()
    )
    stats = await dispatcher.drain()

    assert stats.sent == CHANNELS
    assert (await store.outbox.counts()) == {DeliveryState.SENT.value: CHANNELS}
    assert len({c.target.channel for c in platform.calls}) == CHANNELS  # each exactly once
    assert vclock.most_sleeping == 1  # the virtual clock's one assumption held
    times = [c.loop_time for c in platform.calls]
    assert max_in_window(times) <= RATE
    span = max(times) - min(times)
    floor = (CHANNELS - 1) / RATE  # 19.98 s: burst 1, then one every 20 ms
    assert floor - 0.1 <= span <= floor + 0.5, span  # spread over the budget, not slower
