"""A platform-wide rate shared by every process through PostgreSQL (delivery.ratelimit.SharedPace).

The rate is divided among the live dispatcher processes (their `delivery_holders` rows), so a
request costs no database round trip: each process paces itself at its share, and only the
membership is read, once a second. (A schedule of slots kept in one row, reserved a few at a
time, made every few requests wait for a round trip and an update of that one hot row: with
three processes on a busy machine the bot managed a third of the rate it was allowed.)

`rate_shares` keeps the end of the last platform-wide 429 any process saw (`blocked_until`);
reporting one also NOTIFYs `rate:<name>` so the other processes read it at once instead of at
their next look. Times are the database server's, handed back as seconds from now: the
processes' clocks may disagree, their durations do not.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from koreapage_bot.store import tables as t

_BLOCKED = text(
    """
    SELECT CAST(extract(epoch FROM blocked_until - clock_timestamp()) AS float8)
    FROM rate_shares WHERE name = :name
    """
)

_BLOCK = text(
    """
    INSERT INTO rate_shares AS r (name, next_at, blocked_until)
    VALUES (:name, clock_timestamp(),
            clock_timestamp() + make_interval(secs => CAST(:seconds AS float8)))
    ON CONFLICT (name) DO UPDATE SET blocked_until = greatest(
        r.blocked_until, clock_timestamp() + make_interval(secs => CAST(:seconds AS float8)))
    """
)

# Kept in step with store/coordination.py (WAKE_CHANNEL); delivered at commit.
_TELL = text("SELECT pg_notify('koreapage_wake', :topic)")


def wake_topic(name: str) -> str:
    """The NOTIFY payload that says a platform-wide block of `name` began."""
    return f"rate:{name}"


class SharedRates:
    def __init__(self, engine: AsyncEngine) -> None:
        if engine.dialect.name != "postgresql":
            raise ValueError("shared rates need PostgreSQL (SQLite serves one process)")
        self._engine = engine

    async def view(self, name: str) -> tuple[float, Mapping[str, datetime]]:
        """(seconds the platform-wide block still lasts, <= 0 when none; every registered
        dispatcher process and its last heartbeat)."""
        async with self._engine.connect() as conn:
            blocked = (await conn.execute(_BLOCKED, {"name": name})).scalar()
            rows = await conn.execute(select(t.delivery_holders.c.id, t.delivery_holders.c.seen_at))
            holders = {holder: seen for holder, seen in rows}
        return (float(blocked) if blocked is not None else 0.0), holders

    async def block(self, name: str, seconds: float) -> None:
        """A platform-wide 429: no process sends for `seconds`; the others hear it at once."""
        async with self._engine.begin() as conn:
            await conn.execute(_BLOCK, {"name": name, "seconds": max(0.0, seconds)})
            await conn.execute(_TELL, {"topic": wake_topic(name)})
