"""The seams between the core and what plugs into it (analysers, publishers, adapters).

Adapters implement these protocols; the core only ever sees these types.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from koreapage_bot.domain import Analysis, ArticleInput, Brief, FeedState, IssueTag


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


class Analyzer(Protocol):
    """Turns an article into an analysis. Implementations run CPU work off the loop."""

    async def analyze(self, article: ArticleInput) -> Analysis: ...


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

    @classmethod
    def of(cls, brief: Brief) -> BriefView:
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
