"""`/metrics` in the Prometheus text format, with prometheus-client.

One `CollectorRegistry` per bot, built by bootstrap (nothing is registered at import time, and
two bots in one process — tests — count apart). `PrometheusMetrics` implements `ports.Metrics`
for the core, which never imports this module. What the database holds (feeds by state,
deliveries by platform and state, the oldest due delivery) is read at each scrape: the aiohttp
handler awaits the store first, then renders, and the collector only reads that snapshot
(`collect` is synchronous and must not touch the database).

Series (all prefixed `koreapage_`):
- counters: `polls_total{outcome,status}`, `new_posts_total{brief}`, `briefs_total`,
  `delivery_attempts_total{platform,result}`, `rate_limited_total{platform,scope}`,
  `rate_limit_wait_seconds_total{platform}`, `commands_total{platform,command,outcome}`,
  `notices_total{platform,result}`;
- histograms: `fetch_seconds`, `analysis_seconds`;
- gauges read from the database: `feeds{state}`, `deliveries{platform,state}`,
  `outbox_depth{platform}` (pending or sending), `outbox_oldest_due_seconds{platform}`;
- the process collector's `process_*` series (CPU, memory, open files) where /proc exists.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from koreapage_bot.dates import utcnow
from koreapage_bot.domain import DeliveryState, FeedState
from koreapage_bot.ports import StoreStats

PREFIX = "koreapage"
# Feed fetches: from a fast 304 to the total timeout (60 s by default).
FETCH_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
# One post's analysis: milliseconds for an excerpt, a second or more for a long page.
ANALYSIS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

StatsReader = Callable[[datetime], Awaitable[StoreStats]]


def _status(status: int | None) -> str:
    return str(status) if status is not None else "none"


class StoreCollector(Collector):
    """The database gauges, from the snapshot the scrape handler read just before."""

    def __init__(self) -> None:
        self.snapshot: StoreStats | None = None
        self.taken_at: datetime | None = None

    def collect(self) -> Iterable[Metric]:
        snap, now = self.snapshot, self.taken_at
        if snap is None or now is None:
            return []
        feeds = GaugeMetricFamily(f"{PREFIX}_feeds", "Feeds followed, by state.", labels=["state"])
        for state in FeedState:  # every state, so a dashboard sees a 0 rather than a gap
            feeds.add_metric([state.value], snap.feeds.get(state.value, 0))
        deliveries = GaugeMetricFamily(
            f"{PREFIX}_deliveries",
            "Deliveries in the outbox, by platform and state.",
            labels=["platform", "state"],
        )
        platforms = sorted({p for p, _ in snap.deliveries} | set(snap.oldest_due))
        for platform in platforms:
            for d_state in DeliveryState:
                deliveries.add_metric(
                    [platform, d_state.value], snap.deliveries.get((platform, d_state.value), 0)
                )
        depth = GaugeMetricFamily(
            f"{PREFIX}_outbox_depth",
            "Deliveries not settled yet (pending or sending), by platform.",
            labels=["platform"],
        )
        oldest = GaugeMetricFamily(
            f"{PREFIX}_outbox_oldest_due_seconds",
            "How long the longest-waiting due delivery of an active channel has waited "
            "(0: nothing is overdue).",
            labels=["platform"],
        )
        for platform in platforms:
            waiting = sum(
                snap.deliveries.get((platform, s.value), 0)
                for s in (DeliveryState.PENDING, DeliveryState.SENDING)
            )
            depth.add_metric([platform], waiting)
            due = snap.oldest_due.get(platform)
            oldest.add_metric([platform], max(0.0, (now - due).total_seconds()) if due else 0.0)
        return [feeds, deliveries, depth, oldest]


class PrometheusMetrics:
    """`ports.Metrics` on a registry of its own."""

    def __init__(self, *, process: bool = True) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.polls = Counter(
            f"{PREFIX}_polls",
            "Feed polls, by outcome (changed, not_modified, unchanged, failed, gone, error) "
            "and HTTP status (none: no response).",
            ["outcome", "status"],
            registry=r,
        )
        self.fetch_seconds = Histogram(
            f"{PREFIX}_fetch_seconds", "Time to fetch a feed.", buckets=FETCH_BUCKETS, registry=r
        )
        self.new_posts = Counter(
            f"{PREFIX}_new_posts",
            "Posts stored for the first time; brief=true when the post made a brief.",
            ["brief"],
            registry=r,
        )
        self.briefs = Counter(f"{PREFIX}_briefs", "Briefs made.", registry=r)
        self.analysis_seconds = Histogram(
            f"{PREFIX}_analysis_seconds",
            "Time to analyse one post.",
            buckets=ANALYSIS_BUCKETS,
            registry=r,
        )
        self.deliveries = Counter(
            f"{PREFIX}_delivery_attempts",
            "Delivery attempts by platform and result (sent, retry, rate_limited, paused, dead).",
            ["platform", "result"],
            registry=r,
        )
        self.rate_limits = Counter(
            f"{PREFIX}_rate_limited",
            "429 answers from a platform; scope=platform when the limit held every channel.",
            ["platform", "scope"],
            registry=r,
        )
        self.rate_waits = Counter(
            f"{PREFIX}_rate_limit_wait_seconds",
            "Time sends waited for the platform's rate budget.",
            ["platform"],
            registry=r,
        )
        self.commands = Counter(
            f"{PREFIX}_commands",
            "Slash commands by platform, command and the reply's kind (error: refused or "
            "failed; usage: malformed).",
            ["platform", "command", "outcome"],
            registry=r,
        )
        self.notices = Counter(
            f"{PREFIX}_notices",
            "Notices to the operators' channels: sent, failed, repeat (already told today).",
            ["platform", "result"],
            registry=r,
        )
        self.store = StoreCollector()
        r.register(self.store)
        if process:
            ProcessCollector(registry=r)

    # -- ports.Metrics -------------------------------------------------------------------------

    def poll(self, outcome: str, status: int | None, seconds: float) -> None:
        self.polls.labels(outcome, _status(status)).inc()
        if status is not None:  # a fetch happened (a local file or a crash before it: none)
            self.fetch_seconds.observe(max(seconds, 0.0))

    def new_post(self, *, brief: bool) -> None:
        self.new_posts.labels("true" if brief else "false").inc()
        if brief:
            self.briefs.inc()

    def analysis(self, seconds: float) -> None:
        self.analysis_seconds.observe(max(seconds, 0.0))

    def delivery(self, platform: str, result: str) -> None:
        self.deliveries.labels(platform, result).inc()

    def rate_limited(self, platform: str, *, platform_wide: bool) -> None:
        self.rate_limits.labels(platform, "platform" if platform_wide else "channel").inc()

    def rate_limit_wait(self, platform: str, seconds: float) -> None:
        if seconds > 0:
            self.rate_waits.labels(platform).inc(seconds)

    def command(self, platform: str, command: str, outcome: str) -> None:
        self.commands.labels(platform, command, outcome).inc()

    def notice(self, platform: str, result: str) -> None:
        self.notices.labels(platform, result).inc()

    # -- the page ------------------------------------------------------------------------------

    async def render(self, read_stats: StatsReader, accept: str = "") -> tuple[bytes, str]:
        """The page's body and content type (the text format, or OpenMetrics when asked)."""
        now = utcnow()
        snapshot = await read_stats(now)
        # No await from here on: the snapshot and the counters are rendered together.
        self.store.snapshot, self.store.taken_at = snapshot, now
        encoder, content_type = choose_encoder(accept)
        return encoder(self.registry), content_type

    def handler(self, read_stats: StatsReader) -> Callable[[web.Request], Awaitable[web.Response]]:
        """The aiohttp handler for `/metrics` (GET and HEAD)."""

        async def metrics(request: web.Request) -> web.Response:
            body, content_type = await self.render(read_stats, request.headers.get("Accept", ""))
            response = web.Response(body=body)
            # Set whole: aiohttp's `content_type=` would drop the version parameter.
            response.headers["Content-Type"] = content_type
            response.headers["Cache-Control"] = "no-store"
            return response

        return metrics
