"""Checking a feed URL typed in chat before it is accepted: untrusted input."""

from __future__ import annotations

from koreapage_bot.commands.service import FeedProbe, FeedProber, FeedRefused
from koreapage_bot.ingest.discover import FeedNotFound, find_feed
from koreapage_bot.ingest.fetch import FeedFetcher
from koreapage_bot.ingest.urlguard import UnsafeUrl, check_url


def make_prober(fetcher: FeedFetcher, *, allow_private: bool) -> FeedProber:
    """A prober on `fetcher`, whose own settings re-check every redirect hop. Only http(s),
    no credentials, and no loopback/private/link-local/metadata address unless allowed."""

    async def probe(url: str) -> FeedProbe:
        try:
            await check_url(url, allow_private=allow_private)
        except UnsafeUrl as exc:
            raise FeedRefused(exc.reason) from None
        try:
            found = await find_feed(fetcher, url)
        except FeedNotFound as exc:
            raise FeedRefused(str(exc)) from None
        return FeedProbe(
            url=found.url,
            title=found.feed.title,
            items=len(found.feed.entries),
            fetched=found.response,
            parsed=found.feed,
        )

    return probe
