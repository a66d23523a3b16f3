"""The pipeline step for a post not seen before: read → analyse → store → fan out.

Read: the feed's text, or the article page when the feed carries only an excerpt (and the post
is to be delivered: a first fetch archives what a feed holds without fetching a page each).
Analyse: ports.Analyzer. Match: the story the brief reports, if an earlier brief of the
window reports it too (stories.window). Store and fan out: the post, its brief (in its story)
when relevant and one outbox row for each channel the fan-out picks (delivery.fanout: a post,
or an update of the story's message where the channel has the story) are written in one
transaction.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace

from koreapage_bot.config import AnalysisConfig
from koreapage_bot.delivery.fanout import recipients, row_kind
from koreapage_bot.domain import ArticleInput, Feed, FeedEntry, ParsedFeed
from koreapage_bot.ingest.fetch import FeedFetcher
from koreapage_bot.ingest.identity import entry_hash, inline_text
from koreapage_bot.ports import (
    Analyzer,
    EntryAlreadyStored,
    FanOut,
    Metrics,
    NewPost,
    NoMetrics,
    RowKind,
    Storage,
    StoredPost,
)
from koreapage_bot.stories.window import StoryWindow

log = logging.getLogger(__name__)


class NewPostStep:
    def __init__(
        self,
        store: Storage,
        analyzer: Analyzer,
        *,
        pages: FeedFetcher,
        analysis: AnalysisConfig | None = None,
        fan_out: FanOut = recipients,
        metrics: Metrics | None = None,
        stories: StoryWindow | None = None,
        kinds: RowKind = row_kind,
    ) -> None:
        self._store = store
        self._metrics = metrics or NoMetrics()
        self._analyzer = analyzer
        # Article pages come from entry links, which whoever writes the feed chose: the
        # fetcher given here never has the operator's trust (private addresses).
        self._pages = pages
        # Whether (and below what length) an excerpt-only entry gets its page fetched.
        self._full_text = analysis or AnalysisConfig()
        self._fan_out = fan_out
        # Matches each relevant brief to the story it reports (None: every brief its own).
        self._stories = stories
        self._kinds = kinds

    async def take(
        self, feed: Feed, parsed: ParsedFeed, entry: FeedEntry, *, deliver: bool
    ) -> StoredPost | None:
        """Analyse and store one new entry; with `deliver`, fan its brief out to the channels
        that want it. None when another poller stored the entry meanwhile (`poll` beside the
        running bot): it is known now, which is all that matters."""
        article = await self.read(feed, parsed, entry, fetch_page=deliver)
        started = time.perf_counter()
        analysis = await self._analyzer.analyze(article)
        self._metrics.analysis(time.perf_counter() - started)
        post = NewPost(entry, analysis, entry_hash(entry), relevant=analysis.relevant)

        async def write(story: int | None) -> StoredPost:
            return await self._store.briefs.store_post(
                feed,
                post,
                fan_out=self._fan_out if deliver else None,
                story=story,
                row_kind=self._kinds if deliver else None,
            )

        try:
            if self._stories is None:
                stored = await write(None)
            else:
                stored = await self._stories.store(feed, post, write)
        except EntryAlreadyStored:
            log.info(
                "feed %d: entry %s was stored by another poller",
                feed.id,
                entry.key,
                extra={"event": "entry_stored_elsewhere", "feed_id": feed.id},
            )
            return None
        self._metrics.new_post(brief=stored.brief is not None)
        if stored.brief is not None:
            log.log(
                logging.INFO if deliver else logging.DEBUG,
                "feed %d: brief %d stored (%d deliveries)",
                feed.id,
                stored.brief.id,
                stored.deliveries,
                extra={"event": "brief_stored", "feed_id": feed.id, "brief_id": stored.brief.id},
            )
        return stored

    async def read(
        self, feed: Feed, parsed: ParsedFeed, entry: FeedEntry, *, fetch_page: bool
    ) -> ArticleInput:
        """What the analysis reads: the entry's own text, or its page for an excerpt."""
        body = entry.content or entry.summary or ""
        base = ArticleInput(
            id=entry.key,
            title=entry.title,
            html=body,
            author=entry.author,
            url=entry.url,
            published=entry.published,
            feed_title=parsed.title or feed.name,
            feed_author=parsed.author,
        )
        text = inline_text(body)
        if not (fetch_page and self._full_text.fetch_full_text and entry.url):
            return base
        if len(text) >= self._full_text.min_excerpt_chars:
            return base
        page = await self._pages.fetch_page(entry.url)
        if page.body is None or not page.ok:
            log.info(
                "article page %s: %s; using the feed text",
                entry.url,
                page.error,
                extra={"event": "article_page_failed", "feed_id": feed.id},
            )
            return base
        html = page.body.decode(_charset(page.content_type), errors="replace")
        # The page for extraction, the feed's own text to fall back on.
        return replace(base, text=text, html=html)


def _charset(content_type: str | None) -> str:
    if content_type and "charset=" in content_type:
        charset = content_type.split("charset=", 1)[1].split(";")[0].strip().strip('"')
        try:
            "".encode(charset)
            return charset
        except LookupError:
            pass
    return "utf-8"
