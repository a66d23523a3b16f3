"""The poller: one feed from fetch to stored briefs and outbox rows.

fetch (conditional GET) → policy (next poll, backoff, state) → parse (off the loop) →
identify (stable keys; known keys are never briefed again) → for each new entry, the new-post
step (analyse → store → fan out: ingest.newpost) → the poll's result on the feed row. The
first successful fetch of a feed archives its entries without delivering them ("baseline");
later polls deliver only what is new.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from koreapage_bot.config import AnalysisConfig, PollConfig
from koreapage_bot.cpu import CpuPool
from koreapage_bot.dates import utcnow
from koreapage_bot.delivery.notices import feed_broken, feed_disabled
from koreapage_bot.domain import Brief, Feed, FeedEntry, FeedState, ParsedFeed
from koreapage_bot.ingest import policy
from koreapage_bot.ingest.fetch import FeedFetcher, FetchResult
from koreapage_bot.ingest.identity import entry_hash
from koreapage_bot.ingest.moves import record_move
from koreapage_bot.ingest.newpost import NewPostStep
from koreapage_bot.ingest.parse import NotAFeed, parse_feed
from koreapage_bot.ingest.policy import Outcome, PollDecision
from koreapage_bot.ports import (
    Analyzer,
    FeedPollUpdate,
    Metrics,
    NoMetrics,
    NoNotices,
    NoticeSink,
    Storage,
)
from koreapage_bot.stories.window import StoryWindow

log = logging.getLogger(__name__)

# Called as entries are analysed: (feed, done, total). Drives the CLI's progress bar.
Progress = Callable[[Feed, int, int], None]
# Called with each brief as soon as it is stored (`poll --json` prints it there and then).
BriefSink = Callable[[Brief], None]


@dataclass
class PollReport:
    feed_id: int
    outcome: str
    new_entries: int = 0
    updated_entries: int = 0
    briefs: list[Brief] = field(default_factory=list)
    brief_count: int = 0  # briefs made, also when they were handed to a sink, not kept
    deliveries: int = 0
    error: str | None = None
    baseline: bool = False


class Poller:
    def __init__(
        self,
        store: Storage,
        analyzer: Analyzer,
        config: PollConfig,
        *,
        trusted: FeedFetcher,
        untrusted: FeedFetcher | None = None,
        pages: FeedFetcher | None = None,
        analysis: AnalysisConfig | None = None,
        on_deliveries: Callable[[], None] | None = None,
        clock: Callable[[], datetime] = utcnow,
        metrics: Metrics | None = None,
        notices: NoticeSink | None = None,
        stories: StoryWindow | None = None,
        cpu: CpuPool | None = None,
    ) -> None:
        self._store = store
        self._cpu = cpu  # parses in its worker processes (None: a thread)
        self._metrics = metrics or NoMetrics()
        self._notices = notices or NoNotices()
        self._config = config
        # Feeds from the config or the CLI are the operator's; feeds added from chat are
        # untrusted and fetched with the SSRF guard on every poll (DNS can change later).
        self._trusted = trusted
        self._untrusted = untrusted or trusted
        # Article pages are fetched from entry links, which whoever writes the feed chose:
        # never with the operator's trust (private addresses), whatever the feed's trust.
        self.new_posts = NewPostStep(
            store,
            analyzer,
            pages=pages or self._untrusted,
            analysis=analysis,
            metrics=metrics,
            stories=stories,
        )
        self._on_deliveries = on_deliveries
        self._clock = clock

    def _fetcher(self, feed: Feed) -> FeedFetcher:
        return self._untrusted if feed.added_by else self._trusted

    async def poll(
        self,
        feed: Feed,
        progress: Progress | None = None,
        on_brief: BriefSink | None = None,
        *,
        fetched: FetchResult | None = None,
        parsed: ParsedFeed | None = None,
    ) -> PollReport:
        """Poll one feed. With `on_brief`, each brief goes there as it is stored instead of
        into `PollReport.briefs` (a first fetch of a huge feed is never held in memory).
        `fetched` (and what it `parsed` to): a response already read for this feed (the
        probe of a feed just added), used instead of fetching it again."""
        try:
            return await self._poll(feed, progress, on_brief, fetched, parsed)
        except Exception as exc:  # a bug or a database error for one feed: log, back off
            log.exception(
                "feed %d (%s): poll failed",
                feed.id,
                feed.url,
                extra={"event": "poll_error", "feed_id": feed.id},
            )
            now = self._clock()
            failed = policy.failure(feed, f"internal error: {exc}", now, self._config)
            self._metrics.poll("error", None, 0.0)
            self._tell(feed, failed)
            await self._store.feeds.apply_poll(feed.id, failed.update, now)
            return PollReport(feed.id, "error", error=str(exc))

    async def _poll(
        self,
        feed: Feed,
        progress: Progress | None,
        on_brief: BriefSink | None,
        fetched: FetchResult | None,
        given: ParsedFeed | None,
    ) -> PollReport:
        fetcher = self._fetcher(feed)
        if fetched is not None:
            result = fetched
        elif feed.url.startswith("file://"):
            result = await read_file_feed(feed.url)
        else:
            result = await fetcher.fetch(feed.url, feed.etag, feed.last_modified)
        now = self._clock()
        decision = policy.decide(feed, result, now, self._config)
        report = PollReport(feed.id, decision.outcome.value)
        parsed: ParsedFeed | None = None
        if decision.parse and given is not None:
            parsed = given
        elif decision.parse and result.body is not None:
            try:
                parsed = await parse_feed(
                    result.body, result.final_url, result.content_type, self._cpu
                )
            except NotAFeed as exc:
                decision = policy.parse_failed(
                    feed, decision, f"not a feed: {exc}", now, self._config
                )
                report.outcome = Outcome.FAILED.value
        # The bytes are read (the decision keeps their hash): let them go before the entries
        # are analysed, so a huge feed is not held twice, as bytes and as entries.
        result = replace(result, body=None)
        fetched = None
        if parsed is not None:
            report.baseline = not feed.baselined
            if parsed.title and auto_named(feed):
                # Named after its URL or file only because nothing better was known: briefs
                # say "Peninsula Alliance Monitor", not "alliance.xml".
                feed = replace(feed, name=parsed.title.strip()[:200])
            await self._ingest(feed, parsed, report, progress, on_brief)
        self._log(feed, decision)
        self._metrics.poll(report.outcome, result.status, result.elapsed)
        self._tell(feed, decision)
        change = decision.update
        report.error = change.last_error
        if parsed is not None:
            change = _with_feed_facts(change, parsed, feed)
        if change.new_url and change.new_url != feed.url:
            await record_move(self._store, feed.url, change.new_url)
        await self._store.feeds.apply_poll(feed.id, change, now)
        if report.deliveries and self._on_deliveries is not None:
            self._on_deliveries()
        return report

    def _tell(self, feed: Feed, decision: PollDecision) -> None:
        """The operators hear when a feed becomes broken or is disabled (once: a feed that
        stays broken is not told again at each poll)."""
        update = decision.update
        if update.state is FeedState.BROKEN and feed.state is FeedState.ACTIVE:
            self._notices.notify(feed_broken(feed, update.last_error, update.consecutive_failures))
        elif decision.outcome is Outcome.GONE and feed.state is not FeedState.DISABLED:
            self._notices.notify(feed_disabled(feed, update.last_error))

    def _log(self, feed: Feed, decision: PollDecision) -> None:
        update = decision.update
        if decision.outcome is Outcome.FAILED:
            when = update.next_poll_at.strftime("%H:%M UTC")
            log.warning(
                "feed %d %s: %s (failure %d%s; next try %s)",
                feed.id,
                feed.url,
                update.last_error,
                update.consecutive_failures,
                ", marked broken" if update.state is FeedState.BROKEN else "",
                when,
                extra={"event": "poll_failed", "feed_id": feed.id},
            )
        elif decision.outcome is Outcome.GONE:
            log.warning(
                "feed %d %s: 410 Gone, disabled",
                feed.id,
                feed.url,
                extra={"event": "feed_gone", "feed_id": feed.id},
            )
        else:
            log.info(
                "feed %d %s: %s",
                feed.id,
                feed.url,
                decision.outcome.value,
                extra={"event": "polled", "feed_id": feed.id},
            )
        if update.new_url:
            log.info(
                "feed %d moved permanently to %s",
                feed.id,
                update.new_url,
                extra={"event": "feed_moved", "feed_id": feed.id},
            )

    async def _ingest(
        self,
        feed: Feed,
        parsed: ParsedFeed,
        report: PollReport,
        progress: Progress | None,
        on_brief: BriefSink | None,
    ) -> None:
        wanted = {k for e in parsed.entries for k in (e.key, *e.aliases)}
        known = await self._store.briefs.known_entries(feed.id, wanted)
        matched = _match_known(parsed.entries, known)
        fresh: list[FeedEntry] = []
        for entry in parsed.entries:
            seen = matched.get(entry.key)
            if seen is None:
                fresh.append(entry)
                continue
            edited = entry_hash(entry)
            if edited != seen[1]:
                # Edited or re-published: keep the record current, never post it again.
                await self._store.briefs.touch_post(seen[0], title=entry.title, content_hash=edited)
                report.updated_entries += 1
        # Oldest first, so channels get new posts in the order they were published.
        fresh.sort(key=lambda e: (e.published is None, e.published or self._clock()))
        deliver = feed.baselined
        for done, entry in enumerate(fresh, 1):
            stored = await self.new_posts.take(feed, parsed, entry, deliver=deliver)
            if stored is None:
                continue
            report.new_entries += 1
            report.deliveries += stored.deliveries
            if stored.brief is not None:
                report.brief_count += 1
                if on_brief is not None:
                    on_brief(stored.brief)
                else:
                    report.briefs.append(stored.brief)
            if progress is not None:
                progress(feed, done, len(fresh))


async def read_file_feed(url: str) -> FetchResult:
    """A local feed file (`koreapage-bot poll PATH`), read like a fetch that answered 200."""
    path = Path(url2pathname(urlsplit(url).path))
    try:
        body = await asyncio.to_thread(path.read_bytes)
    except OSError as exc:
        return FetchResult(url=url, final_url=url, error=f"cannot read {path}: {exc.strerror}")
    return FetchResult(url=url, final_url=url, status=200, body=body)


def _match_known(
    entries: Sequence[FeedEntry], known: dict[str, tuple[int, str]]
) -> dict[str, tuple[int, str]]:
    """Entry key → the stored (post id, content hash) it is, for entries already stored.

    An entry is known by its own key, or by an alias when its key changed (a guid shared
    for one poll, a link moved to https). A stored post answers for one entry only: when two
    entries could be it, the one with the same content wins, then the first."""
    matched = {e.key: known[e.key] for e in entries if e.key in known}
    taken = {hit[0] for hit in matched.values()}
    for same_content_only in (True, False):
        for entry in entries:
            if entry.key in matched:
                continue
            for alias in entry.aliases:
                hit = known.get(alias)
                if hit is None or hit[0] in taken:
                    continue
                if same_content_only and hit[1] != entry_hash(entry):
                    continue
                matched[entry.key] = hit
                taken.add(hit[0])
                break
    return matched


def auto_named(feed: Feed) -> bool:
    """True when the feed's name is only its URL, host or file name."""
    parts = urlsplit(feed.url)
    return feed.name in (feed.url, parts.netloc, Path(url2pathname(parts.path)).name)


def _with_feed_facts(change: FeedPollUpdate, parsed: ParsedFeed, feed: Feed) -> FeedPollUpdate:
    return replace(change, title=parsed.title, site_url=parsed.link, baselined=True, name=feed.name)
