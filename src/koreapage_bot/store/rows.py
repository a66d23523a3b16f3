"""Row ↔ domain value mapping, shared by the repositories."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from koreapage_bot.domain import (
    Brief,
    Delivery,
    DeliveryState,
    Feed,
    FeedState,
    IssueTag,
    Subscription,
    SubscriptionState,
)
from koreapage_bot.error_text import bounded_error
from koreapage_bot.store import tables as t

# What brief_from_row reads: every column but the search text (kilobytes per row that only the
# full-text index needs) and the sort key.
BRIEF_COLUMNS = tuple(c for c in t.briefs.c if c.name not in ("search_text", "sort_at"))


def feed_from_row(row: Mapping[Any, Any]) -> Feed:
    return Feed(
        id=row["id"],
        url=row["url"],
        name=row["name"],
        state=FeedState(row["state"]),
        interval_seconds=row["interval_seconds"],
        etag=row["etag"],
        last_modified=row["last_modified"],
        content_hash=row["content_hash"],
        next_poll_at=row["next_poll_at"],
        last_polled_at=row["last_polled_at"],
        consecutive_failures=row["consecutive_failures"],
        last_error=bounded_error(row["last_error"]),
        baselined=bool(row["baselined"]),
        title=row["title"],
        site_url=row["site_url"],
        added_by=row["added_by"],
    )


def tags_from_json(value: Any) -> tuple[IssueTag, ...]:
    if not value:
        return ()
    return tuple(IssueTag(str(item["id"]), str(item["label"])) for item in value)


def tags_to_json(tags: Sequence[IssueTag]) -> list[dict[str, str]]:
    return [{"id": t.id, "label": t.label} for t in tags]


def brief_from_row(row: Mapping[Any, Any]) -> Brief:
    return Brief(
        id=row["id"],
        post_id=row["post_id"],
        feed_id=row["feed_id"],
        title=row["title"],
        url=row["url"],
        author=row["author"],
        source=row["source"],
        published=row["published"],
        summary=row["summary"],
        key_issues=tags_from_json(row["key_issues"]),
        relevance=float(row["relevance"]),
        created_at=row["created_at"],
        language=row["language"] or "en",
        story_id=row["story_id"],
    )


def subscription_from_row(row: Mapping[Any, Any]) -> Subscription:
    return Subscription(
        id=row["id"],
        platform=row["platform"],
        workspace=row["workspace"],
        channel=row["channel"],
        issues=tuple(row["issues"] or ()),
        feeds=tuple(int(f) for f in (row["feeds"] or ())),
        min_relevance=float(row["min_relevance"]),
        state=SubscriptionState(row["state"]),
        paused_reason=bounded_error(row["paused_reason"]),
        created_by=row["created_by"],
        created_at=row["created_at"],
        per_brief=bool(row["per_brief"]),
        digest_time=row["digest_time"],
        digest_tz=row["digest_tz"],
        last_digest_at=row["last_digest_at"],
        options=dict(row["options"] or {}),
    )


def delivery_from_row(row: Mapping[Any, Any]) -> Delivery:
    return Delivery(
        id=row["id"],
        brief_id=row["brief_id"],
        subscription_id=row["subscription_id"],
        state=DeliveryState(row["state"]),
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        message_id=row["message_id"],
        last_error=bounded_error(row["last_error"]),
        kind=row["kind"],
        rate_limited=row["rate_limited"],
        maybe_sent=bool(row["maybe_sent"]),
        claimed_at=row["claimed_at"],
        claimed_by=row["claimed_by"],
        first_attempt_at=row["first_attempt_at"],
        created_at=row["created_at"],
    )
