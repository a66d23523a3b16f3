"""The story window of a running bot, on the in-memory store: match, store, remember; others'
briefs and a restart are picked up from the store; a failing matcher never costs a brief."""

from __future__ import annotations

import asyncio
import threading
import tomllib
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import pytest

from koreapage_bot.analysis.pipeline import OfflineAnalyzer
from koreapage_bot.delivery.fanout import recipients, row_kind
from koreapage_bot.domain import ArticleInput, Feed, FeedEntry
from koreapage_bot.ingest.newpost import NewPostStep
from koreapage_bot.ports import NewPost, StoredPost
from koreapage_bot.store.memory import MemoryStore
from koreapage_bot.stories import window as window_module
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


async def test_a_restarted_window_is_built_off_the_event_loop_and_matches_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = MemoryStore()
    wire, daily, korean = [await a_feed(store, n) for n in ("wire", "daily", "korean")]
    window = StoryWindow(store, clock=clock_at("icbm-wire"))
    first = await put(store, window, wire, "icbm-wire")
    await put(store, window, daily, "icbm-daily")
    assert first.brief is not None
    threads: list[int] = []
    real = window_module.features

    def watched(text: Any) -> Any:
        threads.append(threading.get_ident())
        return real(text)

    monkeypatch.setattr(window_module, "features", watched)
    # A new process: its index is built in the background as polling starts.
    restarted = StoryWindow(store, clock=clock_at("icbm-ko"))
    restarted.warm()
    third = await put(store, restarted, korean, "icbm-ko")
    assert third.brief is not None and third.brief.story_id == first.brief.story_id
    loop_thread = threading.get_ident()
    # The two briefs of the window were read in a thread, only the new one on the loop.
    assert len(threads) == 3 and threads.count(loop_thread) == 1


async def test_a_poll_s_posts_are_matched_in_one_batch_as_one_by_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    keys = ["icbm-wire", "coc-wire", "icbm-daily", "coc-ko", "icbm-ko"]
    # One by one, as before batches: the stories they end in.
    alone = MemoryStore()
    feed = await a_feed(alone, "wire")
    window = StoryWindow(alone, clock=clock_at("icbm-wire"))
    expected = [await put(alone, window, feed, k) for k in keys]
    # In one batch of the new-post step: the same stories, the features read in a thread.
    store = MemoryStore()
    feed = await a_feed(store, "wire")
    window = StoryWindow(store, clock=clock_at("icbm-wire"))
    step = NewPostStep(store, OfflineAnalyzer(), pages=None, stories=window)  # type: ignore[arg-type]
    threads: list[int] = []
    real = window_module.features

    def watched(text: Any) -> Any:
        threads.append(threading.get_ident())
        return real(text)

    monkeypatch.setattr(window_module, "features", watched)
    stored = await step.store_all(feed, [new_post(k) for k in keys], deliver=True)
    story_of = {s.brief.id: s.brief.story_id for s in expected if s.brief is not None}
    assert [s.brief.story_id if s and s.brief else None for s in stored] == [
        story_of[s.brief.id] if s.brief else None for s in expected
    ]
    assert len(set(story_of.values())) < len(keys)  # some did join a story
    assert threads and threading.get_ident() not in threads
