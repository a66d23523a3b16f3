"""Coordination between bot processes that share one database (ports.Coordination).

PostgreSQL does it all, no broker and no consensus of our own:
- Leadership: `pg_try_advisory_lock` on a connection kept for this purpose alone. The lock
  lives as long as that session; when the leader dies (or its connection does) the server
  releases it and the next process that tries (every `RETRY_SECONDS`) leads.
- Wake-ups: the same connection LISTENs on `koreapage_wake`, which triggers on `deliveries`
  and `feeds` NOTIFY (at commit, with the table name; migration 0007), so a dispatcher or a
  poll loop in another process starts at once instead of at its next sweep.

SQLite is one process's database: `LocalCoordination` always leads and hears nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

WAKE_CHANNEL = "koreapage_wake"
LEADER_LOCK_KEY = 0x6B70_6C64  # "kpld": the same constant in every koreapage-bot process
# How often a follower tries to take the lock, and the leader checks its connection. With
# the server releasing a dead session's lock at once, failover takes about this long.
RETRY_SECONDS = 2.0


class _Hooks:
    def __init__(self) -> None:
        self._leadership: list[Callable[[bool], None]] = []
        self._wake: dict[str, list[Callable[[], None]]] = {}

    def on_leadership(self, callback: Callable[[bool], None]) -> None:
        self._leadership.append(callback)

    def on_wake(self, topic: str, callback: Callable[[], None]) -> None:
        self._wake.setdefault(topic, []).append(callback)

    def _tell_leadership(self, leading: bool) -> None:
        for callback in self._leadership:
            try:
                callback(leading)
            except Exception:
                log.exception("a leadership callback failed")

    def _tell_wake(self, topic: str) -> None:
        for callback in self._wake.get(topic, ()):
            try:
                callback()
            except Exception:
                log.exception("a wake-up callback failed")


class LocalCoordination(_Hooks):
    """One process (SQLite, the in-memory store): it leads; nobody else writes."""

    role_detail = "single process"

    @property
    def is_leader(self) -> bool:
        return True

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None


class PgCoordination(_Hooks):
    def __init__(self, engine: AsyncEngine, *, retry_seconds: float = RETRY_SECONDS) -> None:
        super().__init__()
        self._engine = engine
        self._retry = retry_seconds
        self._leading = False
        self._task: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()  # the dedicated connection died
        self.became_leader_at: float | None = None  # loop time (tests, /healthz)

    role_detail = "PostgreSQL advisory lock"

    @property
    def is_leader(self) -> bool:
        return self._leading

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="coordination")

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._set_leading(False)

    def _set_leading(self, leading: bool) -> None:
        if leading == self._leading:
            return
        self._leading = leading
        self.became_leader_at = asyncio.get_running_loop().time() if leading else None
        log.info(
            "this process %s the leader",
            "is now" if leading else "is no longer",
            extra={"event": "leadership", "leader": leading},
        )
        self._tell_leadership(leading)

    async def _run(self) -> None:
        while True:
            try:
                await self._session()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning(
                    "coordination connection lost (%s: %s); reconnecting",
                    type(exc).__name__,
                    exc,
                    extra={"event": "coordination_lost"},
                )
            self._set_leading(False)
            await asyncio.sleep(self._retry)

    async def _session(self) -> None:
        conn = await self._engine.connect()
        try:
            raw = (await conn.get_raw_connection()).driver_connection
            if raw is None:
                raise ConnectionError("no driver connection")
            self._lost.clear()
            raw.add_termination_listener(self._on_terminated)
            await raw.add_listener(WAKE_CHANNEL, self._on_notify)
            while True:
                if not self._leading:
                    taken = await raw.fetchval("SELECT pg_try_advisory_lock($1)", LEADER_LOCK_KEY)
                    if taken:
                        self._set_leading(True)
                else:
                    # The lock is as good as the session: make sure the session still is.
                    await raw.fetchval("SELECT 1")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._lost.wait(), self._retry)
                if self._lost.is_set():
                    raise ConnectionError("the coordination connection was closed")
        finally:
            self._set_leading(False)
            await _discard(conn)

    def _on_terminated(self, _connection: Any) -> None:
        self._lost.set()

    def _on_notify(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        self._tell_wake(payload)


async def _discard(conn: AsyncConnection) -> None:
    # Never back into the pool: a session advisory lock and LISTEN would outlive us there.
    with contextlib.suppress(Exception):
        await conn.invalidate()
    with contextlib.suppress(Exception):
        await conn.close()


def coordination_for(engine: AsyncEngine) -> LocalCoordination | PgCoordination:
    if engine.dialect.name == "postgresql":
        return PgCoordination(engine)
    return LocalCoordination()
