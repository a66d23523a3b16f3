"""The story window of a running bot: the matcher's index kept in step with the store, and the
one place a new brief is matched and stored.

`StoryWindow.store` serialises "match, then store" (a pipeline runs several polls at once, and
two reports of one event arriving together must not both start a story), reads what other
processes stored since the last look before matching (`poll` beside the running bot), and
files the stored brief in the index. The index is memory only: at start (and after an error)
it is rebuilt from the store's briefs of the window, so stories survive a restart.

What can still split a story: two processes storing reports of one event at the same moment
(each matches before it sees the other's brief). Nothing is lost then: both briefs are
stored and delivered, as two stories.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from functools import partial

from koreapage_bot.cpu import CpuPool
from koreapage_bot.dates import utcnow
from koreapage_bot.domain import Brief, Feed
from koreapage_bot.ports import NewPost, Storage, StoredPost, StoryMember
from koreapage_bot.stories.features import Features, StoryText, features
from koreapage_bot.stories.matcher import DEFAULT_WINDOW, Models, StoryIndex
from koreapage_bot.stories.model import MODELS

log = logging.getLogger(__name__)

# Window briefs read per worker job when the index is built.
BUILD_CHUNK = 500
# From this many briefs in the window, a match is scored in a thread.
THREAD_WINDOW = 1000

# Stores a post, joining the story given (None: a story of its own).
Write = Callable[[int | None], Awaitable[StoredPost]]


def story_text(brief: Brief, text: str) -> StoryText:
    return StoryText(
        title=brief.title,
        summary=brief.summary,
        text=text,
        language=brief.language,
        at=brief.published or brief.created_at,
        issues=tuple(t.id for t in brief.key_issues),
        source=brief.feed_id,
    )


class StoryWindow:
    def __init__(
        self,
        store: Storage,
        *,
        window: timedelta = DEFAULT_WINDOW,
        models: Models = MODELS,
        clock: Callable[[], datetime] = utcnow,
        cpu: CpuPool | None = None,
    ) -> None:
        self._store = store
        self._window = window
        self._models = models
        self._clock = clock
        # Reads the window's briefs for a first build (None: a thread).
        self._cpu = cpu
        self._index: StoryIndex | None = None
        self._building: asyncio.Task[StoryIndex] | None = None
        self._lock = asyncio.Lock()

    def warm(self) -> None:
        """Start building the index now, in the background (a poll pass starts: the build
        overlaps the fetches instead of stalling the first relevant brief)."""
        if self._index is None and self._building is None:
            self._building = asyncio.create_task(self._build(self._clock()))
            # Retrieved here too, so a failed build nobody awaited is not reported twice.
            self._building.add_done_callback(lambda t: t.cancelled() or t.exception())

    async def store(self, feed: Feed, post: NewPost, write: Write) -> StoredPost:
        """Match `post` against the window and store it with `write`, in its story."""
        if not post.relevant:
            return await write(None)
        async with self.matching() as matching:
            return await matching.store(feed, post, write)

    async def features(self, feed: Feed, posts: Sequence[NewPost]) -> list[Features | None]:
        """The matcher's features of the relevant dated posts, read in the worker processes
        (or a thread) before matching, so the loop only matches. None for the others: an
        undated post is dated when it is matched, so its features are read then."""
        now = self._clock()
        texts = [
            story_text(p.brief(feed, brief_id=0, post_id=0, now=now), p.analysis.text)
            for p in posts
            if p.relevant and p.entry.published is not None
        ]
        if not texts:
            return [None] * len(posts)
        if self._cpu is None:
            read = await asyncio.to_thread(features_of, texts)
        else:
            read = await self._cpu.run(features_of, texts, inline=partial(features_of, texts))
        found = iter(read)
        return [
            next(found) if p.relevant and p.entry.published is not None else None for p in posts
        ]

    @asynccontextmanager
    async def matching(self) -> AsyncIterator[Matching]:
        """Match and store several posts (a feed's new entries, written in one transaction)
        under one hold of the lock and one look at the store. Open it before the store's
        batch: it reads the store, which the batch holds (SQLite: the only connection).
        When the block fails, the briefs it filed may not be stored: the index is dropped
        and rebuilt at the next brief."""
        async with self._lock:
            try:
                index: StoryIndex | None = await self._synced(self._clock())
            except Exception:
                log.exception(
                    "story window could not be read; briefs start stories of their own",
                    extra={"event": "story_match_failed"},
                )
                self._index = index = None
            ok = False
            try:
                yield Matching(self, index)
                ok = True
            finally:
                if not ok:
                    self._index = None

    async def _synced(self, now: datetime) -> StoryIndex:
        """The index with every brief of the window the store has (others' included)."""
        index = self._index
        since = now - self._window
        if index is None:
            building, self._building = self._building, None
            index = await (building if building is not None else self._build(now))
            self._index = index
        members = await self._store.stories.window(since, after_id=index.newest_id)
        self._file(index, members)
        index.expire(now)
        return index

    async def _build(self, now: datetime) -> StoryIndex:
        """A new index of the store's briefs of the window. The window holds thousands of
        briefs: their features are read in the worker processes (or a thread) and filed in a
        thread, never on the event loop (a rebuild took ~3 s of it)."""
        members = await self._store.stories.window(now - self._window)
        texts = [story_text(m.brief, m.text) for m in members]
        chunks = [texts[i : i + BUILD_CHUNK] for i in range(0, len(texts), BUILD_CHUNK)]
        if self._cpu is None:
            read = [await asyncio.to_thread(features_of, chunk) for chunk in chunks]
        else:
            cpu = self._cpu
            read = await asyncio.gather(
                *(cpu.run(features_of, c, inline=partial(features_of, c)) for c in chunks)
            )
        feats = [f for chunk in read for f in chunk]
        return await asyncio.to_thread(self._filled, members, feats)

    def _filled(self, members: list[StoryMember], feats: list[Features]) -> StoryIndex:
        # In the order of the store (brief id), as they would have been filed one by one.
        index = StoryIndex(self._models, self._window)
        for member, feat in zip(members, feats, strict=True):
            brief = member.brief
            if brief.id not in index:
                index.add(brief.id, brief.story_id or 0, feat)
        return index

    @staticmethod
    def _file(index: StoryIndex, members: list[StoryMember]) -> None:
        for member in members:
            brief = member.brief
            if brief.id not in index:
                index.add(brief.id, brief.story_id or 0, features(story_text(brief, member.text)))


def features_of(texts: list[StoryText]) -> list[Features]:
    """The features of a chunk of the window (a job for the worker processes)."""
    return [features(text) for text in texts]


class Matching:
    """StoryWindow.matching: match, store, file, one post at a time."""

    def __init__(self, window: StoryWindow, index: StoryIndex | None) -> None:
        self._window = window
        self._index = index

    async def store(
        self, feed: Feed, post: NewPost, write: Write, feats: Features | None = None
    ) -> StoredPost:
        """`feats`: the post's features when read already (StoryWindow.features)."""
        if not post.relevant:
            return await write(None)
        now = self._window._clock()
        story: int | None = None
        if self._index is not None:
            try:
                if feats is None:
                    made = post.brief(feed, brief_id=0, post_id=0, now=now)
                    feats = features(story_text(made, post.analysis.text))
                index = self._index
                # A large window's candidates take milliseconds to score: in a thread, so
                # the loop goes on (safe: the index changes only under the window's lock,
                # which this holds).
                match = (
                    await asyncio.to_thread(index.best, feats)
                    if len(index) >= THREAD_WINDOW
                    else index.best(feats)
                )
                story = match.story_id if match else None
            except Exception:
                # Matching is a nicety: a failure must not keep the brief from being stored
                # and delivered. The index is rebuilt at the next brief.
                log.exception(
                    "story matching failed; the brief starts a story of its own",
                    extra={"event": "story_match_failed", "feed_id": feed.id},
                )
                self._window._index = self._index = None
                feats = None
        stored = await write(story)
        if stored.brief is not None and feats is not None and self._index is not None:
            self._index.add(stored.brief.id, stored.brief.story_id or 0, feats)
        if stored.brief is not None and story is not None:
            log.info(
                "brief %d joins story %d",
                stored.brief.id,
                story,
                extra={
                    "event": "story_joined",
                    "brief_id": stored.brief.id,
                    "story_id": story,
                },
            )
        return stored
