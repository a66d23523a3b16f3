"""Main text and metadata of an article page, with trafilatura (comments excluded).

Synchronous and CPU-bound: call it from a worker thread. Never raises for bad pages: it
answers None and the caller falls back to the feed's own content.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

MIN_TEXT_CHARS = 200


@dataclass(frozen=True, slots=True)
class Extracted:
    text: str  # paragraphs one a line
    title: str | None
    author: str | None
    date: str | None  # ISO date as trafilatura found it


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
    return Extracted(text=text.strip(), title=opt("title"), author=author, date=opt("date"))
