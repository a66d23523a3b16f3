"""The continuous poll pipeline: keep up to `concurrency` feed polls in flight, each on its own.

A feed's poll only ever delays that feed. A slot that frees starts the next claimed feed at
once (never waiting for a "round"); due feeds are claimed a little ahead, in batches, and at
most `per_host_limit` polls run per host so one site's feeds never take every slot. When
nothing more can start, the loop sleeps until a poll finishes, the next feed falls due, a feed
is added (`wake`), or `idle_seconds` pass (feeds added by another process).

Each claimed feed is leased in the store (its `next_poll_at` moves to the lease's end), so a
second process (`run --once` beside `run`) never polls it at the same time. The lease is short
(the fetch's own time limits plus a margin), renewed while the poll runs, and released on every
way out: the poll's result replaces it, and a poll cancelled at shutdown hands the feed back at
its due time, like the feeds claimed but not started. A `kill -9` leaves leases that run out
within one lease period.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from koreapage_bot.dates import utcnow
from koreapage_bot.domain import Brief, Feed, ParsedFeed
from koreapage_bot.ingest.fetch import FetchResult
from koreapage_bot.ingest.poller import Poller, PollReport
from koreapage_bot.ports import FeedStore

log = logging.getLogger(__name__)

# Parsing, analysis and storing after the last byte arrived; the lease is renewed while a
# poll runs, so this only needs to cover one renewal period.
LEASE_MARGIN_SECONDS = 60.0
# The most due feeds read at once when looking past a busy host's backlog.
_MAX_WINDOW = 4096


def poll_lease(total_timeout: float) -> timedelta:
    """How long a claimed feed stays leased before another process may take it."""
    return timedelta(seconds=total_timeout + LEASE_MARGIN_SECONDS)


@dataclass
class PassStats:
    """What one `poll_due_now` pass did."""

    polled: int = 0
    new_entries: int = 0
    briefs: int = 0
    failed: int = 0
    reports: list[PollReport] = field(default_factory=list)

    def add(self, report: PollReport) -> None:
        self.polled += 1
        self.new_entries += report.new_entries
        self.briefs += report.brief_count
        self.failed += report.outcome == "failed" or report.outcome == "error"
        self.reports.append(report)


def host_of(url: str) -> str:
    """The politeness key of a feed URL (host and port); "" for files."""
    try:
        parts = urlsplit(url)
        return f"{(parts.hostname or '').lower()}:{parts.port or ''}" if parts.hostname else ""
    except ValueError:
        return url


class PollPipeline:
    def __init__(
        self,
        poller: Poller,
        feeds: FeedStore,
        *,
        concurrency: int,
        per_host_limit: int,
        lease: timedelta,
        idle_seconds: float = 30.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        if concurrency < 1 or per_host_limit < 1:
            raise ValueError("concurrency and per_host_limit must be at least 1")
        self._poller = poller
        self._feeds = feeds
        self._concurrency = concurrency
        self._per_host = per_host_limit
        self._lease = lease
        self._idle = idle_seconds
        self._clock = clock
        self._tasks: dict[asyncio.Task[PollReport | None], str] = {}
        self._hosts: Counter[str] = Counter()  # polls in flight per host
        # Feeds claimed a little ahead, so a slot that frees starts the next poll at once
        # instead of waiting for a round trip to the store; refilled in batches.
        self._ready: deque[_Claim] = deque()
        self._kick = asyncio.Event()
        self._stopping = False
        self._loop_task: asyncio.Task[None] | None = None
        self._on_report: Callable[[PollReport], None] | None = None

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    def wake(self) -> None:
        """A feed was added or made due: look for work now rather than at the next timer."""
        self._kick.set()

    # -- the long-running loop (`run`) ------------------------------------------------------

    def start(self) -> None:
        if self._loop_task is None:
            self._stopping = False
            self._loop_task = asyncio.create_task(self._run(), name="poll-pipeline")

    async def stop(self, grace_seconds: float = 15.0) -> None:
        """Start nothing new; let polls in flight finish for `grace_seconds`, then cancel the
        rest (each hands its feed back, due again)."""
        self._stopping = True
        self._kick.set()
        if self._loop_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
            self._loop_task = None
        await asyncio.gather(self._release_ready(), self._finish(grace_seconds))

    async def _run(self) -> None:
        while not self._stopping:
            self._kick.clear()
            try:
                await self._fill(due_by=None)
                timeout = await self._idle_timeout()
            except Exception:  # the store is unreachable for a moment: try again later
                log.exception("poll pipeline: cannot read the feed list; retrying")
                timeout = min(self._idle, 5.0)
            if self._stopping:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._kick.wait(), timeout)

    async def _idle_timeout(self) -> float | None:
        """How long to sleep when no poll can start now (a finishing poll wakes us anyway)."""
        if self.in_flight >= self._concurrency:
            return None
        next_due = await self._feeds.next_due_at()
        if next_due is None:
            return self._idle
        delay = (next_due - self._clock()).total_seconds()
        if delay <= 0:
            # Due, yet not claimed: its host is busy (a finishing poll wakes us) or another
            # process just took it. Look again soon.
            return min(self._idle, 1.0)
        return min(self._idle, delay + 0.01)

    # -- one pass (`run --once`, and tests) --------------------------------------------------

    async def poll_due_now(self) -> PassStats:
        """Poll every feed that is due now, with the same slots, per-host limits and leases
        as the loop, and return when all are done. Feeds that fall due meanwhile wait.
        Not while the loop runs (`start`): it would share the loop's slots."""
        if self._loop_task is not None:
            raise RuntimeError("the poll loop is running; it polls due feeds by itself")
        stats = PassStats()
        due_by = self._clock()
        self._on_report = stats.add
        try:
            while True:
                self._kick.clear()
                claimed = await self._fill(due_by=due_by)
                if not claimed and not self._tasks and not self._ready:
                    break
                if self._tasks:
                    await self._kick.wait()
        except BaseException:
            # Cancelled (Ctrl-C): hand back the feeds claimed and the ones in flight.
            await asyncio.gather(self._release_ready(), self._finish(0.0))
            raise
        finally:
            self._on_report = None
        return stats

    # -- a feed just added -------------------------------------------------------------------

    async def first_poll(
        self, feed: Feed, fetched: FetchResult, parsed: ParsedFeed | None = None
    ) -> None:
        """Poll a feed just added from the response its probe read (no second fetch). The
        feed is leased first, like any claim; if another process took it, that one polls it.
        While the loop runs, the poll is one of its tasks and this returns at once; else
        (a CLI command) it runs to the end here."""
        now = self._clock()
        if not await self._feeds.claim([feed], now, self._lease):
            return
        claim = _Claim(feed, now + self._lease, now, host_of(feed.url), fetched, parsed)
        if self._loop_task is None:
            await self._poll_one(claim)
        else:
            self._launch(claim)

    # -- claiming and running ----------------------------------------------------------------

    async def _fill(self, due_by: datetime | None) -> int:
        """Start what fits from the claimed feeds, then top them up when they run low (a
        batch at a time: one read and one write to the store for several feeds). Returns how
        many feeds were claimed."""
        self._start_ready()
        if self._stopping or len(self._ready) > self._concurrency // 2:
            return 0
        want = 2 * self._concurrency - self.in_flight - len(self._ready)
        now = self._clock()
        # Read more than fit: feeds of a busy host are passed over, not waited for. When a
        # busy host's backlog fills the window, look further (rarely).
        window = want * 2 + 16
        while True:
            candidates = await self._feeds.due(due_by or now, window)
            chosen = self._choose(candidates, want)
            if chosen or len(candidates) < window or window >= _MAX_WINDOW:
                break
            window *= 4
        if not chosen:
            return 0
        claimed = await self._feeds.claim(chosen, now, self._lease)
        held = now + self._lease
        self._ready.extend(_Claim(feed, held, now, host_of(feed.url)) for feed in claimed)
        self._start_ready()
        return len(claimed)

    def _choose(self, candidates: list[Feed], want: int) -> list[Feed]:
        """Up to `want` of `candidates`, in order, so that each host has at most
        `per_host_limit` polls in flight and as many waiting."""
        hosts = Counter(self._hosts)
        hosts.update(c.host for c in self._ready)
        chosen: list[Feed] = []
        for feed in candidates:
            host = host_of(feed.url)
            if host and hosts[host] >= 2 * self._per_host:
                continue
            hosts[host] += 1
            chosen.append(feed)
            if len(chosen) == want:
                break
        return chosen

    def _start_ready(self) -> None:
        """Start claimed feeds into the free slots, each host within its limit."""
        skipped: list[_Claim] = []
        while not self._stopping and self._ready and self.in_flight < self._concurrency:
            claim = self._ready.popleft()
            if claim.host and self._hosts[claim.host] >= self._per_host:
                skipped.append(claim)  # its host is busy: it keeps its place
                continue
            self._launch(claim)
        self._ready.extendleft(reversed(skipped))

    def _launch(self, claim: _Claim) -> None:
        task = asyncio.create_task(self._poll_one(claim), name=f"poll-feed-{claim.feed.id}")
        self._tasks[task] = claim.host
        self._hosts[claim.host] += 1
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[PollReport | None]) -> None:
        host = self._tasks.pop(task, "")
        self._hosts[host] -= 1
        if self._hosts[host] <= 0:
            del self._hosts[host]
        if not task.cancelled() and task.exception() is None:
            report = task.result()
            if report is not None and self._on_report is not None:
                self._on_report(report)
        self._start_ready()  # the freed slot is used now, not after a store round trip
        self._kick.set()

    async def _release_ready(self) -> None:
        """Hand back the feeds claimed but not started (shutdown)."""
        while self._ready:
            claim = self._ready.popleft()
            lease = _Lease(self._feeds, claim.feed, claim.held, self._lease, self._clock)
            with contextlib.suppress(Exception):
                await lease.release()

    async def _poll_one(self, claim: _Claim) -> PollReport | None:
        feed = claim.feed
        lease = _Lease(self._feeds, feed, claim.held, self._lease, self._clock)
        if self._clock() - claim.claimed_at > self._lease / 3:
            # It waited long for a slot: make sure the lease is still ours before polling.
            try:
                fresh = await lease.renew()
            except Exception:
                fresh = False
            if not fresh:
                log.info(
                    "feed %d: its poll lease ran out while it waited; skipped",
                    feed.id,
                    extra={"event": "poll_lease_lost", "feed_id": feed.id},
                )
                return None
        keeper = asyncio.create_task(lease.keep(), name=f"lease-feed-{feed.id}")
        recorded = False
        try:
            # `Poller.poll` writes the result (which replaces the lease) and never raises for
            # one feed's trouble; only cancellation (shutdown) gets past it.
            report = await self._poller.poll(
                feed, on_brief=_keep_none, fetched=claim.fetched, parsed=claim.parsed
            )
            recorded = True
            return report
        except asyncio.CancelledError:
            log.info(
                "feed %d %s: poll cut short by shutdown; due again",
                feed.id,
                feed.url,
                extra={"event": "poll_cut_short", "feed_id": feed.id},
            )
            raise
        except Exception:  # the result could not be written (store down)
            log.exception(
                "feed %d %s: poll failed",
                feed.id,
                feed.url,
                extra={"event": "poll_error", "feed_id": feed.id},
            )
            return None
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
            if not recorded:
                # Hand the feed back (if the store answers; else the lease runs out).
                # Shielded: this runs while the task is being cancelled.
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await asyncio.shield(lease.release())

    async def _finish(self, grace_seconds: float | None) -> None:
        """Wait for the polls in flight (at most `grace_seconds`), cancel what is left."""
        tasks = list(self._tasks)
        if not tasks:
            return
        if grace_seconds is None or grace_seconds > 0:
            _, pending = await asyncio.wait(tasks, timeout=grace_seconds)
        else:
            pending = set(tasks)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)


@dataclass(frozen=True, slots=True)
class _Claim:
    """A feed this process leased (until `held`), waiting for or holding a slot."""

    feed: Feed
    held: datetime
    claimed_at: datetime
    host: str
    # A response already read (a new feed's probe): polled from it, not fetched again.
    fetched: FetchResult | None = None
    parsed: ParsedFeed | None = None


def _keep_none(_brief: Brief) -> None:
    """The loop only counts briefs (they are in the store): a report never holds a huge
    feed's briefs in memory."""


class _Lease:
    """One claimed feed's lease: renewed while its poll runs, released when it ends."""

    def __init__(
        self,
        feeds: FeedStore,
        feed: Feed,
        held: datetime,
        length: timedelta,
        clock: Callable[[], datetime],
    ) -> None:
        self._feeds = feeds
        self._feed = feed
        self.held = held
        self._length = length
        self._clock = clock
        self._renewing: asyncio.Task[bool] | None = None

    async def keep(self) -> None:
        period = max(self._length.total_seconds() / 3, 0.05)
        while True:
            await asyncio.sleep(period)
            # Shielded, so `held` always matches the row even if we are cancelled mid-write.
            self._renewing = asyncio.create_task(self._renew(self._clock() + self._length))
            try:
                if not await asyncio.shield(self._renewing):
                    return  # the poll wrote its result, or the lease is no longer ours
            except Exception:
                log.warning(
                    "feed %d: could not renew its poll lease",
                    self._feed.id,
                    extra={"event": "lease_renewal_failed", "feed_id": self._feed.id},
                )

    async def renew(self) -> bool:
        """Extend the lease now; False when it is no longer ours."""
        return await self._renew(self._clock() + self._length)

    async def _renew(self, until: datetime) -> bool:
        moved = await self._feeds.move_claim(self._feed.id, self.held, until)
        if moved:
            self.held = until
        return moved

    async def release(self) -> None:
        if self._renewing is not None:
            with contextlib.suppress(Exception):
                await self._renewing
        # Back to when it was due (already past), so the next claim takes it first. A no-op
        # when the poll wrote its result (the row no longer holds our lease).
        due = self._feed.next_poll_at or self._clock()
        await self._feeds.move_claim(self._feed.id, self.held, due)
