"""Feeds that change between polls, and URLs that are pages rather than feeds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from koreapage_bot.config import PollConfig
from koreapage_bot.domain import Feed, FeedState
from koreapage_bot.ingest.discover import FeedNotFound, find_feed
from koreapage_bot.ingest.fetch import FeedFetcher
from koreapage_bot.ingest.parse import NotAFeed, parse_feed
from koreapage_bot.ingest.policy import Outcome, decide
from tests.fakes.feed_server import FeedServer, HtmlRoute, Item, StatusRoute

T0 = datetime(2024, 7, 1, tzinfo=UTC)


def items(with_guid: bool) -> list[Item]:
    return [
        Item(
            f"Alliance update {n}",
            link=f"https://alliance-watch.example/p/{n}?utm_source=rss",
            guid=f"aw-{n}" if with_guid else None,
            published=T0 + timedelta(hours=n),
            description=f"Invented summary number {n}.",
        )
        for n in range(1, 7)
    ]


@pytest.mark.parametrize("with_guid", [True, False], ids=["guid", "no-guid"])
async def test_drop_and_readd_keeps_keys(
    feed_server: FeedServer, fetcher: FeedFetcher, with_guid: bool
) -> None:
    all_items = items(with_guid)
    route = feed_server.feed("/feed.xml", all_items)
    url = feed_server.url("/feed.xml")

    async def keys_now() -> dict[str, str]:
        result = await fetcher.fetch(url)
        assert result.body is not None
        parsed = await parse_feed(result.body, result.final_url, result.content_type)
        return {e.title: e.key for e in parsed.entries}

    original = await keys_now()
    assert len(set(original.values())) == 6
    route.set_items([all_items[4], all_items[1], all_items[5]])  # dropped some, reordered
    shrunk = await keys_now()
    assert shrunk == {t: original[t] for t in shrunk}
    route.set_items(list(reversed(all_items)))  # everything back, new order
    assert await keys_now() == original


async def test_poll_cycle_through_policy(feed_server: FeedServer, fetcher: FeedFetcher) -> None:
    """fetch -> decide -> (parse) -> store the update, three times: 200, 304, changed."""
    route = feed_server.feed("/feed.xml", items(True)[:3])
    settings = PollConfig()
    state = Feed(id=1, url=feed_server.url("/feed.xml"), name="AW", state=FeedState.ACTIVE)

    async def poll(now: datetime) -> Outcome:
        nonlocal state
        result = await fetcher.fetch(state.url, state.etag, state.last_modified)
        decision = decide(state, result, now, settings)
        state = Feed(
            id=1,
            url=decision.update.new_url or state.url,
            name="AW",
            state=decision.update.state,
            etag=decision.update.etag,
            last_modified=decision.update.last_modified,
            content_hash=decision.update.content_hash,
            consecutive_failures=decision.update.consecutive_failures,
            last_error=decision.update.last_error,
            next_poll_at=decision.update.next_poll_at,
        )
        return decision.outcome

    assert await poll(T0) is Outcome.CHANGED
    assert await poll(T0 + timedelta(minutes=15)) is Outcome.NOT_MODIFIED
    assert feed_server.requests("/feed.xml")[1].headers["If-None-Match"] == route.etag
    route.set_items(items(True)[:4])
    assert await poll(T0 + timedelta(minutes=30)) is Outcome.CHANGED
    feed_server.route("/feed.xml", StatusRoute(410))
    assert await poll(T0 + timedelta(minutes=45)) is Outcome.GONE
    assert state.state is FeedState.DISABLED


async def test_same_body_without_validators_is_unchanged(
    feed_server: FeedServer, fetcher: FeedFetcher
) -> None:
    feed_server.feed("/plain.xml", items(True), etag_enabled=False, last_modified_enabled=False)
    state = Feed(id=1, url=feed_server.url("/plain.xml"), name="P", state=FeedState.ACTIVE)
    first = decide(state, await fetcher.fetch(state.url), T0, PollConfig())
    assert first.parse
    row = first.update
    state = Feed(id=1, url=state.url, name="P", state=row.state, content_hash=row.content_hash)
    second = decide(state, await fetcher.fetch(state.url), T0, PollConfig())
    assert second.outcome is Outcome.UNCHANGED and not second.parse


async def test_html_page_with_feed_link_is_discovered(
    feed_server: FeedServer, fetcher: FeedFetcher
) -> None:
    feed_server.route("/", HtmlRoute(feed_links=[("/rss.xml", "application/rss+xml")]))
    feed_server.feed("/rss.xml", items(True))
    page = await fetcher.fetch(feed_server.url("/"))
    assert page.body is not None
    with pytest.raises(NotAFeed) as info:
        await parse_feed(page.body, page.final_url, page.content_type)
    assert [link.url for link in info.value.links] == [feed_server.url("/rss.xml")]

    found = await find_feed(fetcher, feed_server.url("/"))
    assert found.url == feed_server.url("/rss.xml")
    assert found.discovered_from == feed_server.url("/")
    assert len(found.feed.entries) == 6


async def test_html_page_without_feed_link_gives_clear_error(
    feed_server: FeedServer, fetcher: FeedFetcher
) -> None:
    feed_server.route("/about", HtmlRoute())
    with pytest.raises(FeedNotFound, match="not a feed and the page links to no RSS/Atom feed"):
        await find_feed(fetcher, feed_server.url("/about"))


async def test_find_feed_accepts_a_feed_url_directly(
    feed_server: FeedServer, fetcher: FeedFetcher
) -> None:
    feed_server.feed("/atom.xml", items(True), kind="atom")
    found = await find_feed(fetcher, feed_server.url("/atom.xml"))
    assert found.url == feed_server.url("/atom.xml") and found.discovered_from is None
    assert found.feed.entries[0].key == "id:aw-1"


async def test_find_feed_reports_unreachable(feed_server: FeedServer, fetcher: FeedFetcher) -> None:
    with pytest.raises(FeedNotFound, match="404"):
        await find_feed(fetcher, feed_server.url("/missing"))
