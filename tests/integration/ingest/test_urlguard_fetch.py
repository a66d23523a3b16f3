"""The URL guard inside the fetcher: refused before connecting, and on every redirect hop."""

from __future__ import annotations

from koreapage_bot.config import HttpConfig
from koreapage_bot.ingest.fetch import FeedFetcher
from tests.fakes.feed_server import FeedServer, RedirectRoute
from tests.integration.ingest.conftest import FAST

GUARDED = HttpConfig(connect_timeout=2.0, read_timeout=1.0, total_timeout=3.0)


async def test_loopback_server_is_refused_before_any_request(feed_server: FeedServer) -> None:
    feed_server.feed("/feed.xml")
    async with FeedFetcher(GUARDED) as fetcher:
        result = await fetcher.fetch(feed_server.url("/feed.xml"))
    assert result.status is None and result.body is None
    assert result.error is not None and "loopback" in result.error
    assert feed_server.count("/feed.xml") == 0  # refused at the first hop: no connection


async def test_localhost_name_is_refused(feed_server: FeedServer) -> None:
    # A name (not a literal) that resolves to loopback: the resolved address is what counts.
    url = feed_server.url("/feed.xml").replace("127.0.0.1", "localhost")
    feed_server.feed("/feed.xml")
    async with FeedFetcher(GUARDED) as fetcher:
        result = await fetcher.fetch(url)
    assert result.error is not None and "unsafe URL" in result.error
    assert feed_server.count("/feed.xml") == 0


async def test_redirect_hop_to_metadata_address_is_refused(feed_server: FeedServer) -> None:
    # Even with private addresses allowed (a LAN set-up), metadata endpoints stay refused,
    # and the check runs on the redirect target, not just the URL we were given.
    feed_server.route("/innocent.xml", RedirectRoute("http://169.254.169.254/latest/meta-data/"))
    async with FeedFetcher(FAST, allow_private=True) as fetcher:
        result = await fetcher.fetch(feed_server.url("/innocent.xml"))
    assert feed_server.count("/innocent.xml") == 1
    assert result.body is None and result.error is not None
    assert "metadata" in result.error


async def test_redirect_hop_to_other_scheme_or_credentials_is_refused(
    feed_server: FeedServer,
) -> None:
    feed_server.route("/to-ftp", RedirectRoute("ftp://files.example/feed.xml", status=302))
    feed_server.route("/to-creds", RedirectRoute("http://user:secret@127.0.0.1/feed.xml"))
    async with FeedFetcher(FAST, allow_private=True) as fetcher:
        ftp = await fetcher.fetch(feed_server.url("/to-ftp"))
        creds = await fetcher.fetch(feed_server.url("/to-creds"))
    assert ftp.error is not None and "scheme" in ftp.error
    assert creds.error is not None and "credentials" in creds.error


async def test_a_host_allowed_by_name_may_be_private_but_nothing_else(
    feed_server: FeedServer,
) -> None:
    # `analysis.article_private_hosts`: the named intranet host is fetched, while another
    # name for the same address, and a redirect from the allowed host to it, are refused.
    feed_server.feed("/page")
    other = feed_server.url("/page").replace("127.0.0.1", "localhost")
    feed_server.route("/hop", RedirectRoute(other, status=302))
    config = HttpConfig(total_timeout=3.0)
    async with FeedFetcher(config, private_hosts={"127.0.0.1"}) as fetcher:
        allowed = await fetcher.fetch_page(feed_server.url("/page"))
        by_other_name = await fetcher.fetch_page(other)
        redirected = await fetcher.fetch_page(feed_server.url("/hop"))
    assert allowed.ok
    assert by_other_name.error is not None and "unsafe URL" in by_other_name.error
    assert redirected.error is not None and "unsafe URL" in redirected.error
    assert feed_server.count("/page") == 1 and feed_server.count("/hop") == 1
