"""The unit tier: the core on the in-memory store (store/memory.py), no database. The store
tests (tests/integration/store) hold it to the SQL store's behaviour."""

from __future__ import annotations

import pytest

from koreapage_bot.store.memory import MemoryStore


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def sqlite_store() -> MemoryStore:
    """Tests written for one SQL backend run here on the memory store."""
    return MemoryStore()
