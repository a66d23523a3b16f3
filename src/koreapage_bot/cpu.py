"""CPU-bound work (feed parsing, analysis) off the event loop, on every core.

`CpuPool` runs a job in a worker process once the work is parallel enough to pay for
processes: the first time two jobs are in flight at once (a `run` or `run --once` over many
feeds). Until then, and always with one worker, a job runs in a thread: `poll URL` of one
feed or a CLI command never starts processes it would not use. The composition root
(bootstrap) creates the pool and shuts it down.

Workers are started by a fork server that preloads the analysis modules, so they start in
milliseconds and share those pages; nothing is forked from the event loop's process (its
threads and sockets stay its own).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import multiprocessing
import os
from collections.abc import Callable
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")

# What every worker imports before its first job (the fork server loads them once).
_PRELOAD = ["koreapage_bot.workers"]


def usable_cpus() -> int:
    """The cores this process may run on (a container's or taskset's limit, not the host's)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


class CpuPool:
    """A lazily started process pool; threads until the work is parallel."""

    def __init__(
        self,
        workers: int = 0,
        *,
        initializer: Callable[..., object] | None = None,
        initargs: tuple[Any, ...] = (),
    ) -> None:
        """`workers`: processes to run (0: one per usable core; 1: never a process)."""
        self.workers = workers or usable_cpus()
        self._initializer = initializer
        self._initargs = initargs
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._in_flight = 0
        self._closed = False
        self._broken = False

    @property
    def processes(self) -> bool:
        """True once jobs go to worker processes."""
        return self._pool is not None

    def start(self) -> None:
        """Start the worker processes now (a bench, or a caller that knows the work is big)."""
        if self._pool is None and self.workers > 1 and not self._closed and not self._broken:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(_PRELOAD)
            self._pool = concurrent.futures.ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=context,
                initializer=self._initializer,
                initargs=self._initargs,
            )
            log.debug("started %d worker processes", self.workers, extra={"event": "cpu_pool"})

    async def run(self, job: Callable[..., T], *args: Any, inline: Callable[[], T]) -> T:
        """`job(*args)` in a worker process, or `inline()` (the same work, with this
        process's objects) in a thread. `job` and its arguments must pickle."""
        self._in_flight += 1
        try:
            if self._pool is None and self._in_flight > 1:
                self.start()
            pool = self._pool
            if pool is None:
                return await asyncio.to_thread(inline)
            try:
                return await asyncio.get_running_loop().run_in_executor(pool, job, *args)
            except concurrent.futures.process.BrokenProcessPool:
                # A worker died (killed, out of memory): carry on in threads rather than
                # fail every poll from now on.
                log.error(
                    "a CPU worker process died; running CPU work in threads from now on",
                    extra={"event": "cpu_pool_broken"},
                )
                self._broken = True
                self._pool = None
                pool.shutdown(wait=False, cancel_futures=True)
                return await asyncio.to_thread(inline)
        finally:
            self._in_flight -= 1

    async def aclose(self) -> None:
        """Stop the workers (jobs not started are dropped; the ones running finish)."""
        self._closed = True
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)
