"""The seams between the core and what plugs into it (the store, analysers, publishers).

The core (ingest, delivery, commands, web) depends on these protocols and values only: the SQL
store (store/) and the in-memory one (store/memory.py) implement the store's, adapters the
publishers'. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from koreapage_bot.domain import (
    Analysis,
    ArticleInput,
    Brief,
    Delivery,
    DeliveryState,
    Feed,
    FeedEntry,
    FeedState,
    IssueTag,
    Subscription,
)
from koreapage_bot.links import web_link


class Analyzer(Protocol):
    """Turns an article into an analysis. Implementations run CPU work off the loop."""

    async def analyze(self, article: ArticleInput) -> Analysis: ...


@dataclass(frozen=True, slots=True)
class SourceRef:
    """Another report of a brief's story: who published it and where."""

    brief_id: int
    source: str
    url: str | None
    title: str

    @classmethod
    def of(cls, brief: Brief) -> SourceRef:
        return cls(brief.id, brief.source, brief.url, brief.title)


@dataclass(frozen=True, slots=True)
class BriefView:
    """A brief as every adapter renders it (Discord embed, Slack blocks, console text)."""

    brief_id: int
    title: str
    url: str | None
    author: str | None
    source: str
    published: datetime | None
    summary: str
    key_issues: tuple[IssueTag, ...]
    relevance: float
    language: str = "en"  # the post's (and summary's) language, for a label beside it
    story_id: int | None = None
    # The story's other reports ("Also reported by: Korea Herald, Yonhap"), oldest first.
    also: tuple[SourceRef, ...] = ()

    @classmethod
    def of(cls, brief: Brief, also: Sequence[Brief] = ()) -> BriefView:
        """`brief`, with `also` (its story's other reports; `brief` itself is left out)."""
        return cls(
            brief_id=brief.id,
            title=brief.title,
            url=brief.url,
            author=brief.author,
            source=brief.source,
            published=brief.published,
            summary=brief.summary,
            key_issues=brief.key_issues,
            relevance=brief.relevance,
            language=brief.language,
            story_id=brief.story_id,
            also=tuple(SourceRef.of(b) for b in also if b.id != brief.id),
        )


@dataclass(frozen=True, slots=True)
class DeliveryTarget:
    """Where one delivery goes, and what the publisher needs to send it once."""

    delivery_id: int
    subscription_id: int
    platform: str
    workspace: str | None
    channel: str
    attempt: int  # 1 for the first try
    idempotency_key: str  # stable across retries of the same delivery (Discord nonce)
    options: dict[str, object] = field(default_factory=dict)
    # When the delivery's first attempt started (None before its first attempt). A platform's
    # own de-duplication (Discord's nonce) only lasts so long after it.
    first_attempt_at: datetime | None = None
    # Set when the dispatcher asks `SentLookup.find_sent`: an earlier attempt may have posted
    # this delivery between these two instants (first attempt start, last attempt's deadline).
    lookup_window: tuple[datetime, datetime] | None = None
    # An earlier attempt may have reached the platform (no answer came, or its process died).
    maybe_sent: bool = False


# What a publisher answers. Exactly one of these three.
@dataclass(frozen=True, slots=True)
class Sent:
    message_id: str | None


@dataclass(frozen=True, slots=True)
class RetryAfter:
    seconds: float
    reason: str
    # A platform rate limit (429): rescheduled without counting toward the retry cap, so a
    # delivery is never dropped because of a rate limit. 5xx and timeouts leave this False.
    rate_limited: bool = False
    # The message may have been posted although no answer came back (a timeout, a dropped
    # connection, a 5xx after the request was sent). Before the next attempt the dispatcher
    # asks a `SentLookup` publisher whether it is already there, so it is not posted twice.
    maybe_sent: bool = False
    # The limit covers every call of this kind to the platform, not only this channel
    # (Discord's global 429, Slack's per-method-per-workspace limits): the dispatcher holds
    # every channel of the platform until `seconds` have passed.
    platform_wide: bool = False


@dataclass(frozen=True, slots=True)
class Failed:
    reason: str
    # True when the channel itself cannot take posts (no permission, unknown/archived channel,
    # bot removed): the subscription is paused until someone resumes it.
    channel_unusable: bool = False


PublishOutcome = Sent | RetryAfter | Failed


@runtime_checkable
class Publisher(Protocol):
    """Sends briefs to one platform. Never raises for platform errors: answers an outcome."""

    platform: str

    async def publish(self, target: DeliveryTarget, view: BriefView) -> PublishOutcome: ...

    async def publish_digest(
        self, target: DeliveryTarget, views: Sequence[BriefView], title: str
    ) -> PublishOutcome: ...


@dataclass(frozen=True, slots=True)
class Found:
    """A look-up's answer: the deliveries (idempotency key -> platform message id) that are
    already on the platform. A key that was asked about and is absent is not there."""

    messages: Mapping[str, str] = field(default_factory=dict)


# What a look-up answers: Found; RetryAfter when it cannot look now (a 429, a 5xx, the network:
# ask again later, never resend meanwhile); Failed when it can never tell (no permission to read
# the channel): the dispatcher then follows `delivery.in_doubt`.
LookupOutcome = Found | RetryAfter | Failed


@runtime_checkable
class SentLookup(Protocol):
    """Optional: a publisher that can tell whether deliveries already reached the platform
    (its messages carry `idempotency_key`: Slack metadata, a Discord embed footer). Before a
    delivery whose last attempt may have posted is sent again, the dispatcher asks it instead
    of guessing."""

    def resend_window(self, target: DeliveryTarget) -> float:
        """Seconds after the first attempt during which sending again with the same
        idempotency key cannot post twice (Discord drops a repeated nonce for a few minutes);
        0 when the platform never de-duplicates. Within it no look-up is needed."""
        ...

    async def find_sent(self, targets: Sequence[DeliveryTarget]) -> LookupOutcome:
        """Which of these deliveries (all to one channel) are already there. One call should
        settle them all: the platform may allow very few look-ups (Slack: one a minute)."""
        ...


@dataclass(frozen=True, slots=True)
class PostedMessage:
    """A message a delivery made: the platform's id for it and the delivery key it carries
    (Discord embed footer, Slack metadata), which an update must keep."""

    message_id: str
    key: str


@runtime_checkable
class StoryPublisher(Protocol):
    """Optional: a publisher that can update the message of a story already posted in a
    channel (a later report of the story adds its outlet to it) or reply in its thread."""

    async def edit(
        self, target: DeliveryTarget, message: PostedMessage, view: BriefView
    ) -> PublishOutcome:
        """Make `message` show `view` (the story's first brief with every other report in
        `view.also`). It carries the whole state, so making it twice changes nothing."""
        ...

    async def reply(
        self, target: DeliveryTarget, message: PostedMessage, view: BriefView
    ) -> PublishOutcome:
        """Post `view` (a later report) in the thread of `message`, under `target`'s
        idempotency key like any post."""
        ...


class ReplayGuard(Protocol):
    """Remembers request signatures until they expire, so a signed request runs once (Slack's
    signature is valid for 5 minutes). Shared through the database when several processes
    serve the same app."""

    async def first_seen(self, key: str, expires_at: datetime) -> bool:
        """True the first time `key` is seen (it is remembered until `expires_at`); False
        when it was seen before and has not expired."""
        ...

    async def forget(self, key: str) -> None:
        """Drop `key` (its request failed on our side: a retry of it may run)."""
        ...


# -- the store --------------------------------------------------------------------------------

# Row ids are 32-bit INTEGER columns; a larger number can name no row (and PostgreSQL and
# SQLite refuse it as a query argument rather than finding nothing).
MAX_ROW_ID = 2**31 - 1
_MAX_ID_DIGITS = len(str(MAX_ROW_ID))


def parse_row_id(text: str) -> int | None:
    """`text` as a row id when it is plain ASCII digits in range, else None. The length is
    checked before `int()` reads it: Python refuses to convert more than 4300 digits (and a
    user can type 5000). `str.isdigit` is also true for "²", which `int` cannot read."""
    ref = text.strip()
    if not (ref.isascii() and ref.isdigit()):
        return None
    digits = ref.lstrip("0")
    if not digits or len(digits) > _MAX_ID_DIGITS:
        return None
    value = int(digits)
    return value if value <= MAX_ROW_ID else None


@dataclass(frozen=True, slots=True)
class FeedPollUpdate:
    """Everything one poll changes on a feed row, written at once (the poll policy decides
    the schedule and validators; the poller adds what the parsed feed said about itself)."""

    next_poll_at: datetime
    state: FeedState
    consecutive_failures: int
    last_error: str | None
    etag: str | None
    last_modified: str | None
    content_hash: str | None  # of the whole body, to skip parsing an unchanged one
    new_url: str | None = None  # a permanent redirect's target: the feed's URL from now on
    title: str | None = None
    site_url: str | None = None
    baselined: bool | None = None
    name: str | None = None  # a better display name (the feed's own title)


@dataclass(frozen=True, slots=True)
class NewPost:
    """An analysed entry, ready to store."""

    entry: FeedEntry
    analysis: Analysis
    content_hash: str
    relevant: bool  # the analysis decision under the configured threshold

    def brief(
        self,
        feed: Feed,
        *,
        brief_id: int,
        post_id: int,
        now: datetime,
        story_id: int | None = None,
    ) -> Brief:
        """The brief this post makes once stored (a link only when it is a usable one)."""
        entry, analysis = self.entry, self.analysis
        return Brief(
            id=brief_id,
            post_id=post_id,
            feed_id=feed.id,
            title=entry.title,
            url=web_link(entry.url),
            author=analysis.author,
            source=feed.name,
            published=entry.published,
            summary=analysis.summary,
            key_issues=tuple(k.tag for k in analysis.key_issues),
            relevance=analysis.relevance,
            created_at=now,
            language=analysis.language,
            story_id=story_id,
        )

    def search_text(self, feed: Feed) -> str:
        """What search reads besides title and summary: author, source, key issues, text."""
        labels = " ".join(k.label for k in self.analysis.key_issues)
        parts = [self.analysis.author, feed.name, labels, self.analysis.text]
        return " ".join(filter(None, parts))


@dataclass(frozen=True, slots=True)
class StoredPost:
    post_id: int
    brief: Brief | None  # None when the post is not relevant (archived only)
    deliveries: int  # outbox rows written with it


class EntryAlreadyStored(Exception):
    """Another poller stored this feed entry first (`poll` beside the running bot)."""


# Fan-out: which of these subscriptions get this brief (delivery.fanout.recipients). The store
# calls it inside the transaction that writes the brief, with every subscription as that
# transaction sees it, and writes one outbox row for each subscription it answers.
FanOut = Callable[[Brief, Sequence[Subscription]], Sequence[Subscription]]
# What kind of row a subscription the fan-out picked gets for a brief (delivery.fanout.
# row_kind): given whether the channel already has a row of another report of the brief's
# story, "brief" (a post of its own) or "story" (an update of the story's message).
RowKind = Callable[[Subscription, bool], str]


@dataclass(frozen=True, slots=True)
class StoryMember:
    """A brief of the story window, with the lead of its post's text (what the matcher
    reads besides the brief itself)."""

    brief: Brief
    text: str


@dataclass(frozen=True, slots=True)
class StoryContext:
    """What sending a story row needs, read when it is claimed: the story's message in the
    row's channel (`anchor`: the earliest delivery of the story there that made one; None
    when none did, e.g. the first report's post failed), the brief that message shows, and
    the story's reports the channel's filters let through, oldest first."""

    story_id: int
    brief: Brief  # the row's own (later) report
    anchor: Delivery | None
    first: Brief | None
    reports: tuple[Brief, ...]

    @classmethod
    def of(
        cls,
        brief: Brief,
        subscription: Subscription,
        anchor: Delivery | None,
        members: Sequence[Brief],
    ) -> StoryContext:
        """From what a store read (`members`: the story's briefs, oldest first): the reports
        shown are those the channel's filters let through, and always the brief its message
        shows and the row's own."""
        assert brief.story_id is not None
        first = next((m for m in members if anchor is not None and m.id == anchor.brief_id), None)
        keep = {brief.id} | ({first.id} if first is not None else set())
        reports = tuple(m for m in members if m.id in keep or subscription.matches(m))
        return cls(brief.story_id, brief, anchor, first, reports)


@dataclass(frozen=True, slots=True)
class SubscriptionSpec:
    """What a subscribe command asks for; the store fills in identity and timestamps."""

    platform: str
    channel: str
    workspace: str | None = None
    issues: tuple[str, ...] = ()
    feeds: tuple[int, ...] = ()
    min_relevance: float = 0.0
    created_by: str | None = None
    per_brief: bool = True
    digest_time: str | None = None
    digest_tz: str = "UTC"
    options: dict[str, object] | None = None


# Who claimed a delivery and when (Delivery.claimed_by, Delivery.claimed_at).
Claim = tuple[str | None, datetime | None]


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """An outbox row with what sending it needs."""

    delivery: Delivery
    subscription: Subscription
    briefs: tuple[Brief, ...]  # one for a brief delivery, several for a digest
    payload: dict[str, Any]


class FeedStore(Protocol):
    """The feeds followed and each feed's poll state. A feed's `next_poll_at` doubles as its
    poll lease: `claim` moves it to the lease's end only while it still holds the value read."""

    async def add(
        self,
        url: str,
        name: str,
        *,
        interval_seconds: int | None = None,
        added_by: str | None = None,
        now: datetime | None = None,
    ) -> tuple[Feed, bool]:
        """Add a feed, or return the one with that URL (re-enabled, with a fresh baseline,
        when it was disabled). True when it was added or re-enabled."""
        ...

    async def get(self, feed_id: int) -> Feed | None: ...
    async def by_url(self, url: str) -> Feed | None: ...

    async def find(self, ref: str) -> Feed | None:
        """A feed by id (`3`, `#3`), URL or case-insensitive name (the lowest id wins)."""
        ...

    async def all(self, include_disabled: bool = True) -> list[Feed]: ...

    async def count_added_by(self, prefix: str) -> int:
        """Feeds not disabled whose `added_by` starts with `prefix`."""
        ...

    async def disable(self, feed_id: int, reason: str | None = None) -> bool: ...
    async def rename(self, feed_id: int, name: str) -> bool: ...

    async def due(self, due_by: datetime, limit: int) -> list[Feed]:
        """Up to `limit` feeds not disabled with `next_poll_at <= due_by`, longest overdue
        first (read only)."""
        ...

    async def claim(self, feeds: Sequence[Feed], now: datetime, lease: timedelta) -> list[Feed]:
        """Lease `feeds` (as `due` read them) until `now + lease`; a feed whose row changed
        since (another process claimed or polled it) is not claimed."""
        ...

    async def move_claim(self, feed_id: int, held: datetime, to: datetime) -> bool:
        """Move a lease we hold (`next_poll_at == held`) to `to`; False when it is not ours."""
        ...

    async def next_due_at(self) -> datetime | None: ...

    async def apply_poll(self, feed_id: int, change: FeedPollUpdate, now: datetime) -> None:
        """Write one poll's result (`last_polled_at = now`). A redirect onto a URL already
        followed keeps the old URL and says so in `last_error`."""
        ...


class BriefStore(Protocol):
    """Posts (every entry seen) and briefs (the relevant ones)."""

    async def known_entries(self, feed_id: int, keys: Iterable[str]) -> dict[str, tuple[int, str]]:
        """Entry key -> (post id, content hash) for the keys this feed has stored."""
        ...

    async def store_post(
        self,
        feed: Feed,
        post: NewPost,
        *,
        fan_out: FanOut | None = None,
        now: datetime | None = None,
        story: int | None = None,
        row_kind: RowKind | None = None,
    ) -> StoredPost:
        """The post, its brief when relevant and (with `fan_out`) an outbox row for every
        subscription `fan_out` picks, all in one transaction: all of them or none. The brief
        joins `story` (when that story exists) or starts one; `row_kind` says which rows are
        story updates (default: every row a post of its own). Raises EntryAlreadyStored when
        the feed already has this entry."""
        ...

    async def touch_post(
        self, post_id: int, *, title: str, content_hash: str, now: datetime | None = None
    ) -> None: ...

    async def get(self, brief_id: int) -> Brief | None: ...
    async def get_many(self, brief_ids: Sequence[int]) -> list[Brief]: ...

    async def latest(
        self,
        limit: int = 5,
        *,
        issue: str | None = None,
        feed_id: int | None = None,
        offset: int = 0,
    ) -> list[Brief]:
        """Newest first: by published date, undated briefs by when they were stored."""
        ...

    async def for_subscription_since(
        self, subscription: Subscription, since: datetime | None, limit: int = 25
    ) -> list[Brief]:
        """The newest `limit` briefs stored after `since` that the subscription's filters let
        through (Subscription.matches), oldest first."""
        ...

    async def search(
        self,
        query: str,
        limit: int = 10,
        *,
        offset: int = 0,
        newest: bool = False,
        issue: str | None = None,
    ) -> list[Brief]:
        """Briefs with every word of `query` (any word when none has them all), best match
        first (`newest`: newest first)."""
        ...

    async def count(self) -> int: ...


class SubscriptionStore(Protocol):
    """One subscription per platform and channel."""

    async def upsert(
        self, spec: SubscriptionSpec, now: datetime | None = None
    ) -> tuple[Subscription, bool]:
        """Create it, or update its filters and resume it (a stale backlog is skipped)."""
        ...

    async def get(self, subscription_id: int) -> Subscription | None: ...
    async def for_channel(self, platform: str, channel: str) -> Subscription | None: ...

    async def all(
        self,
        platform: str | None = None,
        workspace: str | None = None,
        channels: Sequence[str] | None = None,
    ) -> list[Subscription]: ...

    async def with_digest(self) -> list[Subscription]:
        """Active subscriptions with a daily digest."""
        ...

    async def remove(self, subscription_id: int) -> bool:
        """Delete it and its outbox rows."""
        ...

    async def pause(self, subscription_id: int, reason: str) -> bool: ...

    async def resume(self, subscription_id: int, now: datetime | None = None) -> bool:
        """Active again; held rows queued more than RESUME_BACKLOG ago are skipped."""
        ...


class OutboxStore(Protocol):
    """Delivery rows: pending -> sending (claimed, the platform call may be in flight) -> sent,
    dead or back to pending. Per channel, rows go in queue (id) order."""

    async def due_ids(
        self,
        now: datetime,
        limit: int,
        platforms: Collection[str],
        *,
        per_subscription: int | None = None,
        prefer: tuple[int, int] | None = None,
    ) -> list[int]:
        """Pending rows due by `now` of active subscriptions on `platforms`, in queue order,
        that no earlier row of their channel waits ahead of (a retry not yet due, or a row in
        flight); with `per_subscription`, at most that many of each channel; with
        `prefer=(rank, processes)`, the channels whose id is `rank` modulo `processes` first."""
        ...

    async def load(self, ids: Sequence[int]) -> list[ClaimedDelivery]:
        """These rows (any state) with their subscription and briefs, in id order."""
        ...

    async def claim_one(
        self, delivery_id: int, now: datetime, holder: str | None = None
    ) -> Delivery | None:
        """pending -> sending, the attempt counted and `holder` named; None when the row is not
        pending and due, or an earlier row of its channel is not settled yet."""
        ...

    async def in_doubt(self, platforms: Collection[str]) -> list[ClaimedDelivery]:
        """Rows in `sending` on these platforms."""
        ...

    async def mark_sent(self, delivery_id: int, message_id: str | None, now: datetime) -> None: ...

    async def settle_pending(self, found: dict[int, str], not_there: Sequence[int]) -> int:
        """After a look-up: pending rows the platform has are sent, those it has not no longer
        need a look-up; rows no longer pending are left alone. Returns how many were sent."""
        ...

    async def reschedule(
        self,
        delivery_id: int,
        at: datetime,
        error: str,
        *,
        rate_limited: bool,
        maybe_sent: bool | None = None,
    ) -> None:
        """Back to pending, due at `at`; a rate limit is counted apart from failures."""
        ...

    async def release(
        self,
        delivery_id: int,
        at: datetime,
        note: str,
        *,
        maybe_sent: bool | None = None,
        claim: Claim | None = None,
    ) -> bool:
        """Back to pending without spending the attempt; with `claim`, only while the row is
        still `sending` under that claim (holder, claimed at). True when it was put back."""
        ...

    async def mark_dead(self, delivery_id: int, error: str, now: datetime) -> None: ...

    async def retry(self, delivery_id: int, now: datetime | None = None) -> bool:
        """A dead row pending again with a fresh set of attempts."""
        ...

    async def all(self, state: DeliveryState | None = None, limit: int = 100) -> list[Delivery]:
        """Newest first."""
        ...

    async def get(self, delivery_id: int) -> Delivery | None: ...
    async def counts(self) -> dict[str, int]: ...

    async def add_digest(
        self,
        subscription_id: int,
        brief_ids: Sequence[int],
        up_to: datetime,
        now: datetime,
        *,
        title: str | None = None,
        day: str | None = None,
    ) -> int | None:
        """Queue one digest and move the subscription's digest mark to `up_to`, atomically.
        No briefs: only the mark moves (None). With `day` (the local day it covers) at most
        one digest per subscription and day: a second one changes nothing (None)."""
        ...

    async def has_digest(self, subscription_id: int, day: str) -> bool:
        """Whether the subscription's digest for `day` was queued."""
        ...

    async def enqueue(
        self, briefs: Sequence[Brief], fan_out: FanOut, now: datetime | None = None
    ) -> int:
        """Rows for stored briefs (a backfill), one per subscription `fan_out` picks, except
        where that subscription already has the brief. Returns how many were written."""
        ...

    async def story_context(self, delivery_id: int) -> StoryContext | None:
        """For a "story" row: its story's message in the row's channel and the reports to
        show (see StoryContext). None for a row that is not a story row or is gone."""
        ...

    async def heartbeat(self, holder: str, now: datetime) -> None: ...
    async def holders(self) -> dict[str, datetime]: ...
    async def remove_holder(self, holder: str) -> None: ...

    async def forget_holders(self, seen_before: datetime) -> int:
        """Drop holders silent since `seen_before`."""
        ...


class StoryStore(Protocol):
    """Stories: the briefs that report one event, across outlets (briefs.story_id)."""

    async def window(self, since: datetime, after_id: int = 0) -> list[StoryMember]:
        """Briefs stored at or after `since` (by publication date, else storage time) with an
        id above `after_id`, oldest id first: the matcher's window, or what joined it since."""
        ...

    async def reports(self, story_ids: Sequence[int]) -> dict[int, list[Brief]]:
        """Every brief of these stories, oldest first (by publication date, then id)."""
        ...


class Storage(Protocol):
    """Everything the core keeps: what the SQL store and the in-memory store both are."""

    @property
    def feeds(self) -> FeedStore: ...
    @property
    def briefs(self) -> BriefStore: ...
    @property
    def subscriptions(self) -> SubscriptionStore: ...
    @property
    def outbox(self) -> OutboxStore: ...
    @property
    def replays(self) -> ReplayGuard: ...
    @property
    def stories(self) -> StoryStore: ...

    async def get_meta(self, key: str) -> str | None: ...
    async def set_meta(self, key: str, value: str) -> None: ...


# -- what operators see: metrics, the store's gauges, notices ---------------------------------


class Metrics(Protocol):
    """What the core counts, in plain words and labels. bootstrap passes the Prometheus one
    (koreapage_bot.metrics); the core never imports a metrics library. Each call is cheap and
    never raises."""

    def poll(self, outcome: str, status: int | None, seconds: float) -> None:
        """One feed poll: the policy's outcome ("changed", "not_modified", "unchanged",
        "failed", "gone", "error"), the HTTP status (None: no response) and the fetch time."""
        ...

    def new_post(self, *, brief: bool) -> None:
        """A post stored for the first time; `brief` when it made a brief."""
        ...

    def analysis(self, seconds: float) -> None:
        """One post analysed in `seconds`."""
        ...

    def delivery(self, platform: str, result: str) -> None:
        """One delivery attempt's result: "sent", "retry", "rate_limited", "paused", "dead"."""
        ...

    def rate_limited(self, platform: str, *, platform_wide: bool) -> None:
        """A platform answered 429 (for one channel, or for every channel of the platform)."""
        ...

    def rate_limit_wait(self, platform: str, seconds: float) -> None:
        """Time a send waited for the platform's rate budget."""
        ...

    def command(self, platform: str, command: str, outcome: str) -> None:
        """A slash command ("briefs latest") answered with a reply of kind `outcome`."""
        ...

    def notice(self, platform: str, result: str) -> None:
        """A notice to the operators: "sent", "failed" or "repeat" (already sent today)."""
        ...


class NoMetrics:
    """Counts nothing (CLI commands, tests that do not look)."""

    def poll(self, outcome: str, status: int | None, seconds: float) -> None:
        pass

    def new_post(self, *, brief: bool) -> None:
        pass

    def analysis(self, seconds: float) -> None:
        pass

    def delivery(self, platform: str, result: str) -> None:
        pass

    def rate_limited(self, platform: str, *, platform_wide: bool) -> None:
        pass

    def rate_limit_wait(self, platform: str, seconds: float) -> None:
        pass

    def command(self, platform: str, command: str, outcome: str) -> None:
        pass

    def notice(self, platform: str, result: str) -> None:
        pass


@dataclass(frozen=True, slots=True)
class StoreStats:
    """What the database holds right now, for the metrics page (read at each scrape)."""

    feeds: Mapping[str, int]  # feed state -> feeds
    deliveries: Mapping[tuple[str, str], int]  # (platform, delivery state) -> rows
    # platform -> when the longest-waiting due row (pending, its channel not paused) fell due
    oldest_due: Mapping[str, datetime]


class StatsSource(Protocol):
    async def stats(self, now: datetime) -> StoreStats: ...


@dataclass(frozen=True, slots=True)
class Notice:
    """A message for the operators' admin channels. `headline`, the field labels and `hint`
    are the bot's own words (the hint may show commands in `code`); field values quote feeds,
    channels and errors, which are untrusted: each adapter escapes them for its platform."""

    cause: str  # what it is about ("feed_broken:12"): one notice per cause and day
    headline: str
    fields: tuple[tuple[str, str], ...] = ()
    hint: str | None = None

    @property
    def text(self) -> str:
        """Plain text, unescaped (the console, logs and notification previews)."""
        lines = [self.headline, *(f"{label}: {value}" for label, value in self.fields)]
        if self.hint:
            lines.append(self.hint)
        return "\n".join(lines)


class NoticeSink(Protocol):
    """Where the core reports what operators should hear about. Never blocks, never raises."""

    def notify(self, notice: Notice) -> None: ...


class NoNotices:
    def notify(self, notice: Notice) -> None:
        pass


@runtime_checkable
class NoticePublisher(Protocol):
    """A publisher that can also post a notice to an admin channel. `key` is stable across
    retries of one notice (a Discord nonce), like a delivery's idempotency key."""

    async def publish_notice(self, channel: str, notice: Notice, key: str) -> PublishOutcome: ...


class NoticeLog(Protocol):
    """Which notices went out (or are going out) today, shared by every process on the
    database, so a cause is told once a day even across restarts."""

    async def claim(
        self, cause: str, platform: str, channel: str, day: date, now: datetime
    ) -> int | None:
        """Record that this notice is being sent; its id, or None when this cause already
        has one for this channel on `day`."""
        ...

    async def mark_sent(self, notice_id: int, now: datetime) -> None: ...

    async def release(self, notice_id: int) -> None:
        """It could not be sent: forget it, so the cause may be told when it happens again."""
        ...

    async def prune(self, before: date) -> int:
        """Forget notices of days before `before`."""
        ...


class Coordination(Protocol):
    """How this process shares the work with the other processes on the same database: one
    of them is the leader (cron work: digests, recovery sweeps, pruning), and writes made by
    any of them wake the others (`on_wake`). With SQLite there is one process: it leads."""

    @property
    def is_leader(self) -> bool: ...

    def on_leadership(self, callback: Callable[[bool], None]) -> None:
        """Call `callback(leading)` whenever this process gains or loses the leadership."""
        ...

    def on_wake(self, topic: str, callback: Callable[[], None]) -> None:
        """Call `callback()` when another process wrote rows of `topic` ("deliveries",
        "feeds")."""
        ...
