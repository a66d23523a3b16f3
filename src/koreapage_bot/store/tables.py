"""The schema, as SQLAlchemy Core tables. Migrations in store/migrations/ must match it
(tests/integration/store/test_migrations.py compares them)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Computed,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite hands back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use aware UTC datetimes")
        value = value.astimezone(UTC)
        # SQLite stores text; keep it naive-UTC there so comparisons sort correctly.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            value = datetime.fromisoformat(str(value))
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

feeds = Table(
    "feeds",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("url", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("title", Text),
    Column("site_url", Text),
    Column("state", String(16), nullable=False, default="active"),
    Column("interval_seconds", Integer),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("content_hash", String(64)),
    Column("next_poll_at", UtcDateTime, nullable=False),
    Column("last_polled_at", UtcDateTime),
    Column("consecutive_failures", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("baselined", Boolean, nullable=False, default=False),
    Column("added_by", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_feeds_due", "state", "next_poll_at"),
)

posts = Table(
    "posts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("feed_id", Integer, ForeignKey("feeds.id", ondelete="CASCADE"), nullable=False),
    Column("entry_key", Text, nullable=False),
    Column("url", Text),
    Column("title", Text, nullable=False),
    Column("author", Text),
    Column("published", UtcDateTime),
    Column("text", Text, nullable=False, default=""),
    Column("content_hash", String(64), nullable=False),
    Column("relevant", Boolean, nullable=False, default=False),
    Column("relevance", Float, nullable=False, default=0.0),
    Column("analysis", JSON),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("feed_id", "entry_key", name="uq_posts_feed_entry"),
)

briefs = Table(
    "briefs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "post_id",
        Integer,
        ForeignKey("posts.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    ),
    Column("feed_id", Integer, ForeignKey("feeds.id", ondelete="CASCADE"), nullable=False),
    Column("title", Text, nullable=False),
    Column("url", Text),
    Column("author", Text),
    Column("source", Text, nullable=False),
    Column("published", UtcDateTime),
    Column("summary", Text, nullable=False),
    Column("key_issues", JSON, nullable=False),
    Column("relevance", Float, nullable=False),
    Column("search_text", Text, nullable=False, default=""),
    Column("created_at", UtcDateTime, nullable=False),
    # The post's language (the summary is in it): "en", "ko".
    Column("language", String(8), nullable=False, server_default="en"),
    # What "latest" orders by: the published date, or when we stored an undated post. Computed
    # by the database (virtual on SQLite, stored on PostgreSQL) so it can never disagree with
    # the two columns, and indexed so no list sorts the archive.
    Column("sort_at", UtcDateTime, Computed("coalesce(published, created_at)")),
    # The story it reports (stories/matcher.py): other outlets' briefs of the event share it.
    # Every brief has one (a brief stored before stories existed is a story of its own).
    Column("story_id", Integer),
    Index("ix_briefs_created", "created_at", "id"),
    Index("ix_briefs_story", "story_id", "id"),
    Index("ix_briefs_sort", "sort_at", "id"),
    Index("ix_briefs_feed_sort", "feed_id", "sort_at", "id"),
)

brief_issues = Table(
    "brief_issues",
    metadata,
    Column(
        "brief_id",
        Integer,
        ForeignKey("briefs.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("issue_id", String(64), primary_key=True),
    Column("rank", Integer, nullable=False),
    # A copy of briefs.sort_at (briefs never change once stored), so the latest briefs on one
    # issue are a walk down one index however rare or common the issue is.
    Column("sort_at", UtcDateTime, nullable=False),
    Index("ix_brief_issues_sort", "issue_id", "sort_at", "brief_id"),
)

# One row per story. Its briefs point at it; it is never deleted (a story whose briefs are
# gone is an empty id).
stories = Table(
    "stories",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),  # when its latest report was stored
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("platform", String(16), nullable=False),
    Column("workspace", Text),
    Column("channel", Text, nullable=False),
    Column("issues", JSON, nullable=False),
    Column("feeds", JSON, nullable=False),
    Column("min_relevance", Float, nullable=False, default=0.0),
    Column("state", String(16), nullable=False, default="active"),
    Column("paused_reason", Text),
    Column("created_by", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("per_brief", Boolean, nullable=False, default=True),
    Column("digest_time", String(5)),
    Column("digest_tz", String(64), nullable=False, default="UTC"),
    Column("last_digest_at", UtcDateTime),
    Column("options", JSON, nullable=False),
    UniqueConstraint("platform", "channel", name="uq_subscriptions_platform_channel"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "subscription_id",
        Integer,
        ForeignKey("subscriptions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    # A brief delivery points at its brief; a digest carries its brief ids in `payload`.
    Column("brief_id", Integer, ForeignKey("briefs.id", ondelete="CASCADE")),
    Column("kind", String(16), nullable=False, default="brief"),
    Column("payload", JSON),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("rate_limited", Integer, nullable=False, default=0),
    # The last attempt may have reached the platform (no answer came back): look before
    # sending again. See ports.RetryAfter.maybe_sent.
    Column("maybe_sent", Boolean, nullable=False, default=False, server_default="0"),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("claimed_at", UtcDateTime),
    # Who made the last attempt (a dispatcher process, see `delivery_holders`) and when the
    # first one started: a row left `sending` by a process that is gone is settled at once,
    # and a look-up searches the platform from the first attempt on.
    Column("claimed_by", String(200)),
    Column("first_attempt_at", UtcDateTime),
    Column("sent_at", UtcDateTime),
    Column("message_id", Text),
    Column("last_error", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # A digest's local day ("2026-12-08" in the subscription's time zone): one digest per
    # subscription and day, whichever process queues it. NULL for every other row.
    Column("digest_day", String(10)),
    UniqueConstraint("subscription_id", "brief_id", name="uq_deliveries_subscription_brief"),
    Index("ix_deliveries_digest_day", "subscription_id", "digest_day", unique=True),
    Index("ix_deliveries_due", "state", "next_attempt_at"),
    # Per-channel order: "is an earlier row of this subscription still unsettled?" reads only
    # that subscription's pending and sending rows, however long its history.
    Index("ix_deliveries_subscription_state", "subscription_id", "state", "id"),
)

# Dispatcher processes that may hold deliveries in `sending`, each refreshing `seen_at` while it
# runs (and removing its row when it stops), so another process can tell a live holder from one
# that crashed.
delivery_holders = Table(
    "delivery_holders",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("started_at", UtcDateTime, nullable=False),
    Column("seen_at", UtcDateTime, nullable=False),
)

# A platform-wide rate shared by every process (PostgreSQL): the next free request slot, and a
# platform-wide 429's end seen by any process. See store/rates.py.
rate_shares = Table(
    "rate_shares",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("next_at", UtcDateTime, nullable=False),
    Column("blocked_until", UtcDateTime, nullable=False),
)

# Small key/value state the bot keeps for itself (e.g. the hash of synced slash commands).
meta = Table(
    "meta",
    metadata,
    Column("key", String(128), primary_key=True),
    Column("value", Text, nullable=False),
)

# Signatures of Slack requests already run, each kept until it can no longer pass Slack's
# 5-minute age check: a copy sent again is refused, by whichever process receives it.
slack_replays = Table(
    "slack_replays",
    metadata,
    Column("signature", String(128), primary_key=True),
    Column("expires_at", UtcDateTime, nullable=False),
    Index("ix_slack_replays_expires_at", "expires_at"),
)

# Notices sent to the operators' admin channels (delivery.notices): one per cause, channel and
# day, so a restart or a second process does not tell the same thing again the same day.
notices = Table(
    "notices",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("cause", String(200), nullable=False),
    Column("platform", String(16), nullable=False),
    Column("channel", String(200), nullable=False),
    Column("day", Date, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime),
    UniqueConstraint("cause", "platform", "channel", "day", name="uq_notices_cause_day"),
    Index("ix_notices_day", "day"),
)
