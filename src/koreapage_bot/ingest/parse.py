"""Parse fetched feed bytes into plain values (feedparser, in a worker thread).

feedparser copes with broken XML, legacy encodings and RSS/Atom/RDF alike; we add what it
leaves to callers: absolute links, aware UTC dates (including `+09:00` offsets and zone
names it misreads), text-only titles, stable entry keys, and one clear error (`NotAFeed`)
for anything that is not a feed.
"""

from __future__ import annotations

import asyncio
import calendar
import io
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from koreapage_bot.dates import parse_date
from koreapage_bot.domain import FeedEntry, ParsedFeed
from koreapage_bot.ingest.discover import FeedLink, discover_feed_links
from koreapage_bot.ingest.identity import (
    EntryFacts,
    alias_keys,
    collapse,
    entry_keys,
    inline_text,
)
from koreapage_bot.links import web_link

if TYPE_CHECKING:
    from koreapage_bot.cpu import CpuPool

log = logging.getLogger(__name__)
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_UNTITLED = "(untitled)"


class NotAFeed(Exception):
    """The bytes are not an RSS/Atom/RDF feed. `links` are feeds the page advertises."""

    def __init__(self, reason: str, links: tuple[FeedLink, ...] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.links = links

    def __reduce__(self) -> tuple[type[NotAFeed], tuple[str, tuple[FeedLink, ...]]]:
        # Raised in a worker process: it crosses back with its links.
        return (NotAFeed, (self.reason, self.links))


async def parse_feed(
    body: bytes,
    base_url: str | None,
    content_type: str | None = None,
    cpu: CpuPool | None = None,
) -> ParsedFeed:
    """Parse off the event loop: in a worker process of `cpu` when it runs them, else in a
    thread. Raises only NotAFeed."""
    if cpu is None:
        return await asyncio.to_thread(parse_feed_sync, body, base_url, content_type)
    from koreapage_bot.workers import parse_job

    return await cpu.run(
        parse_job,
        body,
        base_url,
        content_type,
        inline=lambda: parse_feed_sync(body, base_url, content_type),
    )


def parse_feed_sync(
    body: bytes, base_url: str | None, content_type: str | None = None
) -> ParsedFeed:
    # Imported here: with worker processes parsing, the bot's own process never loads it.
    import feedparser

    # No content-location: feedparser would resolve relative Atom <id>s against it, and an
    # entry's identity must not change when its feed moves. Links are joined below instead.
    headers: dict[str, str] = {}
    if content_type:
        headers["content-type"] = content_type
    try:
        # Feed HTML is never shown: the analysis reduces it to text and adapters render text.
        # So feedparser's HTML sanitizer and relative-URI rewriting are pure cost (~30 % of
        # the parse time of a 2,930-item feed).
        result = feedparser.parse(
            io.BytesIO(body),
            response_headers=headers,
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except Exception as exc:  # feedparser is lenient, but garbage must not escape as a crash
        raise NotAFeed(f"could not parse the body as a feed ({type(exc).__name__})") from None
    entries = list(result.get("entries") or [])
    version = result.get("version") or ""
    if not version and not entries:
        links = tuple(discover_feed_links(body, base_url)) if _looks_like_html(body) else ()
        if links:
            shown = ", ".join(link.url for link in links[:3])
            more = f" and {len(links) - 3} more" if len(links) > 3 else ""
            reason = f"this is an HTML page, not a feed; it links to {shown}{more}"
        elif _looks_like_html(body):
            reason = "this is an HTML page, not a feed, and it links to no RSS/Atom feed"
        elif not body.strip():
            reason = "the response body is empty"
        else:
            reason = "the body is not an RSS, Atom or RDF feed"
        raise NotAFeed(reason, links)
    try:
        return _build(result, entries, base_url)
    except Exception as exc:  # defensive: odd shapes inside a recovered parse
        raise NotAFeed(f"could not read the feed's entries ({type(exc).__name__}: {exc})") from None


def _looks_like_html(body: bytes) -> bool:
    head = body[:4096].lower()
    return b"<html" in head or b"<!doctype html" in head


def _build(result: Any, raw_entries: list[Any], base_url: str | None) -> ParsedFeed:
    feed_info: Mapping[str, Any] = result.get("feed") or {}
    facts: list[EntryFacts] = []
    built: list[tuple[str | None, str, str | None, datetime | None, str, str | None]] = []
    for raw in raw_entries:
        link = _absolute(_entry_link(raw), base_url)
        raw_title = _text_field(raw, "title")
        published = entry_date(raw)
        summary = str(raw.get("summary") or "")
        content = _content(raw)
        guid = raw.get("id")
        facts.append(
            EntryFacts(
                guid=str(guid) if guid else None,
                link=link,
                title=raw_title,
                published=published,
                summary=summary or (content or ""),
            )
        )
        title = raw_title or _title_from(summary or content or "") or _UNTITLED
        built.append((link, title, _author(raw), published, summary, content))
    keys = entry_keys(facts)
    entries: list[FeedEntry] = []
    seen: set[str] = set()
    for key, fact, (link, title, author, published, summary, content) in zip(
        keys, facts, built, strict=True
    ):
        if key in seen:  # an exact duplicate inside one document: keep the first
            continue
        seen.add(key)
        entries.append(
            FeedEntry(
                key=key,
                # Identity read the link as the feed wrote it (keys stay stable); what is
                # stored and shown is a well-formed http(s) URL, or nothing.
                url=web_link(link),
                title=title,
                author=author,
                published=published,
                summary=summary,
                content=content,
                aliases=alias_keys(fact, key),
            )
        )
    return ParsedFeed(
        title=_text_field(feed_info, "title") or None,
        link=_absolute(feed_info.get("link"), base_url),
        author=_author(feed_info),
        entries=tuple(entries),
    )


def _entry_link(raw: Mapping[str, Any]) -> str | None:
    link = raw.get("link")
    if link:
        return str(link)
    for candidate in raw.get("links") or []:
        if candidate.get("rel", "alternate") == "alternate" and candidate.get("href"):
            return str(candidate["href"])
    return None


def _absolute(link: Any, base_url: str | None) -> str | None:
    if not link:
        return None
    text = str(link).strip()
    if not text:
        return None
    return urljoin(base_url, text) if base_url else text


def _text_field(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    if not value:
        return ""
    detail = data.get(f"{name}_detail") or {}
    if str(detail.get("type", "")).lower() in _HTML_TYPES or "<" in str(value):
        return inline_text(str(value))
    return collapse(str(value))


def _title_from(text: str) -> str:
    words = inline_text(text)
    return words if len(words) <= 90 else words[:89].rsplit(" ", 1)[0] + "…"


def _author(data: Mapping[str, Any]) -> str | None:
    detail = data.get("author_detail") or {}
    name = detail.get("name") or data.get("author")
    if not name:
        return None
    text = inline_text(str(name))
    return text or None


def _content(raw: Mapping[str, Any]) -> str | None:
    best: str | None = None
    for item in raw.get("content") or []:
        value = str(item.get("value") or "")
        if value and (best is None or len(value) > len(best)):
            best = value
    return best


def entry_date(raw: Mapping[str, Any]) -> datetime | None:
    """Published (else updated/created) date as an aware UTC datetime; None (and a warning)
    when the entry has a date no parser reads: the entry is kept without it."""
    unread: list[str] = []
    for name in ("published", "updated", "created"):
        value = raw.get(name)
        if value:
            parsed = parse_date(str(value))
            if parsed is not None:
                return parsed
            unread.append(str(value)[:80])
        struct = raw.get(f"{name}_parsed")
        if struct:
            try:
                return datetime.fromtimestamp(calendar.timegm(struct), UTC)
            except (OverflowError, ValueError, TypeError, OSError):
                continue
    if unread:
        log.warning(
            "entry %r: unreadable date %r; kept without a date",
            raw.get("link"),
            unread[0],
            extra={"event": "undated_entry", "date": unread[0]},
        )
    return None
