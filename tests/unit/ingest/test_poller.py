"""The poller, the new-post step and the poll pipeline on the in-memory store: feeds are local
files, the analyser a small keyword rule that implements ports.Analyzer."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from koreapage_bot.config import AnalysisConfig, PollConfig
from koreapage_bot.delivery.digests import Digests
from koreapage_bot.domain import (
    Analysis,
    ArticleInput,
    Feed,
    FeedEntry,
    FeedState,
    KeyIssue,
)
from koreapage_bot.ingest.fetch import FeedFetcher
from koreapage_bot.ingest.moves import sync_config_feeds
from koreapage_bot.ingest.pipeline import PollPipeline
from koreapage_bot.ingest.poller import Poller
from koreapage_bot.ports import NewPost, SubscriptionSpec
from koreapage_bot.store.memory import MemoryStore
from tests.fakes.feed_server import Item, render_rss

DAY = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
POLL = PollConfig(interval_seconds=900, min_interval_seconds=900, broken_after=3)


class KeywordAnalyzer:
    """ports.Analyzer: relevant when the title says "alliance"; the key issue `usfk` when it
    says "troops"."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    async def analyze(self, article: ArticleInput) -> Analysis:
        self.seen.append(article.title)
        title = article.title.lower()
        issues = (KeyIssue("usfk", "USFK", 0.9),) if "troops" in title else ()
        return Analysis(
            relevant="alliance" in title,
            relevance=0.9 if "alliance" in title else 0.1,
            key_issues=issues,
            author=article.author,
            summary=f"{article.title}: a summary.",
            why=("keyword",),
            text=article.title,
        )


def item(n: int, title: str) -> Item:
    return Item(
        title,
        link=f"https://alliance.example/{n}",
        guid=f"urn:post:{n}",
        published=DAY + timedelta(hours=n),
        description=f"Body of post {n}.",
    )


class Harness:
    def __init__(self, tmp_path: Path, analyzer: object | None = None) -> None:
        self.store = MemoryStore()
        self.path = tmp_path / "feed.xml"
        self.analyzer = analyzer or KeywordAnalyzer()
        self.woken: list[None] = []
        self.poller = Poller(
            self.store,
            self.analyzer,  # type: ignore[arg-type]
            POLL,
            trusted=FeedFetcher(),  # file feeds need no HTTP
            analysis=AnalysisConfig(fetch_full_text=False),
            on_deliveries=lambda: self.woken.append(None),
        )

    def write(self, items: Sequence[Item]) -> None:
        self.path.write_bytes(render_rss(items))

    async def feed(self) -> Feed:
        found = await self.store.feeds.by_url(self.path.as_uri())
        if found is None:
            found, _ = await self.store.feeds.add(self.path.as_uri(), "Alliance Watch")
        return found

    async def subscribe(self, channel: str, **spec: object) -> int:
        sub, _ = await self.store.subscriptions.upsert(
            SubscriptionSpec("fake", channel, **spec)  # type: ignore[arg-type]
        )
        return sub.id


async def test_a_first_poll_archives_and_later_posts_fan_out_to_the_channels_that_want_them(
    tmp_path: Path,
) -> None:
    h = Harness(tmp_path)
    everything = await h.subscribe("ch-all")
    troops = await h.subscribe("ch-usfk", issues=("usfk",))
    await h.subscribe("ch-gsomia", issues=("gsomia",))
    await h.subscribe("ch-digest", per_brief=False, digest_time="08:00")
    paused = await h.subscribe("ch-paused")
    await h.store.subscriptions.pause(paused, "403 Missing Access")
    h.write([item(1, "Alliance summit"), item(2, "K-pop tour")])

    first = await h.poller.poll(await h.feed())
    assert (first.outcome, first.baseline, first.new_entries, first.brief_count) == (
        "changed",
        True,
        2,
        1,
    )
    assert await h.store.outbox.all() == []  # archived, not announced
    assert h.woken == []

    h.write([item(3, "Alliance troops rotate"), item(1, "Alliance summit"), item(2, "K-pop tour")])
    second = await h.poller.poll(await h.feed())
    assert (second.new_entries, second.brief_count, second.deliveries) == (1, 1, 3)
    rows = await h.store.outbox.all()
    assert {r.subscription_id for r in rows} == {everything, troops, paused}
    assert {r.brief_id for r in rows} == {second.briefs[0].id}
    assert h.woken == [None]  # the dispatcher is told at once

    again = await h.poller.poll(await h.feed())  # the same body: nothing to parse
    assert (again.outcome, again.new_entries) == ("unchanged", 0)
    assert h.analyzer.seen.count("Alliance troops rotate") == 1  # type: ignore[attr-defined]


async def test_an_edited_entry_is_recorded_and_never_posted_again(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    await h.subscribe("ch-all")
    h.write([item(1, "Alliance summit")])
    await h.poller.poll(await h.feed())
    h.write([item(1, "Alliance summit (updated)")])
    report = await h.poller.poll(await h.feed())
    assert (report.new_entries, report.updated_entries, report.deliveries) == (0, 1, 0)
    assert await h.store.outbox.all() == []


async def test_an_entry_another_poller_stored_meanwhile_is_not_a_failure(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    class Racing(KeywordAnalyzer):
        """While this poll analyses the entry, `poll` beside the bot stores it."""

        def __init__(self, store: MemoryStore) -> None:
            super().__init__()
            self.store = store

        async def analyze(self, article: ArticleInput) -> Analysis:
            result = await super().analyze(article)
            feed = await self.store.feeds.get(1)
            assert feed is not None
            entry = FeedEntry(article.id, article.url, article.title, None, None, "", None)
            await self.store.briefs.store_post(feed, NewPost(entry, result, "h", result.relevant))
            return result

    h = Harness(tmp_path)
    h.poller = Poller(h.store, Racing(h.store), POLL, trusted=FeedFetcher())
    h.write([item(1, "Alliance summit")])
    feed = await h.feed()
    with caplog.at_level(logging.INFO):
        report = await h.poller.poll(feed)
    assert (report.outcome, report.error, report.new_entries) == ("changed", None, 0)
    after = await h.store.feeds.get(feed.id)
    assert after is not None and after.consecutive_failures == 0 and after.baselined
    events = [r for r in caplog.records if getattr(r, "event", None) == "entry_stored_elsewhere"]
    assert [r.feed_id for r in events] == [feed.id]  # type: ignore[attr-defined]


async def test_a_body_that_is_not_a_feed_is_a_failure_that_forgets_the_validators(
    tmp_path: Path,
) -> None:
    h = Harness(tmp_path)
    h.path.write_text("<html><body>Not a feed</body></html>", encoding="utf-8")
    report = await h.poller.poll(await h.feed())
    feed = await h.feed()
    assert report.outcome == "failed" and "not a feed" in (report.error or "")
    assert (feed.consecutive_failures, feed.content_hash, feed.baselined) == (1, None, False)
    assert feed.next_poll_at is not None and feed.last_polled_at is not None
    assert feed.next_poll_at >= feed.last_polled_at + timedelta(seconds=900)


async def test_a_poll_that_breaks_backs_the_feed_off_and_says_why(tmp_path: Path) -> None:
    class Broken(KeywordAnalyzer):
        async def analyze(self, article: ArticleInput) -> Analysis:
            raise RuntimeError("the analyser fell over")

    h = Harness(tmp_path, Broken())
    h.write([item(1, "Alliance summit")])
    report = await h.poller.poll(await h.feed())
    feed = await h.feed()
    assert report.outcome == "error"
    assert feed.consecutive_failures == 1
    assert feed.last_error == "internal error: the analyser fell over"
    assert feed.state is FeedState.ACTIVE


async def test_the_pipeline_polls_every_due_feed_once_and_leaves_a_leased_one_alone(
    tmp_path: Path,
) -> None:
    h = Harness(tmp_path)
    feeds = []
    for n in range(4):
        path = tmp_path / f"feed-{n}.xml"
        path.write_bytes(render_rss([item(n, f"Alliance note {n}")]))
        feed, _ = await h.store.feeds.add(path.as_uri(), f"feed {n}")
        feeds.append(feed)
    # Another process leased the last feed a moment ago.
    leased = await h.store.feeds.claim([feeds[-1]], datetime.now(UTC), timedelta(minutes=5))
    assert leased == [feeds[-1]]
    pipeline = PollPipeline(
        h.poller, h.store.feeds, concurrency=2, per_host_limit=1, lease=timedelta(minutes=2)
    )

    stats = await pipeline.poll_due_now()

    assert sorted(r.feed_id for r in stats.reports) == [f.id for f in feeds[:3]]
    assert (stats.polled, stats.new_entries, stats.briefs, stats.failed) == (3, 3, 3, 0)
    for feed in feeds[:3]:
        after = await h.store.feeds.get(feed.id)
        assert after is not None and after.baselined and after.last_polled_at is not None
    assert (await pipeline.poll_due_now()).polled == 0  # nothing is due again yet


async def test_a_config_feed_that_moved_is_not_added_again(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    config = [("https://old.example/feed", "Old", None), ("https://other.example/feed", "x", 3600)]
    assert await sync_config_feeds(h.store, config) == 2
    assert await sync_config_feeds(h.store, config) == 0
    old = await h.store.feeds.by_url("https://old.example/feed")
    assert old is not None
    await h.store.feeds.disable(old.id, "moved")
    await h.store.set_meta("redirect:https://old.example/feed", "https://new.example/feed")
    assert await sync_config_feeds(h.store, config) == 0


class RecordingJobs:
    """delivery.digests.DailyJobs that remembers what is scheduled."""

    def __init__(self) -> None:
        self.jobs: dict[str, tuple[str, str]] = {}

    def set_daily(self, job_id: str, at: str, tz: str, job: object, arg: int) -> None:
        self.jobs[job_id] = (at, tz)

    def cancel(self, job_id: str) -> None:
        del self.jobs[job_id]


async def test_digest_jobs_follow_the_subscriptions() -> None:
    store, jobs = MemoryStore(), RecordingJobs()
    digests = Digests(store, jobs)
    morning, _ = await store.subscriptions.upsert(
        SubscriptionSpec("fake", "ch-1", digest_time="08:00", digest_tz="Asia/Seoul")
    )
    await store.subscriptions.upsert(SubscriptionSpec("fake", "ch-2"))  # no digest
    await digests.sync()
    assert jobs.jobs == {f"digest:{morning.id}": ("08:00", "Asia/Seoul")}
    await store.subscriptions.upsert(
        SubscriptionSpec("fake", "ch-1", digest_time="18:30", digest_tz="UTC")
    )
    await digests.sync()
    assert jobs.jobs == {f"digest:{morning.id}": ("18:30", "UTC")}
    await store.subscriptions.remove(morning.id)
    await digests.sync()
    assert jobs.jobs == {}
