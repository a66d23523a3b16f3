"""Apply migrations at start, on the bot's own async engine.

Two processes may start at once on a new database (the bot and a CLI command); migrations
are serialised so the second waits and then finds the schema up to date: a file lock beside
the SQLite file, an advisory lock on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from collections.abc import AsyncIterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).with_name("migrations")
PG_LOCK_KEY = 0x6B70_6D69  # "kpmi": any constant shared by every koreapage-bot process


def alembic_config(connection: Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def _upgrade(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "head")


def _lock_file(database: str) -> int:
    path = os.path.expanduser(database) + ".migrate-lock"
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)  # waits for another process's migration
    return fd


@contextlib.asynccontextmanager
async def _sqlite_lock(database: str | None) -> AsyncIterator[None]:
    if not database or database == ":memory:":
        yield
        return
    fd = await asyncio.to_thread(_lock_file, database)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


async def upgrade(engine: AsyncEngine) -> None:
    if engine.dialect.name == "postgresql":
        async with engine.begin() as conn:
            # Held until this transaction ends, i.e. until the migration is committed.
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_LOCK_KEY})
            await conn.run_sync(_upgrade)
        return
    async with _sqlite_lock(engine.url.database), engine.begin() as conn:
        await conn.run_sync(_upgrade)
