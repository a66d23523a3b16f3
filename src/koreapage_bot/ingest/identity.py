"""Stable entry keys and content hashes: what makes "the same post" the same.

A key must survive reordering, re-publishing and items dropping out and coming back, so it
is derived only from what the entry says about itself:

1. ``id:<guid>`` when the entry has a guid/id that is unique within the feed;
2. ``link:<canonical link>`` when its link is unique within the feed;
3. ``hash:<sha256>`` of title and date (and the summary when there is no date).

The prefixes keep the three kinds from colliding. A guid or link shared by several entries
is not an identity (feeds that stamp every item with the homepage URL exist), so those
entries fall through to the next rule.
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from koreapage_bot.domain import FeedEntry

_WS = re.compile(r"\s+")
_TRACKING_PREFIXES = ("utm_",)
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class EntryFacts:
    """What identity looks at, taken from one parsed entry."""

    guid: str | None
    link: str | None
    title: str
    published: datetime | None
    summary: str = ""


def collapse(text: str) -> str:
    """NFC, whitespace collapsed to single spaces, trimmed."""
    return _WS.sub(" ", unicodedata.normalize("NFC", text)).strip()


class _TextExtractor(HTMLParser):
    """Collects text, drops script/style, and turns block boundaries into spaces."""

    _SKIP = frozenset({"script", "style", "noscript", "template", "head"})
    _BLOCK = frozenset(
        {
            "p", "br", "div", "li", "ul", "ol", "tr", "td", "th", "table", "section",
            "article", "header", "footer", "blockquote", "pre", "hr", "h1", "h2", "h3",
            "h4", "h5", "h6", "figure", "figcaption", "dd", "dt", "dl",
        }
    )  # fmt: skip

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BLOCK:
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._BLOCK:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in self._BLOCK:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


_TAGISH = re.compile(r"<[a-zA-Z!/?]")


def inline_text(markup: str | None) -> str:
    """Visible text of an HTML fragment on one line: tags and entities gone, scripts and
    styles dropped, block boundaries turned into spaces. Plain text passes through (a lone
    `a < b` stays as written). The analysis keeps paragraphs instead: analysis.text."""
    if not markup:
        return ""
    if not _TAGISH.search(markup):
        return collapse(html.unescape(markup)) if "&" in markup else collapse(markup)
    parser = _TextExtractor()
    try:
        parser.feed(markup)
        parser.close()
    except Exception:  # html.parser is lenient; this is belt and braces for odd input
        return collapse(html.unescape(re.sub(r"<[^>]*>", " ", markup)))
    return collapse("".join(parser.parts))


def canonical_link(url: str) -> str:
    """Normalise a link for identity: lowercase scheme/host, no default port, no fragment,
    no utm_* parameters. Other parameters keep their order (some sites route on them)."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if not scheme or not host:
        return url.split("#", 1)[0]
    netloc = host if ":" not in host else f"[{host}]"
    if parts.username is not None:
        cred = parts.username + (f":{parts.password}" if parts.password is not None else "")
        netloc = f"{cred}@{netloc}"
    if port is not None and _DEFAULT_PORTS.get(scheme) != port:
        netloc = f"{netloc}:{port}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        kept = [(k, v) for k, v in pairs if not k.lower().startswith(_TRACKING_PREFIXES)]
        if len(kept) != len(pairs):
            query = urlencode(kept)
    return urlunsplit((scheme, netloc, parts.path or "/", query, ""))


def _sha256(*parts: str) -> str:
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(part.encode("utf-8", "surrogatepass"))
        hasher.update(b"\x1f")  # separator: ("ab","c") != ("a","bc")
    return hasher.hexdigest()


def _date_text(value: datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


def hash_key(facts: EntryFacts) -> str:
    title = collapse(facts.title).casefold()
    date = _date_text(facts.published)
    summary = "" if date else inline_text(facts.summary).casefold()
    return "hash:" + _sha256(title, date, summary)


def entry_keys(entries: Sequence[EntryFacts]) -> list[str]:
    """One key per entry, in order. Keys are unique within the list: entries whose every
    identity collides are exact duplicates and get the same key (callers keep the first)."""
    guids = Counter(g for g in (_clean(e.guid) for e in entries) if g)
    links = Counter(canonical_link(link) for link in (_clean(e.link) for e in entries) if link)
    keys: list[str] = []
    for entry in entries:
        guid = _clean(entry.guid)
        link = _clean(entry.link)
        if guid and guids[guid] == 1:
            keys.append("id:" + guid)
        elif link and links[canonical_link(link)] == 1:
            keys.append("link:" + canonical_link(link))
        else:
            keys.append(hash_key(entry))
    return keys


def alias_keys(facts: EntryFacts, key: str) -> tuple[str, ...]:
    """Every other key this entry could have been stored under: its guid and link even when
    they are not unique in this fetch (a guid shared for one poll must not turn an old post
    into a new one), the link under the other scheme (a site moving to https), and its hash.
    The poller looks these up so a key that changes never causes a repost."""
    candidates: list[str] = []
    guid = _clean(facts.guid)
    if guid:
        candidates.append("id:" + guid)
    link = _clean(facts.link)
    if link:
        canonical = canonical_link(link)
        candidates.append("link:" + canonical)
        for a, b in (("http://", "https://"), ("https://", "http://")):
            if canonical.startswith(a):
                candidates.append("link:" + b + canonical[len(a) :])
    candidates.append(hash_key(facts))
    return tuple(dict.fromkeys(c for c in candidates if c != key))


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def entry_hash(entry: FeedEntry) -> str:
    """The content hash of a feed entry as stored with its post (an edit changes it)."""
    return content_hash(entry.title, entry.content or entry.summary)


def content_hash(title: str, text: str) -> str:
    """Hash of a post's meaningful content: markup, spacing and case do not count, so a feed
    re-rendering the same post does not look like an update."""
    return _sha256(collapse(title).casefold(), inline_text(text).casefold())
