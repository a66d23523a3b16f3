"""Main text and metadata of an article page, with trafilatura (comments excluded).

Synchronous and CPU-bound: call it from a worker thread. Never raises for bad pages: it
answers None and the caller falls back to the feed's own content.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from html import unescape
from typing import Any

log = logging.getLogger(__name__)

MIN_TEXT_CHARS = 200


@dataclass(frozen=True, slots=True)
class Extracted:
    text: str  # paragraphs one a line
    title: str | None
    author: str | None


def looks_like_page(markup: str) -> bool:
    """A whole HTML document (worth running the extractor on) rather than a feed fragment."""
    head = markup[:2000].lower()
    return "<html" in head or "<body" in head or "<!doctype" in head


def extract_article(html: str, url: str | None = None) -> Extracted | None:
    try:
        import trafilatura
    except ImportError:  # optional at run time: the feed text is used instead
        return None
    try:
        doc: Any = trafilatura.bare_extraction(
            html,
            url=url,
            include_comments=False,
            include_tables=False,
            with_metadata=True,
            favor_precision=True,
        )
    except Exception:  # trafilatura raises assorted errors on broken markup
        log.debug("extraction failed for %s", url, exc_info=True)
        return None
    if doc is None:
        return None
    data: dict[str, Any] = doc if isinstance(doc, dict) else doc.as_dict()
    text = data.get("text") or ""
    if not isinstance(text, str) or len(text.strip()) < MIN_TEXT_CHARS:
        return None

    def opt(key: str) -> str | None:
        value = data.get(key)
        return value.strip() if isinstance(value, str) and value.strip() else None

    author = opt("author")
    if author:
        # trafilatura joins several authors with "; "
        author = re.sub(r"\s*;\s*", ", ", author)
    return Extracted(text=text.strip(), title=opt("title"), author=author)


_META = re.compile(r"<meta\b[^>]*>", re.IGNORECASE)
_ATTR = re.compile(r"""([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""")
_META_AUTHOR_KEYS = (
    "author",
    "article:author",
    "byl",
    "dc.creator",
    "sailthru.author",
    "parsely-author",
    "dable:author",
    "og:article:author",
)
_LD_JSON = re.compile(
    r"<script\b[^>]*type\s*=\s*[\"']application/ld\+json[\"'][^>]*>(.*?)</script>",
    re.IGNORECASE | re.DOTALL,
)


def _names(value: Any) -> list[str]:
    """Author names in a JSON-LD `author` value (a string, a Person, or a list of them)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        name = value.get("name")
        return [name] if isinstance(name, str) else []
    if isinstance(value, list):
        return [n for v in value for n in _names(v)]
    return []


def _ld_authors(node: Any) -> list[str]:
    if isinstance(node, list):
        return [n for item in node for n in _ld_authors(item)]
    if not isinstance(node, dict):
        return []
    if "@graph" in node:
        return _ld_authors(node["@graph"])
    kind = node.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    if any(isinstance(k, str) and (k.endswith("Article") or k == "BlogPosting") for k in kinds):
        return _names(node.get("author"))
    return []


def metadata_author(html: str) -> str | None:
    """The author a page declares: JSON-LD (an Article's author) or a meta tag ("author",
    "article:author", "byl", "dable:author", …). Profile URLs are not names."""
    head = html[:300_000]
    for block in _LD_JSON.findall(head):
        try:
            data = json.loads(block.strip())
        except ValueError:
            continue
        names = [unescape(n).strip() for n in _ld_authors(data) if n.strip()]
        names = [n for n in names if not n.startswith(("http://", "https://"))]
        if names:
            return ", ".join(dict.fromkeys(names))
    for tag in _META.findall(head):
        attrs = {
            m.group(1).lower(): unescape(m.group(2) or m.group(3) or m.group(4) or "")
            for m in _ATTR.finditer(tag)
        }
        key = (attrs.get("name") or attrs.get("property") or "").lower()
        content = attrs.get("content", "").strip()
        if key in _META_AUTHOR_KEYS and content and not re.match(r"https?://", content):
            return content
    return None
