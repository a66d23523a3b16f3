"""Feed-server routes whose timing the test controls (no sleeps, no wall-clock).

`HeldRoute` keeps each request open until the test lets it go: a feed "still in progress" for
as long as the test needs. `GrowingFeedRoute` publishes one more item on every request, so each
poll of it brings new content (a feed that never answers 304).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from aiohttp import web

from tests.fakes.feed_server import RSS_TYPE, Item, Route, render_rss


@dataclass
class HeldRoute:
    """Answer with `then` only once `release()` was called; `arrived` counts requests that
    reached the route and `answered` those that got their answer."""

    then: Route
    arrived: int = 0
    answered: int = 0
    _gate: asyncio.Event = field(default_factory=asyncio.Event)
    _seen: asyncio.Event = field(default_factory=asyncio.Event)

    async def respond(self, request: web.Request) -> web.StreamResponse:
        self.arrived += 1
        self._seen.set()
        await self._gate.wait()
        self.answered += 1
        return await self.then.respond(request)

    @property
    def in_progress(self) -> int:
        return self.arrived - self.answered

    async def wait_arrived(self, timeout: float = 15.0) -> None:
        """Until a first request is being held (a bound, not a timing check)."""
        await asyncio.wait_for(self._seen.wait(), timeout)

    def release(self) -> None:
        self._gate.set()


@dataclass
class GrowingFeedRoute:
    """An RSS feed with one more item at every request (no validators: always a 200)."""

    prefix: str = "item"
    served: int = 0

    async def respond(self, request: web.Request) -> web.StreamResponse:
        self.served += 1
        start = datetime(2026, 5, 1, tzinfo=UTC)
        items = [
            Item(
                f"{self.prefix} {n}: allies meet on defense cost sharing",
                link=f"https://growing.example/{self.prefix}/{n}",
                guid=f"{self.prefix}-{n}",
                published=start + timedelta(minutes=n),
                description="Seoul and Washington held another round of talks.",
            )
            for n in range(self.served, 0, -1)
        ]
        return web.Response(body=render_rss(items), headers={"Content-Type": RSS_TYPE})
