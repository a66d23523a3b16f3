"""Rendering helpers every adapter shares: cutting and flattening feed text, dates, labels.

Platform-neutral on purpose: each platform's escaping lives with its adapter
(adapters/discord/markdown.py, adapters/slack/mrkdwn.py).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import date, datetime, tzinfo

from koreapage_bot.domain import IssueTag

_WS = re.compile(r"\s+")
# Trailing characters that read badly right before an ellipsis.
_TAIL_PUNCT = " \t\n,;:-–—([{/\\\"'"


def collapse_whitespace(text: str | None) -> str:
    """All runs of whitespace (including newlines and NBSP) to one space, trimmed."""
    return _WS.sub(" ", text).strip() if text else ""


def truncate(
    text: str | None,
    limit: int,
    ellipsis: str = "…",
    *,
    collapse: bool = False,
) -> str:
    """Cut `text` to at most `limit` characters (ellipsis included) at a word boundary.

    A word is cut only when a single word is longer than the room available. Text that already
    fits is returned unchanged (after collapsing whitespace when `collapse`). Never splits a base
    character from its combining marks.
    """
    if not text or limit <= 0:
        return ""
    if collapse:
        text = collapse_whitespace(text)
    if len(text) <= limit:
        return text
    if len(ellipsis) >= limit:
        # No room for any text next to the ellipsis: a bare hard cut is more useful.
        return _hard_cut(text, limit).rstrip()
    room = limit - len(ellipsis)
    head = text[:room]
    if not text[room].isspace():
        # We are inside a word: back up to the last whitespace, if there is one.
        cut = _last_space(head)
        head = head[:cut] if cut > 0 else _hard_cut(text, room)
    head = head.rstrip(_TAIL_PUNCT)
    if not head:
        head = _hard_cut(text, room).rstrip()
    return head + ellipsis


def _last_space(text: str) -> int:
    for i in range(len(text) - 1, -1, -1):
        if text[i].isspace():
            return i
    return -1


def _hard_cut(text: str, n: int) -> str:
    # Step back over combining marks, ZWJ and variation selectors so a glyph is not split.
    while 0 < n < len(text) and (_joins_previous(text[n]) or text[n - 1] == "\u200d"):
        n -= 1
    return text[:n]


def _joins_previous(ch: str) -> bool:
    return (
        unicodedata.combining(ch) != 0
        or ch in ("\u200d", "\ufe0e", "\ufe0f")
        or "\U0001f3fb" <= ch <= "\U0001f3ff"  # skin-tone modifiers
        or unicodedata.category(ch) == "Mn"
    )


def format_date(value: datetime | date | None, *, tz: tzinfo | None = None) -> str:
    """ISO calendar date, e.g. "2026-11-28"; "" for None. An aware datetime is shown in `tz`
    when given, else in its own offset (the source's local date)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        if tz is not None and value.tzinfo is not None:
            value = value.astimezone(tz)
        return value.date().isoformat()
    return value.isoformat()


def issue_labels(tags: Iterable[IssueTag | str] | None, sep: str = ", ") -> str:
    """Labels joined in order, duplicates and blanks dropped: "USFK, Cost sharing"."""
    if not tags:
        return ""
    seen: set[str] = set()
    labels: list[str] = []
    for tag in tags:
        label = collapse_whitespace(tag.label if isinstance(tag, IssueTag) else tag)
        if label and label not in seen:
            seen.add(label)
            labels.append(label)
    return sep.join(labels)


# The languages the bot reads besides English, as a brief names them: in English for the
# channel's readers, then in the language itself (no " · ": footers use it as a separator).
LANGUAGE_NAMES = {"ko": "Korean (한국어)"}
_LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{1,8})?$")


def language_label(code: str | None) -> str:
    """How a brief says which language its post (and summary) is in: "" for English, the
    default, which is never labelled; "Korean (한국어)" for Korean; another well-formed code
    as it is ("ja"); anything else, "" (a stored value is not trusted to be one)."""
    code = (code or "").strip()
    if not code or code.split("-")[0].lower() == "en":
        return ""
    if code.lower() in LANGUAGE_NAMES:
        return LANGUAGE_NAMES[code.lower()]
    return code if _LANGUAGE_CODE.match(code) else ""
