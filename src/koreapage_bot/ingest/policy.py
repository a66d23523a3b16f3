"""Pure scheduling policy: from a feed's stored state and one fetch, what to store next.

No I/O and no clock: the caller passes `now` (and, in tests, a seeded `random.Random`).
Politeness rules (reader and Miniflux are the bar):

- never poll a feed faster than its interval (default 15 min), plus positive jitter;
- `Cache-Control: max-age` and `Retry-After` (429/503) only ever move the next poll later,
  and are capped so a bad header cannot park a feed for weeks;
- failures back off exponentially per feed; after `broken_after` in a row the feed is
  marked broken (still retried, at the backoff cap) with its last error kept;
- 410 Gone disables the feed at once; a permanent redirect hands back the new URL;
- a 304, or a 200 whose body hash matches the stored one, needs no parsing.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from koreapage_bot.config import PollConfig
from koreapage_bot.domain import Feed, FeedState
from koreapage_bot.error_text import bounded_error
from koreapage_bot.ingest.fetch import FetchResult
from koreapage_bot.ports import FeedPollUpdate

_RETRY_AFTER_STATUSES = frozenset({429, 503})


# Retry-After and Cache-Control max-age are honoured up to this, so a bad header cannot park a
# feed for weeks.
MAX_DELAY_SECONDS = 24 * 3600


class Outcome(StrEnum):
    CHANGED = "changed"  # new body: parse it
    NOT_MODIFIED = "not_modified"  # 304
    UNCHANGED = "unchanged"  # 200 with the same body hash
    FAILED = "failed"  # network error, HTTP error, too large, parse failure
    GONE = "gone"  # 410: disabled


@dataclass(frozen=True, slots=True)
class PollDecision:
    """What one fetch means for a feed: its outcome, and the update to write to its row."""

    outcome: Outcome
    update: FeedPollUpdate

    @property
    def parse(self) -> bool:
        """A new body arrived: parse it (a 304 or an unchanged body needs no parsing)."""
        return self.outcome is Outcome.CHANGED


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def feed_interval(feed: Feed, config: PollConfig) -> int:
    return max(feed.interval_seconds or config.interval_seconds, config.min_interval_seconds)


def _jittered(seconds: float, config: PollConfig, rng: random.Random | None) -> timedelta:
    rand = (rng or random).random()
    return timedelta(seconds=seconds * (1 + config.jitter * rand))


def decide(
    feed: Feed,
    result: FetchResult,
    now: datetime,
    config: PollConfig,
    rng: random.Random | None = None,
) -> PollDecision:
    """The feed's next state after `result`. `feed.content_hash` is the stored body hash."""
    status = result.status
    if status == 410:
        return PollDecision(
            Outcome.GONE,
            FeedPollUpdate(
                next_poll_at=now,  # never polled again: the feed is disabled
                state=FeedState.DISABLED,
                consecutive_failures=feed.consecutive_failures + 1,
                last_error=bounded_error(result.error) or "HTTP 410 Gone",
                etag=feed.etag,
                last_modified=feed.last_modified,
                content_hash=feed.content_hash,
            ),
        )
    if result.not_modified or (result.ok and result.body is not None):
        return _success(feed, result, now, config, rng)
    error = result.error or (f"HTTP {status}" if status else "no response")
    retry_after = result.retry_after if status in _RETRY_AFTER_STATUSES else None
    return failure(feed, error, now, config, rng, retry_after=retry_after)


def _success(
    feed: Feed,
    result: FetchResult,
    now: datetime,
    config: PollConfig,
    rng: random.Random | None,
) -> PollDecision:
    interval = float(feed_interval(feed, config))
    if result.max_age is not None:
        interval = max(interval, float(min(result.max_age, MAX_DELAY_SECONDS)))
    if result.not_modified:
        # A 304 may omit validators; keep the ones we sent.
        etag = result.etag or feed.etag
        last_modified = result.last_modified or feed.last_modified
        outcome, body_sha = Outcome.NOT_MODIFIED, feed.content_hash
    else:
        assert result.body is not None
        etag, last_modified = result.etag, result.last_modified
        body_sha = body_hash(result.body)
        outcome = Outcome.UNCHANGED if body_sha == feed.content_hash else Outcome.CHANGED
    return PollDecision(
        outcome,
        FeedPollUpdate(
            next_poll_at=now + _jittered(interval, config, rng),
            state=FeedState.ACTIVE,
            consecutive_failures=0,
            last_error=None,
            etag=etag,
            last_modified=last_modified,
            content_hash=body_sha,
            new_url=result.permanent_redirect_url,
        ),
    )


def failure(
    feed: Feed,
    error: str,
    now: datetime,
    config: PollConfig,
    rng: random.Random | None = None,
    *,
    retry_after: float | None = None,
) -> PollDecision:
    """A failed poll: back off exponentially, honour Retry-After, mark broken when due."""
    failures = feed.consecutive_failures + 1
    base = feed_interval(feed, config)
    exponent = min(failures - 1, 32)  # the cap below applies long before 2**32
    # The cap is never below the default interval (a failure never polls sooner than that).
    cap = max(config.max_backoff_seconds, config.interval_seconds)
    delay = float(min(base * 2**exponent, cap))
    if retry_after is not None:
        delay = max(delay, min(retry_after, float(MAX_DELAY_SECONDS)))
    state = FeedState.BROKEN if failures >= config.broken_after else FeedState.ACTIVE
    if feed.state == FeedState.DISABLED:
        state = FeedState.DISABLED
    return PollDecision(
        Outcome.FAILED,
        FeedPollUpdate(
            next_poll_at=now + _jittered(delay, config, rng),
            state=state,
            consecutive_failures=failures,
            # Errors quote servers and documents: bounded here, so reports and logs are too.
            last_error=bounded_error(error),
            etag=feed.etag,
            last_modified=feed.last_modified,
            content_hash=feed.content_hash,
        ),
    )


def parse_failed(
    feed: Feed,
    decision: PollDecision,
    error: str,
    now: datetime,
    config: PollConfig,
    rng: random.Random | None = None,
) -> PollDecision:
    """The body `decide` asked to parse turned out unusable (e.g. NotAFeed).

    Counts as a failure, and forgets validators and body hash so the next poll fetches and
    parses the body again instead of trusting a 304 or an unchanged hash of a bad body."""
    failed = failure(feed, error, now, config, rng)
    forget = replace(
        failed.update,
        etag=None,
        last_modified=None,
        content_hash=None,
        new_url=decision.update.new_url,
    )
    return replace(failed, update=forget)
