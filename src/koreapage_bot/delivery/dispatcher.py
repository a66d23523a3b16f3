"""The dispatcher: delivers outbox rows through each platform's publisher, every channel at its
own pace.

Shape. A feeder keeps each platform supplied with due rows (a few per channel at a time, in
queue order) and hands them to *lanes*: one task per channel (subscription) with work, sending
its rows one after another. Lanes never wait for each other: a slow answer, a 429 or a paused
channel holds only its own lane. Each platform has its own rate budget (a global pace plus one
per channel: `RateBudget`) and its own cap on calls in flight, so one platform's pace never
slows the other. New rows are picked up as lanes free up, not in batches.

Delivery guarantee. A row is committed as `sending` right before its platform call (claimed at
its channel's head, naming this process as its holder) and finished after it. No answer (a
timeout, a dropped connection, a 5xx) or a crash between the two leaves it "maybe sent". Before
such a row is sent again:
- within the publisher's `resend_window` after its first attempt it is resent with the same
  idempotency key, which the platform de-duplicates (Discord's nonce);
- otherwise a publisher that implements `SentLookup` is asked whether it is already there
  (Slack: message metadata; Discord: the embed footer carries the delivery key). Found → sent;
  not there → sent again; the look-up cannot answer now (a 429, an outage) → asked again later,
  never resent blind meanwhile; one look-up settles every row in doubt of that channel;
- a publisher that cannot look (or a look-up that can never answer, e.g. no permission to read
  the channel) resends (at-least-once), unless `delivery.in_doubt = "drop"`, which makes the row
  dead (at-most-once; `deliveries list --state dead`, retried by hand).
`recover()` (at start, then every minute; with several processes on PostgreSQL the periodic
sweep is the leader's) puts rows left `sending` by a process that is gone
back in the queue as maybe sent: at once when its holder is known to be dead (see
delivery.holder), after a lease (publish timeout + a margin) for rows that name no holder. A
row another live process is sending is left alone. A crash before the claim commits loses
nothing: the row is still `pending`.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from koreapage_bot.config import DeliveryConfig
from koreapage_bot.dates import utcnow
from koreapage_bot.delivery.holder import HEARTBEAT_EVERY, Holder, is_alive
from koreapage_bot.delivery.notices import delivery_dead, subscription_paused
from koreapage_bot.delivery.ratelimit import RateBudget, TokenBucket, loop_clock
from koreapage_bot.delivery.story import Plan, digest_views, story_step
from koreapage_bot.domain import Delivery, DeliveryState
from koreapage_bot.ports import (
    BriefView,
    ClaimedDelivery,
    DeliveryTarget,
    Failed,
    Found,
    LookupOutcome,
    Metrics,
    NoMetrics,
    NoNotices,
    NoticeSink,
    PostedMessage,
    Publisher,
    PublishOutcome,
    RetryAfter,
    Sent,
    SentLookup,
    Storage,
    StoryPublisher,
)

log = logging.getLogger(__name__)

# Whether a holder (a dispatcher process) may still be sending: (holder id, heartbeats, now).
Liveness = Callable[[str, Mapping[str, datetime], datetime], bool]

LEASE_MARGIN = timedelta(seconds=15)
RECOVER_EVERY = timedelta(seconds=60)
FORGET_HOLDERS_AFTER = timedelta(days=1)
PER_CHANNEL = 10  # rows of one channel fetched at a time (the rest wait their turn in the store)
RANK_EVERY = timedelta(seconds=2)  # how often the live dispatchers are counted
FEED_GAP = 0.2  # seconds: lanes ending in a burst are refilled by one query, not one each


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

    def since(self, before: DispatchStats) -> DispatchStats:
        return DispatchStats(
            self.sent - before.sent,
            self.retried - before.retried,
            self.dead - before.dead,
            self.paused - before.paused,
        )

    def copy(self) -> DispatchStats:
        return replace(self)


def _fields(event: str, delivery_id: int, platform: str) -> dict[str, object]:
    """The structured fields of a delivery's log record (tests and log shippers read these,
    not the message)."""
    return {"event": event, "delivery_id": delivery_id, "platform": platform}


def delivery_key(delivery_id: int) -> str:
    """A delivery's idempotency key: stable across its retries, and short enough for
    Discord's 25-character nonce."""
    return f"kp-{delivery_id}"


def target_for(claimed: ClaimedDelivery) -> DeliveryTarget:
    d, s = claimed.delivery, claimed.subscription
    return DeliveryTarget(
        delivery_id=d.id,
        subscription_id=s.id,
        platform=s.platform,
        workspace=s.workspace,
        channel=s.channel,
        attempt=d.attempts,
        idempotency_key=delivery_key(d.id),
        # A story row replying in its story's thread is sent (and looked up) there.
        options=dict(s.options)
        | ({"reply_to": claimed.payload["reply_to"]} if claimed.payload.get("reply_to") else {}),
        first_attempt_at=d.first_attempt_at,
        maybe_sent=d.maybe_sent,
    )


@dataclass
class _Lane:
    """One channel's rows, sent in queue order by one task."""

    subscription_id: int
    platform: str
    queue: list[ClaimedDelivery] = field(default_factory=list)  # not started yet, by id
    task: asyncio.Task[None] | None = None
    busy: bool = False  # between claim and record: never cancelled

    def add(self, item: ClaimedDelivery) -> None:
        self.queue.append(item)
        self.queue.sort(key=lambda q: q.delivery.id)


class Dispatcher:
    def __init__(
        self,
        store: Storage,
        publishers: Mapping[str, Publisher],
        config: DeliveryConfig,
        budgets: Mapping[str, RateBudget] | None = None,
        *,
        concurrency: int = 32,
        clock: Callable[[], datetime] = utcnow,
        holder: str | None = None,
        liveness: Liveness = is_alive,
        metrics: Metrics | None = None,
        notices: NoticeSink | None = None,
        leads: Callable[[], bool] | None = None,
    ) -> None:
        self._store = store
        self._metrics = metrics or NoMetrics()
        self._notices = notices or NoNotices()
        self._publishers = dict(publishers)
        self._config = config
        self._budgets = dict(budgets or {})
        # Calls in flight per platform (each one a claimed row): one platform's slow answers
        # never take the other's slots.
        self._slots = {p: asyncio.Semaphore(concurrency) for p in self._publishers}
        # Rows waiting in lanes per platform; refilled when it falls to half.
        self._cap = max(config.batch_size, 2 * concurrency)
        self._clock = clock
        self._holder = holder or Holder.current().id
        self._liveness = liveness
        # Several processes: the periodic recovery sweep is the leader's (every process
        # still settles what it finds at its own start).
        self._leads = leads or (lambda: True)
        self._lease = timedelta(seconds=config.publish_timeout_seconds) + LEASE_MARGIN
        self._stats = DispatchStats()
        self._lanes: dict[int, _Lane] = {}
        self._queued: dict[str, set[int]] = {p: set() for p in self._publishers}
        self._in_flight: set[int] = set()
        self._lookup_gates: dict[str, TokenBucket] = {}
        self._wake = asyncio.Event()
        self._poke = asyncio.Event()  # a lane ended or ran low: feed soon
        self._stop: asyncio.Event | None = None
        self._next_heartbeat: datetime | None = None
        self._next_rank: datetime | None = None
        self._rank: tuple[int, int] | None = None  # (this one, of how many live dispatchers)
        self._fatal: BaseException | None = None  # a lane died of something not an Exception

    @property
    def platforms(self) -> list[str]:
        return list(self._publishers)

    @property
    def holder(self) -> str:
        """This dispatcher's identity on the rows it claims."""
        return self._holder

    @property
    def stats(self) -> DispatchStats:
        """Everything this dispatcher did so far."""
        return self._stats.copy()

    def wake(self) -> None:
        """New rows were written: look for work now instead of at the next interval."""
        self._wake.set()
        self._poke.set()

    # -- the loop ------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set. Sends in flight finish before this returns; rows not
        yet started stay pending for the next run."""
        self._stop = stop
        try:
            await self._pump(until_idle=False)
        except BaseException:
            await self._abandon_lanes()
            raise
        else:
            await self._stop_lanes()
        finally:
            await self.close()

    async def drain(self, max_rounds: int = 1_000_000) -> DispatchStats:
        """Send everything due now and return what was done (CLI `--once`, tests)."""
        before = self._stats.copy()
        try:
            await self._pump(until_idle=True, max_rounds=max_rounds)
        except BaseException:
            await self._abandon_lanes()
            raise
        return self._stats.since(before)

    async def close(self) -> None:
        """This process holds nothing any more: forget its heartbeat."""
        if self._next_heartbeat is None:
            return
        self._next_heartbeat = None
        try:
            await self._store.outbox.remove_holder(self._holder)
        except Exception:
            log.warning("could not remove this dispatcher's heartbeat row", exc_info=True)

    async def _pump(self, *, until_idle: bool, max_rounds: int = 1_000_000) -> None:
        loop = asyncio.get_running_loop()
        next_recover = self._clock()
        budgets_started = False
        recovered = False
        last_feed = -math.inf
        interval = min(self._config.dispatch_interval_seconds, HEARTBEAT_EVERY.total_seconds())
        for _ in range(max_rounds):
            self._raise_fatal()
            if self._stopping():
                return
            try:
                await self._heartbeat()
                if not budgets_started:
                    # Registered (the heartbeat): a shared rate may count this process now.
                    for budget in self._budgets.values():
                        budget.start()
                    budgets_started = True
                if not until_idle and self._clock() >= next_recover:
                    if not recovered or self._leads():
                        await self.recover()
                        recovered = True
                    next_recover = self._clock() + RECOVER_EVERY
                self._poke.clear()
                self._wake.clear()
                fed = await self._feed_all()
                last_feed = loop.time()
            except Exception:
                if until_idle:
                    raise
                log.exception("dispatcher: feeding lanes failed; retrying")
                fed = 0
            if until_idle and not fed and not self._lanes:
                return
            await self._wait_for(self._poke, interval)
            # Lanes ending in a burst (a fan-out, one row per channel) share one refill.
            gap = FEED_GAP - (loop.time() - last_feed)
            if gap > 0 and self._lanes and not self._wake.is_set():
                await self._wait_for(self._wake, gap)
        if until_idle:  # out of rounds: let the lanes started so far finish
            while self._lanes:
                await self._wait_for(self._poke, interval)
                self._poke.clear()
                self._raise_fatal()

    def _raise_fatal(self) -> None:
        fatal, self._fatal = self._fatal, None
        if fatal is not None:
            raise fatal

    async def _wait_for(self, event: asyncio.Event, timeout: float) -> None:
        waiters = [asyncio.ensure_future(event.wait())]
        if self._stop is not None:
            waiters.append(asyncio.ensure_future(self._stop.wait()))
        _, pending = await asyncio.wait(
            waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        for task in pending:
            task.cancel()

    def _stopping(self) -> bool:
        return self._stop is not None and self._stop.is_set()

    async def _abandon_lanes(self) -> None:
        # The caller is going down (cancelled, or a lane hit something fatal): stop every
        # lane, even mid-send; a row cut short stays `sending` and is settled by recover().
        tasks = [lane.task for lane in self._lanes.values() if lane.task is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _stop_lanes(self) -> None:
        # Lanes waiting for their turn hold nothing: stop them; a lane with a claimed row
        # finishes that send (bounded by the publish timeout) and stops after recording it.
        lanes = list(self._lanes.values())
        for lane in lanes:
            if not lane.busy and lane.task is not None:
                lane.task.cancel()
        tasks = [lane.task for lane in lanes if lane.task is not None]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _heartbeat(self) -> None:
        now = self._clock()
        if self._next_heartbeat is None or now >= self._next_heartbeat:
            await self._store.outbox.heartbeat(self._holder, now)
            self._next_heartbeat = now + HEARTBEAT_EVERY
        if self._next_rank is None or now >= self._next_rank:
            self._next_rank = now + RANK_EVERY
            await self._find_rank(now)

    async def _find_rank(self, now: datetime) -> None:
        """Where this process stands among the live dispatchers: each one starts on its own
        share of the channels (`due_ids(prefer=...)`), so they do not all race for the same
        heads; a dead one's channels come next in the others' order."""
        heartbeats = await self._store.outbox.holders()
        live = sorted(
            {h for h in heartbeats if self._liveness(h, heartbeats, now)} | {self._holder}
        )
        self._rank = (live.index(self._holder), len(live)) if len(live) > 1 else None

    # -- feeding lanes -------------------------------------------------------------------

    async def _feed_all(self) -> int:
        fed = 0
        for platform in self._publishers:
            fed += await self._feed(platform)
        return fed

    async def _feed(self, platform: str) -> int:
        queued = self._queued[platform]
        room = self._cap - len(queued)
        if room <= 0:
            return 0
        ids = await self._store.outbox.due_ids(
            self._clock(),
            len(queued) + room,
            [platform],
            per_subscription=PER_CHANNEL,
            prefer=self._rank,
        )
        new = [i for i in ids if i not in queued and i not in self._in_flight][:room]
        if not new:
            return 0
        added = 0
        for item in await self._store.outbox.load(new):
            d = item.delivery
            if d.state is not DeliveryState.PENDING or d.id in queued or d.id in self._in_flight:
                continue  # settled meanwhile
            lane = self._lanes.get(d.subscription_id)
            if lane is None:
                lane = _Lane(d.subscription_id, platform)
                self._lanes[d.subscription_id] = lane
                lane.task = asyncio.create_task(
                    self._run_lane(lane), name=f"lane-{platform}-{d.subscription_id}"
                )
            lane.add(item)
            queued.add(d.id)
            added += 1
        return added

    async def _run_lane(self, lane: _Lane) -> None:
        queued = self._queued[lane.platform]
        try:
            while lane.queue and not self._stopping():
                item = lane.queue[0]
                try:
                    go_on = await self._deliver(lane, item)
                except Exception:
                    # A database hiccup: the row stays as it is (a claimed one is settled by
                    # recover()); the channel resumes at the next feed.
                    log.exception(
                        "delivery %d: dispatcher error",
                        item.delivery.id,
                        extra=_fields("dispatcher_error", item.delivery.id, lane.platform),
                    )
                    go_on = False
                except asyncio.CancelledError:
                    raise
                except BaseException as exc:  # SystemExit and the like: the caller must see it
                    self._fatal = exc
                    self._poke.set()
                    return
                if item in lane.queue:  # the feeder may have put an older row before it
                    lane.queue.remove(item)
                queued.discard(item.delivery.id)
                if not go_on:
                    # The head waits (a retry) or its channel was paused: the rest of the
                    # channel's rows stay pending behind it (the store keeps them there).
                    break
                if len(queued) <= self._cap // 2:
                    self._poke.set()
        finally:
            for rest in lane.queue:
                queued.discard(rest.delivery.id)
            lane.queue.clear()
            if self._lanes.get(lane.subscription_id) is lane:
                del self._lanes[lane.subscription_id]
            self._poke.set()

    # -- sending -------------------------------------------------------------------------

    async def _deliver(self, lane: _Lane, item: ClaimedDelivery) -> bool:
        """Wait for the channel's turn, then claim, send and record one row. False when the
        channel must not go on now."""
        if not item.briefs:  # its brief was deleted (feed removed): nothing to send
            await self._store.outbox.mark_dead(
                item.delivery.id, "brief no longer exists", self._clock()
            )
            self._stats.dead += 1
            self._went_dead(item, "brief no longer exists")
            return True
        platform, channel = item.subscription.platform, item.subscription.channel
        budget = self._budgets.get(platform)
        if budget is not None:
            # Wait out the channel's pace and any platform-wide block *before* claiming, so a
            # waiting channel holds no slot and no row in `sending`.
            started = budget.clock()
            await budget.ready(channel)
            self._metrics.rate_limit_wait(platform, budget.clock() - started)
        if self._stopping():
            return False
        async with self._slots[platform]:
            if self._stopping():
                return False
            lane.busy = True
            self._in_flight.add(item.delivery.id)
            try:
                return await self._claim_and_send(lane, item, budget)
            finally:
                self._in_flight.discard(item.delivery.id)
                lane.busy = False

    async def _claim_and_send(
        self, lane: _Lane, item: ClaimedDelivery, budget: RateBudget | None
    ) -> bool:
        if item.delivery.kind == "story":
            return await self._claim_and_send_story(lane, item, budget)
        publisher = self._publishers[item.subscription.platform]
        before = item.delivery  # as it was before this attempt: when the last one started
        now = self._clock()
        claimed = await self._store.outbox.claim_one(before.id, now, self._holder)
        if claimed is None:
            # Another dispatcher took it, or an earlier row of the channel is not settled:
            # this lane's view of the queue is out of date; the next feed has the truth.
            return False
        item = replace(item, delivery=claimed)
        target = target_for(item)
        if claimed.maybe_sent and self._must_look(publisher, target, now):
            assert isinstance(publisher, SentLookup)
            settled = await self._look_first(lane, publisher, item, before, budget)
            if settled is not None:
                return settled
        if budget is not None:
            # Claimed first, then paced: nothing but the budget wait stands between the
            # budget's go and the platform call, so the platform sees the budgeted rate.
            waited = await budget.acquire(item.subscription.channel)
            self._metrics.rate_limit_wait(item.subscription.platform, waited)
        outcome = await self._publish(publisher, target, item)
        return await self._record(item, target, outcome, budget)

    async def _claim_and_send_story(
        self, lane: _Lane, item: ClaimedDelivery, budget: RateBudget | None
    ) -> bool:
        """A later report of a story the channel has (delivery.story): claim it, read the
        story's message in the channel, then update it, reply in its thread or post."""
        publisher = self._publishers[item.subscription.platform]
        before = item.delivery
        now = self._clock()
        claimed = await self._store.outbox.claim_one(before.id, now, self._holder)
        if claimed is None:
            return False
        item = replace(item, delivery=claimed)
        context = await self._store.outbox.story_context(claimed.id)
        step = story_step(context, item.briefs[0], item.subscription, publisher)
        anchor = step.anchor
        if step.plan is Plan.EDIT and anchor is not None and anchor.message_id is not None:
            assert isinstance(publisher, StoryPublisher)
            message = PostedMessage(anchor.message_id, delivery_key(anchor.id))
            target = target_for(item)
            if budget is not None:
                await budget.acquire(item.subscription.channel)
            call = publisher.edit(target, message, step.view)
            return await self._record(item, target, await self._call(target, call), budget)
        if step.plan is Plan.REPLY and anchor is not None and anchor.message_id is not None:
            item = replace(item, payload={**item.payload, "reply_to": anchor.message_id})
        target = target_for(item)
        if claimed.maybe_sent and self._must_look(publisher, target, now):
            assert isinstance(publisher, SentLookup)
            settled = await self._look_first(lane, publisher, item, before, budget)
            if settled is not None:
                return settled
        if budget is not None:
            await budget.acquire(item.subscription.channel)
        if step.plan is Plan.REPLY and anchor is not None and anchor.message_id is not None:
            assert isinstance(publisher, StoryPublisher)
            message = PostedMessage(anchor.message_id, delivery_key(anchor.id))
            call = publisher.reply(target, message, step.view)
        else:
            call = publisher.publish(target, step.view)
        return await self._record(item, target, await self._call(target, call), budget)

    async def _call(
        self, target: DeliveryTarget, call: Coroutine[Any, Any, PublishOutcome]
    ) -> PublishOutcome:
        """A story row's platform call, bounded and never raising (as `_publish` does)."""
        timeout = self._config.publish_timeout_seconds
        try:
            return await asyncio.wait_for(call, timeout)
        except TimeoutError:
            reason = f"{target.platform} did not answer within {timeout:g} s"
            return RetryAfter(0, reason, maybe_sent=True)
        except Exception as exc:  # a publisher bug must not lose the delivery
            log.exception(
                "publisher %s raised for delivery %d",
                target.platform,
                target.delivery_id,
                extra=_fields("publisher_error", target.delivery_id, target.platform),
            )
            return RetryAfter(0, f"publisher error: {type(exc).__name__}: {exc}", maybe_sent=True)

    def _must_look(self, publisher: Publisher, target: DeliveryTarget, now: datetime) -> bool:
        if not isinstance(publisher, SentLookup):
            return False  # nothing to ask: resent with the same key (at-least-once)
        window = publisher.resend_window(target)
        first = target.first_attempt_at
        # Inside the platform's de-duplication window a resend with the same key is safe and
        # cheaper than a look-up.
        return not (window > 0 and first is not None and (now - first).total_seconds() < window)

    def _lookup_target(
        self, item: ClaimedDelivery, last_attempt: datetime | None
    ) -> DeliveryTarget:
        d = item.delivery
        first = d.first_attempt_at or d.created_at or self._clock()
        until = (last_attempt or self._clock()) + timedelta(
            seconds=self._config.publish_timeout_seconds
        )
        return replace(target_for(item), lookup_window=(min(first, until), until))

    def _lookup_gate(self, platform: str) -> TokenBucket:
        """Blocked while the platform refuses look-ups (Slack: one a minute per workspace)."""
        gate = self._lookup_gates.get(platform)
        if gate is None:
            budget = self._budgets.get(platform)
            clock = budget.clock if budget is not None else loop_clock
            gate = TokenBucket(1000.0, 1000.0, clock=clock)
            self._lookup_gates[platform] = gate
        return gate

    async def _look_first(
        self,
        lane: _Lane,
        publisher: SentLookup,
        item: ClaimedDelivery,
        before: Delivery,
        budget: RateBudget | None,
    ) -> bool | None:
        """Ask the platform whether the head row (and the channel's other rows in doubt) are
        already there. True/False when the head is settled (sent; or the channel waits for a
        later look-up); None when it should be sent now."""
        outbox, d = self._store.outbox, item.delivery
        gate = self._lookup_gate(item.subscription.platform)
        blocked = gate.blocked_for()
        if blocked > 0:
            # The platform refuses look-ups for now: wait for the next turn, spend nothing.
            at = self._clock() + timedelta(seconds=max(blocked, 0.5))
            await outbox.reschedule(d.id, at, "maybe sent; waiting to look", rate_limited=True)
            self._stats.retried += 1
            return False
        head = self._lookup_target(item, before.claimed_at)
        # A story row in doubt is looked up at its own turn (an edit never: it is idempotent;
        # a thread reply: in its thread).
        others = [
            q
            for q in lane.queue
            if q.delivery.maybe_sent and q.delivery.id != d.id and q.delivery.kind != "story"
        ]
        targets = [head] + [self._lookup_target(q, q.delivery.claimed_at) for q in others]
        if budget is not None:
            await budget.acquire(item.subscription.channel)  # a look-up is a request too
        outcome = await self._find(publisher, targets)
        now = self._clock()
        if isinstance(outcome, Found):
            await self._settle_others(lane, others, outcome)
            message_id = outcome.messages.get(head.idempotency_key)
            if message_id is not None:
                await outbox.mark_sent(d.id, message_id, now)
                self._stats.sent += 1
                self._metrics.delivery(item.subscription.platform, "sent")
                return True
            return None  # not there: send it
        if isinstance(outcome, RetryAfter):
            if outcome.rate_limited:
                if outcome.platform_wide:
                    gate.block_for(outcome.seconds)
                at = now + timedelta(seconds=max(outcome.seconds, 0.5))
                reason = f"maybe sent; could not look yet: {outcome.reason}"
                await outbox.reschedule(d.id, at, reason, rate_limited=True)
                self._stats.retried += 1
                platform = item.subscription.platform
                self._metrics.rate_limited(platform, platform_wide=outcome.platform_wide)
                return False
            failures = d.attempts - d.rate_limited
            if failures >= self._config.max_attempts:
                await outbox.mark_dead(
                    d.id,
                    f"maybe sent; could not look after {failures} attempts: {outcome.reason}",
                    now,
                )
                self._stats.dead += 1
                self._went_dead(item, f"maybe sent; could not look: {outcome.reason}")
                return True
            at = now + timedelta(seconds=max(outcome.seconds, self.backoff(failures)))
            reason = f"maybe sent; could not look: {outcome.reason}"
            await outbox.reschedule(d.id, at, reason, rate_limited=False, maybe_sent=True)
            self._stats.retried += 1
            return False
        # Failed: this channel can never tell (e.g. no permission to read it).
        if self._config.in_doubt == "drop":
            await outbox.mark_dead(
                d.id,
                f"maybe sent, cannot check ({outcome.reason}), not resent "
                "(delivery.in_doubt = drop)",
                now,
            )
            self._stats.dead += 1
            self._went_dead(item, f"maybe sent, cannot check: {outcome.reason}")
            return True
        log.warning(
            "delivery %d: cannot check (%s); sending again",
            d.id,
            outcome.reason,
            extra=_fields("lookup_impossible", d.id, item.subscription.platform),
        )
        return None

    async def _find(
        self, publisher: SentLookup, targets: Sequence[DeliveryTarget]
    ) -> LookupOutcome:
        try:
            return await asyncio.wait_for(
                publisher.find_sent(targets), self._config.publish_timeout_seconds
            )
        except TimeoutError:
            return RetryAfter(0, "the look-up did not answer in time")
        except Exception as exc:  # a publisher bug must not resend blind
            log.exception(
                "look-up for delivery %d raised",
                targets[0].delivery_id,
                extra=_fields("lookup_error", targets[0].delivery_id, targets[0].platform),
            )
            return RetryAfter(0, f"look-up error: {type(exc).__name__}: {exc}")

    async def _settle_others(
        self, lane: _Lane, others: list[ClaimedDelivery], outcome: Found
    ) -> None:
        """The same answer settles the channel's other rows in doubt, waiting in this lane."""
        if not others:
            return
        found: dict[int, str] = {}
        not_there: list[int] = []
        for q in others:
            message_id = outcome.messages.get(delivery_key(q.delivery.id))
            if message_id is not None:
                found[q.delivery.id] = message_id
            else:
                not_there.append(q.delivery.id)
        self._stats.sent += await self._store.outbox.settle_pending(found, not_there)
        queued = self._queued[lane.platform]
        rest: list[ClaimedDelivery] = []
        for q in lane.queue:
            if q.delivery.id in found:
                queued.discard(q.delivery.id)
            elif q.delivery.id in not_there:
                rest.append(replace(q, delivery=replace(q.delivery, maybe_sent=False)))
            else:
                rest.append(q)
        lane.queue[:] = rest

    async def _publish(
        self, publisher: Publisher, target: DeliveryTarget, claimed: ClaimedDelivery
    ) -> PublishOutcome:
        timeout = self._config.publish_timeout_seconds
        views = [BriefView.of(b) for b in claimed.briefs]
        if claimed.delivery.kind == "digest":
            views = digest_views(claimed.briefs)  # one entry per story
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
                "publisher %s raised for delivery %d",
                target.platform,
                target.delivery_id,
                extra=_fields("publisher_error", target.delivery_id, target.platform),
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
        budget: RateBudget | None,
    ) -> bool:
        """Record the outcome; False when the channel's later rows must wait."""
        outbox = self._store.outbox
        now = self._clock()
        d = claimed.delivery
        if isinstance(outcome, Sent):
            await outbox.mark_sent(d.id, outcome.message_id, now)
            self._stats.sent += 1
            self._metrics.delivery(target.platform, "sent")
            log.debug(
                "delivery %d sent to %s:%s",
                d.id,
                target.platform,
                target.channel,
                extra={
                    **_fields("delivery_sent", d.id, target.platform),
                    "subscription_id": target.subscription_id,
                    "brief_id": d.brief_id,
                },
            )
        elif isinstance(outcome, RetryAfter):
            if outcome.rate_limited:
                # Never dropped for a rate limit: wait what the platform asked, no attempt spent.
                # A platform-wide limit holds every channel of the platform, not just this one.
                if budget is not None:
                    budget.penalize(
                        target.channel, outcome.seconds, is_global=outcome.platform_wide
                    )
                at = now + timedelta(seconds=max(outcome.seconds, 0.5))
                await outbox.reschedule(d.id, at, outcome.reason, rate_limited=True)
                self._stats.retried += 1
                self._metrics.delivery(target.platform, "rate_limited")
                self._metrics.rate_limited(target.platform, platform_wide=outcome.platform_wide)
                return False
            failures = d.attempts - d.rate_limited
            if failures >= self._config.max_attempts:
                await outbox.mark_dead(
                    d.id, f"gave up after {failures} attempts: {outcome.reason}", now
                )
                log.warning(
                    "delivery %d is dead: %s",
                    d.id,
                    outcome.reason,
                    extra=_fields("delivery_dead", d.id, target.platform),
                )
                self._stats.dead += 1
                self._went_dead(claimed, outcome.reason)
                return True
            wait = max(outcome.seconds, self.backoff(failures))
            at = now + timedelta(seconds=wait)
            await outbox.reschedule(
                d.id, at, outcome.reason, rate_limited=False, maybe_sent=outcome.maybe_sent
            )
            self._stats.retried += 1
            self._metrics.delivery(target.platform, "retry")
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
                    extra={
                        **_fields("subscription_paused", d.id, target.platform),
                        "subscription_id": claimed.subscription.id,
                    },
                )
                self._stats.paused += 1
                self._metrics.delivery(target.platform, "paused")
                self._notices.notify(subscription_paused(claimed.subscription, outcome.reason))
                return False
            await outbox.mark_dead(d.id, outcome.reason, now)
            self._stats.dead += 1
            self._went_dead(claimed, outcome.reason)
        return True

    def _went_dead(self, claimed: ClaimedDelivery, reason: str) -> None:
        """Count a delivery that went dead and tell the operators (once a day a channel)."""
        self._metrics.delivery(claimed.subscription.platform, "dead")
        self._notices.notify(delivery_dead(claimed.subscription, claimed.delivery.id, reason))

    # -- rows left in flight -------------------------------------------------------------

    async def recover(self) -> DispatchStats:
        """Settle rows left `sending` by a process that is gone (see the module docstring):
        back to the queue marked "maybe sent", so the next attempt resends with the same key
        inside the platform's de-duplication window and looks first beyond it (SentLookup) —
        or, with `in_doubt = "drop"` and no way to look, dead (at-most-once)."""
        outbox = self._store.outbox
        await self._heartbeat()
        now = self._clock()
        stats = DispatchStats()
        rows = await outbox.in_doubt(self.platforms)
        if rows:
            heartbeats = await outbox.holders()
            gone = [c for c in rows if self._is_orphan(c, heartbeats, now)]
            if gone:
                log.warning(
                    "%d deliveries were in flight in a stopped process; settling them",
                    len(gone),
                    extra={
                        "event": "in_doubt_settled",
                        "deliveries": [c.delivery.id for c in gone],
                    },
                )
            for claimed in gone:
                publisher = self._publishers[claimed.subscription.platform]
                if not isinstance(publisher, SentLookup) and self._config.in_doubt == "drop":
                    await outbox.mark_dead(
                        claimed.delivery.id,
                        "in doubt after a crash and not resent (delivery.in_doubt = drop)",
                        now,
                    )
                    stats.dead += 1
                    self._went_dead(claimed, "in doubt after a crash, not resent")
                    continue
                d = claimed.delivery
                # Only while it is still the orphan we saw: another process may have settled
                # it a moment ago and claimed it again since.
                if await outbox.release(
                    d.id,
                    now,
                    "in doubt after a crash",
                    maybe_sent=True,
                    claim=(d.claimed_by, d.claimed_at),
                ):
                    stats.retried += 1
        await outbox.forget_holders(now - FORGET_HOLDERS_AFTER)
        self._stats.add(stats)
        if stats.retried:
            self._poke.set()
        return stats

    def _is_orphan(
        self, claimed: ClaimedDelivery, heartbeats: Mapping[str, datetime], now: datetime
    ) -> bool:
        d = claimed.delivery
        if d.id in self._in_flight:
            return False
        if d.claimed_by is None:
            # Claimed by a version that did not name itself: wait out the lease in case that
            # process still sends it.
            return d.claimed_at is None or d.claimed_at <= now - self._lease
        if d.claimed_by == self._holder:
            return True  # ours and not in flight: its record was lost (a database error)
        return not self._liveness(d.claimed_by, heartbeats, now)
