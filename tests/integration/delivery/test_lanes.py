"""Every channel at its own pace: the real dispatcher, store and publishers against the fake
Discord and the fake Slack. A held answer, one platform's pace or a platform-wide 429 holds only
what it must. Assertions are on counts and orders the fakes record, never on elapsed time."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator

import pytest

from koreapage_bot.config import DeliveryConfig
from koreapage_bot.delivery.dispatcher import Dispatcher
from koreapage_bot.delivery.ratelimit import discord_budget, slack_budget
from koreapage_bot.domain import DeliveryState
from koreapage_bot.ports import Publisher
from koreapage_bot.store.store import Store
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.slack_server import FakeSlack
from tests.integration.delivery.platforms import (
    ManualClock,
    discord_adapter,
    slack_publisher,
    until,
)
from tests.integration.delivery.support import Clock, a_brief, a_feed, subscribe

MESSAGES = "/channels/{channel_id}/messages"
DISCORD_CHANNELS = [str(730000000000000000 + i) for i in range(30)]
SLACK_CHANNELS = [f"C0LANE{i:03d}" for i in range(10)]


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        for channel in SLACK_CHANNELS:
            fake.add_channel(channel)
        yield fake


async def running(d: Dispatcher) -> tuple[asyncio.Event, asyncio.Task[None]]:
    stop = asyncio.Event()
    return stop, asyncio.create_task(d.run(stop))


async def stopped(stop: asyncio.Event, task: asyncio.Task[None]) -> None:
    stop.set()
    await asyncio.wait_for(task, 30)


# -- 3. one slow call, or one platform's pace, stalls nobody else ---------------------------


async def test_a_held_answer_holds_only_its_own_channel(sqlite_store: Store) -> None:
    """One Discord channel's answer is held. The 29 others are all delivered meanwhile,
    although they do not fit in one sweep of the queue (batch of 10)."""
    async with FakeDiscord() as fake, discord_adapter(fake) as adapter:
        store = sqlite_store
        for channel in DISCORD_CHANNELS:
            await subscribe(store, channel, platform="discord")
        held = int(DISCORD_CHANNELS[0])
        fake.lose_answers("hold", channel=held)
        await a_brief(store, await a_feed(store), "Joint exercise schedule announced")
        config = DeliveryConfig(batch_size=10, publish_timeout_seconds=60.0)
        d = Dispatcher(store, {"discord": adapter.publisher}, config, {"discord": discord_budget()})
        stop, task = await running(d)
        try:
            others = {int(c) for c in DISCORD_CHANNELS[1:]}
            await until(lambda: others <= {p.channel for p in fake.posts}, timeout=20)
            assert fake.lost and fake.lost[0].channel == held  # still held all along
            assert len(fake.posts) == len(DISCORD_CHANNELS)
        finally:
            fake.release_held()
            await stopped(stop, task)
        counts = await store.outbox.counts()
        assert counts == {DeliveryState.SENT.value: len(DISCORD_CHANNELS)}


async def test_slacks_pace_does_not_slow_discord_and_new_rows_join_at_once(
    sqlite_store: Store, slack: FakeSlack
) -> None:
    """A Slack channel works through a backlog at one post every two seconds. Briefs that
    arrive for 20 Discord channels meanwhile are all delivered before that backlog is done:
    they are picked up as they come, not after the slowest channel of a batch."""
    async with FakeDiscord() as fake, discord_adapter(fake) as adapter:
        store = sqlite_store
        feed = await a_feed(store)
        await subscribe(store, SLACK_CHANNELS[0], platform="slack")
        for n in range(6):
            await a_brief(store, feed, f"Backlog {n}")
        for channel in DISCORD_CHANNELS[:20]:
            await subscribe(store, channel, platform="discord")
        publishers: dict[str, Publisher] = {
            "slack": slack_publisher(slack),
            "discord": adapter.publisher,
        }
        budgets = {"slack": slack_budget(per_channel_rate=0.5), "discord": discord_budget()}
        d = Dispatcher(store, publishers, DeliveryConfig(), budgets)
        stop, task = await running(d)
        try:
            await until(lambda: len(slack.posts()) >= 1)
            await a_brief(store, feed, "Cost-sharing talks resume")  # 20 Discord + 1 Slack row
            d.wake()
            await until(lambda: len(fake.posts) == 20, timeout=20)
            assert len(slack.posts()) <= 3  # the Slack backlog (7 posts, 2 s apart) goes on
        finally:
            await stopped(stop, task)


# -- 5. a platform-wide 429 stops every channel of that platform ----------------------------


async def test_a_workspace_wide_slack_429_holds_every_channel(
    sqlite_store: Store, slack: FakeSlack
) -> None:
    store, clock = sqlite_store, ManualClock()
    for channel in SLACK_CHANNELS:
        await subscribe(store, channel, platform="slack")
    await a_brief(store, await a_feed(store), "Alliance summit")
    slack.block_workspace(5)  # every chat.postMessage gets a 429 until lifted
    budget = slack_budget(clock=clock, sleep=clock.sleep)
    publisher = slack_publisher(slack)
    d = Dispatcher(store, {"slack": publisher}, DeliveryConfig(), {"slack": budget}, clock=Clock())
    drain = asyncio.create_task(d.drain())
    try:
        await until(lambda: len(slack.calls_to("chat.postMessage")) == 1)
        await until(lambda: bool(budget.global_bucket.blocked_for()))
        # Time passes up to just before Retry-After: the other channels keep waiting.
        for step in range(1, 50):
            clock.advance_to(step * 0.1)
            await asyncio.sleep(0.01)
        await until(lambda: bool(clock.deadlines) and min(clock.deadlines) >= 5.0 - 1e-9)
        assert len(slack.calls_to("chat.postMessage")) == 1
        slack.lift_workspace_block()
        clock.run_free()
        await asyncio.wait_for(drain, 30)
    finally:
        drain.cancel()
    posts = slack.calls_to("chat.postMessage")
    assert [c.status for c in posts].count(429) == 1
    assert sorted(c.params["channel"] for c in posts if c.ok) == sorted(SLACK_CHANNELS[1:])


async def test_a_global_discord_429_holds_every_channel(sqlite_store: Store) -> None:
    async with FakeDiscord() as fake, discord_adapter(fake) as adapter:
        store, clock = sqlite_store, ManualClock()
        for channel in DISCORD_CHANNELS[:10]:
            await subscribe(store, channel, platform="discord")
        await a_brief(store, await a_feed(store), "Alliance summit")
        fake.block_globally(40.0)  # longer than discord.py waits out by itself
        budget = discord_budget(clock=clock, sleep=clock.sleep)
        d = Dispatcher(store, {"discord": adapter.publisher}, DeliveryConfig(), {"discord": budget})
        drain = asyncio.create_task(d.drain())
        try:
            await until(lambda: len(fake.calls("POST", MESSAGES)) == 1)
            await until(lambda: bool(budget.global_bucket.blocked_for()))
            for step in range(1, 40):
                clock.advance_to(step * 1.0 - 0.05)
                await asyncio.sleep(0.01)
            await until(lambda: bool(clock.deadlines) and min(clock.deadlines) >= 40.0 - 1e-9)
            assert len(fake.calls("POST", MESSAGES)) == 1
            fake.lift_global_block()
            clock.run_free()
            await asyncio.wait_for(drain, 30)
        finally:
            drain.cancel()
        calls = fake.calls("POST", MESSAGES)
        assert [c.status for c in calls].count(429) == 1
        assert len(fake.posts) == 9  # the tenth waits out its own Retry-After in the store


# -- 6. about one post a second per channel on Slack ----------------------------------------


async def test_slack_posts_to_one_channel_keep_their_pace(
    sqlite_store: Store, slack: FakeSlack
) -> None:
    """Nine channels get one brief, the last one three: its first post waits behind the
    others for a workspace slot (5/s). As Slack records them, its posts stay about a second
    apart (they came 0.2 s apart when the channel's token was taken before that wait)."""
    store = sqlite_store
    feed = await a_feed(store)
    busy = SLACK_CHANNELS[-1]
    for channel in SLACK_CHANNELS:
        issues = ("usfk", "gsomia") if channel == busy else ("usfk",)
        await subscribe(store, channel, platform="slack", issues=issues)
    await a_brief(store, feed, "Alliance summit", issues=("usfk",))
    for n in range(2):
        await a_brief(store, feed, f"Intelligence pact {n}", issues=("gsomia",))
    budget = slack_budget(per_channel_rate=1.0, global_rate=5.0)
    d = Dispatcher(store, {"slack": slack_publisher(slack)}, DeliveryConfig(), {"slack": budget})
    assert (await d.drain()).sent == 12
    times = [c.at for c in slack.posts() if c.params["channel"] == busy]
    assert len(times) == 3
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # The pace is 1.0 s (the bug gave 0.2 s); the margin absorbs a loaded machine's delays.
    assert min(gaps) >= 0.5, gaps
