"""Notices to the operators: a message in an admin channel per platform (`[notices]`) when a
feed breaks or is disabled, when a channel is paused, when deliveries go dead.

Why not through the outbox. Outbox rows belong to a subscription and carry briefs: a notice has
neither, and an admin channel that is also subscribed would get briefs it never asked for. A
notice about a failing channel sent through the lanes that are failing could itself go dead or
be paused, and report itself. So notices go to the publishers directly, but under the same
rules where they matter: each platform's rate budget is taken before the call, a 429 or a
5xx is retried (a few times, with the platform's Retry-After), and each notice carries a stable
key (a Discord nonce) so a retry after a lost answer is not posted twice there.

At most one notice per cause (a feed, a channel) and admin channel per day (UTC): the notice is
claimed in the database (`ports.NoticeLog`) before it is sent, so a restart, or a second
process on the same database, does not tell it again. A notice that cannot be sent at all is
released, so the cause is told when it happens again. Notices reported together (a token
revoked pauses every channel at once) are sent a few at a time: beyond `MAX_EACH` of one kind
in a batch, one more notice lists the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from koreapage_bot.dates import utcnow
from koreapage_bot.delivery.ratelimit import RateBudget
from koreapage_bot.domain import Feed, Subscription
from koreapage_bot.ports import (
    Failed,
    Metrics,
    NoMetrics,
    Notice,
    NoticeLog,
    NoticePublisher,
    PublishOutcome,
    RetryAfter,
    Sent,
)

log = logging.getLogger(__name__)

BATCH_SECONDS = 1.0  # notices reported this close together are sent as one batch
MAX_EACH = 5  # notices of one kind sent one by one in a batch; the rest are listed in one more
LISTED = 10  # subjects named in that list
ATTEMPTS = 5  # tries per notice before it is given up (and released)
RETRY_BASE = 15.0  # seconds before the second try, doubled each time
KEEP_DAYS = 8  # notice records older than this are pruned

Sleep = Callable[[float], Awaitable[None]]


# -- what is told ------------------------------------------------------------------------------


def _feed_fields(feed: Feed, error: str | None) -> tuple[tuple[str, str], ...]:
    fields = [("Feed", f"#{feed.id} {feed.name}"), ("URL", feed.url)]
    if error:
        fields.append(("Last error", error))
    return tuple(fields)


def feed_broken(feed: Feed, error: str | None, failures: int) -> Notice:
    return Notice(
        cause=f"feed_broken:{feed.id}",
        headline=f"A feed is broken after {failures} failed poll{'s' if failures != 1 else ''}",
        fields=_feed_fields(feed, error),
        hint=(
            "It is still polled, less often. `koreapage-bot feeds list` shows its state; "
            f"`koreapage-bot feeds remove {feed.id}` stops following it."
        ),
    )


def feed_disabled(feed: Feed, error: str | None) -> Notice:
    return Notice(
        cause=f"feed_disabled:{feed.id}",
        headline="A feed is gone (HTTP 410) and is no longer polled",
        fields=_feed_fields(feed, error),
        hint="If it comes back, `koreapage-bot feeds add URL` follows it again.",
    )


def _channel(sub: Subscription) -> str:
    where = f"{sub.platform}:{sub.channel}"
    return f"{where} (workspace {sub.workspace})" if sub.workspace else where


def subscription_paused(sub: Subscription, reason: str) -> Notice:
    return Notice(
        cause=f"subscription_paused:{sub.id}",
        headline=f"Subscription {sub.id} is paused: the bot cannot post in its channel",
        fields=(("Channel", _channel(sub)), ("Reason", reason)),
        hint=(
            "Its briefs wait. Fix the channel, then run `koreapage-bot subscriptions resume "
            f"{sub.id}` (or subscribe again in the channel)."
        ),
    )


def delivery_dead(sub: Subscription, delivery_id: int, reason: str) -> Notice:
    return Notice(
        cause=f"delivery_dead:{sub.id}",
        headline=f"Delivery {delivery_id} is dead: it will not be sent again by itself",
        fields=(("Channel", _channel(sub)), ("Error", reason)),
        hint=(
            "`koreapage-bot deliveries list --state dead` shows the dead deliveries; "
            f"`koreapage-bot deliveries retry {delivery_id}` sends one again. Later dead "
            "deliveries to this channel are not reported again today."
        ),
    )


def kind_of(notice: Notice) -> str:
    return notice.cause.split(":", 1)[0]


def listing(kind: str, rest: Sequence[Notice]) -> Notice:
    """One notice naming the notices of `kind` a batch did not send one by one."""
    subjects = [n.fields[0][1] if n.fields else n.headline for n in rest]
    fields = [("Also", s) for s in subjects[:LISTED]]
    if len(subjects) > LISTED:
        fields.append(("And", f"{len(subjects) - LISTED} more"))
    what = {
        "feed_broken": "feeds broke",
        "feed_disabled": "feeds were disabled",
        "subscription_paused": "subscriptions were paused",
        "delivery_dead": "channels have dead deliveries",
    }.get(kind, "notices")
    hint = {
        "feed_broken": "`koreapage-bot feeds list` shows them.",
        "feed_disabled": "`koreapage-bot feeds list` shows them.",
        "subscription_paused": "`koreapage-bot subscriptions list` shows them and why.",
        "delivery_dead": "`koreapage-bot deliveries list --state dead` shows them.",
    }.get(kind)
    return Notice(
        cause=f"{kind}:batch",
        headline=f"{len(rest)} more {what} at the same time",
        fields=tuple(fields),
        hint=hint,
    )


# -- sending -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Target:
    platform: str
    channel: str
    publisher: NoticePublisher


class Notifier:
    """`ports.NoticeSink`: reported notices are sent in the background, in small batches."""

    def __init__(
        self,
        log_store: NoticeLog,
        channels: Mapping[str, str],
        publishers: Mapping[str, object],
        budgets: Mapping[str, RateBudget] | None = None,
        metrics: Metrics | None = None,
        *,
        timeout: float = 45.0,
        batch_seconds: float = BATCH_SECONDS,
        clock: Callable[[], datetime] = utcnow,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._log = log_store
        self._channels = dict(channels)
        # Read at each batch: bootstrap adds the chat publishers (and their budgets) after
        # the components that report notices are built.
        self._publishers = publishers
        self._budgets = budgets if budgets is not None else {}
        self._metrics = metrics or NoMetrics()
        self._timeout = timeout
        self._batch_seconds = batch_seconds
        self._clock = clock
        self._sleep = sleep
        self._pending: list[Notice] = []
        self._told: dict[tuple[str, str, str], date] = {}  # (cause, platform, channel) -> day
        self._batch: asyncio.Task[None] | None = None
        self._sends: set[asyncio.Task[None]] = set()
        self._pruned: date | None = None
        self._closed = False

    def _targets(self) -> list[_Target]:
        targets = []
        for platform, channel in self._channels.items():
            publisher = self._publishers.get(platform)
            if isinstance(publisher, NoticePublisher):
                targets.append(_Target(platform, channel, publisher))
        return targets

    @property
    def targets(self) -> list[tuple[str, str]]:
        """(platform, channel) of each admin channel notices go to."""
        return [(t.platform, t.channel) for t in self._targets()]

    def notify(self, notice: Notice) -> None:
        if self._closed or not self._targets():  # no admin channel on a running platform
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # not in the bot's loop (a script): nothing to send with
            return
        self._pending.append(notice)
        if self._batch is None or self._batch.done():
            self._batch = loop.create_task(self._run_batch(), name="notices")

    async def flush(self) -> None:
        """Send what was reported so far, now, and wait until every send is over."""
        while (self._batch is not None and not self._batch.done()) or self._sends:
            if self._batch is not None and not self._batch.done():
                await asyncio.gather(self._batch, return_exceptions=True)
            if self._sends:
                await asyncio.gather(*list(self._sends), return_exceptions=True)

    async def close(self, grace: float = 5.0) -> None:
        """Stop taking notices; give the ones in flight `grace` seconds, then cancel them."""
        self._closed = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.flush(), grace)
        tasks = [t for t in (self._batch, *self._sends) if t is not None and not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _run_batch(self) -> None:
        if self._batch_seconds > 0 and not self._closed:
            await self._sleep(self._batch_seconds)
        batch, self._pending = self._pending, []
        try:
            await self._prune()
            for target in self._targets():
                await self._send_batch(target, batch)
        except Exception:
            log.exception("notices: could not record or send a batch", extra={"event": "notice"})
        if self._pending and not self._closed:  # reported while this batch was being claimed
            self._batch = asyncio.get_running_loop().create_task(self._run_batch())

    async def _prune(self) -> None:
        today = self._clock().date()
        if self._pruned != today:
            self._pruned = today
            await self._log.prune(today - timedelta(days=KEEP_DAYS))
            self._told = {k: d for k, d in self._told.items() if d == today}

    async def _send_batch(self, target: _Target, batch: Sequence[Notice]) -> None:
        by_kind: dict[str, list[tuple[Notice, int]]] = {}
        for notice in batch:
            claimed = await self._claim(target, notice)
            if claimed is not None:
                by_kind.setdefault(kind_of(notice), []).append((notice, claimed))
        for kind, claimed_notices in by_kind.items():
            each, rest = claimed_notices[:MAX_EACH], claimed_notices[MAX_EACH:]
            for one in each:
                self._start(target, one[0], [one])
            if rest:
                self._start(target, listing(kind, [n for n, _ in rest]), rest)

    async def _claim(self, target: _Target, notice: Notice) -> int | None:
        now = self._clock()
        key = (notice.cause, target.platform, target.channel)
        if self._told.get(key) == now.date():
            self._metrics.notice(target.platform, "repeat")
            return None
        claimed = await self._log.claim(
            notice.cause, target.platform, target.channel, now.date(), now
        )
        self._told[key] = now.date()
        if claimed is None:
            self._metrics.notice(target.platform, "repeat")
            log.info(
                "notice %s was already sent to %s today",
                notice.cause,
                target.platform,
                extra={"event": "notice_repeat", "platform": target.platform},
            )
        return claimed

    def _start(self, target: _Target, notice: Notice, claimed: list[tuple[Notice, int]]) -> None:
        """Send `notice` in the background; it tells the `claimed` notices (itself, or the
        ones it lists)."""
        task = asyncio.get_running_loop().create_task(self._send(target, notice, claimed))
        self._sends.add(task)
        task.add_done_callback(self._sends.discard)

    async def _send(
        self, target: _Target, notice: Notice, claimed: list[tuple[Notice, int]]
    ) -> None:
        ids = [notice_id for _, notice_id in claimed]
        # Stable across this notice's retries, ≤ 25 characters (a Discord nonce), and never
        # the key of another notice (SQLite may hand a released row's id out again).
        digest = hashlib.sha256(f"{notice.cause}|{self._clock().date()}".encode()).hexdigest()
        key = f"kpn-{ids[0]}-{digest[:10]}"
        budget = self._budgets.get(target.platform)
        reason = "not sent"
        try:
            for attempt in range(1, ATTEMPTS + 1):
                if budget is not None:
                    waited = await budget.acquire(target.channel)
                    self._metrics.rate_limit_wait(target.platform, waited)
                outcome = await self._publish(target, notice, key)
                if isinstance(outcome, Sent):
                    now = self._clock()
                    for notice_id in ids:
                        await self._log.mark_sent(notice_id, now)
                    self._metrics.notice(target.platform, "sent")
                    log.info(
                        "notice sent to %s:%s: %s",
                        target.platform,
                        target.channel,
                        notice.headline,
                        extra={"event": "notice_sent", "platform": target.platform},
                    )
                    return
                reason = outcome.reason
                if isinstance(outcome, Failed):
                    break
                if outcome.rate_limited:
                    self._metrics.rate_limited(target.platform, platform_wide=outcome.platform_wide)
                    if budget is not None:
                        budget.penalize(
                            target.channel, outcome.seconds, is_global=outcome.platform_wide
                        )
                if attempt < ATTEMPTS:
                    await self._sleep(max(outcome.seconds, RETRY_BASE * 2 ** (attempt - 1)))
        except asyncio.CancelledError:
            await asyncio.shield(self._release(ids))
            raise
        self._metrics.notice(target.platform, "failed")
        log.warning(
            "could not send a notice to %s:%s (%s): %s",
            target.platform,
            target.channel,
            reason,
            notice.headline,
            extra={"event": "notice_failed", "platform": target.platform},
        )
        await self._release(ids)
        for told, _ in claimed:
            self._told.pop((told.cause, target.platform, target.channel), None)

    async def _publish(self, target: _Target, notice: Notice, key: str) -> PublishOutcome:
        try:
            return await asyncio.wait_for(
                target.publisher.publish_notice(target.channel, notice, key), self._timeout
            )
        except TimeoutError:
            return RetryAfter(0, f"{target.platform} did not answer in time", maybe_sent=True)
        except Exception as exc:  # a publisher bug must not take the bot down
            log.exception("publishing a notice to %s raised", target.platform)
            return Failed(f"publisher error: {type(exc).__name__}: {exc}")

    async def _release(self, ids: Sequence[int]) -> None:
        for notice_id in ids:
            with contextlib.suppress(Exception):
                await self._log.release(notice_id)
