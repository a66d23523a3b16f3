"""The process's clock: the continuous poll pipeline and APScheduler 3's AsyncIOScheduler (for
digests) in the bot's one event loop.

Polling is not a periodic job: the pipeline keeps `poll.concurrency` feed polls in flight and
claims the next due feed as soon as one finishes, so a slow or huge feed only delays itself.
Per-feed jitter lives in each feed's `next_poll_at`, so feeds do not all fire at once. Digest
cron jobs are kept in step with the subscriptions.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from koreapage_bot.delivery.digests import Digests
from koreapage_bot.ingest.pipeline import PollPipeline

log = logging.getLogger(__name__)


class BotScheduler:
    def __init__(
        self,
        pipeline: PollPipeline,
        *,
        digest_sync_seconds: int = 60,
    ) -> None:
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self.digests: Digests | None = None
        self.pipeline = pipeline
        self._digest_sync_seconds = digest_sync_seconds
        self._running: set[asyncio.Task[object]] = set()
        self._stopping = False

    def attach_digests(self, digests: Digests) -> None:
        self.digests = digests

    # -- delivery.digests.DailyJobs ------------------------------------------------------------

    def set_daily(
        self, job_id: str, at: str, tz: str, job: Callable[[int], Awaitable[object]], arg: int
    ) -> None:
        hour, minute = (int(x) for x in at.split(":"))
        self.scheduler.add_job(
            job,
            CronTrigger(hour=hour, minute=minute, timezone=tz),
            args=[arg],
            id=job_id,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=3600,
        )

    def cancel(self, job_id: str) -> None:
        self.scheduler.remove_job(job_id)

    def _tracked(self, job: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[None]]:
        """Run a job as a task we can wait for at shutdown (APScheduler does not)."""

        async def run() -> None:
            if self._stopping:  # fired just before shutdown: do not start new work
                return
            task = asyncio.current_task()
            if task is not None:
                self._running.add(task)
            try:
                await job()
            except asyncio.CancelledError:
                # Only at shutdown, after the grace period; the work is transactional.
                log.info("a scheduled job was cut short by shutdown")
            except Exception:
                log.exception("scheduled job failed; it runs again at its next time")
            finally:
                if task is not None:
                    self._running.discard(task)

        return run

    async def tick(self) -> None:
        """Poll every feed that is due now and return when all are done (`run --once`)."""
        stats = await self.pipeline.poll_due_now()
        if stats.polled:
            log.info(
                "polled %d feeds: %d new entries, %d briefs, %d failed",
                stats.polled,
                stats.new_entries,
                stats.briefs,
                stats.failed,
            )

    def wake_polls(self) -> None:
        """A feed was added or made due: the poll pipeline looks at once."""
        self.pipeline.wake()

    def start(self) -> None:
        now = datetime.now(UTC)
        self.pipeline.start()
        if self.digests is not None:
            self.scheduler.add_job(
                self._tracked(self.digests.sync),
                IntervalTrigger(seconds=self._digest_sync_seconds),
                id="digest-sync",
                coalesce=True,
                max_instances=1,
                next_run_time=now + timedelta(seconds=1),
            )
        self.scheduler.start()

    def resync_digests(self) -> None:
        """Subscriptions changed: bring the digest jobs up to date soon."""
        if self.scheduler.running and self.digests is not None:
            job = self.scheduler.get_job("digest-sync")
            if job is not None:
                job.modify(next_run_time=datetime.now(UTC))

    async def stop(self, grace_seconds: float = 15.0) -> None:
        """Stop starting work; let polls and jobs in flight finish (each write is its own
        transaction, so work cut short leaves no half-written state, but finishing is kinder
        to the feeds). A poll still running after the grace period is cancelled and its feed
        handed back, due again."""
        self._stopping = True
        if not self.scheduler.running:
            await self.pipeline.stop(grace_seconds)
            return
        # APScheduler's AsyncIOExecutor cancels running coroutine jobs on shutdown (and logs
        # the CancelledError as a failed job), so pause first, let running jobs finish, and
        # shut down after. One loop turn lets a job task created just now register itself.
        self.scheduler.pause()
        await asyncio.sleep(0)
        await asyncio.gather(self.pipeline.stop(grace_seconds), self._finish_jobs(grace_seconds))
        self.scheduler.shutdown(wait=False)

    async def _finish_jobs(self, grace_seconds: float) -> None:
        running = list(self._running)
        if running:
            _, pending = await asyncio.wait(running, timeout=grace_seconds)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
