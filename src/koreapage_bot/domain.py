"""Plain values the core speaks in. No I/O, no platform SDKs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class FeedState(StrEnum):
    ACTIVE = "active"
    BROKEN = "broken"  # many consecutive failures; still retried, slowly
    DISABLED = "disabled"  # 410 Gone or removed by hand; never polled


class SubscriptionState(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"


class DeliveryState(StrEnum):
    PENDING = "pending"  # waiting for its due time
    SENDING = "sending"  # claimed; the platform call may be in flight
    SENT = "sent"
    SKIPPED = "skipped"  # archived on a feed's first fetch: never sent
    DEAD = "dead"  # retries exhausted or failed for good; retry by hand


@dataclass(frozen=True, slots=True)
class IssueTag:
    """A key issue as shown to readers."""

    id: str
    label: str


@dataclass(frozen=True, slots=True)
class KeyIssue:
    """A key issue found in a post, with how salient it is and why."""

    id: str
    label: str
    score: float
    evidence: tuple[str, ...] = ()

    @property
    def tag(self) -> IssueTag:
        return IssueTag(self.id, self.label)


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One entry of a parsed feed, before analysis."""

    key: str  # stable entry key (see ingest.identity)
    url: str | None
    title: str
    author: str | None
    published: datetime | None
    summary: str  # the feed's description / summary (may be HTML)
    content: str | None  # full content (content:encoded / atom content), HTML, if any
    aliases: tuple[str, ...] = ()  # other keys it may have been stored under (see identity)


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str | None
    link: str | None
    author: str | None
    entries: tuple[FeedEntry, ...]


@dataclass(frozen=True, slots=True)
class ArticleInput:
    """What the analysis stage reads. `html` or `text` (or both) carry the body."""

    id: str
    title: str
    text: str | None = None
    html: str | None = None
    author: str | None = None  # the feed entry's author / dc:creator
    url: str | None = None
    published: datetime | None = None
    feed_title: str | None = None
    feed_author: str | None = None  # the feed's own author, last resort


@dataclass(frozen=True, slots=True)
class Analysis:
    relevant: bool
    relevance: float  # in [0, 1]
    key_issues: tuple[KeyIssue, ...]  # most salient first
    author: str | None
    summary: str
    why: tuple[str, ...]  # evidence for the relevance decision
    text: str = ""  # the cleaned body the analysis read (noise removed)
    language: str = "en"  # the post's language (ISO 639-1); the summary is in it too


@dataclass(frozen=True, slots=True)
class Feed:
    id: int
    url: str
    name: str
    state: FeedState
    interval_seconds: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None
    next_poll_at: datetime | None = None
    last_polled_at: datetime | None = None
    consecutive_failures: int = 0
    last_error: str | None = None
    baselined: bool = False  # first fetch done: later entries are delivered
    title: str | None = None
    site_url: str | None = None
    added_by: str | None = None  # "platform:user" for feeds added from chat (untrusted)


@dataclass(frozen=True, slots=True)
class Brief:
    id: int
    post_id: int
    feed_id: int
    title: str
    url: str | None
    author: str | None
    source: str
    published: datetime | None
    summary: str
    key_issues: tuple[IssueTag, ...]
    relevance: float
    created_at: datetime
    language: str = "en"  # the post's language, which the summary keeps (ISO 639-1)
    # The story it reports (stories.matcher): other outlets' briefs of the same event share it.
    story_id: int | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "title": self.title,
            "url": self.url,
            "author": self.author,
            "published": self.published.isoformat() if self.published else None,
            "source": self.source,
            "summary": self.summary,
            "key_issues": [{"id": t.id, "label": t.label} for t in self.key_issues],
            "relevance": round(self.relevance, 3),
            "created_at": self.created_at.isoformat(),
            "language": self.language,
            "story_id": self.story_id,
        }


@dataclass(frozen=True, slots=True)
class Subscription:
    id: int
    platform: str  # "discord" | "slack" | "console"
    workspace: str | None  # guild id / team id
    channel: str
    issues: tuple[str, ...] = ()  # any of; empty = every relevant brief
    feeds: tuple[int, ...] = ()  # feed ids; empty = all feeds
    min_relevance: float = 0.0
    state: SubscriptionState = SubscriptionState.ACTIVE
    paused_reason: str | None = None
    created_by: str | None = None
    created_at: datetime | None = None
    per_brief: bool = True  # one post per brief
    digest_time: str | None = None  # "HH:MM" local time for a daily digest
    digest_tz: str = "UTC"
    last_digest_at: datetime | None = None
    options: dict[str, object] = field(default_factory=dict)  # e.g. {"thread": True}

    @property
    def every_report(self) -> bool:
        """One post per report, even of a story the channel already has (`--every-report`),
        instead of updating the story's message."""
        return bool(self.options.get("every_report"))

    def matches(self, brief: Brief) -> bool:
        if self.feeds and brief.feed_id not in self.feeds:
            return False
        if brief.relevance < self.min_relevance:
            return False
        return not self.issues or bool({t.id for t in brief.key_issues} & set(self.issues))


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    brief_id: int | None  # None for a digest (its brief ids are in the payload)
    subscription_id: int
    state: DeliveryState
    attempts: int
    next_attempt_at: datetime
    message_id: str | None = None
    last_error: str | None = None
    # "brief" | "digest" | "story" (a later report of a story the channel has: it updates
    # the story's message, or replies in its thread)
    kind: str = "brief"
    rate_limited: int = 0  # attempts answered by a rate limit (they never count toward the cap)
    maybe_sent: bool = False  # the last attempt may have reached the platform: look first
    claimed_at: datetime | None = None  # when the last attempt started
    claimed_by: str | None = None  # the dispatcher process that made it (see delivery.holder)
    first_attempt_at: datetime | None = None
    created_at: datetime | None = None
