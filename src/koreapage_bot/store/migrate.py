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
import re
from collections.abc import AsyncIterator
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
PG_LOCK_KEY = 0x6B70_6D69  # "kpmi": any constant shared by every koreapage-bot process
_REVISION = re.compile(r"^(down_revision|revision)\s*(?::[^=]*)?=\s*(.+)$", re.MULTILINE)


@cache
def head_revision() -> str | None:
    """The newest migration's id, read from the version files (alembic's own import costs a
    quarter of a second, which a CLI query would pay on every start); None when it cannot
    tell (then alembic decides)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("[!_]*.py"):
        found = dict(_REVISION.findall(path.read_text(encoding="utf-8")))
        revision = found.get("revision", "").strip().strip("\"'")
        if not revision:
            return None
        revisions.add(revision)
        parents.update(re.findall(r"[\"']([^\"']+)[\"']", found.get("down_revision", "")))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


async def _at_head(engine: AsyncEngine) -> bool:
    """True when the database's schema is the newest (nothing to migrate)."""
    head = head_revision()
    if head is None:
        return False
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
    except DBAPIError:  # a new database: no version table yet
        return False
    return [r[0] for r in rows] == [head]


def alembic_config(connection: Connection) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def _upgrade(connection: Connection) -> None:
    from alembic import command

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
    if await _at_head(engine):
        return
    if engine.dialect.name == "postgresql":
        async with engine.begin() as conn:
            # Held until this transaction ends, i.e. until the migration is committed.
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_LOCK_KEY})
            await conn.run_sync(_upgrade)
        return
    async with _sqlite_lock(engine.url.database), engine.begin() as conn:
        await conn.run_sync(_upgrade)
