"""A platform-wide rate shared by every process through PostgreSQL (delivery.ratelimit.SharedPace).

One row per platform holds the next free request slot (`next_at`) and the end of the last
platform-wide 429 any process saw (`blocked_until`). A process reserves a few slots at a time:
one short UPDATE moves `next_at` past them, so the slots of all processes never overlap and
together keep the platform's rate (Discord: 50 requests a second per bot, not per process).
Times are the database server's, handed back as seconds from now: the processes' clocks may
disagree, their durations do not.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

_RESERVE = text(
    """
    INSERT INTO rate_shares AS r (name, next_at, blocked_until)
    VALUES (:name, clock_timestamp() + make_interval(secs => CAST(:span AS float8)),
            clock_timestamp())
    ON CONFLICT (name) DO UPDATE SET next_at =
        greatest(r.next_at, r.blocked_until, clock_timestamp())
        + make_interval(secs => CAST(:span AS float8))
    RETURNING CAST(extract(epoch FROM next_at - clock_timestamp()) AS float8)
                - CAST(:span AS float8),
              CAST(extract(epoch FROM blocked_until - clock_timestamp()) AS float8)
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


class SharedRates:
    def __init__(self, engine: AsyncEngine) -> None:
        if engine.dialect.name != "postgresql":
            raise ValueError("shared rates need PostgreSQL (SQLite serves one process)")
        self._engine = engine

    async def reserve(self, name: str, count: int, spacing: float) -> tuple[float, float]:
        """Reserve `count` slots `spacing` seconds apart. Returns (seconds from now until the
        first slot, seconds the platform-wide block still lasts, <= 0 when none)."""
        async with self._engine.begin() as conn:
            row = (await conn.execute(_RESERVE, {"name": name, "span": count * spacing})).one()
        return float(row[0]), float(row[1])

    async def block(self, name: str, seconds: float) -> None:
        """A platform-wide 429: no process takes a slot for `seconds`."""
        async with self._engine.begin() as conn:
            await conn.execute(_BLOCK, {"name": name, "seconds": max(0.0, seconds)})
