"""The shared replay cache of signed requests, on SQLite and PostgreSQL: a signature is taken
once, by whichever process asks first; expired rows are cleared by whoever comes by."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from koreapage_bot.store.replays import PRUNE_EVERY, ReplayRepository
from koreapage_bot.store.store import Store


@pytest.fixture
def store(sql_store: Store) -> Store:
    """Full-text ranking and the shared replay table are the SQL store's own."""
    return sql_store


NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


async def test_a_signature_is_taken_once_across_processes(store: Store) -> None:
    url = store.engine.url.render_as_string(hide_password=False)
    other = await Store.open(url)  # a second process on the same database
    try:
        until = datetime.now(UTC) + timedelta(minutes=6)
        results = await asyncio.gather(
            *(s.replays.first_seen("v0=abc", until) for s in (store, other, store, other))
        )
        assert sorted(results) == [False, False, False, True]
        assert await other.replays.first_seen("v0=def", until)
        await other.replays.forget("v0=abc")  # failed on our side: a retry may run
        assert await store.replays.first_seen("v0=abc", until)
    finally:
        await other.close()


async def test_expired_signatures_are_pruned(store: Store) -> None:
    clock = [NOW]
    replays = ReplayRepository(store.engine, clock=lambda: clock[0])
    for n in range(5):
        assert await replays.first_seen(f"old-{n}", NOW + timedelta(minutes=6))
    assert await replays.count() == 5
    clock[0] = NOW + timedelta(minutes=7) + PRUNE_EVERY
    assert await replays.first_seen("new", clock[0] + timedelta(minutes=6))
    assert await replays.count() == 1
