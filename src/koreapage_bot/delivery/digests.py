"""Daily digests: a daily job per subscription that asks for one, at its time of day in its time
zone (the scheduler runs it: `DailyJobs`). The job only queues an outbox row; the dispatcher
sends it.

With several processes only the leader (ports.Coordination) keeps the jobs. A digest is keyed
by its local day, so it is written once whoever queues it (a unique index), and a process that
becomes the leader queues the digests missed in the last `CATCH_UP` (the old leader died at
08:00, or the bot restarted then) with exactly the briefs they would have had.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from koreapage_bot.dates import utcnow
from koreapage_bot.domain import Subscription
from koreapage_bot.ports import Storage

log = logging.getLogger(__name__)

DIGEST_MAX_BRIEFS = 25
JOB_PREFIX = "digest:"
# A digest whose time passed while no process led (or the bot was down) is still sent this
# long after (APScheduler's misfire grace for the daily jobs is the same).
CATCH_UP = timedelta(hours=1)


def last_run(digest_time: str, tz: str, now: datetime) -> datetime:
    """The latest time at or before `now` when the subscription's daily digest falls due."""
    zone = ZoneInfo(tz)
    hour, minute = (int(x) for x in digest_time.split(":"))
    local = now.astimezone(zone)
    due = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if due > local:
        due = (due - timedelta(days=1)).replace(tzinfo=zone)
    return due


class DailyJobs(Protocol):
    """Runs a job once a day (scheduler.BotScheduler)."""

    def set_daily(
        self, job_id: str, at: str, tz: str, job: Callable[[int], Awaitable[object]], arg: int
    ) -> None:
        """Run `job(arg)` every day at `at` ("HH:MM") in time zone `tz`, replacing any job
        with that id."""
        ...

    def cancel(self, job_id: str) -> None: ...


class Digests:
    def __init__(
        self,
        store: Storage,
        jobs: DailyJobs | None = None,
        on_deliveries: Callable[[], None] | None = None,
        *,
        leads: Callable[[], bool] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """`jobs`: where `sync` schedules the daily jobs (None: `queue` only). `leads`: whether
        this process is the leader now (None: always, one process)."""
        self._store = store
        self._jobs = jobs
        self._on_deliveries = on_deliveries
        self._leads = leads or (lambda: True)
        self._clock = clock
        self._installed: dict[str, tuple[str, str]] = {}
        self._leading = False

    async def sync(self) -> None:
        """Make the cron jobs match the subscriptions that want a digest: all of them on the
        leader, none elsewhere. A process that just became the leader (or just started)
        catches up on the digests missed meanwhile."""
        if self._jobs is None:
            raise RuntimeError("Digests.sync needs the scheduler's daily jobs")
        if not self._leads():
            for job_id in list(self._installed):
                self._jobs.cancel(job_id)
            self._installed.clear()
            self._leading = False
            return
        subscriptions = await self._store.subscriptions.with_digest()
        if not self._leading:
            self._leading = True
            await self.catch_up(subscriptions)
        wanted = {f"{JOB_PREFIX}{s.id}": s for s in subscriptions}
        for job_id in list(self._installed):
            if job_id not in wanted:
                self._jobs.cancel(job_id)
                del self._installed[job_id]
        for job_id, sub in wanted.items():
            assert sub.digest_time is not None
            when = (sub.digest_time, sub.digest_tz)
            if self._installed.get(job_id) == when:
                continue
            self._jobs.set_daily(job_id, sub.digest_time, sub.digest_tz, self.daily, sub.id)
            self._installed[job_id] = when

    async def catch_up(self, subscriptions: list[Subscription]) -> int:
        """Queue the digests whose time passed less than CATCH_UP ago and that no process
        queued. Returns how many were queued."""
        now = self._clock()
        queued = 0
        for sub in subscriptions:
            if sub.digest_time is None:
                continue
            due = last_run(sub.digest_time, sub.digest_tz, now)
            if now - due > CATCH_UP:
                continue
            if await self._store.outbox.has_digest(sub.id, due.date().isoformat()):
                continue
            if await self._queue(sub, due) is not None:
                queued += 1
        return queued

    async def daily(self, subscription_id: int) -> int | None:
        """The daily job: the digest of the day that fell due last, queued once (only the
        leader queues; a second queue of the same day writes nothing)."""
        if not self._leads():
            return None
        sub = await self._store.subscriptions.get(subscription_id)
        if sub is None or sub.digest_time is None:
            return None
        return await self._queue(sub, last_run(sub.digest_time, sub.digest_tz, self._clock()))

    async def queue(self, subscription_id: int) -> int | None:
        """Queue one digest of the briefs since the last one, now (not tied to a day).
        Returns the delivery id, or None when there was nothing new."""
        sub = await self._store.subscriptions.get(subscription_id)
        if sub is None:
            return None
        return await self._queue(sub, None)

    async def _queue(self, sub: Subscription, due: datetime | None) -> int | None:
        """`due`: the day's scheduled time: only briefs stored by then, once for that day."""
        matching = await self._store.briefs.for_subscription_since(
            sub, sub.last_digest_at, limit=1000
        )
        if due is not None:
            matching = [b for b in matching if b.created_at <= due]
        if not matching:
            return None
        briefs = matching[-DIGEST_MAX_BRIEFS:]  # the newest; the title says what was left out
        title = f"Daily digest: {len(briefs)} new brief{'s' if len(briefs) != 1 else ''}"
        stories = len({b.story_id if b.story_id is not None else -b.id for b in briefs})
        if stories < len(briefs):  # the digest lists one entry per story
            title = f"Daily digest: {stories} stories from {len(briefs)} new briefs"
        if len(matching) > len(briefs):
            title = (
                f"Daily digest: the newest {len(briefs)} of {len(matching)} new briefs "
                "(search or /briefs latest for the rest)"
            )
        now = self._clock()
        # Move the mark to the newest brief collected (not to "now"), so a brief stored while
        # this runs is in the next digest rather than in none.
        up_to = max(b.created_at for b in matching)
        day = due.date().isoformat() if due is not None else None
        delivery_id = await self._store.outbox.add_digest(
            sub.id, [b.id for b in briefs], up_to, now, title=title, day=day
        )
        if delivery_id is None:
            return None  # that day's digest was queued already (another process)
        log.info(
            "queued a digest of %d briefs for subscription %d",
            len(briefs),
            sub.id,
            extra={"event": "digest_queued", "subscription_id": sub.id, "delivery_id": delivery_id},
        )
        if self._on_deliveries is not None:
            self._on_deliveries()
        return delivery_id
