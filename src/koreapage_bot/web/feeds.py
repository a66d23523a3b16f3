"""Briefs as feeds for feed readers: Atom 1.0 (RFC 4287) and JSON Feed 1.1.

Pure functions from briefs to bytes; the routes add filters, caching and headers. Feed text
is untrusted: every text and attribute is escaped, characters XML 1.0 cannot carry
are dropped, and every link goes through `web_link`.

Ids are tag: URIs (RFC 4151) made of the brief id and its creation time, so they never change
when the archive moves to another address, and a brief id reused by a fresh database is a new
entry for readers, not an old one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from urllib.parse import quote
from xml.sax.saxutils import escape as xml_escape
from xml.sax.saxutils import quoteattr

from koreapage_bot.domain import Brief
from koreapage_bot.links import web_link

ATOM_NS = "http://www.w3.org/2005/Atom"
# Fields Atom has no element for (the brief id, its relevance), in a namespace of our own.
BRIEF_NS = "https://github.com/koreapage-bot/koreapage-bot/ns/brief"
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
ATOM_TYPE = "application/atom+xml; charset=utf-8"
JSON_FEED_TYPE = "application/feed+json; charset=utf-8"
TAG_AUTHORITY = "tag:koreapage-bot,2026:"
GENERATOR = ("koreapage-bot", "https://github.com/koreapage-bot/koreapage-bot")
# An empty feed still needs an `updated`; a fixed one keeps its validators stable.
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)

# XML 1.0's Char production: a feed title with a stray control character must not make the
# whole document unreadable.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True, slots=True)
class FeedInfo:
    """What a feed says about itself. URLs are absolute."""

    title: str
    description: str
    home_url: str  # the HTML page with the same briefs
    self_url: str  # this feed's own URL
    base_url: str  # the archive's root, for brief permalinks
    filter_key: str = ""  # e.g. "issue=usfk&q=thaad": part of the feed's id


def brief_id(brief: Brief) -> str:
    return f"{TAG_AUTHORITY}brief:{brief.id}:{brief.created_at.astimezone(UTC):%Y%m%dT%H%M%SZ}"


def feed_id(info: FeedInfo) -> str:
    tail = f"?{quote(info.filter_key, safe='=&')}" if info.filter_key else ""
    return f"{TAG_AUTHORITY}briefs{tail}"


def permalink(base_url: str, brief: Brief) -> str:
    return f"{base_url}/briefs/{brief.id}"


def updated(briefs: Sequence[Brief]) -> datetime:
    """The newest change among the briefs (a brief never changes after it is written)."""
    return max((b.created_at for b in briefs), default=EPOCH)


def clean(text: str | None) -> str:
    return _NOT_XML.sub("", text or "")


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def brief_html(brief: Brief, page: str) -> str:
    """The entry's content as a small HTML fragment (escaped: readers render it)."""
    parts = [f"<p>{escape(clean(brief.summary))}</p>"]
    meta = [f"Source: {escape(clean(brief.source))}"]
    if brief.author:
        meta.append(f"By {escape(clean(brief.author))}")
    if brief.key_issues:
        meta.append("Key issues: " + ", ".join(escape(clean(t.label)) for t in brief.key_issues))
    parts.append(f"<p>{' · '.join(meta)}</p>")
    links = []
    url = web_link(brief.url)
    if url:
        links.append(f'<a href="{escape(url)}">Read the original</a>')
    links.append(f'<a href="{escape(page)}">Brief {brief.id} in the archive</a>')
    parts.append(f"<p>{' · '.join(links)}</p>")
    return "".join(parts)


def _el(tag: str, text: str | None = None, /, **attrs: str) -> str:
    """One element as text: the text and attribute values escaped, in XML 1.0's alphabet."""
    rendered = "".join(f" {name.rstrip('_')}={quoteattr(clean(v))}" for name, v in attrs.items())
    if text is None:
        return f"<{tag}{rendered}/>"
    return f"<{tag}{rendered}>{xml_escape(clean(text))}</{tag}>"


def atom(info: FeedInfo, briefs: Sequence[Brief], language: dict[int, str]) -> bytes:
    """An Atom 1.0 document of `briefs`, newest first as given. `language` maps brief ids
    to a language tag where one is known."""
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<feed xmlns="{ATOM_NS}" xmlns:brief="{BRIEF_NS}" xml:lang="en">',
        _el("id", feed_id(info)),
        _el("title", info.title),
        _el("subtitle", info.description),
        _el("updated", _iso(updated(briefs))),
        _el("link", rel="self", type="application/atom+xml", href=info.self_url),
        _el("link", rel="alternate", type="text/html", href=info.home_url),
        f"<author>{_el('name', GENERATOR[0])}</author>",
        _el("generator", GENERATOR[0], uri=GENERATOR[1]),
    ]
    for brief in briefs:
        page = permalink(info.base_url, brief)
        lang = f" xml:lang={quoteattr(language[brief.id])}" if brief.id in language else ""
        out.append(f"<entry{lang}>")
        out.append(_el("id", brief_id(brief)))
        out.append(_el("title", brief.title, type="text"))
        url = web_link(brief.url)
        # The article is what the brief is about: readers open it from the title. The brief's
        # own page in the archive comes second.
        out.append(_el("link", rel="alternate", type="text/html", href=url or page))
        if url:
            out.append(_el("link", rel="related", type="text/html", href=page))
        if brief.published:
            out.append(_el("published", _iso(brief.published)))
        out.append(_el("updated", _iso(brief.created_at)))
        if brief.author:
            out.append(f"<author>{_el('name', brief.author)}</author>")
        for tag in brief.key_issues:
            out.append(
                _el("category", term=tag.id, label=tag.label, scheme=f"{info.base_url}/issues/")
            )
        out.append(_el("summary", brief.summary, type="text"))
        out.append(_el("content", brief_html(brief, page), type="html"))
        out.append(f"<source>{_el('title', brief.source)}</source>")
        out.append(_el("brief:id", str(brief.id)))
        out.append(_el("brief:relevance", f"{brief.relevance:.3f}"))
        out.append("</entry>")
    out.append("</feed>")
    return "\n".join(out).encode("utf-8")


def json_feed(info: FeedInfo, briefs: Sequence[Brief], language: dict[int, str]) -> bytes:
    """A JSON Feed 1.1 document of `briefs`, newest first as given. `language` maps brief
    ids to a language tag where one is known."""
    items = []
    for brief in briefs:
        page = permalink(info.base_url, brief)
        item: dict[str, object] = {
            "id": brief_id(brief),
            "url": page,
            "title": brief.title,
            "content_html": brief_html(brief, page),
            "content_text": brief.summary,
            "summary": brief.summary,
            "date_modified": _iso(brief.created_at),
            "tags": [t.label for t in brief.key_issues],
            "_brief": {
                "id": brief.id,
                "source": brief.source,
                "key_issues": [{"id": t.id, "label": t.label} for t in brief.key_issues],
                "relevance": round(brief.relevance, 3),
                "created_at": _iso(brief.created_at),
            },
        }
        url = web_link(brief.url)
        if url:
            item["external_url"] = url
        if brief.published:
            item["date_published"] = _iso(brief.published)
        if brief.author:
            item["authors"] = [{"name": brief.author}]
        if brief.id in language:
            item["language"] = language[brief.id]
        items.append(item)
    document = {
        "version": JSON_FEED_VERSION,
        "title": info.title,
        "description": info.description,
        "home_page_url": info.home_url,
        "feed_url": info.self_url,
        "language": "en",
        "authors": [{"name": GENERATOR[0], "url": GENERATOR[1]}],
        "items": items,
    }
    # json escapes every control character; Korean text stays readable (UTF-8).
    return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8", "replace")
