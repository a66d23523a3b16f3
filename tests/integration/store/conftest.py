"""The store tests run on every implementation of ports.Storage: the in-memory store and the
SQL store on SQLite and PostgreSQL. A test that checks SQL itself (constraints, the schema,
full-text ranking) asks for `sql_store`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from koreapage_bot.store.memory import MemoryStore
from koreapage_bot.store.store import Store
from tests.conftest import SQL_BACKENDS, sql_store_on


@pytest.fixture(params=["memory", *SQL_BACKENDS])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    """An empty ports.Storage: in memory, on SQLite, on PostgreSQL."""
    if request.param == "memory":
        yield MemoryStore()
        return
    async with sql_store_on(request.param, request, tmp_path) as opened:
        yield opened


@pytest.fixture(params=SQL_BACKENDS)
async def sql_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    async with sql_store_on(request.param, request, tmp_path) as opened:
        yield opened
