"""The notice log (one notice per cause, admin channel and day) and the statistics the metrics
page reads, on every store: in memory, SQLite, PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from koreapage_bot.domain import FeedState
from koreapage_bot.ports import FeedPollUpdate
from tests.integration.delivery.support import Clock, a_brief, a_feed, claim_heads, subscribe

DAY = date(2026, 5, 1)


async def test_a_notice_is_claimed_once_per_cause_channel_and_day(store: Any) -> None:
    clock = Clock()
    log = store.notices
    first = await log.claim("feed_broken:1", "slack", "C0OPS", DAY, clock())
    assert first is not None
    assert await log.claim("feed_broken:1", "slack", "C0OPS", DAY, clock()) is None
    # Another cause, another admin channel, another day: each is told.
    assert await log.claim("feed_broken:2", "slack", "C0OPS", DAY, clock()) is not None
    assert await log.claim("feed_broken:1", "discord", "42", DAY, clock()) is not None
    next_day = DAY + timedelta(days=1)
    assert await log.claim("feed_broken:1", "slack", "C0OPS", next_day, clock()) is not None
    await log.mark_sent(first, clock())
    assert await log.claim("feed_broken:1", "slack", "C0OPS", DAY, clock()) is None


async def test_a_released_notice_may_be_told_again_and_old_days_are_pruned(store: Any) -> None:
    clock = Clock()
    log = store.notices
    claimed = await log.claim("delivery_dead:3", "discord", "42", DAY, clock())
    assert claimed is not None
    await log.release(claimed)
    assert await log.claim("delivery_dead:3", "discord", "42", DAY, clock()) is not None
    await log.claim("delivery_dead:3", "discord", "42", DAY + timedelta(days=1), clock())
    assert await log.prune(DAY + timedelta(days=1)) == 1
    # The pruned day is free again; the kept one is not.
    assert await log.claim("delivery_dead:3", "discord", "42", DAY, clock()) is not None
    tomorrow = DAY + timedelta(days=1)
    assert await log.claim("delivery_dead:3", "discord", "42", tomorrow, clock()) is None


async def test_stats_count_feeds_and_deliveries_and_find_the_oldest_due(store: Any) -> None:
    clock = Clock()
    feed = await a_feed(store)
    broken = await a_feed(store, "Broken Wire")
    await store.feeds.apply_poll(
        broken.id,
        FeedPollUpdate(
            next_poll_at=clock(),
            state=FeedState.BROKEN,
            consecutive_failures=10,
            last_error="HTTP 500",
            etag=None,
            last_modified=None,
            content_hash=None,
        ),
        clock(),
    )
    gone = await a_feed(store, "Gone Daily")
    await store.feeds.disable(gone.id)
    slack = await subscribe(store, "C0A", "slack")
    await subscribe(store, "111", "discord")
    paused = await subscribe(store, "222", "discord")
    await store.subscriptions.pause(paused.id, "missing permissions")
    await a_brief(store, feed, "First")  # one row per channel
    await a_brief(store, feed, "Second")
    # One Slack row sent, one Discord row dead.
    [slack_head] = await claim_heads(store, clock(), ["slack"])
    await store.outbox.mark_sent(slack_head.delivery.id, "ts-1", clock())
    [discord_head] = await claim_heads(store, clock(), ["discord"])
    await store.outbox.mark_dead(discord_head.delivery.id, "HTTP 400", clock())

    later = clock.advance(120)
    stats = await store.stats.stats(later)
    assert stats.feeds == {"active": 1, "broken": 1, "disabled": 1}
    assert stats.deliveries == {
        ("slack", "sent"): 1,
        ("slack", "pending"): 1,
        ("discord", "dead"): 1,
        ("discord", "pending"): 3,  # one for the active channel, two for the paused one
    }
    # The oldest due row of an active channel, per platform (the paused channel's rows wait
    # on purpose and do not count).
    assert set(stats.oldest_due) == {"slack", "discord"}
    for platform in ("slack", "discord"):
        waited = (later - stats.oldest_due[platform]).total_seconds()
        assert 100 < waited < 200, (platform, waited)
    assert slack.platform == "slack"
    # Nothing is due yet at a time before every row's due time.
    early = await store.stats.stats(later - timedelta(days=1))
    assert early.oldest_due == {}
