"""OPML 2.0 feed lists: reading one (untrusted) and writing ours.

An OPML file comes from anywhere (an export of another reader, a list found online), so it is
parsed with defusedxml: entity declarations (the "billion laughs" expansion), external
entities and DTD-loaded references (XXE) are refused before anything is expanded, and the
size is capped before the parser sees a byte. Outlines nest to any depth (folders in folders);
they are walked with an explicit stack, not recursion.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from xml.etree.ElementTree import Element, ParseError
from xml.sax.saxutils import escape, quoteattr

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeTree

from koreapage_bot.domain import Feed
from koreapage_bot.links import web_link

MAX_OPML_BYTES = 5 * 1024 * 1024  # a list of 20,000 feeds is about 3 MB
MAX_FEEDS = 10_000
TEXT_MAX = 200  # characters of a feed's title kept
MAX_FOLDERS = 4
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_SPACE = re.compile(r"\s+")


class OpmlError(ValueError):
    """The file cannot be used as a feed list; the message says why, for a person."""


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    """One outline with an `xmlUrl`."""

    url: str
    title: str | None = None
    html_url: str | None = None
    folder: str | None = None  # the enclosing outlines' titles, "News / Korea"


def read_opml(data: bytes) -> list[OpmlFeed]:
    """The feeds an OPML document lists, in document order (repeats kept: the caller reports
    them). Raises OpmlError for anything that is not a usable OPML document."""
    if len(data) > MAX_OPML_BYTES:
        raise OpmlError(
            f"the file is {len(data):,} bytes; an OPML feed list may be at most "
            f"{MAX_OPML_BYTES:,} bytes"
        )
    try:
        root = SafeTree.fromstring(data)
    except DefusedXmlException as exc:
        raise OpmlError(
            f"refused: the file declares XML entities or external references "
            f"({type(exc).__name__}). An OPML feed list needs none; this one may be an "
            "entity-expansion or XXE attack."
        ) from None
    except ParseError as exc:
        raise OpmlError(f"not well-formed XML ({exc})") from None
    if _local(root.tag) != "opml":
        raise OpmlError(f"not an OPML document: the root element is <{_local(root.tag)}>")
    body = next((child for child in root if _local(child.tag) == "body"), None)
    if body is None:
        raise OpmlError("not an OPML document: it has no <body>")
    found: list[OpmlFeed] = []
    stack: list[tuple[Element, tuple[str, ...]]] = [(child, ()) for child in reversed(list(body))]
    while stack:
        element, folders = stack.pop()
        if _local(element.tag) != "outline":
            continue
        attrs = {_local(k).lower(): v for k, v in element.attrib.items()}
        title = _text(attrs.get("title") or attrs.get("text"))
        url = (attrs.get("xmlurl") or "").strip()
        if url:
            found.append(
                OpmlFeed(
                    url=url,
                    title=title,
                    html_url=web_link(attrs.get("htmlurl")),
                    folder=" / ".join(folders) or None,
                )
            )
            if len(found) > MAX_FEEDS:
                raise OpmlError(f"the file lists more than {MAX_FEEDS:,} feeds")
        # Folder names are kept to the first few levels, so a file nested thousands deep
        # costs no more per outline than a shallow one.
        inner = (*folders, title) if title and not url and len(folders) < MAX_FOLDERS else folders
        stack.extend((child, inner) for child in reversed(list(element)))
    return found


def write_opml(feeds: Sequence[Feed], *, title: str, now: datetime | None = None) -> bytes:
    """An OPML 2.0 document listing `feeds` (title, xmlUrl and, when known, htmlUrl)."""
    created = format_datetime((now or datetime.now(UTC)).astimezone(UTC), usegmt=True)
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        "  <head>",
        f"    <title>{escape(_clean(title))}</title>",
        f"    <dateCreated>{created}</dateCreated>",
        "    <docs>https://opml.org/spec2.opml</docs>",
        "  </head>",
        "  <body>",
    ]
    for feed in feeds:
        name = _clean(feed.name) or feed.url
        attrs = [
            ("type", "rss"),
            ("text", name),
            ("title", name),
            ("xmlUrl", _clean(feed.url)),
        ]
        site = web_link(feed.site_url)
        if site:
            attrs.append(("htmlUrl", site))
        rendered = " ".join(f"{key}={quoteattr(value)}" for key, value in attrs)
        lines.append(f"    <outline {rendered}/>")
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines).encode("utf-8")


def _local(tag: object) -> str:
    """An element or attribute name without its namespace."""
    name = tag if isinstance(tag, str) else ""
    return name.rsplit("}", 1)[-1]


def _clean(text: str) -> str:
    return _NOT_XML.sub("", text)


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    text = _SPACE.sub(" ", value).strip()
    return text[:TEXT_MAX] or None
