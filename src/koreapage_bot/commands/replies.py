"""Platform-neutral values in and out of the command service. Each adapter renders a Reply."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from koreapage_bot.ports import BriefView


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is asking, from where. The adapter decides `is_admin` from the platform."""

    platform: str  # "discord" | "slack" | "console"
    workspace: str | None  # guild id / team id
    channel: str
    user_id: str
    is_admin: bool = False
    user_name: str | None = None


class ReplyKind(StrEnum):
    BRIEFS = "briefs"  # a list of briefs (latest, search, issue, digest)
    BRIEF = "brief"  # one brief in full (show)
    SUBSCRIPTIONS = "subscriptions"
    FEEDS = "feeds"
    DONE = "done"  # a change was made (subscribe, feeds add, ...)
    EMPTY = "empty"  # nothing found: not an error
    USAGE = "usage"  # help / malformed input
    ERROR = "error"  # refused or failed; `text` says what to do


@dataclass(frozen=True, slots=True)
class SubscriptionLine:
    id: int
    channel: str
    issues: tuple[str, ...]
    feeds: tuple[int, ...]
    state: str
    paused_reason: str | None
    digest_time: str | None
    digest_tz: str
    per_brief: bool


@dataclass(frozen=True, slots=True)
class FeedLine:
    id: int
    name: str
    url: str
    state: str
    last_error: str | None
    next_poll_at: datetime | None
    last_polled_at: datetime | None


@dataclass(frozen=True, slots=True)
class Reply:
    kind: ReplyKind
    text: str  # a one-paragraph headline, plain text (adapters escape it)
    briefs: tuple[BriefView, ...] = ()
    subscriptions: tuple[SubscriptionLine, ...] = ()
    feeds: tuple[FeedLine, ...] = ()
    details: tuple[str, ...] = field(default=())  # extra plain lines (e.g. valid issue ids)

    @property
    def ok(self) -> bool:
        return self.kind not in (ReplyKind.ERROR, ReplyKind.USAGE)

    @property
    def public(self) -> bool:
        """Results people share go in channel; errors, help and admin chatter stay ephemeral."""
        return self.kind in (ReplyKind.BRIEFS, ReplyKind.BRIEF)
