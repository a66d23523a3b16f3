"""Feeds that moved: a permanent redirect is remembered, so the config file's old URL is not
added again at the next start (the feed is followed at its new URL)."""

from __future__ import annotations

from collections.abc import Sequence

from koreapage_bot.ports import Storage


def redirect_key(url: str) -> str:
    return f"redirect:{url}"


async def record_move(store: Storage, old_url: str, new_url: str) -> None:
    await store.set_meta(redirect_key(old_url), new_url)


async def sync_config_feeds(store: Storage, feeds: Sequence[tuple[str, str, int | None]]) -> int:
    """Add the config's feeds that the store does not have yet. A feed that moved (permanent
    redirect) or was disabled (410, removed by an admin) is left as it is."""
    added = 0
    # One read of the feed list: a start with thousands of config feeds, all known, costs one
    # query rather than two per feed (seconds of a `run --once`).
    known = {feed.url for feed in await store.feeds.all()}
    for url, name, interval in feeds:
        if url in known:
            continue
        if await store.get_meta(redirect_key(url)):
            continue
        if await store.feeds.by_url(url) is None:
            await store.feeds.add(url, name, interval_seconds=interval)
            added += 1
    return added
