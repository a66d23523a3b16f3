"""The store in memory: ports.Storage without a database, for fast tests of the core.

Same semantics as the SQL store where the core depends on them, and tested against it by one
contract suite (tests/integration/store/test_ports_contract.py):

- every write is atomic: no method awaits between reading and writing, so within one event
  loop a method's changes are seen all at once or not at all (the post, its brief and its
  outbox rows together; a claim against another claim);
- uniqueness as the schema's constraints: one feed per URL, one post per feed entry
  (EntryAlreadyStored), one subscription per platform and channel, one delivery per
  subscription and brief; removing a subscription removes its deliveries;
- feed leases are compare-and-set on `next_poll_at`; per-channel delivery order is the outbox
  queue order (`due_ids`, `claim_one`) exactly as in SQL;
- errors are stored bounded (error_text.bounded_error), links only when usable (links.web_link).

What it does not do: search ranks by a plain weighted count of matching words (title 10,
summary 4, the rest 1, as the SQL weights) instead of bm25 or ts_rank, without stemming; it
only finds what the SQL search finds for plain words and phrases. Nothing survives the process.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from koreapage_bot.dates import utcnow
from koreapage_bot.domain import (
    Brief,
    Delivery,
    DeliveryState,
    Feed,
    FeedState,
    Subscription,
    SubscriptionState,
)
from koreapage_bot.error_text import bounded_error
from koreapage_bot.ports import (
    Claim,
    ClaimedDelivery,
    EntryAlreadyStored,
    FanOut,
    FeedPollUpdate,
    NewPost,
    NoticeLog,
    RowKind,
    StatsSource,
    Storage,
    StoredPost,
    StoreStats,
    StoryContext,
    StoryMember,
    SubscriptionSpec,
    parse_row_id,
)
from koreapage_bot.store.search import SearchTerms, parse_query
from koreapage_bot.store.stories import LEAD_CHARS
from koreapage_bot.store.subscriptions import RESUME_BACKLOG

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_PENDING, _SENDING = DeliveryState.PENDING, DeliveryState.SENDING


@dataclass
class _Post:
    id: int
    feed_id: int
    entry_key: str
    content_hash: str
    title: str
    updated_at: datetime
    text: str = ""


@dataclass(frozen=True, slots=True)
class _Indexed:
    brief: Brief
    sort_at: datetime  # coalesce(published, created_at), as the SQL column
    fields: tuple[tuple[str, ...], ...]  # words of title, summary, the rest (search)


@dataclass
class _Row:
    delivery: Delivery
    payload: dict[str, Any] = field(default_factory=dict)
    updated_at: datetime | None = None
    digest_day: str | None = None  # a digest's local day: one per subscription and day


class MemoryFeeds:
    def __init__(self, db: MemoryStore) -> None:
        self._db = db
        self._rows: dict[int, Feed] = {}
        self._ids = itertools.count(1)

    async def add(
        self,
        url: str,
        name: str,
        *,
        interval_seconds: int | None = None,
        added_by: str | None = None,
        now: datetime | None = None,
    ) -> tuple[Feed, bool]:
        now = now or utcnow()
        existing = self._by_url(url)
        if existing is not None:
            if existing.state is not FeedState.DISABLED:
                return existing, False
            # Re-added: a fresh baseline, as the SQL store does.
            revived = replace(
                existing,
                state=FeedState.ACTIVE,
                next_poll_at=now,
                last_error=None,
                consecutive_failures=0,
                baselined=False,
                etag=None,
                last_modified=None,
                content_hash=None,
            )
            self._rows[revived.id] = revived
            return revived, True
        feed = Feed(
            id=next(self._ids),
            url=url,
            name=name,
            state=FeedState.ACTIVE,
            interval_seconds=interval_seconds,
            next_poll_at=now,
            added_by=added_by,
        )
        self._rows[feed.id] = feed
        return feed, True

    def _by_url(self, url: str) -> Feed | None:
        return next((f for f in self._rows.values() if f.url == url), None)

    async def get(self, feed_id: int) -> Feed | None:
        return self._rows.get(feed_id)

    async def by_url(self, url: str) -> Feed | None:
        return self._by_url(url)

    async def find(self, ref: str) -> Feed | None:
        ref = ref.strip().lstrip("#")
        if ref.isascii() and ref.isdigit():
            number = parse_row_id(ref)
            return self._rows.get(number) if number is not None else None
        lowered = ref.lower()
        return next(
            (f for f in self._in_id_order() if f.url == ref or f.name.lower() == lowered), None
        )

    def _in_id_order(self) -> list[Feed]:
        return [self._rows[i] for i in sorted(self._rows)]

    async def all(self, include_disabled: bool = True) -> list[Feed]:
        return [
            f for f in self._in_id_order() if include_disabled or f.state is not FeedState.DISABLED
        ]

    async def count_added_by(self, prefix: str) -> int:
        return sum(
            1
            for f in self._rows.values()
            if f.state is not FeedState.DISABLED and (f.added_by or "").startswith(prefix)
        )

    async def disable(self, feed_id: int, reason: str | None = None) -> bool:
        return self._set(feed_id, state=FeedState.DISABLED, last_error=bounded_error(reason))

    async def rename(self, feed_id: int, name: str) -> bool:
        return self._set(feed_id, name=name)

    async def set_next_poll(self, feed_id: int, at: datetime) -> bool:
        return self._set(feed_id, next_poll_at=at)

    def _set(self, feed_id: int, **values: Any) -> bool:
        feed = self._rows.get(feed_id)
        if feed is None:
            return False
        self._rows[feed_id] = replace(feed, **values)
        return True

    def _pollable(self) -> Iterator[Feed]:
        return (f for f in self._rows.values() if f.state is not FeedState.DISABLED)

    async def due(self, due_by: datetime, limit: int) -> list[Feed]:
        due = [f for f in self._pollable() if f.next_poll_at and f.next_poll_at <= due_by]
        due.sort(key=lambda f: (f.next_poll_at, f.id))
        return due[:limit]

    async def claim(self, feeds: Sequence[Feed], now: datetime, lease: timedelta) -> list[Feed]:
        claimed = []
        for feed in feeds:
            row = self._rows.get(feed.id)
            if row is None or row.state is FeedState.DISABLED:
                continue
            if row.next_poll_at != feed.next_poll_at:
                continue  # another claimer (or the poll's result) got there first
            self._rows[feed.id] = replace(row, next_poll_at=now + lease)
            claimed.append(feed)
        return claimed

    async def move_claim(self, feed_id: int, held: datetime, to: datetime) -> bool:
        row = self._rows.get(feed_id)
        if row is None or row.next_poll_at != held:
            return False
        self._rows[feed_id] = replace(row, next_poll_at=to)
        return True

    async def next_due_at(self) -> datetime | None:
        times = [f.next_poll_at for f in self._pollable() if f.next_poll_at is not None]
        return min(times, default=None)

    async def apply_poll(self, feed_id: int, change: FeedPollUpdate, now: datetime) -> None:
        row = self._rows.get(feed_id)
        if row is None:
            return
        values: dict[str, Any] = {
            "next_poll_at": change.next_poll_at,
            "state": change.state,
            "consecutive_failures": change.consecutive_failures,
            "last_error": bounded_error(change.last_error),
            "etag": change.etag,
            "last_modified": change.last_modified,
            "content_hash": change.content_hash,
            "last_polled_at": now,
        }
        for name in ("title", "name", "site_url"):
            if getattr(change, name):
                values[name] = getattr(change, name)
        if change.baselined is not None:
            values["baselined"] = change.baselined
        if change.new_url:
            taken = self._by_url(change.new_url)
            if taken is not None and taken.id != feed_id:
                # The redirect target is already a feed of ours: keep the old URL, note why.
                values["last_error"] = bounded_error(
                    f"permanent redirect to {change.new_url}, already followed"
                )
            else:
                values["url"] = change.new_url
        self._rows[feed_id] = replace(row, **values)


class MemoryBriefs:
    def __init__(self, db: MemoryStore) -> None:
        self._db = db
        self._posts: dict[int, _Post] = {}
        self._briefs: dict[int, _Indexed] = {}
        self._post_ids = itertools.count(1)
        self._brief_ids = itertools.count(1)

    async def known_entries(self, feed_id: int, keys: Iterable[str]) -> dict[str, tuple[int, str]]:
        wanted = set(keys)
        return {
            p.entry_key: (p.id, p.content_hash)
            for p in self._posts.values()
            if p.feed_id == feed_id and p.entry_key in wanted
        }

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
        now = now or utcnow()
        entry = post.entry
        if any(p.feed_id == feed.id and p.entry_key == entry.key for p in self._posts.values()):
            raise EntryAlreadyStored(entry.key)
        stored = _Post(
            next(self._post_ids),
            feed.id,
            entry.key,
            post.content_hash,
            entry.title,
            now,
            post.analysis.text,
        )
        self._posts[stored.id] = stored
        if not post.relevant:
            return StoredPost(stored.id, None, 0)
        story_id = self._db.stories.join(story, now)
        brief = post.brief(
            feed, brief_id=next(self._brief_ids), post_id=stored.id, now=now, story_id=story_id
        )
        self._briefs[brief.id] = _Indexed(
            brief,
            entry.published or now,
            tuple(_words(text) for text in (brief.title, brief.summary, post.search_text(feed))),
        )
        count = self._db.outbox.write(brief, fan_out, now, row_kind) if fan_out is not None else 0
        return StoredPost(stored.id, brief, count)

    def indexed(self) -> list[_Indexed]:
        return list(self._briefs.values())

    def post_text(self, post_id: int) -> str:
        post = self._posts.get(post_id)
        return post.text if post else ""

    async def touch_post(
        self, post_id: int, *, title: str, content_hash: str, now: datetime | None = None
    ) -> None:
        post = self._posts.get(post_id)
        if post is not None:
            post.title, post.content_hash, post.updated_at = title, content_hash, now or utcnow()

    async def get(self, brief_id: int) -> Brief | None:
        found = self._briefs.get(brief_id)
        return found.brief if found else None

    async def get_many(self, brief_ids: Sequence[int]) -> list[Brief]:
        return [self._briefs[i].brief for i in brief_ids if i in self._briefs]

    def _newest_first(self, items: Iterable[_Indexed]) -> list[_Indexed]:
        return sorted(items, key=lambda x: (x.sort_at, x.brief.id), reverse=True)

    async def latest(
        self,
        limit: int = 5,
        *,
        issue: str | None = None,
        feed_id: int | None = None,
        offset: int = 0,
    ) -> list[Brief]:
        chosen = [
            x
            for x in self._briefs.values()
            if (issue is None or issue in {t.id for t in x.brief.key_issues})
            and (feed_id is None or x.brief.feed_id == feed_id)
        ]
        return [x.brief for x in self._newest_first(chosen)[offset : offset + limit]]

    async def for_subscription_since(
        self, subscription: Subscription, since: datetime | None, limit: int = 25
    ) -> list[Brief]:
        chosen = [
            x.brief
            for x in self._briefs.values()
            if (since is None or x.brief.created_at > since) and subscription.matches(x.brief)
        ]
        chosen.sort(key=lambda b: (b.created_at, b.id), reverse=True)
        return list(reversed(chosen[:limit]))

    async def search(
        self,
        query: str,
        limit: int = 10,
        *,
        offset: int = 0,
        newest: bool = False,
        issue: str | None = None,
    ) -> list[Brief]:
        terms = parse_query(query)
        if terms.empty:
            return []
        pool = [
            x
            for x in self._briefs.values()
            if issue is None or issue in {t.id for t in x.brief.key_issues}
        ]
        hits = [(x, s) for x in pool if (s := _score(x, terms, any_term=False)) is not None]
        if not hits and len(terms.phrases) > 1:
            hits = [(x, s) for x in pool if (s := _score(x, terms, any_term=True)) is not None]
        if newest:
            ordered = self._newest_first(x for x, _ in hits)
        else:
            ordered = [
                x for x, _ in sorted(hits, key=lambda h: (h[1], h[0].brief.id), reverse=True)
            ]
        return [x.brief for x in ordered[offset : offset + limit]]

    async def count(self) -> int:
        return len(self._briefs)


class MemorySubscriptions:
    def __init__(self, db: MemoryStore) -> None:
        self._db = db
        self._rows: dict[int, Subscription] = {}
        self._ids = itertools.count(1)

    def _copy(self, sub: Subscription) -> Subscription:
        return replace(sub, options=dict(sub.options))

    async def upsert(
        self, spec: SubscriptionSpec, now: datetime | None = None
    ) -> tuple[Subscription, bool]:
        now = now or utcnow()
        values: dict[str, Any] = {
            "workspace": spec.workspace,
            "issues": tuple(spec.issues),
            "feeds": tuple(spec.feeds),
            "min_relevance": spec.min_relevance,
            "per_brief": spec.per_brief,
            "digest_time": spec.digest_time,
            "digest_tz": spec.digest_tz,
            "state": SubscriptionState.ACTIVE,
            "paused_reason": None,
        }
        if spec.options is not None:
            values["options"] = dict(spec.options)
        existing = self._for_channel(spec.platform, spec.channel)
        if existing is None:
            sub = Subscription(
                id=next(self._ids),
                platform=spec.platform,
                channel=spec.channel,
                created_by=spec.created_by,
                created_at=now,
                # A new digest starts from now, not from the beginning of time.
                last_digest_at=now,
                **{"options": {}, **values},
            )
            self._rows[sub.id] = sub
            return self._copy(sub), True
        self._rows[existing.id] = replace(existing, **values)
        if existing.state is SubscriptionState.PAUSED:
            self._db.outbox.skip_stale_backlog(existing.id, now)
        return self._copy(self._rows[existing.id]), False

    def _for_channel(self, platform: str, channel: str) -> Subscription | None:
        return next(
            (s for s in self._rows.values() if (s.platform, s.channel) == (platform, channel)),
            None,
        )

    def row(self, subscription_id: int) -> Subscription | None:
        return self._rows.get(subscription_id)

    def every(self) -> list[Subscription]:
        return [self._copy(self._rows[i]) for i in sorted(self._rows)]

    async def get(self, subscription_id: int) -> Subscription | None:
        sub = self._rows.get(subscription_id)
        return self._copy(sub) if sub else None

    async def for_channel(self, platform: str, channel: str) -> Subscription | None:
        sub = self._for_channel(platform, channel)
        return self._copy(sub) if sub else None

    async def all(
        self,
        platform: str | None = None,
        workspace: str | None = None,
        channels: Sequence[str] | None = None,
    ) -> list[Subscription]:
        return [
            s
            for s in self.every()
            if (not platform or s.platform == platform)
            and (not workspace or s.workspace == workspace)
            and (channels is None or s.channel in channels)
        ]

    async def with_digest(self) -> list[Subscription]:
        return [
            s
            for s in self.every()
            if s.digest_time is not None and s.state is SubscriptionState.ACTIVE
        ]

    async def remove(self, subscription_id: int) -> bool:
        if self._rows.pop(subscription_id, None) is None:
            return False
        self._db.outbox.drop_subscription(subscription_id)
        return True

    async def pause(self, subscription_id: int, reason: str) -> bool:
        sub = self._rows.get(subscription_id)
        if sub is None:
            return False
        paused = replace(sub, state=SubscriptionState.PAUSED, paused_reason=bounded_error(reason))
        self._rows[subscription_id] = paused
        return True

    async def resume(self, subscription_id: int, now: datetime | None = None) -> bool:
        sub = self._rows.get(subscription_id)
        if sub is None:
            return False
        now = now or utcnow()
        self._rows[subscription_id] = replace(
            sub, state=SubscriptionState.ACTIVE, paused_reason=None
        )
        self._db.outbox.skip_stale_backlog(subscription_id, now)
        return True

    def set_digest_mark(self, subscription_id: int, up_to: datetime) -> None:
        sub = self._rows.get(subscription_id)
        if sub is not None:
            self._rows[subscription_id] = replace(sub, last_digest_at=up_to)


class MemoryOutbox:
    def __init__(self, db: MemoryStore) -> None:
        self._db = db
        self._rows: dict[int, _Row] = {}
        self._ids = itertools.count(1)
        self._holders: dict[str, datetime] = {}

    # -- helpers for the other tables ---------------------------------------------------------

    def write(
        self, brief: Brief, fan_out: FanOut, now: datetime, row_kind: RowKind | None = None
    ) -> int:
        chosen = fan_out(brief, self._db.subscriptions.every())
        have = {
            r.delivery.subscription_id
            for r in self._rows.values()
            if r.delivery.brief_id == brief.id
        }
        story = self._db.stories.brief_ids(brief.story_id) - {brief.id}
        with_story = {
            r.delivery.subscription_id for r in self._rows.values() if r.delivery.brief_id in story
        }
        written = 0
        for sub in {s.id: s for s in chosen}.values():
            if sub.id in have or self._db.subscriptions.row(sub.id) is None:
                continue
            kind = row_kind(sub, sub.id in with_story) if row_kind is not None else "brief"
            payload: dict[str, Any] = {"story": brief.story_id} if kind == "story" else {}
            self._insert(sub.id, brief.id, kind, payload, now)
            written += 1
        return written

    def _insert(
        self,
        subscription_id: int,
        brief_id: int | None,
        kind: str,
        payload: dict[str, Any],
        now: datetime,
    ) -> int:
        delivery = Delivery(
            id=next(self._ids),
            brief_id=brief_id,
            subscription_id=subscription_id,
            state=_PENDING,
            attempts=0,
            next_attempt_at=now,
            kind=kind,
            created_at=now,
        )
        self._rows[delivery.id] = _Row(delivery, payload, now)
        return delivery.id

    def skip_stale_backlog(self, subscription_id: int, now: datetime) -> None:
        for row in self._rows.values():
            d = row.delivery
            if (
                d.subscription_id == subscription_id
                and d.state is _PENDING
                and d.created_at is not None
                and d.created_at < now - RESUME_BACKLOG
            ):
                self._set(
                    d.id,
                    state=DeliveryState.SKIPPED,
                    last_error="not sent: queued more than 2 days before the subscription resumed",
                )

    def drop_subscription(self, subscription_id: int) -> None:
        for row_id in [
            i for i, r in self._rows.items() if r.delivery.subscription_id == subscription_id
        ]:
            del self._rows[row_id]

    def _set(self, delivery_id: int, **values: Any) -> Delivery | None:
        row = self._rows.get(delivery_id)
        if row is None:
            return None
        row.delivery = replace(row.delivery, **values)
        row.updated_at = utcnow()
        return row.delivery

    def _channel_rows(self, subscription_id: int) -> list[Delivery]:
        return [
            r.delivery for r in self._rows.values() if r.delivery.subscription_id == subscription_id
        ]

    # -- the port -------------------------------------------------------------------------------

    async def due_ids(
        self,
        now: datetime,
        limit: int,
        platforms: Collection[str],
        *,
        per_subscription: int | None = None,
        prefer: tuple[int, int] | None = None,
    ) -> list[int]:
        if not platforms:
            return []
        if prefer is not None and prefer[1] > 1:
            every = await self.due_ids(now, 1 << 30, platforms, per_subscription=per_subscription)
            rank, n = prefer
            channel = {i: self._rows[i].delivery.subscription_id for i in every}
            every.sort(key=lambda i: ((channel[i] + n - rank % n) % n, i))
            return every[:limit]
        due: list[int] = []
        taken: dict[int, int] = {}
        for row_id in sorted(self._rows):
            d = self._rows[row_id].delivery
            sub = self._db.subscriptions.row(d.subscription_id)
            if (
                sub is None
                or sub.state is not SubscriptionState.ACTIVE
                or sub.platform not in platforms
            ):
                continue
            if d.state is not _PENDING or d.next_attempt_at > now:
                continue
            # Per-channel order: an earlier row waiting out a retry, or in flight, holds it.
            if any(
                e.id < d.id
                and (e.state is _SENDING or (e.state is _PENDING and e.next_attempt_at > now))
                for e in self._channel_rows(d.subscription_id)
            ):
                continue
            if per_subscription is not None:
                if taken.get(d.subscription_id, 0) >= per_subscription:
                    continue
                taken[d.subscription_id] = taken.get(d.subscription_id, 0) + 1
            due.append(d.id)
            if len(due) == limit:
                break
        return due

    async def load(self, ids: Sequence[int]) -> list[ClaimedDelivery]:
        out = []
        for row_id in sorted(set(ids)):
            row = self._rows.get(row_id)
            if row is None:
                continue
            sub = await self._db.subscriptions.get(row.delivery.subscription_id)
            if sub is None:
                continue
            d = row.delivery
            brief_ids = [d.brief_id] if d.brief_id is not None else row.payload.get("briefs", [])
            briefs = tuple(await self._db.briefs.get_many(brief_ids))
            out.append(ClaimedDelivery(d, sub, briefs, dict(row.payload)))
        return out

    async def claim_one(
        self, delivery_id: int, now: datetime, holder: str | None = None
    ) -> Delivery | None:
        row = self._rows.get(delivery_id)
        if row is None:
            return None
        d = row.delivery
        if d.state is not _PENDING or d.next_attempt_at > now:
            return None
        if any(
            e.id < d.id and e.state in (_PENDING, _SENDING)
            for e in self._channel_rows(d.subscription_id)
        ):
            return None
        return self._set(
            delivery_id,
            state=_SENDING,
            attempts=d.attempts + 1,
            claimed_at=now,
            claimed_by=holder,
            first_attempt_at=d.first_attempt_at or now,
        )

    async def in_doubt(self, platforms: Collection[str]) -> list[ClaimedDelivery]:
        ids = []
        for row_id in sorted(self._rows):
            d = self._rows[row_id].delivery
            sub = self._db.subscriptions.row(d.subscription_id)
            if d.state is _SENDING and sub is not None and sub.platform in platforms:
                ids.append(row_id)
        return await self.load(ids)

    async def mark_sent(self, delivery_id: int, message_id: str | None, now: datetime) -> None:
        self._set(delivery_id, state=DeliveryState.SENT, message_id=message_id, last_error=None)

    async def settle_pending(self, found: dict[int, str], not_there: Sequence[int]) -> int:
        sent = 0
        for delivery_id, message_id in found.items():
            row = self._rows.get(delivery_id)
            if row is not None and row.delivery.state is _PENDING:
                self._set(
                    delivery_id,
                    state=DeliveryState.SENT,
                    message_id=message_id,
                    last_error=None,
                    maybe_sent=False,
                )
                sent += 1
        for delivery_id in not_there:
            row = self._rows.get(delivery_id)
            if row is not None and row.delivery.state is _PENDING:
                self._set(delivery_id, maybe_sent=False)
        return sent

    async def reschedule(
        self,
        delivery_id: int,
        at: datetime,
        error: str,
        *,
        rate_limited: bool,
        maybe_sent: bool | None = None,
    ) -> None:
        row = self._rows.get(delivery_id)
        if row is None:
            return
        if maybe_sent is None and not rate_limited:
            maybe_sent = False
        values: dict[str, Any] = {
            "state": _PENDING,
            "next_attempt_at": at,
            "last_error": bounded_error(error),
        }
        if rate_limited:
            values["rate_limited"] = row.delivery.rate_limited + 1
        if maybe_sent is not None:
            values["maybe_sent"] = maybe_sent
        self._set(delivery_id, **values)

    async def release(
        self,
        delivery_id: int,
        at: datetime,
        note: str,
        *,
        maybe_sent: bool | None = None,
        claim: Claim | None = None,
    ) -> bool:
        row = self._rows.get(delivery_id)
        if row is None:
            return False
        d = row.delivery
        if claim is not None and (
            d.state is not DeliveryState.SENDING or (d.claimed_by, d.claimed_at) != claim
        ):
            return False
        extra: dict[str, Any] = {} if maybe_sent is None else {"maybe_sent": maybe_sent}
        self._set(
            delivery_id,
            **extra,
            state=_PENDING,
            attempts=max(row.delivery.attempts - 1, 0),
            next_attempt_at=at,
            last_error=bounded_error(note),
        )
        return True

    async def mark_dead(self, delivery_id: int, error: str, now: datetime) -> None:
        self._set(delivery_id, state=DeliveryState.DEAD, last_error=bounded_error(error))

    async def retry(self, delivery_id: int, now: datetime | None = None) -> bool:
        row = self._rows.get(delivery_id)
        if row is None or row.delivery.state is not DeliveryState.DEAD:
            return False
        self._set(
            delivery_id, state=_PENDING, attempts=0, rate_limited=0, next_attempt_at=now or utcnow()
        )
        return True

    async def all(self, state: DeliveryState | None = None, limit: int = 100) -> list[Delivery]:
        rows = [self._rows[i].delivery for i in sorted(self._rows, reverse=True)]
        return [d for d in rows if state is None or d.state is state][:limit]

    async def get(self, delivery_id: int) -> Delivery | None:
        row = self._rows.get(delivery_id)
        return row.delivery if row else None

    async def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for row in self._rows.values():
            out[row.delivery.state.value] = out.get(row.delivery.state.value, 0) + 1
        return out

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
        if brief_ids and day is not None and await self.has_digest(subscription_id, day):
            return None  # the SQL store's unique index: nothing changes
        self._db.subscriptions.set_digest_mark(subscription_id, up_to)
        if not brief_ids:
            return None
        payload = {"briefs": list(brief_ids), "title": title or "Daily digest"}
        delivery_id = self._insert(subscription_id, None, "digest", payload, now)
        self._rows[delivery_id].digest_day = day
        return delivery_id

    async def has_digest(self, subscription_id: int, day: str) -> bool:
        return any(
            r.digest_day == day and r.delivery.subscription_id == subscription_id
            for r in self._rows.values()
        )

    async def enqueue(
        self, briefs: Sequence[Brief], fan_out: FanOut, now: datetime | None = None
    ) -> int:
        now = now or utcnow()
        return sum(self.write(brief, fan_out, now) for brief in briefs)

    async def story_context(self, delivery_id: int) -> StoryContext | None:
        row = self._rows.get(delivery_id)
        if row is None or row.delivery.kind != "story" or row.delivery.brief_id is None:
            return None
        d, brief_id = row.delivery, row.delivery.brief_id
        sub = self._db.subscriptions.row(d.subscription_id)
        brief = await self._db.briefs.get(brief_id)
        if sub is None or brief is None or brief.story_id is None:
            return None
        members = self._db.stories.members(brief.story_id)
        ids = {m.id for m in members}
        earlier = sorted(
            (
                r.delivery
                for r in self._rows.values()
                if r.delivery.subscription_id == d.subscription_id
                and r.delivery.brief_id in ids
                and r.delivery.id < d.id
                and r.delivery.state is DeliveryState.SENT
                and r.delivery.message_id is not None
            ),
            key=lambda x: x.id,
        )
        anchor = earlier[0] if earlier else None
        return StoryContext.of(brief, sub, anchor, members)

    async def heartbeat(self, holder: str, now: datetime) -> None:
        self._holders[holder] = now

    async def holders(self) -> dict[str, datetime]:
        return dict(self._holders)

    async def remove_holder(self, holder: str) -> None:
        self._holders.pop(holder, None)

    async def forget_holders(self, seen_before: datetime) -> int:
        old = [h for h, seen in self._holders.items() if seen < seen_before]
        for holder in old:
            del self._holders[holder]
        return len(old)


class MemoryReplays:
    """ports.ReplayGuard. An expired key is forgotten at once (SQL prunes once a minute; a
    key that old fails the request's age check before it gets here anyway)."""

    def __init__(self) -> None:
        self._keys: dict[str, datetime] = {}

    async def first_seen(self, key: str, expires_at: datetime) -> bool:
        now = utcnow()
        for old in [k for k, until in self._keys.items() if until < now]:
            del self._keys[old]
        if key in self._keys:
            return False
        self._keys[key] = expires_at
        return True

    async def forget(self, key: str) -> None:
        self._keys.pop(key, None)


class MemoryNotices:
    """ports.NoticeLog: one notice per cause, platform, channel and day."""

    def __init__(self) -> None:
        self._rows: dict[int, tuple[tuple[str, str, str, date], datetime | None]] = {}
        self._ids = itertools.count(1)

    async def claim(
        self, cause: str, platform: str, channel: str, day: date, now: datetime
    ) -> int | None:
        key = (cause, platform, channel, day)
        if any(k == key for k, _ in self._rows.values()):
            return None
        notice_id = next(self._ids)
        self._rows[notice_id] = (key, None)
        return notice_id

    async def mark_sent(self, notice_id: int, now: datetime) -> None:
        if notice_id in self._rows:
            self._rows[notice_id] = (self._rows[notice_id][0], now)

    async def release(self, notice_id: int) -> None:
        self._rows.pop(notice_id, None)

    async def prune(self, before: date) -> int:
        old = [i for i, (key, _) in self._rows.items() if key[3] < before]
        for notice_id in old:
            del self._rows[notice_id]
        return len(old)


class MemoryStats:
    """ports.StatsSource over the in-memory tables."""

    def __init__(self, db: MemoryStore) -> None:
        self._db = db

    async def stats(self, now: datetime) -> StoreStats:
        feeds: dict[str, int] = {}
        for feed in await self._db.feeds.all():
            feeds[feed.state.value] = feeds.get(feed.state.value, 0) + 1
        subs = {s.id: s for s in self._db.subscriptions.every()}
        deliveries: dict[tuple[str, str], int] = {}
        oldest: dict[str, datetime] = {}
        for d in await self._db.outbox.all(limit=2**62):
            sub = subs.get(d.subscription_id)
            if sub is None:
                continue
            key = (sub.platform, d.state.value)
            deliveries[key] = deliveries.get(key, 0) + 1
            due = d.next_attempt_at
            if (
                d.state is _PENDING
                and due <= now
                and sub.state is SubscriptionState.ACTIVE
                and (sub.platform not in oldest or due < oldest[sub.platform])
            ):
                oldest[sub.platform] = due
        return StoreStats(feeds=feeds, deliveries=deliveries, oldest_due=oldest)


class MemoryStories:
    """ports.StoryStore: the story rows (id -> last update), the briefs hold their story."""

    def __init__(self, db: MemoryStore) -> None:
        self._db = db
        self._rows: dict[int, datetime] = {}
        self._ids = itertools.count(1)

    def join(self, story: int | None, now: datetime) -> int:
        """The story a new brief joins, or a new one (None, or a story that is not there)."""
        if story is not None and story in self._rows:
            self._rows[story] = now
            return story
        story_id = next(self._ids)
        self._rows[story_id] = now
        return story_id

    def members(self, story_id: int) -> list[Brief]:
        found = [x for x in self._db.briefs.indexed() if x.brief.story_id == story_id]
        found.sort(key=lambda x: (x.sort_at, x.brief.id))
        return [x.brief for x in found]

    def brief_ids(self, story_id: int | None) -> set[int]:
        if story_id is None:
            return set()
        return {x.brief.id for x in self._db.briefs.indexed() if x.brief.story_id == story_id}

    async def window(self, since: datetime, after_id: int = 0) -> list[StoryMember]:
        found = [
            x for x in self._db.briefs.indexed() if x.sort_at >= since and x.brief.id > after_id
        ]
        found.sort(key=lambda x: x.brief.id)
        return [
            StoryMember(x.brief, self._db.briefs.post_text(x.brief.post_id)[:LEAD_CHARS])
            for x in found
        ]

    async def reports(self, story_ids: Sequence[int]) -> dict[int, list[Brief]]:
        wanted = set(story_ids)
        found: dict[int, list[Brief]] = {}
        for story_id in sorted(wanted):
            members = self.members(story_id)
            if members:
                found[story_id] = members
        return found


class MemoryStore:
    """ports.Storage in memory (see the module docstring for what it does not do)."""

    def __init__(self) -> None:
        self.feeds = MemoryFeeds(self)
        self.briefs = MemoryBriefs(self)
        self.subscriptions = MemorySubscriptions(self)
        self.outbox = MemoryOutbox(self)
        self.replays = MemoryReplays()
        self.notices = MemoryNotices()
        self.stats = MemoryStats(self)
        self.stories = MemoryStories(self)
        self._meta: dict[str, str] = {}

    async def get_meta(self, key: str) -> str | None:
        return self._meta.get(key)

    async def set_meta(self, key: str, value: str) -> None:
        self._meta[key] = value

    async def close(self) -> None:
        """Nothing to release (the SQL store's counterpart disposes of its engine)."""


def _words(text: str | None) -> tuple[str, ...]:
    return tuple(w.lower() for w in _WORD.findall(text or ""))


def _has_phrase(words: tuple[str, ...], phrase: tuple[str, ...]) -> int:
    """How many times `phrase` (already split into index words) occurs in `words`."""
    n = len(phrase)
    return sum(1 for i in range(len(words) - n + 1) if words[i : i + n] == phrase)


def _score(item: _Indexed, terms: SearchTerms, *, any_term: bool) -> float | None:
    """Weighted occurrences of the wanted phrases (title 10, summary 4, the rest 1: the SQL
    weights); None when the brief does not match."""
    every = tuple(w for f in item.fields for w in f)
    if any(_has_phrase(every, tuple(_WORD.findall(word))) for word in terms.excluded):
        return None
    score = 0.0
    matched = 0
    for phrase in terms.phrases:
        index_words = tuple(w for word in phrase for w in _WORD.findall(word))
        counts = [_has_phrase(f, index_words) for f in item.fields]
        if any(counts):
            matched += 1
            score += 10 * counts[0] + 4 * counts[1] + counts[2]
    if matched == 0 or (not any_term and matched < len(terms.phrases)):
        return None
    return score


def _conforms(store: MemoryStore) -> tuple[Storage, NoticeLog, StatsSource]:
    """Never called: mypy checks here that MemoryStore is a ports.Storage (and its notice log
    and statistics the ports the metrics page and the notifier read)."""
    return store, store.notices, store.stats
