"""HTML pages: the Jinja2 environment and the plain values the templates read.

Feed text is untrusted: autoescape is on for every template, links reach a template only
after `web_link`, and the templates never mark anything safe.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

import jinja2

from koreapage_bot.domain import Brief, IssueTag
from koreapage_bot.links import web_link

_HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]")
_LETTER = re.compile(r"[^\W\d_]")
URL_TEXT_MAX = 120


class TopicLike(Protocol):
    """A key issue as the taxonomy describes it."""

    @property
    def id(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def description(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Topic:
    id: str
    label: str
    description: str = ""


def language_of(brief: Brief) -> str | None:
    """ "ko" when most letters of the title and summary are Hangul, else None (unknown: the
    page's own language applies). Hangul is written for Korean only, so the script decides;
    nothing is guessed for Latin text."""
    text = f"{brief.title} {brief.summary}"
    letters = len(_LETTER.findall(text))
    return "ko" if letters and len(_HANGUL.findall(text)) * 2 >= letters else None


def readable_url(url: str) -> str:
    """A safe link's text as people read it (`/기사/1`, not `/%EA%B8%B0...`). Only the text
    is decoded, never the href, and controls and format characters (a right-to-left override
    would make the text lie about the address) are dropped from it."""
    text = unquote(url, errors="replace")
    return "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf"))


def when_text(when: datetime) -> str:
    when = when.astimezone(UTC)
    return f"{when.day} {when:%B %Y, %H:%M} UTC"


def iso(when: datetime) -> str:
    return when.astimezone(UTC).replace(microsecond=0).isoformat()


@dataclass(frozen=True, slots=True)
class BriefItem:
    """A brief as a template shows it; `url` and `source_site` are safe links or None."""

    id: int
    page: str
    title: str
    summary: str
    source: str
    author: str | None
    published: datetime | None
    published_iso: str
    published_text: str
    created_iso: str
    created_text: str
    issues: tuple[IssueTag, ...]
    url: str | None
    host: str
    url_text: str
    lang: str | None
    source_site: str | None = None
    # In a list: the other reports of the brief's story (other outlets on the same event),
    # shown under it instead of as items of their own.
    also: tuple[BriefItem, ...] = ()

    @classmethod
    def of(
        cls, brief: Brief, source_site: str | None = None, also: tuple[BriefItem, ...] = ()
    ) -> BriefItem:
        url = web_link(brief.url)
        url_text = readable_url(url) if url else ""
        if len(url_text) > URL_TEXT_MAX:
            url_text = url_text[: URL_TEXT_MAX - 1] + "…"
        return cls(
            id=brief.id,
            page=f"/briefs/{brief.id}",
            title=brief.title or f"Brief {brief.id}",
            summary=brief.summary,
            source=brief.source,
            author=brief.author,
            published=brief.published,
            published_iso=iso(brief.published) if brief.published else "",
            published_text=when_text(brief.published) if brief.published else "",
            created_iso=iso(brief.created_at),
            created_text=when_text(brief.created_at),
            issues=brief.key_issues,
            url=url,
            host=(urlsplit(url).hostname or "") if url else "",
            url_text=url_text,
            lang=language_of(brief),
            source_site=web_link(source_site),
            also=also,
        )


@dataclass(frozen=True, slots=True)
class PageView:
    """One page of a list of briefs, with relative links to its neighbours."""

    briefs: tuple[BriefItem, ...]
    number: int
    prev_url: str | None
    next_url: str | None


class Templates:
    """The packaged templates and stylesheet, loaded once per archive."""

    def __init__(self) -> None:
        self._env = jinja2.Environment(
            loader=jinja2.PackageLoader("koreapage_bot.web", "templates"),
            autoescape=True,  # every template is HTML; feed text must never become markup
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        static = resources.files("koreapage_bot.web").joinpath("static")
        self.css = static.joinpath("style.css").read_bytes()
        self.css_version = hashlib.sha256(self.css).hexdigest()[:12]
        self.icon = static.joinpath("icon.svg").read_bytes()

    def render(self, name: str, **context: Any) -> str:
        return self._env.get_template(name).render(**context)
