"""Exactly once on Discord and Slack when answers are lost, look-ups are refused and processes
die: the real dispatcher, store and publishers against the fake Discord and the fake Slack."""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from collections.abc import AsyncIterator

import pytest

from koreapage_bot.config import DeliveryConfig
from koreapage_bot.delivery.dispatcher import Dispatcher, target_for
from koreapage_bot.delivery.ratelimit import discord_budget, slack_budget
from koreapage_bot.domain import DeliveryState
from koreapage_bot.ports import BriefView, ClaimedDelivery, Publisher, Sent
from koreapage_bot.store.store import Store
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.slack_server import FakeSlack
from tests.integration.delivery.platforms import (
    ManualClock,
    discord_adapter,
    slack_publisher,
)
from tests.integration.delivery.support import (
    Clock,
    a_brief,
    a_feed,
    claim_heads,
    mark_sending,
    subscribe,
)

CONFIG = DeliveryConfig(publish_timeout_seconds=10.0)
LEASE = 60.0  # past the publish timeout plus the dispatcher's margin
C1, C2 = "C0ALLIANCE", "C0DEFENSE"


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        fake.add_channel(C1)
        fake.add_channel(C2)
        yield fake


def slack_posts(fake: FakeSlack) -> Counter[tuple[str, str]]:
    """(channel, delivery key) -> how many posts Slack holds."""
    return Counter(
        (channel, m["metadata"]["event_payload"]["delivery_key"])
        for channel, messages in fake.history.items()
        for m in messages
    )


def discord_posts(fake: FakeDiscord, cid: int) -> Counter[str | None]:
    """Delivery key (the nonce it was made with) -> how many messages the channel holds."""
    return Counter(p.nonce for p in fake.posts if p.channel == cid)


async def post_as(publisher: Publisher, claimed: ClaimedDelivery) -> None:
    """What the process that claimed the row did before it died: the post reached the
    platform, the outcome was never recorded."""
    outcome = await publisher.publish(target_for(claimed), BriefView.of(claimed.briefs[0]))
    assert isinstance(outcome, Sent)


def dispatcher(
    store: Store, platform: str, publisher: Publisher, clock: Clock, budget_clock: ManualClock
) -> Dispatcher:
    budget = (slack_budget if platform == "slack" else discord_budget)(
        clock=budget_clock, sleep=budget_clock.sleep
    )
    budget_clock.auto = True
    return Dispatcher(store, {platform: publisher}, CONFIG, {platform: budget}, clock=clock)


# -- Slack: a refused look-up never turns into a blind resend ------------------------------


async def test_slack_waits_for_a_refused_lookup_instead_of_posting_again(
    sqlite_store: Store, slack: FakeSlack
) -> None:
    """Both answers are lost; conversations.history allows one call a minute. The channel
    whose look-up is refused waits for the next minute and then finds its post: nothing is
    posted twice, nothing is lost."""
    store, clock, budget_clock = sqlite_store, Clock(), ManualClock()
    for channel in (C1, C2):
        await subscribe(store, channel, platform="slack")
    await a_brief(store, await a_feed(store), "Alliance summit")
    slack.limit_history(every=60)
    slack.lose_answers("drop", times=2)  # both posts are made, neither answer comes back
    d = dispatcher(store, "slack", slack_publisher(slack), clock, budget_clock)

    await d.drain()
    assert slack_posts(slack) == {(C1, "kp-1"): 1, (C2, "kp-2"): 1}
    assert {r.state for r in await store.outbox.all()} == {DeliveryState.PENDING}

    clock.advance(3600)  # past the retry backoff
    await d.drain()  # one look-up is answered (found: sent), the other refused (429)
    rows = {r.id: r for r in await store.outbox.all()}
    assert sorted(r.state.value for r in rows.values()) == ["pending", "sent"]
    waiting = next(r for r in rows.values() if r.state is DeliveryState.PENDING)
    assert waiting.maybe_sent and waiting.rate_limited == 1  # no attempt spent on waiting
    assert len(slack.posts()) == 2  # not posted again meanwhile
    history = slack.calls_to("conversations.history")
    assert [c.status for c in history] == [200, 429]

    # Another row of the same channel in the queue is not sent ahead of it either.
    await d.drain()
    assert len(slack.posts()) == 2

    budget_clock.advance_to(budget_clock.now + 61)  # the workspace may look again
    slack.reset_history_limit()
    clock.advance(61)
    await d.drain()
    assert {r.state for r in await store.outbox.all()} == {DeliveryState.SENT}
    assert slack_posts(slack) == {(C1, "kp-1"): 1, (C2, "kp-2"): 1}  # once each
    assert len(slack.posts()) == 2


async def test_one_history_call_settles_every_row_in_doubt_in_a_channel(
    sqlite_store: Store, slack: FakeSlack
) -> None:
    """Three rows of one channel were in flight when the process died; two had reached Slack.
    A single conversations.history call settles all three: the two found are recorded, only
    the third is posted."""
    store, clock, budget_clock = sqlite_store, Clock(), ManualClock()
    await subscribe(store, C1, platform="slack")
    feed = await a_feed(store)
    for title in ("First", "Second", "Third"):
        await a_brief(store, feed, title)
    publisher = slack_publisher(slack)
    rows = await store.outbox.all()
    in_flight = await mark_sending(store, sorted(r.id for r in rows), clock.now)
    for claimed in in_flight[:2]:  # the dead process had posted these two
        await post_as(publisher, claimed)
    assert len(slack.posts()) == 2

    d = dispatcher(store, "slack", publisher, clock, budget_clock)
    clock.advance(LEASE)
    settled = await d.recover()
    assert settled.retried == 3
    await d.drain()
    assert len(slack.calls_to("conversations.history")) == 1
    assert slack_posts(slack) == {(C1, "kp-1"): 1, (C1, "kp-2"): 1, (C1, "kp-3"): 1}
    assert {r.state for r in await store.outbox.all()} == {DeliveryState.SENT}


# -- Discord: beyond the nonce window, look first --------------------------------------------


async def test_discord_looks_before_resending_outside_the_nonce_window(
    sqlite_store: Store,
) -> None:
    """The message is made but its answer is lost; the retry comes after Discord's nonce
    window (a long outage, a backoff, a restart). The footer key is found in the channel's
    messages: no second message."""
    async with FakeDiscord() as fake, discord_adapter(fake) as adapter:
        store, clock, budget_clock = sqlite_store, Clock(), ManualClock()
        cid = fake.channel_ids[0]
        await subscribe(store, str(cid), platform="discord")
        await a_brief(store, await a_feed(store), "Alliance summit")
        fake.lose_answers("drop")
        d = dispatcher(store, "discord", adapter.publisher, clock, budget_clock)
        await d.drain()
        assert discord_posts(fake, cid) == {"kp-1": 1}
        (row,) = await store.outbox.all()
        assert row.state is DeliveryState.PENDING and row.maybe_sent

        fake.expire_nonces()  # Discord no longer remembers the nonce ...
        clock.advance(600)  # ... and the retry comes 10 minutes later
        await d.drain()
        assert discord_posts(fake, cid) == {"kp-1": 1}
        (row,) = await store.outbox.all()
        assert row.state is DeliveryState.SENT
        assert row.message_id == fake.channel_messages(cid)[0]["id"]
        assert len(fake.calls("POST", "/channels/{channel_id}/messages")) == 1
        assert len(fake.calls("GET", "/channels/{channel_id}/messages")) == 1


async def test_discord_resends_with_the_nonce_inside_its_window(sqlite_store: Store) -> None:
    """Within two minutes of the first attempt the nonce is enough: resent without a look-up,
    and Discord keeps one message."""
    async with FakeDiscord() as fake, discord_adapter(fake) as adapter:
        store, clock, budget_clock = sqlite_store, Clock(), ManualClock()
        cid = fake.channel_ids[0]
        await subscribe(store, str(cid), platform="discord")
        await a_brief(store, await a_feed(store), "Alliance summit")
        fake.lose_answers("drop")
        d = dispatcher(store, "discord", adapter.publisher, clock, budget_clock)
        await d.drain()
        clock.advance(60)
        await d.drain()
        assert discord_posts(fake, cid) == {"kp-1": 1}
        assert len(fake.calls("POST", "/channels/{channel_id}/messages")) == 2
        assert fake.calls("GET", "/channels/{channel_id}/messages") == []
        assert (await store.outbox.all())[0].state is DeliveryState.SENT


# -- after a crash: no lease to wait out when the holder is gone -----------------------------


async def _a_process() -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(sys.executable, "-c", "import time; time.sleep(60)")


async def test_rows_of_a_killed_process_are_settled_at_once_and_not_posted_twice(
    sqlite_store: Store,
) -> None:
    """A process claimed a row, Discord made the message, and the process was killed with
    -9. At the restart the row is settled right away (no 60 s lease), by the nonce within its
    window: still one message. While the process lived, its row was left alone."""
    async with FakeDiscord() as fake, discord_adapter(fake) as adapter:
        store, clock, budget_clock = sqlite_store, Clock(), ManualClock()
        cid = fake.channel_ids[0]
        await subscribe(store, str(cid), platform="discord")
        await a_brief(store, await a_feed(store), "Alliance summit")
        from koreapage_bot.delivery.holder import Holder

        process = await _a_process()
        try:
            holder = Holder.of_pid(process.pid)
            assert holder is not None
            (claimed,) = await claim_heads(store, clock.now, ["discord"], holder.id)
            await post_as(adapter.publisher, claimed)
            assert discord_posts(fake, cid) == {"kp-1": 1}

            d = dispatcher(store, "discord", adapter.publisher, clock, budget_clock)
            assert (await d.recover()).retried == 0  # alive: it may still be sending
            (row,) = await store.outbox.all()
            assert row.state is DeliveryState.SENDING
        finally:
            process.kill()
            await process.wait()

        restarted = dispatcher(store, "discord", adapter.publisher, clock, budget_clock)
        assert (await restarted.recover()).retried == 1  # no lease: its holder is gone
        await restarted.drain()
        (row,) = await store.outbox.all()
        assert row.state is DeliveryState.SENT
        assert discord_posts(fake, cid) == {"kp-1": 1}


async def test_after_a_long_outage_a_killed_process_rows_are_looked_up(
    sqlite_store: Store, slack: FakeSlack
) -> None:
    """The same after six minutes away, on both platforms: past Discord's nonce window and
    on Slack (no nonce at all) each row in doubt is looked up, found, and not posted again."""
    async with FakeDiscord() as fake, discord_adapter(fake) as adapter:
        store, clock = sqlite_store, Clock()
        cid = fake.channel_ids[0]
        await subscribe(store, str(cid), platform="discord")
        await subscribe(store, C1, platform="slack")
        await a_brief(store, await a_feed(store), "Alliance summit")
        publishers: dict[str, Publisher] = {
            "discord": adapter.publisher,
            "slack": slack_publisher(slack),
        }
        from koreapage_bot.delivery.holder import Holder

        process = await _a_process()
        holder = Holder.of_pid(process.pid)
        assert holder is not None
        claims = await claim_heads(store, clock.now, ["discord", "slack"], holder.id)
        for claimed in claims:
            await post_as(publishers[claimed.subscription.platform], claimed)
        process.kill()
        await process.wait()
        fake.expire_nonces()
        clock.advance(360)

        restarted = Dispatcher(store, publishers, CONFIG, clock=clock)
        assert (await restarted.recover()).retried == 2
        await restarted.drain()
        assert {r.state for r in await store.outbox.all()} == {DeliveryState.SENT}
        assert discord_posts(fake, cid) == {"kp-1": 1}
        assert slack_posts(slack) == {(C1, "kp-2"): 1}
