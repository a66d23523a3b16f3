"""Notices to the operators on the in-memory store: what is told, once a day per cause and
admin channel (also after a restart), retried on a 429, released when it cannot be sent, a
burst kept short; and the poller and the dispatcher reporting what they should."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from koreapage_bot.config import AnalysisConfig, DeliveryConfig, PollConfig
from koreapage_bot.delivery.dispatcher import Dispatcher
from koreapage_bot.delivery.notices import (
    MAX_EACH,
    Notifier,
    delivery_dead,
    feed_broken,
    subscription_paused,
)
from koreapage_bot.delivery.ratelimit import RateBudget
from koreapage_bot.domain import Feed, FeedState, Subscription
from koreapage_bot.ingest.fetch import FeedFetcher
from koreapage_bot.ingest.poller import Poller
from koreapage_bot.ports import Failed, Notice, PublishOutcome, RetryAfter, Sent
from koreapage_bot.store.memory import MemoryStore
from tests.fakes.feed_server import FeedServer, StatusRoute
from tests.integration.delivery.support import (
    Clock,
    FakePlatform,
    a_brief,
    a_feed,
    channel_gone,
    permanent,
    subscribe,
)
from tests.unit.ingest.test_poller import KeywordAnalyzer


@dataclass
class NoticeDesk:
    """A platform's admin channel: a NoticePublisher test double. `answers` are used one per
    call (then Sent); `told` is what reached the channel, `keys` the key of each call."""

    platform: str = "fake"
    answers: list[PublishOutcome] = field(default_factory=list)
    told: list[Notice] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)

    async def publish_notice(self, channel: str, notice: Notice, key: str) -> PublishOutcome:
        self.keys.append(key)
        answer = self.answers.pop(0) if self.answers else Sent("m")
        if isinstance(answer, Sent):
            self.told.append(notice)
        return answer


class Sleeps:
    """asyncio.sleep on virtual time: it does not wait, it moves `clock` on, and it remembers
    how long it was asked to."""

    def __init__(self) -> None:
        self.asked: list[float] = []
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


def feed(n: int = 1, name: str = "Alliance Watch") -> Feed:
    return Feed(id=n, url=f"https://news.example/{n}.xml", name=name, state=FeedState.ACTIVE)


def notifier(
    store: MemoryStore,
    desks: dict[str, NoticeDesk],
    clock: Clock,
    **kwargs: object,
) -> Notifier:
    channels = {platform: f"ops-{platform}" for platform in desks}
    return Notifier(store.notices, channels, desks, clock=clock, batch_seconds=0, **kwargs)  # type: ignore[arg-type]


async def test_a_cause_is_told_once_a_day_in_each_admin_channel_even_after_a_restart() -> None:
    store, clock = MemoryStore(), Clock(datetime(2026, 5, 1, 8, 0, tzinfo=UTC))
    desks = {"discord": NoticeDesk("discord"), "slack": NoticeDesk("slack")}
    first = notifier(store, desks, clock)
    first.notify(feed_broken(feed(), "HTTP 500", 10))
    first.notify(feed_broken(feed(), "HTTP 500", 11))  # the same cause, at once
    await first.flush()
    assert [n.cause for n in desks["discord"].told] == ["feed_broken:1"]
    assert [n.cause for n in desks["slack"].told] == ["feed_broken:1"]
    first.notify(feed_broken(feed(), "HTTP 500", 12))
    await first.close()
    # A restart: a new notifier on the same database tells nothing new the same day...
    clock.advance(3600 * 12)
    second = notifier(store, desks, clock)
    second.notify(feed_broken(feed(), "HTTP 502", 1))
    await second.flush()
    assert len(desks["discord"].told) == len(desks["slack"].told) == 1
    # ...and tells it again the next day (UTC).
    clock.advance(3600 * 5)
    second.notify(feed_broken(feed(), "HTTP 502", 2))
    await second.flush()
    assert len(desks["discord"].told) == len(desks["slack"].told) == 2


async def test_a_rate_limited_notice_waits_as_told_and_takes_the_rate_budget() -> None:
    store, clock, sleeps = MemoryStore(), Clock(), Sleeps()
    desk = NoticeDesk("slack", answers=[RetryAfter(7.0, "429", rate_limited=True)])
    budget = RateBudget(
        100.0, 10.0, key_rate=100.0, key_burst=10.0, clock=sleeps.clock, sleep=sleeps
    )
    notify = notifier(store, {"slack": desk}, clock, sleep=sleeps, budgets={"slack": budget})
    notify.notify(subscription_paused(sub(3), "slack: channel_not_found"))
    await notify.flush()
    assert [n.cause for n in desk.told] == ["subscription_paused:3"]
    assert sleeps.asked and sleeps.asked[0] >= 7.0
    assert sleeps.now >= 7.0  # the budget held the channel as long as the platform asked
    # Both tries carried the same key (a Discord nonce drops a repeat).
    assert len(desk.keys) == 2 and desk.keys[0] == desk.keys[1]
    assert len(desk.keys[0]) <= 25 and desk.keys[0].startswith("kpn-")


async def test_a_notice_that_cannot_be_sent_is_released_and_told_when_it_happens_again() -> None:
    store, clock = MemoryStore(), Clock()
    desk = NoticeDesk("discord", answers=[Failed("Discord 403 (50013): missing permissions")])
    notify = notifier(store, {"discord": desk}, clock)
    notify.notify(delivery_dead(sub(4), 17, "gave up after 8 attempts"))
    await notify.flush()
    assert desk.told == []
    notify.notify(delivery_dead(sub(4), 18, "gave up after 8 attempts"))
    await notify.flush()
    assert [n.cause for n in desk.told] == ["delivery_dead:4"]


async def test_a_burst_is_told_a_few_at_a_time_and_the_rest_in_one_list() -> None:
    store, clock = MemoryStore(), Clock()
    desk = NoticeDesk("slack")
    notify = notifier(store, {"slack": desk}, clock)
    for n in range(1, 13):  # a revoked token pauses every channel at once
        notify.notify(subscription_paused(sub(n), "slack: token_revoked"))
    notify.notify(feed_broken(feed(), "timed out", 10))
    await notify.flush()
    causes = [n.cause for n in desk.told]
    assert causes.count("feed_broken:1") == 1
    singles = [c for c in causes if c.startswith("subscription_paused:") and "batch" not in c]
    assert len(singles) == MAX_EACH
    [listing] = [n for n in desk.told if n.cause == "subscription_paused:batch"]
    assert listing.headline.startswith(f"{12 - MAX_EACH} more")
    assert len(listing.fields) == 12 - MAX_EACH
    # Every one of them counts as told today.
    notify.notify(subscription_paused(sub(12), "slack: token_revoked"))
    await notify.flush()
    assert len(desk.told) == MAX_EACH + 2


async def test_no_admin_channel_no_notices_and_a_platform_without_a_publisher_is_skipped() -> None:
    store, clock = MemoryStore(), Clock()
    desk = NoticeDesk("discord")
    silent = Notifier(store.notices, {}, {"discord": desk}, clock=clock, batch_seconds=0)
    silent.notify(feed_broken(feed(), "x", 10))
    await silent.flush()
    no_adapter = Notifier(
        store.notices, {"slack": "C0OPS"}, {"discord": desk}, clock=clock, batch_seconds=0
    )
    assert no_adapter.targets == []
    no_adapter.notify(feed_broken(feed(), "x", 10))
    await no_adapter.flush()
    assert desk.told == []


def sub(n: int, platform: str = "slack", channel: str = "C0NEWS") -> Subscription:
    return Subscription(id=n, platform=platform, workspace="T1", channel=f"{channel}{n}")


# -- who reports --------------------------------------------------------------------------------


class Recorder:
    """A NoticeSink that keeps what it is told."""

    def __init__(self) -> None:
        self.notices: list[Notice] = []

    def notify(self, notice: Notice) -> None:
        self.notices.append(notice)


async def test_the_poller_reports_a_feed_that_breaks_once_and_a_gone_feed(tmp_path: Path) -> None:
    store, told = MemoryStore(), Recorder()
    config = PollConfig(interval_seconds=900, min_interval_seconds=900, broken_after=2)
    async with FeedServer() as server, FeedFetcher(allow_private=True) as fetcher:
        server.route("/down.xml", StatusRoute(500))
        server.route("/gone.xml", StatusRoute(410))
        poller = Poller(
            store,
            KeywordAnalyzer(),
            config,
            trusted=fetcher,
            analysis=AnalysisConfig(fetch_full_text=False),
            notices=told,
        )
        down, _ = await store.feeds.add(server.url("/down.xml"), "Down <@&123> Daily")
        gone, _ = await store.feeds.add(server.url("/gone.xml"), "Gone Weekly")
        for _ in range(4):  # broken at the second failure, still broken after
            current = await store.feeds.get(down.id)
            assert current is not None
            await poller.poll(current)
        await poller.poll(gone)
    assert [n.cause for n in told.notices] == [f"feed_broken:{down.id}", f"feed_disabled:{gone.id}"]
    broken = told.notices[0]
    assert ("Feed", f"#{down.id} Down <@&123> Daily") in broken.fields  # quoted as is
    assert ("Last error", "HTTP 500 Internal Server Error") in broken.fields
    assert broken.headline == "A feed is broken after 2 failed polls"


async def test_the_dispatcher_reports_a_paused_channel_and_a_dead_delivery() -> None:
    store, clock, told = MemoryStore(), Clock(), Recorder()
    platform = FakePlatform(
        per_channel={"gone": [channel_gone("403 Missing Access")], "bad": [permanent()]}
    )
    the_feed = await a_feed(store)  # type: ignore[arg-type]
    paused = await subscribe(store, "gone")  # type: ignore[arg-type]
    dead = await subscribe(store, "bad")  # type: ignore[arg-type]
    await a_brief(store, the_feed, "Alliance talks")  # type: ignore[arg-type]
    dispatcher = Dispatcher(
        store,
        {"fake": platform},
        DeliveryConfig(publish_timeout_seconds=1.0),
        clock=clock,
        notices=told,
    )
    await dispatcher.drain()
    causes = sorted(n.cause for n in told.notices)
    assert causes == [f"delivery_dead:{dead.id}", f"subscription_paused:{paused.id}"]
    by_cause = {n.cause: n for n in told.notices}
    assert ("Reason", "403 Missing Access") in by_cause[f"subscription_paused:{paused.id}"].fields
    assert ("Error", "400 Invalid Form Body") in by_cause[f"delivery_dead:{dead.id}"].fields
    assert "subscriptions resume" in (by_cause[f"subscription_paused:{paused.id}"].hint or "")


def test_notice_text_reads_as_plain_lines() -> None:
    notice = subscription_paused(sub(9, "discord", "55"), "missing permissions")
    assert notice.text.splitlines()[0] == notice.headline
    assert "Channel: discord:559 (workspace T1)" in notice.text
