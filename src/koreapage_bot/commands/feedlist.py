"""Importing a feed list (OPML): each feed is checked and added exactly as `feeds add` does it.

Repeats in the file and feeds already followed are skipped without a fetch; the rest are
probed a few at a time (each probe is one polite fetch of a different site). A probe that
lands on a feed already followed (a page URL whose feed we have, a redirect) is skipped too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from koreapage_bot.commands.replies import Caller
from koreapage_bot.commands.service import CommandService
from koreapage_bot.domain import FeedState
from koreapage_bot.opml import OpmlFeed
from koreapage_bot.ports import Storage

IMPORT_CONCURRENCY = 4


class Outcome(StrEnum):
    ADDED = "added"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class ImportLine:
    url: str
    title: str | None
    outcome: Outcome
    reason: str | None = None
    feed_id: int | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "url": self.url,
            "title": self.title,
            "reason": self.reason,
            "feed_id": self.feed_id,
        }


@dataclass(frozen=True, slots=True)
class ImportReport:
    lines: tuple[ImportLine, ...]

    def of(self, outcome: Outcome) -> list[ImportLine]:
        return [line for line in self.lines if line.outcome is outcome]

    def to_json(self) -> dict[str, list[dict[str, object]]]:
        return {o.value: [line.to_json() for line in self.of(o)] for o in Outcome}


async def import_feeds(
    commands: CommandService,
    store: Storage,
    feeds: Sequence[OpmlFeed],
    caller: Caller,
    *,
    concurrency: int = IMPORT_CONCURRENCY,
) -> ImportReport:
    """Add every feed of the list; the report keeps the file's order."""
    followed = {f.url: f for f in await store.feeds.all(include_disabled=False)}
    known_ids = {f.id for f in followed.values()}  # before this import
    lines: list[ImportLine | None] = [None] * len(feeds)
    seen: dict[str, int] = {}
    todo: list[int] = []
    for i, item in enumerate(feeds):
        if item.url in seen:
            first = feeds[seen[item.url]]
            lines[i] = ImportLine(
                item.url, item.title, Outcome.SKIPPED, f"repeats “{first.title or first.url}”"
            )
            continue
        seen[item.url] = i
        existing = followed.get(item.url)
        if existing is not None and existing.state is not FeedState.DISABLED:
            lines[i] = ImportLine(
                item.url,
                item.title,
                Outcome.SKIPPED,
                f"already followed as feed {existing.id} ({existing.name})",
                existing.id,
            )
            continue
        todo.append(i)

    gate = asyncio.Semaphore(max(1, concurrency))

    async def add(i: int) -> None:
        item = feeds[i]
        async with gate:
            reply = await commands.feeds_add(caller, item.url, name=item.title)
        if not reply.ok or not reply.feeds:
            reason = reply.text.removeprefix("Feed not added: ")
            lines[i] = ImportLine(item.url, item.title, Outcome.FAILED, reason)
            return
        lines[i] = ImportLine(item.url, item.title, Outcome.ADDED, None, reply.feeds[0].id)

    await asyncio.gather(*(add(i) for i in todo))

    # A probe that found a feed already followed (or one another line of this file added
    # first) is a duplicate: decided here, in file order, so the report never depends on
    # which fetch finished first.
    claimed: dict[int, str] = {}
    final: list[ImportLine] = []
    by_id = {f.id: f for f in followed.values()}
    for line in lines:
        assert line is not None
        feed_id = line.feed_id
        if line.outcome is Outcome.ADDED and feed_id is not None:
            if feed_id in known_ids:
                existing = by_id[feed_id]
                line = ImportLine(
                    line.url,
                    line.title,
                    Outcome.SKIPPED,
                    f"already followed as feed {existing.id} ({existing.name})",
                    feed_id,
                )
            elif feed_id in claimed:
                line = ImportLine(
                    line.url,
                    line.title,
                    Outcome.SKIPPED,
                    f"the same feed as {claimed[feed_id]} (feed {feed_id})",
                    feed_id,
                )
            else:
                claimed[feed_id] = line.url
                if line.title:
                    # Two lines that reach one feed (a page and its feed) race to add it:
                    # the first line of the file names it, whichever fetch won.
                    await store.feeds.rename(feed_id, line.title)
        final.append(line)
    return ImportReport(tuple(final))
