"""The story window of a running bot, on the in-memory store: match, store, remember; others'
briefs and a restart are picked up from the store; a failing matcher never costs a brief."""

from __future__ import annotations

import asyncio
import tomllib
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import pytest

from koreapage_bot.analysis.pipeline import OfflineAnalyzer
from koreapage_bot.delivery.fanout import recipients, row_kind
from koreapage_bot.domain import ArticleInput, Feed, FeedEntry
from koreapage_bot.ports import NewPost, StoredPost
from koreapage_bot.store.memory import MemoryStore
from koreapage_bot.stories.window import StoryWindow
from tests.integration.stories.evaluation import REPORTS


@cache
def _reports() -> dict[str, dict[str, Any]]:
    return {r["key"]: r for r in tomllib.loads(REPORTS.read_text(encoding="utf-8"))["report"]}


@cache
def new_post(key: str) -> NewPost:
    raw = _reports()[key]
    published = datetime.fromisoformat(raw["published"].replace("Z", "+00:00"))
    analysis = OfflineAnalyzer().analyze_now(
        ArticleInput(id=key, title=raw["title"], text=raw["text"], published=published)
    )
    entry = FeedEntry(
        key=key,
        url=f"https://news.example/{key}",
        title=raw["title"],
        author=None,
        published=published,
        summary=raw["text"],
        content=None,
    )
    return NewPost(entry, analysis, f"h-{key}", relevant=True)


def clock_at(key: str, hours: float = 1) -> Any:
    published = new_post(key).entry.published
    assert published is not None
    return lambda: published + timedelta(hours=hours)


async def a_feed(store: MemoryStore, name: str) -> Feed:
    feed, _ = await store.feeds.add(f"https://{name}.example/rss", name)
    return feed


async def put(store: MemoryStore, window: StoryWindow, feed: Feed, key: str) -> StoredPost:
    post = new_post(key)

    async def write(story: int | None) -> StoredPost:
        return await store.briefs.store_post(
            feed, post, fan_out=recipients, row_kind=row_kind, story=story
        )

    return await window.store(feed, post, write)


async def test_reports_of_one_event_share_a_story_across_a_restart() -> None:
    store = MemoryStore()
    wire, daily, korean = [await a_feed(store, n) for n in ("wire", "daily", "korean")]
    window = StoryWindow(store, clock=clock_at("icbm-wire"))
    first = await put(store, window, wire, "icbm-wire")
    second = await put(store, window, daily, "icbm-daily")
    assert first.brief is not None and second.brief is not None
    assert second.brief.story_id == first.brief.story_id
    # A new process: its window is read back from the store.
    restarted = StoryWindow(store, clock=clock_at("icbm-ko"))
    third = await put(store, restarted, korean, "icbm-ko")
    assert third.brief is not None and third.brief.story_id == first.brief.story_id
    other = await put(store, restarted, daily, "thaad-en")
    assert other.brief is not None and other.brief.story_id != first.brief.story_id


async def test_briefs_another_process_stored_are_matched_too() -> None:
    store = MemoryStore()
    mine = StoryWindow(store, clock=clock_at("coc-wire"))
    theirs = StoryWindow(store, clock=clock_at("coc-wire"))
    await put(store, mine, await a_feed(store, "x"), "envoy-other")  # mine has read the window
    first = await put(store, theirs, await a_feed(store, "wire"), "coc-wire")
    second = await put(store, mine, await a_feed(store, "korean"), "coc-ko")
    assert first.brief is not None and second.brief is not None
    assert second.brief.story_id == first.brief.story_id


async def test_reports_arriving_together_are_matched_one_after_the_other() -> None:
    store = MemoryStore()
    window = StoryWindow(store, clock=clock_at("fs-en"))
    feeds = [await a_feed(store, n) for n in ("a", "b")]
    first, second = await asyncio.gather(
        put(store, window, feeds[0], "fs-en"), put(store, window, feeds[1], "fs-ko")
    )
    assert first.brief is not None and second.brief is not None
    assert first.brief.story_id == second.brief.story_id


async def test_a_failing_matcher_costs_no_brief(monkeypatch: pytest.MonkeyPatch) -> None:
    store = MemoryStore()
    window = StoryWindow(store, clock=clock_at("ncg-en"))

    async def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(store.stories, "window", broken)
    stored = await put(store, window, await a_feed(store, "wire"), "ncg-en")
    assert stored.brief is not None and stored.brief.story_id is not None
    assert await store.briefs.count() == 1
