"""The fetcher against a real local feed server: politeness and failure handling."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime

from aiohttp import web

from koreapage_bot.config import USER_AGENT
from koreapage_bot.ingest.fetch import MAX_REDIRECTS, FeedFetcher
from koreapage_bot.ingest.parse import parse_feed
from tests.fakes.feed_server import (
    FeedServer,
    HtmlRoute,
    Item,
    OversizedRoute,
    RawRoute,
    RedirectRoute,
    SlowRoute,
    StatusRoute,
)
from tests.fakes.hold import HeldRoute
from tests.integration.ingest.conftest import FAST

ITEMS = [
    Item(
        "Seoul and Washington open talks on cost sharing",
        link="https://alliance-watch.example/posts/cost-sharing",
        guid="aw-101",
        published=datetime(2024, 3, 4, 1, 30, tzinfo=UTC),
        description="Negotiators met for a first round on the troop-cost agreement.",
    ),
    Item(
        "Joint drills resume after winter pause",
        link="https://alliance-watch.example/posts/drills",
        guid="aw-102",
        published=datetime(2024, 3, 5, 2, 0, tzinfo=UTC),
    ),
]


async def test_etag_round_trip_gives_304_without_body(
    feed_server: FeedServer, fetcher: FeedFetcher
) -> None:
    route = feed_server.feed("/feed.xml", ITEMS, last_modified_enabled=False)
    first = await fetcher.fetch(feed_server.url("/feed.xml"))
    assert first.status == 200 and first.ok and first.body
    assert first.etag == route.etag  # verbatim, quotes included
    second = await fetcher.fetch(feed_server.url("/feed.xml"), etag=first.etag)
    assert second.status == 304
    assert second.not_modified and second.body is None and second.error is None
    sent = feed_server.requests("/feed.xml")
    assert "If-None-Match" not in sent[0].headers
    assert sent[1].headers["If-None-Match"] == first.etag


async def test_last_modified_round_trip(feed_server: FeedServer, fetcher: FeedFetcher) -> None:
    route = feed_server.feed("/lm.xml", ITEMS, etag_enabled=False)
    first = await fetcher.fetch(feed_server.url("/lm.xml"))
    assert first.etag is None and first.last_modified == route.last_modified
    second = await fetcher.fetch(feed_server.url("/lm.xml"), last_modified=first.last_modified)
    assert second.not_modified
    assert feed_server.requests("/lm.xml")[1].headers["If-Modified-Since"] == first.last_modified
    route.set_items([*ITEMS, Item("A new item", guid="aw-103")])
    third = await fetcher.fetch(feed_server.url("/lm.xml"), last_modified=first.last_modified)
    assert third.status == 200 and third.body and b"aw-103" in third.body
    assert third.last_modified != first.last_modified


async def test_sends_feed_accept_and_identifying_user_agent(
    feed_server: FeedServer, fetcher: FeedFetcher
) -> None:
    feed_server.feed("/feed.xml", ITEMS)
    await fetcher.fetch(feed_server.url("/feed.xml"))
    headers = feed_server.requests("/feed.xml")[0].headers
    assert "application/rss+xml" in headers["Accept"]
    assert "application/atom+xml" in headers["Accept"]
    assert headers["User-Agent"] == USER_AGENT
    assert "+https://" in headers["User-Agent"]


async def test_429_reports_retry_after_seconds(
    feed_server: FeedServer, fetcher: FeedFetcher
) -> None:
    feed_server.route("/busy", StatusRoute(429, retry_after="120"))
    result = await fetcher.fetch(feed_server.url("/busy"))
    assert result.status == 429 and result.retry_after == 120
    assert result.body is None and result.error and "429" in result.error


async def test_503_with_http_date_retry_after(
    feed_server: FeedServer, fetcher: FeedFetcher
) -> None:
    feed_server.route("/down", StatusRoute(503, retry_after="Wed, 21 Oct 2099 07:28:00 GMT"))
    result = await fetcher.fetch(feed_server.url("/down"))
    assert result.status == 503 and result.error
    assert result.retry_after is not None and result.retry_after > 3600


async def test_cache_control_max_age_is_reported(
    feed_server: FeedServer, fetcher: FeedFetcher
) -> None:
    feed_server.feed("/cached.xml", ITEMS, cache_max_age=3600)
    result = await fetcher.fetch(feed_server.url("/cached.xml"))
    assert result.max_age == 3600


async def test_permanent_redirects_are_reported(
    feed_server: FeedServer, fetcher: FeedFetcher
) -> None:
    feed_server.feed("/new.xml", ITEMS)
    feed_server.route("/old-301", RedirectRoute("/new.xml", status=301))
    feed_server.route("/old-308", RedirectRoute(feed_server.url("/new.xml"), status=308))
    for path in ("/old-301", "/old-308"):
        result = await fetcher.fetch(feed_server.url(path))
        assert result.status == 200 and result.body
        assert result.permanent_redirect_url == feed_server.url("/new.xml")
        assert result.final_url == feed_server.url("/new.xml")


async def test_temporary_redirect_keeps_the_stored_url(
    feed_server: FeedServer, fetcher: FeedFetcher
) -> None:
    feed_server.feed("/new.xml", ITEMS)
    feed_server.route("/tmp", RedirectRoute("/new.xml", status=302))
    feed_server.route("/chain", RedirectRoute("/tmp", status=301))
    tmp = await fetcher.fetch(feed_server.url("/tmp"))
    assert tmp.ok and tmp.permanent_redirect_url is None
    # 301 then 302: only the permanent first hop counts.
    chain = await fetcher.fetch(feed_server.url("/chain"))
    assert chain.ok and chain.permanent_redirect_url == feed_server.url("/tmp")


async def test_redirect_loop_stops(feed_server: FeedServer, fetcher: FeedFetcher) -> None:
    feed_server.route("/a", RedirectRoute("/b", status=302))
    feed_server.route("/b", RedirectRoute("/a", status=302))
    result = await fetcher.fetch(feed_server.url("/a"))
    assert result.body is None and result.error == "more than 5 redirects"
    assert feed_server.count("/a") + feed_server.count("/b") == MAX_REDIRECTS + 1


async def test_410_gone(feed_server: FeedServer, fetcher: FeedFetcher) -> None:
    feed_server.route("/gone", StatusRoute(410))
    result = await fetcher.fetch(feed_server.url("/gone"))
    assert result.status == 410 and result.body is None and result.error


async def test_slow_server_times_out(feed_server: FeedServer, fetcher: FeedFetcher) -> None:
    feed_server.route("/slow", SlowRoute(delay=5.0))
    result = await fetcher.fetch(feed_server.url("/slow"))
    assert result.status is None and result.error == "timed out"
    assert result.body is None


async def test_stalled_body_hits_the_read_timeout(
    feed_server: FeedServer, fetcher: FeedFetcher
) -> None:
    feed_server.route("/stall", SlowRoute(delay=5.0, stall_body=True))
    result = await fetcher.fetch(feed_server.url("/stall"))
    assert result.body is None and result.error is not None
    assert result.status == 200  # headers arrived; the body never finished


async def test_oversized_streamed_body_is_cut_off(
    feed_server: FeedServer, fetcher: FeedFetcher
) -> None:
    feed_server.route("/big", OversizedRoute(size=FAST.max_body_bytes * 4))
    result = await fetcher.fetch(feed_server.url("/big"))
    assert result.body is None and result.error and "larger than" in result.error


async def test_oversized_declared_length_is_refused(
    feed_server: FeedServer, fetcher: FeedFetcher
) -> None:
    feed_server.route("/big", OversizedRoute(size=FAST.max_body_bytes + 1, declare_length=True))
    result = await fetcher.fetch(feed_server.url("/big"))
    assert result.body is None and result.error and "larger than" in result.error


async def test_gzip_bomb_is_limited_on_decompressed_size(
    feed_server: FeedServer, fetcher: FeedFetcher
) -> None:
    feed_server.route("/bomb", OversizedRoute(size=FAST.max_body_bytes * 8, gzip=True))
    result = await fetcher.fetch(feed_server.url("/bomb"))
    assert result.body is None and result.error and "larger than" in result.error


async def test_gzip_feed_is_decompressed(feed_server: FeedServer, fetcher: FeedFetcher) -> None:
    feed_server.feed("/gz.xml", ITEMS, gzip=True)
    result = await fetcher.fetch(feed_server.url("/gz.xml"))
    assert result.ok and result.body is not None
    assert "gzip" in feed_server.requests("/gz.xml")[0].headers["Accept-Encoding"]
    parsed = await parse_feed(result.body, result.final_url, result.content_type)
    assert [e.key for e in parsed.entries] == ["id:aw-101", "id:aw-102"]


async def test_connection_refused_is_a_result_not_an_exception() -> None:
    async with FeedServer() as server:
        url = server.url("/feed.xml")
    async with FeedFetcher(FAST, allow_private=True) as fetcher:  # the server above is closed now
        result = await fetcher.fetch(url)
    assert result.status is None and result.error and "connect" in result.error


class _Counting:
    """Route that records how many requests are in flight at once."""

    def __init__(self) -> None:
        self.active = 0
        self.peak = 0

    async def respond(self, request: web.Request) -> web.StreamResponse:
        self.active += 1
        self.peak = max(self.peak, self.active)
        await asyncio.sleep(0.05)
        self.active -= 1
        return await SlowRoute(0).respond(request)


async def test_per_host_limit_bounds_concurrent_requests(feed_server: FeedServer) -> None:
    counting = _Counting()
    for i in range(8):
        feed_server.route(f"/f{i}", counting)
    async with FeedFetcher(per_host_limit=2, concurrency=8, allow_private=True) as fetcher:
        results = await asyncio.gather(
            *(fetcher.fetch(feed_server.url(f"/f{i}")) for i in range(8))
        )
    assert all(r.ok for r in results)
    assert counting.peak == 2


async def test_fetch_page_asks_for_html(feed_server: FeedServer, fetcher: FeedFetcher) -> None:
    feed_server.route("/article", HtmlRoute())
    result = await fetcher.fetch_page(feed_server.url("/article"))
    assert result.ok and result.body and b"<html" in result.body
    assert feed_server.requests("/article")[0].headers["Accept"].startswith("text/html")


async def test_fetchers_sharing_host_slots_keep_the_per_host_limit_together(
    feed_server: FeedServer,
) -> None:
    # The bot's feed fetchers (each trust level) and its article-page fetcher share one set
    # of per-host slots: together they open at most `per_host_limit` connections to a host.
    held = feed_server.route(
        "/slow", HeldRoute(RawRoute(b"<html></html>", content_type="text/html"))
    )
    feed_server.feed("/feed.xml")
    slow_ok = replace(FAST, total_timeout=15.0, read_timeout=15.0)
    slots: dict[str, asyncio.Semaphore] = {}

    def one_at_a_time() -> FeedFetcher:
        return FeedFetcher(slow_ok, per_host_limit=1, allow_private=True, host_slots=slots)

    async with one_at_a_time() as feeds, one_at_a_time() as pages:
        page = asyncio.create_task(pages.fetch_page(feed_server.url("/slow")))
        await held.wait_arrived()
        feed = asyncio.create_task(feeds.fetch(feed_server.url("/feed.xml")))
        await asyncio.sleep(0.2)  # time for a second connection, were one allowed
        assert feed_server.count("/feed.xml") == 0
        held.release()
        assert (await page).ok and (await feed).ok
    assert feed_server.count("/feed.xml") == 1
