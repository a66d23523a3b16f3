"""A database made by an older release upgrades in place, keeping its rows."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import Connection, text

from koreapage_bot.domain import DeliveryState
from koreapage_bot.store.database import create_engine
from koreapage_bot.store.migrate import alembic_config
from koreapage_bot.store.store import Store


def _to(revision: str) -> object:
    def run(conn: Connection) -> None:
        command.upgrade(alembic_config(conn), revision)

    return run


async def test_upgrade_from_the_first_schema_keeps_deliveries(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(_to("0001"))  # type: ignore[arg-type]
        now = "2026-01-01 00:00:00"
        await conn.execute(
            text(
                "INSERT INTO subscriptions (id, platform, channel, issues, feeds, min_relevance,"
                " state, created_at, updated_at, per_brief, digest_tz, options) VALUES"
                " (1, 'console', 'c', '[]', '[]', 0, 'active', :n, :n, 1, 'UTC', '{}')"
            ),
            {"n": now},
        )
        await conn.execute(
            text(
                "INSERT INTO deliveries (id, subscription_id, kind, state, attempts,"
                " rate_limited, next_attempt_at, created_at, updated_at) VALUES"
                " (7, 1, 'digest', 'pending', 2, 0, :n, :n, :n)"
            ),
            {"n": now},
        )
    await engine.dispose()

    store = await Store.open(url)  # migrates to the newest revision
    try:
        row = await store.outbox.get(7)
        assert row is not None and row.state is DeliveryState.PENDING and row.attempts == 2
        assert row.maybe_sent is False
    finally:
        await store.close()
