from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from koreapage_bot.config import PollConfig
from koreapage_bot.domain import Feed, FeedState
from koreapage_bot.ingest.fetch import FetchResult
from koreapage_bot.ingest.policy import (
    MAX_DELAY_SECONDS,
    Outcome,
    PollDecision,
    body_hash,
    decide,
    parse_failed,
)

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
URL = "https://alliance-watch.example/feed.xml"
SETTINGS = PollConfig(interval_seconds=900, min_interval_seconds=300, jitter=0.1, broken_after=3)


def feed(**changes: object) -> Feed:
    base = Feed(id=1, url=URL, name="Alliance Watch", state=FeedState.ACTIVE)
    return replace(base, **changes)  # type: ignore[arg-type]


def ok(body: bytes = b"<rss/>", **changes: object) -> FetchResult:
    values: dict[str, object] = {"url": URL, "final_url": URL, "status": 200, "body": body}
    values.update(changes)
    return FetchResult(**values)  # type: ignore[arg-type]


def err(status: int | None, error: str = "boom", **changes: object) -> FetchResult:
    values: dict[str, object] = {"url": URL, "final_url": URL, "status": status, "error": error}
    values.update(changes)
    return FetchResult(**values)  # type: ignore[arg-type]


def delay(decision: PollDecision) -> float:
    return (decision.update.next_poll_at - NOW).total_seconds()


def test_new_body_is_parsed_and_validators_stored() -> None:
    up = decide(
        feed(), ok(etag='"v1"', last_modified="Sat, 01 Jun 2024 10:00:00 GMT"), NOW, SETTINGS
    )
    assert up.outcome is Outcome.CHANGED and up.parse
    assert up.update.etag == '"v1"' and up.update.last_modified == "Sat, 01 Jun 2024 10:00:00 GMT"
    assert up.update.content_hash == body_hash(b"<rss/>")
    assert 900 <= delay(up) <= 990
    assert up.update.state is FeedState.ACTIVE and up.update.consecutive_failures == 0


def test_unchanged_body_hash_skips_parsing() -> None:
    up = decide(feed(content_hash=body_hash(b"<rss/>")), ok(), NOW, SETTINGS)
    assert up.outcome is Outcome.UNCHANGED and not up.parse


def test_304_keeps_validators_when_response_omits_them() -> None:
    f = feed(etag='"v1"', last_modified="x", content_hash="h")
    up = decide(
        f, FetchResult(url=URL, final_url=URL, status=304, not_modified=True), NOW, SETTINGS
    )
    assert up.outcome is Outcome.NOT_MODIFIED and not up.parse
    assert (up.update.etag, up.update.last_modified, up.update.content_hash) == ('"v1"', "x", "h")


def test_max_age_moves_next_poll_later_but_capped() -> None:
    up = decide(feed(), ok(max_age=7200), NOW, SETTINGS)
    assert 7200 <= delay(up) <= 7200 * 1.1
    short = decide(feed(), ok(max_age=10), NOW, SETTINGS)
    assert delay(short) >= 900  # never faster than the interval
    huge = decide(feed(), ok(max_age=10**8), NOW, SETTINGS)
    assert delay(huge) <= MAX_DELAY_SECONDS * 1.1


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_moves_next_poll(status: int) -> None:
    up = decide(feed(), err(status, retry_after=5 * 3600), NOW, SETTINGS)
    assert up.outcome is Outcome.FAILED and 5 * 3600 <= delay(up) <= 5.5 * 3600
    capped = decide(feed(), err(status, retry_after=30 * 86400), NOW, SETTINGS)
    assert delay(capped) <= 86400 * 1.1
    assert capped.update.consecutive_failures == 1 and capped.update.last_error == "boom"


def test_retry_after_ignored_on_other_statuses() -> None:
    up = decide(feed(), err(500, retry_after=5 * 3600), NOW, SETTINGS)
    assert delay(up) < 3600


def test_exponential_backoff_then_broken_then_recovery() -> None:
    f = feed()
    delays = []
    for _ in range(4):
        up = decide(f, err(None, "timed out"), NOW, SETTINGS, random.Random(1))
        delays.append(delay(up))
        f = feed(
            consecutive_failures=up.update.consecutive_failures,
            state=up.update.state,
            last_error=up.update.last_error,
        )
    assert delays[0] < delays[1] < delays[2] < delays[3]
    assert f.state is FeedState.BROKEN and f.consecutive_failures == 4
    assert f.last_error == "timed out"
    healed = decide(f, ok(), NOW, SETTINGS)
    assert healed.update.state is FeedState.ACTIVE and healed.update.consecutive_failures == 0
    assert healed.update.last_error is None


def test_backoff_is_capped() -> None:
    up = decide(feed(consecutive_failures=50), err(500), NOW, SETTINGS)
    assert delay(up) <= SETTINGS.max_backoff_seconds * 1.1


def test_410_disables_at_once() -> None:
    up = decide(feed(), err(410, "HTTP 410 Gone"), NOW, SETTINGS)
    assert up.update.state is FeedState.DISABLED and not up.parse
    assert up.update.last_error == "HTTP 410 Gone"


def test_permanent_redirect_hands_back_new_url() -> None:
    new = "https://alliance-watch.example/rss"
    up = decide(feed(), ok(permanent_redirect_url=new), NOW, SETTINGS)
    assert up.update.new_url == new
    failed = decide(feed(), err(500, permanent_redirect_url=new), NOW, SETTINGS)
    assert failed.update.new_url is None  # only a working target is worth storing


def test_feed_interval_respected_and_floored() -> None:
    slow = decide(feed(interval_seconds=3600), ok(), NOW, SETTINGS)
    assert 3600 <= delay(slow) <= 3960
    eager = decide(feed(interval_seconds=5), ok(), NOW, SETTINGS)
    assert delay(eager) >= SETTINGS.min_interval_seconds


def test_jitter_spreads_feeds() -> None:
    rng = random.Random(7)
    delays = {delay(decide(feed(), ok(), NOW, SETTINGS, rng)) for _ in range(20)}
    assert len(delays) > 10 and min(delays) >= 900 and max(delays) <= 990


def test_parse_failure_forgets_validators() -> None:
    f = feed(etag='"old"', content_hash="old")
    up = decide(f, ok(etag='"new"'), NOW, SETTINGS)
    failed = parse_failed(f, up, "not a feed", NOW, SETTINGS)
    assert failed.outcome is Outcome.FAILED and not failed.parse
    assert (failed.update.etag, failed.update.last_modified, failed.update.content_hash) == (
        None,
        None,
        None,
    )
    assert failed.update.last_error == "not a feed" and failed.update.consecutive_failures == 1
