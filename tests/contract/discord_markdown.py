"""What Discord would render live in a piece of text, for tests on bodies the bot sent.

`hazards(text)` names every markdown construct, mention token or autolink that is still live
(not escaped with a backslash, not broken by a zero-width space); `reveal(text)` is what a
reader sees once Discord has resolved the escapes. Written from Discord's documented markdown
(masked links, headings, subtext, lists, quotes, code, emphasis, spoilers, mentions, slash
command mentions, timestamps, custom emoji, bare links).
"""

from __future__ import annotations

import re

ZWSP = "\u200b"
_ESCAPED = re.compile(r"\\([^0-9A-Za-z\s])")

HAZARDS: dict[str, re.Pattern[str]] = {
    "masked link": re.compile(r"\[[^\]\n]*\]\("),
    "mention or token": re.compile(r"<[@#/:!&]|<[A-Za-z][A-Za-z0-9+.-]*:"),
    "mass mention": re.compile(r"@(everyone|here)", re.IGNORECASE),
    "bare link": re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://"),
    "heading or subtext": re.compile(r"(?m)^[ \t]*(#{1,3}|-#)[ \t]"),
    "list": re.compile(r"(?m)^[ \t]*([-*+]|\d+[.)])[ \t]"),
    "quote": re.compile(r"(?m)^[ \t]*>"),
    "code": re.compile(r"`"),
    "emphasis, strike, spoiler": re.compile(r"[*_~|]"),
}


def live(text: str) -> str:
    """`text` with every backslash escape blanked out (it renders as itself). Same length and
    positions as `text`, so a match in it can be cut out of `text`."""
    return _ESCAPED.sub("\x00\x00", text)


def hazards(text: str) -> list[str]:
    """The names of the live constructs in `text` (empty when it renders as plain text)."""
    plain = live(text)
    return [name for name, pattern in HAZARDS.items() if pattern.search(plain)]


def reveal(text: str) -> str:
    """What a reader sees: escapes resolved, zero-width spaces invisible."""
    return _ESCAPED.sub(r"\1", text).replace(ZWSP, "")
