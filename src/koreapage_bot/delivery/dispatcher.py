"""The dispatcher: claims due outbox rows and hands each to its platform's publisher.

Delivery guarantee. A row is committed as `sending` right before its platform call (claimed
one at a time at its channel's head, then paced by the rate budget) and finished after it. A
crash between the two leaves it `sending` ("in doubt"). `recover()` settles such rows once
their lease has run out (publish timeout + a margin: a live dispatcher, e.g. a `run --once`
beside the bot, may still be sending a younger one); it runs at start and then every minute:
- a publisher that implements `SentLookup` is asked whether the message is already there
  (Slack: message metadata carries the delivery key) — found → sent, not found → resent;
- otherwise the row is resent with the same idempotency key (Discord drops a repeated
  `nonce` with `enforce_nonce`, so it is exactly-once inside Discord's nonce window and
  at-least-once beyond it), unless `delivery.in_doubt = "drop"`, which makes it dead
  (at-most-once; visible in `deliveries list --state dead`, retried by hand).
A crash before the claim commits loses nothing: the row is still `pending`.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from koreapage_bot.config import DeliveryConfig
from koreapage_bot.delivery.ratelimit import RateBudget
from koreapage_bot.ports import (
    BriefView,
    DeliveryTarget,
    Failed,
    Publisher,
    PublishOutcome,
    RetryAfter,
    Sent,
    SentLookup,
)
from koreapage_bot.store.outbox import ClaimedDelivery
from koreapage_bot.store.rows import utcnow
from koreapage_bot.store.store import Store

log = logging.getLogger(__name__)

# Called with (subscription id, reason) when a channel stops taking posts.
PausedHook = Callable[[int, str], Awaitable[None]]

LEASE_MARGIN = timedelta(seconds=15)
RECOVER_EVERY = timedelta(seconds=60)


@dataclass
class DispatchStats:
    sent: int = 0
    retried: int = 0
    dead: int = 0
    paused: int = 0

    def add(self, other: DispatchStats) -> None:
        self.sent += other.sent
        self.retried += other.retried
        self.dead += other.dead
        self.paused += other.paused


def target_for(claimed: ClaimedDelivery) -> DeliveryTarget:
    d, s = claimed.delivery, claimed.subscription
    return DeliveryTarget(
        delivery_id=d.id,
        subscription_id=s.id,
        platform=s.platform,
        workspace=s.workspace,
        channel=s.channel,
        attempt=d.attempts,
        # Stable across retries of this row; short enough for Discord's 25-character nonce.
        idempotency_key=f"kp-{d.id}",
        options=dict(s.options),
    )


class Dispatcher:
    def __init__(
        self,
        store: Store,
        publishers: Mapping[str, Publisher],
        config: DeliveryConfig,
        budgets: Mapping[str, RateBudget] | None = None,
        *,
        concurrency: int = 32,
        on_paused: PausedHook | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._store = store
        self._publishers = dict(publishers)
        self._config = config
        self._budgets = dict(budgets or {})
        self._slots = asyncio.Semaphore(concurrency)
        self._on_paused = on_paused
        self._clock = clock
        self._wake = asyncio.Event()
        self._stop: asyncio.Event | None = None
        self._lease = timedelta(seconds=config.publish_timeout_seconds) + LEASE_MARGIN

    @property
    def platforms(self) -> list[str]:
        return list(self._publishers)

    def wake(self) -> None:
        """New rows were written: sweep now instead of at the next interval."""
        self._wake.set()

    # -- the loop ------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Sweep until `stop` is set. In-flight sends finish before this returns; rows not
        yet started stay pending for the next run."""
        self._stop = stop
        next_recover = self._clock()
        while not stop.is_set():
            try:
                if self._clock() >= next_recover:
                    await self.recover()
                    next_recover = self._clock() + RECOVER_EVERY
                stats = await self.run_once()
            except Exception:  # a database hiccup must not end delivery for good
                log.exception("dispatcher sweep failed; retrying")
                stats = DispatchStats()
            if stats.sent + stats.retried + stats.dead + stats.paused:
                continue  # more may be due right away
            self._wake.clear()
            waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
            _, pending = await asyncio.wait(
                waiters,
                timeout=self._config.dispatch_interval_seconds,
                return_when=asyncio.FIRST_COMPLETED,
            )
            for task in pending:
                task.cancel()

    async def run_once(self) -> DispatchStats:
        """Send one batch of due rows; rows of one channel go in order."""
        due = await self._store.outbox.due(self._clock(), self._config.batch_size, self.platforms)
        return await self._send_all(due)

    async def drain(self, max_rounds: int = 1000) -> DispatchStats:
        """Send everything due now (CLI `--once`, tests)."""
        total = DispatchStats()
        for _ in range(max_rounds):
            stats = await self.run_once()
            total.add(stats)
            if not (stats.sent + stats.retried + stats.dead + stats.paused):
                break
        return total

    async def recover(self) -> DispatchStats:
        """Settle rows left `sending` by a crash (see the module docstring): back to the
        queue marked "maybe sent", so the next attempt looks first where the platform can
        tell (SentLookup) and resends with the same idempotency key elsewhere — or, with
        `in_doubt = "drop"` and no way to look, dead (at-most-once)."""
        in_doubt = await self._store.outbox.in_doubt(
            self.platforms, claimed_before=self._clock() - self._lease
        )
        stats = DispatchStats()
        if not in_doubt:
            return stats
        log.warning("%d deliveries were in flight at the last stop; settling them", len(in_doubt))
        now = self._clock()
        for claimed in in_doubt:
            publisher = self._publishers[claimed.subscription.platform]
            if not isinstance(publisher, SentLookup) and self._config.in_doubt == "drop":
                await self._store.outbox.mark_dead(
                    claimed.delivery.id,
                    "in doubt after a crash and not resent (delivery.in_doubt = drop)",
                    now,
                )
                stats.dead += 1
                continue
            await self._store.outbox.release(
                claimed.delivery.id, now, "in doubt after a crash", maybe_sent=True
            )
            stats.retried += 1
        return stats

    # -- sending -------------------------------------------------------------------------

    async def _send_all(self, due: Sequence[ClaimedDelivery]) -> DispatchStats:
        by_channel: dict[tuple[str, str], list[ClaimedDelivery]] = defaultdict(list)
        for item in due:
            by_channel[(item.subscription.platform, item.subscription.channel)].append(item)
        stats = DispatchStats()

        async def channel_worker(items: list[ClaimedDelivery]) -> None:
            items.sort(key=lambda item: item.delivery.id)  # queue order
            async with self._slots:
                for item in items:
                    if self._stop is not None and self._stop.is_set():
                        return  # shutting down: the rest stays pending
                    if not await self._send_one(item, stats):
                        # The head waits (retry-after) or its channel was paused: the rest of
                        # the channel's rows stay pending behind it (the outbox's due query
                        # keeps them there), so none overtakes it.
                        return

        await asyncio.gather(*(channel_worker(items) for items in by_channel.values()))
        return stats

    async def _send_one(self, item: ClaimedDelivery, stats: DispatchStats) -> bool:
        """Claim, send and record one row. False when its channel must not go on now."""
        publisher = self._publishers[item.subscription.platform]
        views = [BriefView.of(b) for b in item.briefs]
        if not views:  # its brief was deleted (feed removed): nothing to send
            await self._store.outbox.mark_dead(
                item.delivery.id, "brief no longer exists", self._clock()
            )
            stats.dead += 1
            return True
        claimed = await self._store.outbox.claim_one(item.delivery.id, self._clock())
        if claimed is None:  # another dispatcher took it meanwhile
            return True
        item = replace(item, delivery=claimed)
        target = target_for(item)
        if claimed.maybe_sent and isinstance(publisher, SentLookup):
            # The last try got no answer: it may be there already (Slack has no idempotency
            # key on send). Look before posting again.
            settled = await self._settle_by_lookup(publisher, item, target, stats)
            if settled is not None:
                return settled
        # Claimed first, then paced: nothing but the budget wait stands between the budget's
        # go and the platform call, so the platform sees exactly the budgeted rate. Only the
        # rows now at a channel's head (at most `concurrency`) are ever `sending` at once.
        budget = self._budgets.get(item.subscription.platform)
        if budget is not None:
            await budget.acquire(item.subscription.channel)
        outcome = await self._publish(publisher, target, item, views)
        return await self._record(item, target, outcome, stats)

    async def _settle_by_lookup(
        self,
        publisher: SentLookup,
        item: ClaimedDelivery,
        target: DeliveryTarget,
        stats: DispatchStats,
    ) -> bool | None:
        """True/False when the lookup settled the row (found, or dropped by policy); None
        when it should be sent."""
        try:
            found = await asyncio.wait_for(
                publisher.find_sent(target), self._config.publish_timeout_seconds
            )
        except Exception as exc:
            log.warning("could not check delivery %d: %s", target.delivery_id, exc)
            if self._config.in_doubt == "drop":
                await self._store.outbox.mark_dead(
                    target.delivery_id,
                    "maybe sent, could not check, not resent (delivery.in_doubt = drop)",
                    self._clock(),
                )
                stats.dead += 1
                return True
            return None
        if found is None:
            return None
        await self._store.outbox.mark_sent(target.delivery_id, found, self._clock())
        stats.sent += 1
        return True

    async def _publish(
        self,
        publisher: Publisher,
        target: DeliveryTarget,
        claimed: ClaimedDelivery,
        views: list[BriefView],
    ) -> PublishOutcome:
        timeout = self._config.publish_timeout_seconds
        try:
            if claimed.delivery.kind == "digest":
                title = str(claimed.payload.get("title") or "Daily digest")
                call = publisher.publish_digest(target, views, title)
            else:
                call = publisher.publish(target, views[0])
            return await asyncio.wait_for(call, timeout)
        except TimeoutError:
            reason = f"{target.platform} did not answer within {timeout:g} s"
            return RetryAfter(0, reason, maybe_sent=True)
        except Exception as exc:  # a publisher bug must not lose the delivery
            log.exception(
                "publisher %s raised for delivery %d", target.platform, target.delivery_id
            )
            reason = f"publisher error: {type(exc).__name__}: {exc}"
            return RetryAfter(0, reason, maybe_sent=True)

    def backoff(self, failures: int) -> float:
        """Exponential with full jitter in the upper half, capped."""
        base = self._config.base_backoff_seconds * (2.0 ** max(failures - 1, 0))
        capped = min(base, self._config.max_backoff_seconds)
        return capped * random.uniform(0.5, 1.0)

    async def _record(
        self,
        claimed: ClaimedDelivery,
        target: DeliveryTarget,
        outcome: PublishOutcome,
        stats: DispatchStats,
    ) -> bool:
        """Record the outcome; False when the channel's later rows must wait."""
        outbox = self._store.outbox
        now = self._clock()
        d = claimed.delivery
        if isinstance(outcome, Sent):
            await outbox.mark_sent(d.id, outcome.message_id, now)
            stats.sent += 1
        elif isinstance(outcome, RetryAfter):
            if outcome.rate_limited:
                # Never dropped for a rate limit: wait what the platform asked, no attempt spent.
                at = now + timedelta(seconds=max(outcome.seconds, 0.5))
                await outbox.reschedule(d.id, at, outcome.reason, rate_limited=True)
                stats.retried += 1
                return False
            failures = d.attempts - d.rate_limited
            if failures >= self._config.max_attempts:
                await outbox.mark_dead(
                    d.id, f"gave up after {failures} attempts: {outcome.reason}", now
                )
                log.warning("delivery %d is dead: %s", d.id, outcome.reason)
                stats.dead += 1
                return True
            wait = max(outcome.seconds, self.backoff(failures))
            at = now + timedelta(seconds=wait)
            await outbox.reschedule(
                d.id, at, outcome.reason, rate_limited=False, maybe_sent=outcome.maybe_sent
            )
            stats.retried += 1
            return False
        elif isinstance(outcome, Failed):
            if outcome.channel_unusable:
                # Hold the row (no attempt spent) until someone resumes the subscription.
                await self._store.subscriptions.pause(claimed.subscription.id, outcome.reason)
                await outbox.release(d.id, now, f"subscription paused: {outcome.reason}")
                log.warning(
                    "paused subscription %d (%s:%s): %s",
                    claimed.subscription.id,
                    target.platform,
                    target.channel,
                    outcome.reason,
                )
                stats.paused += 1
                if self._on_paused is not None:
                    await self._on_paused(claimed.subscription.id, outcome.reason)
                return False
            await outbox.mark_dead(d.id, outcome.reason, now)
            stats.dead += 1
        return True
