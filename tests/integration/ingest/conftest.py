from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from koreapage_bot.config import HttpConfig
from koreapage_bot.ingest.fetch import MAX_REDIRECTS, FeedFetcher
from tests.fakes.feed_server import FeedServer

# The local server is loopback, so these fetchers allow private addresses; the URL guard
# itself is exercised with allow_private=False in test_urlguard_fetch.py.
FAST = HttpConfig(
    connect_timeout=2.0,
    read_timeout=0.5,
    total_timeout=1.5,
    max_body_bytes=256 * 1024,
)
__all__ = ["FAST", "MAX_REDIRECTS"]


@pytest.fixture
async def feed_server() -> AsyncIterator[FeedServer]:
    async with FeedServer() as server:
        yield server


@pytest.fixture
async def fetcher() -> AsyncIterator[FeedFetcher]:
    async with FeedFetcher(FAST, allow_private=True) as f:
        yield f
