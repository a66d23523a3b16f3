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
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from koreapage_bot.dates import utcnow
from koreapage_bot.domain import Brief, Feed
from koreapage_bot.ports import NewPost, Storage, StoredPost, StoryMember
from koreapage_bot.stories.features import Features, StoryText, features
from koreapage_bot.stories.matcher import DEFAULT_WINDOW, Models, StoryIndex
from koreapage_bot.stories.model import MODELS

log = logging.getLogger(__name__)

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
    ) -> None:
        self._store = store
        self._window = window
        self._models = models
        self._clock = clock
        self._index: StoryIndex | None = None
        self._lock = asyncio.Lock()

    async def store(self, feed: Feed, post: NewPost, write: Write) -> StoredPost:
        """Match `post` against the window and store it with `write`, in its story."""
        if not post.relevant:
            return await write(None)
        async with self._lock:
            now = self._clock()
            story: int | None = None
            feats: Features | None = None
            try:
                index = await self._synced(now)
                made = post.brief(feed, brief_id=0, post_id=0, now=now)
                feats = features(story_text(made, post.analysis.text))
                match = index.best(feats)
                story = match.story_id if match else None
            except Exception:
                # Matching is a nicety: a failure must not keep the brief from being stored
                # and delivered. The index is rebuilt at the next brief.
                log.exception(
                    "story matching failed; the brief starts a story of its own",
                    extra={"event": "story_match_failed", "feed_id": feed.id},
                )
                self._index = None
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

    async def _synced(self, now: datetime) -> StoryIndex:
        """The index with every brief of the window the store has (others' included)."""
        index = self._index
        since = now - self._window
        if index is None:
            index = StoryIndex(self._models, self._window)
            members = await self._store.stories.window(since)
            self._index = index
        else:
            members = await self._store.stories.window(since, after_id=index.newest_id)
        self._file(index, members)
        index.expire(now)
        return index

    @staticmethod
    def _file(index: StoryIndex, members: list[StoryMember]) -> None:
        for member in members:
            brief = member.brief
            if brief.id not in index:
                index.add(brief.id, brief.story_id or 0, features(story_text(brief, member.text)))
