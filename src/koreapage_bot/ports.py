"""The seams between the core and what plugs into it (analysers, publishers, adapters).

Adapters implement these protocols; the core only ever sees these types.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from koreapage_bot.domain import Analysis, ArticleInput, Brief, IssueTag


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


@runtime_checkable
class SentLookup(Protocol):
    """Optional: a publisher that can tell whether a delivery already reached the platform
    (e.g. by message metadata carrying `idempotency_key`). After a crash the dispatcher asks
    it about deliveries left in doubt instead of guessing."""

    async def find_sent(self, target: DeliveryTarget) -> str | None:
        """The platform's message id when this delivery is already there, else None."""
        ...
