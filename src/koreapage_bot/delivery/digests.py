"""Daily digests: a daily job per subscription that asks for one, at its time of day in its time
zone (the scheduler runs it: `DailyJobs`). The job only queues an outbox row; the dispatcher
sends it."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from koreapage_bot.dates import utcnow
from koreapage_bot.ports import Storage

log = logging.getLogger(__name__)

DIGEST_MAX_BRIEFS = 25
JOB_PREFIX = "digest:"


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
    ) -> None:
        """`jobs`: where `sync` schedules the daily jobs (None: `queue` only)."""
        self._store = store
        self._jobs = jobs
        self._on_deliveries = on_deliveries
        self._installed: dict[str, tuple[str, str]] = {}

    async def sync(self) -> None:
        """Make the cron jobs match the subscriptions that want a digest."""
        if self._jobs is None:
            raise RuntimeError("Digests.sync needs the scheduler's daily jobs")
        wanted = {f"{JOB_PREFIX}{s.id}": s for s in await self._store.subscriptions.with_digest()}
        for job_id in list(self._installed):
            if job_id not in wanted:
                self._jobs.cancel(job_id)
                del self._installed[job_id]
        for job_id, sub in wanted.items():
            assert sub.digest_time is not None
            when = (sub.digest_time, sub.digest_tz)
            if self._installed.get(job_id) == when:
                continue
            self._jobs.set_daily(job_id, sub.digest_time, sub.digest_tz, self.queue, sub.id)
            self._installed[job_id] = when

    async def queue(self, subscription_id: int) -> int | None:
        """Queue one digest of the briefs since the last one. Returns the delivery id, or None
        when there was nothing new."""
        sub = await self._store.subscriptions.get(subscription_id)
        if sub is None:
            return None
        matching = await self._store.briefs.for_subscription_since(
            sub, sub.last_digest_at, limit=1000
        )
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
        now = utcnow()
        # Move the mark to the newest brief collected (not to "now"), so a brief stored while
        # this runs is in the next digest rather than in none.
        up_to = max(b.created_at for b in matching)
        delivery_id = await self._store.outbox.add_digest(
            sub.id, [b.id for b in briefs], up_to, now, title=title
        )
        log.info(
            "queued a digest of %d briefs for subscription %d",
            len(briefs),
            sub.id,
            extra={"event": "digest_queued", "subscription_id": sub.id, "delivery_id": delivery_id},
        )
        if self._on_deliveries is not None:
            self._on_deliveries()
        return delivery_id
