"""Helpers for the store-backed delivery tests: briefs and subscriptions in a real store, a
settable clock, and a scripted fake *platform* (a Publisher test double)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from koreapage_bot.dates import utcnow
from koreapage_bot.delivery.fanout import recipients
from koreapage_bot.domain import Analysis, Brief, Feed, FeedEntry, KeyIssue, Subscription
from koreapage_bot.ports import (
    BriefView,
    ClaimedDelivery,
    DeliveryTarget,
    Failed,
    Found,
    LookupOutcome,
    NewPost,
    PublishOutcome,
    RetryAfter,
    Sent,
    SubscriptionSpec,
)
from koreapage_bot.store import tables as t
from koreapage_bot.store.store import Store

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)  # publication dates of fixture posts

ISSUES = {
    "usfk": "USFK presence",
    "cost-sharing": "Defense cost sharing",
    "gsomia": "GSOMIA",
}

_keys = itertools.count(1)


class Clock:
    """The dispatcher's wall clock, moved by hand so backoff and due times are exact."""

    def __init__(self, start: datetime | None = None) -> None:
        # Just after the real now: rows written with the store's default timestamps are due,
        # but only for about a second of real time; rows written later in a test (after a
        # drain against the fake servers, say) are stamped with `now=clock.now`.
        self.now = start or datetime.now(UTC) + timedelta(seconds=1)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


async def a_feed(store: Store, name: str = "Alliance Monitor") -> Feed:
    slug = name.lower().replace(" ", "-")
    feed, _ = await store.feeds.add(f"https://news.example.org/{slug}.xml", name)
    return feed


async def a_brief(
    store: Store,
    feed: Feed,
    title: str,
    *,
    issues: Iterable[str] = ("usfk",),
    relevance: float = 0.8,
    deliver: bool = True,
    now: datetime | None = None,
) -> tuple[Brief, int]:
    """Store a relevant post; returns its brief and how many deliveries were queued."""
    n = next(_keys)
    entry = FeedEntry(
        key=f"entry-{n}",
        url=f"https://news.example.org/posts/{n}",
        title=title,
        author="Kim Min-ji",
        published=T0 - timedelta(hours=1),
        summary="",
        content=None,
    )
    analysis = Analysis(
        relevant=True,
        relevance=relevance,
        key_issues=tuple(KeyIssue(i, ISSUES[i], 0.9) for i in issues),
        author="Kim Min-ji",
        summary=f"{title}: what it means for the alliance, in two sentences of summary.",
        why=("test fixture",),
        text=f"{title}. Body text about the alliance.",
    )
    stored = await store.briefs.store_post(
        feed,
        NewPost(entry, analysis, f"hash-{n}", relevant=True),
        fan_out=recipients if deliver else None,
        now=now,
    )
    assert stored.brief is not None
    return stored.brief, stored.deliveries


async def subscribe(
    store: Store,
    channel: str,
    platform: str = "fake",
    *,
    issues: Sequence[str] = (),
    per_brief: bool = True,
    digest_time: str | None = None,
    now: datetime | None = None,
) -> Subscription:
    sub, _ = await store.subscriptions.upsert(
        SubscriptionSpec(
            platform=platform,
            channel=channel,
            workspace="guild-1",
            issues=tuple(issues),
            per_brief=per_brief,
            digest_time=digest_time,
        ),
        now=now,
    )
    return sub


async def claim_heads(
    store: Store,
    now: datetime,
    platforms: Sequence[str],
    holder: str | None = None,
    *,
    limit: int = 100,
) -> list[ClaimedDelivery]:
    """Claim what a dispatcher would start sending now, the way it does: the due rows
    (`due_ids`), each claimed with `claim_one`, which takes only a row at its channel's head."""
    claimed = []
    for item in await store.outbox.load(await store.outbox.due_ids(now, limit, platforms)):
        delivery = await store.outbox.claim_one(item.delivery.id, now, holder)
        if delivery is not None:
            claimed.append(replace(item, delivery=delivery))
    return claimed


async def mark_sending(
    store: Store, ids: Sequence[int], now: datetime, holder: str | None = None
) -> list[ClaimedDelivery]:
    """Rows left `sending` the way an older version left them (it claimed a channel's rows in
    one batch): written directly, since the product never claims past a channel's head."""
    async with store.engine.begin() as conn:
        await conn.execute(
            t.deliveries.update()
            .where(t.deliveries.c.id.in_(list(ids)))
            .values(
                state="sending",
                attempts=t.deliveries.c.attempts + 1,
                claimed_at=now,
                claimed_by=holder,
                first_attempt_at=now,
                updated_at=now,
            )
        )
    return await store.outbox.load(ids)


@dataclass
class Call:
    target: DeliveryTarget
    views: tuple[BriefView, ...]
    digest_title: str | None = None
    loop_time: float = 0.0


@dataclass
class FakePlatform:
    """A Publisher for a pretend platform. `answers` is consumed one per call: an outcome is
    returned, an exception raised, a float means "hang this many seconds". When it runs out
    every call is Sent. `messages` is what the platform holds: one per idempotency key, the
    way Discord's nonce with enforce_nonce (or Slack metadata) deduplicates."""

    platform: str = "fake"
    answers: list[PublishOutcome | BaseException | float] = field(default_factory=list)
    # Answers for one channel, used before `answers` (keeps scripts deterministic under
    # the dispatcher's concurrency).
    per_channel: dict[str, list[PublishOutcome | BaseException | float]] = field(
        default_factory=dict
    )
    calls: list[Call] = field(default_factory=list)
    messages: dict[str, str] = field(default_factory=dict)
    delivered: list[Call] = field(default_factory=list)  # calls that reached the platform
    crash_after_send: type[BaseException] | None = None
    clock: Callable[[], float] | None = None

    async def publish(self, target: DeliveryTarget, view: BriefView) -> PublishOutcome:
        return await self._answer(Call(target, (view,)))

    async def publish_digest(
        self, target: DeliveryTarget, views: Sequence[BriefView], title: str
    ) -> PublishOutcome:
        return await self._answer(Call(target, tuple(views), title))

    async def _answer(self, call: Call) -> PublishOutcome:
        call.loop_time = self.clock() if self.clock else asyncio.get_running_loop().time()
        self.calls.append(call)
        script = self.per_channel.get(call.target.channel) or self.answers
        answer: PublishOutcome | BaseException | float = script.pop(0) if script else Sent(None)
        if isinstance(answer, BaseException):
            raise answer
        if isinstance(answer, float):
            await asyncio.sleep(answer)
            return Sent("too-late")
        if isinstance(answer, Sent):
            key = call.target.idempotency_key
            message_id = self.messages.setdefault(key, f"msg-{len(self.messages) + 1}")
            self.delivered.append(call)
            if self.crash_after_send is not None:
                raise self.crash_after_send()
            return Sent(message_id)
        return answer

    def keys(self) -> list[str]:
        return [c.target.idempotency_key for c in self.calls]

    def delivered_titles(self, channel: str) -> list[str]:
        return [v.title for c in self.delivered if c.target.channel == channel for v in c.views]


class FakePlatformWithLookup(FakePlatform):
    """Also answers SentLookup.find_sent from what the platform holds (no de-duplication
    window: every row in doubt is looked up)."""

    lookups: list[list[str]]

    def resend_window(self, target: DeliveryTarget) -> float:
        return 0.0

    async def find_sent(self, targets: Sequence[DeliveryTarget]) -> LookupOutcome:
        if not hasattr(self, "lookups"):
            self.lookups = []
        self.lookups.append([t.idempotency_key for t in targets])
        keys = {t.idempotency_key for t in targets}
        return Found({k: v for k, v in self.messages.items() if k in keys})


def server_error(seconds: float = 0.0) -> RetryAfter:
    return RetryAfter(seconds, "503 Service Unavailable")


def rate_limited(seconds: float = 2.0) -> RetryAfter:
    return RetryAfter(seconds, "429 Too Many Requests", rate_limited=True)


def permanent(reason: str = "400 Invalid Form Body") -> Failed:
    return Failed(reason)


def channel_gone(reason: str = "403 Missing Access") -> Failed:
    return Failed(reason, channel_unusable=True)


# -- fan-out helpers (tests and bench/dispatch.py) ----------------------------------------

EPS = 1e-6


class VirtualClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeping = 0
        self.most_sleeping = 0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeping += 1
        self.most_sleeping = max(self.most_sleeping, self.sleeping)
        try:
            # Let everything already scheduled run at the current instant (a publish that was
            # granted a slot just now records that slot's time), then move the clock.
            await asyncio.sleep(0)
            self.now += max(0.0, seconds)
        finally:
            self.sleeping -= 1


async def add_subscriptions(store: Store, n: int) -> None:
    """n channels in one statement (the repository's upsert takes one round trip each; this is
    setup, and `test_setup_rows_are_what_upsert_writes` keeps the two the same)."""
    now = utcnow()
    rows = [
        {
            "platform": "fake",
            "workspace": "guild-1",
            "channel": f"ch-{i:04d}",
            "issues": [],
            "feeds": [],
            "min_relevance": 0.0,
            "state": "active",
            "per_brief": True,
            "digest_tz": "UTC",
            "last_digest_at": now,
            "options": {},
            "created_at": now,
            "updated_at": now,
        }
        for i in range(n)
    ]
    async with store.engine.begin() as conn:
        await conn.execute(t.subscriptions.insert(), rows)


def max_in_window(times: list[float], window: float = 1.0) -> int:
    """Most events in any half-open window [t, t + window)."""
    ts = sorted(times)
    best, j = 0, 0
    for i, at in enumerate(ts):
        while ts[j] <= at - window + EPS:
            j += 1
        best = max(best, i - j + 1)
    return best
