"""Errors as short, readable, single-line text, fit to store and to show anywhere.

An error's text often comes from outside: a server's response, a feed's bytes, a page listing
thousands of links. Stored as is, one `last_error` reached 808,946 characters, some of them raw
response bytes. `bounded_error` is applied where errors are written (the store's repositories,
so no writer can bypass it) and where they are read back (rows written before it existed).
"""

from __future__ import annotations

import re
import unicodedata

ERROR_MAX = 500
ELLIPSIS = "…"

_WS = re.compile(r"\s+")


def bounded_error(error: object, limit: int = ERROR_MAX) -> str | None:
    """`error` (text, bytes or an exception) as one line of at most `limit` characters: bytes
    decoded leniently, control and formatting characters (including bidi overrides) turned
    into spaces, whitespace collapsed, cut with an ellipsis. None for no error or a blank one.
    """
    if error is None:
        return None
    # Only a prefix can survive the cut: look at no more than that, however large the input.
    window = max(limit, 1) * 4
    if isinstance(error, bytes | bytearray | memoryview):
        text = bytes(error[:window]).decode("utf-8", errors="replace")
    elif isinstance(error, BaseException):
        text = f"{type(error).__name__}: {error}"[:window]
    else:
        text = str(error)[:window]
    text = "".join(" " if _unprintable(ch) else ch for ch in text)
    text = _WS.sub(" ", text).strip()
    if not text:
        return None
    if len(text) <= limit:
        return text
    return text[: max(limit - len(ELLIPSIS), 0)].rstrip() + ELLIPSIS


def _unprintable(ch: str) -> bool:
    # Cc: C0/C1 controls (escape sequences, NUL); Cf: bidi overrides, zero-width characters;
    # Cs: lone surrogates from undecodable bytes; Co/Cn: private use, unassigned.
    return not ch.isspace() and unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn")
