"""Feed text made inert for Discord: it reads the same and renders as nothing but text.

Feeds are shared by every server the bot serves, so a feed's title, name, author or summary
must not become a masked link, a heading, a list, a quote, code, emphasis, a spoiler, a mention
(`@everyone`, `<@id>`, `<@&role>`, `<#channel>`), a slash-command mention (`</cmd:id>`), a
timestamp (`<t:…>`), a custom emoji (`<:name:id>`) or a bare link in any server's channel.

Where Discord renders what (its markdown is not the same everywhere):
- message content, embed description and field values: full markdown, masked links, headings,
  lists, quotes, mentions, bare links. `escape` is for these, and for the embed title and field
  names, which render a subset (emphasis, code, spoilers, emoji): backslash escapes work in
  every rendered place, and a backslash before punctuation never shows.
- embed author name and footer text: plain text, no markdown at all (a backslash would show).
  `break_mentions` is enough there; mentions do not render in them either, this is belt and
  braces, as is `allowed_mentions: {"parse": []}` on every message.

Escapes are backslashes (Discord's own escape) and, inside mention-like tokens and after `@`,
a zero-width space: invisible, and the text still copies as it was written.
"""

from __future__ import annotations

import re

from koreapage_bot.links import web_link

ZWSP = "\u200b"  # zero-width space: breaks a token without changing how the text reads

_MASS_MENTION = re.compile(r"@(everyone|here)", re.IGNORECASE)
# `<` opening anything Discord parses as a token: <@user> <@!user> <@&role> <#channel>
# </command:id> <:emoji:id> <a:emoji:id> <t:unix:R> <id:browse> <https://…>.
_TOKEN_OPEN = re.compile(r"<(?=[@#/:!&]|[A-Za-z][A-Za-z0-9+.-]*:)")
_INLINE = re.compile(r"([\\*_~`|\[\]])")
# A scheme followed by `://` would autolink: escaping the colon keeps it text.
_SCHEME = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*):(?=//)")
# Block syntax at the start of a line: headings, subtext, quotes, bullet and numbered lists.
_LINE_START = re.compile(r"(?m)^([ \t]*)(#{1,3}[ \t]|-#[ \t]|>|[-+][ \t]|\d+[.)][ \t])")
_CODE_SPAN = re.compile(r"`[^`\n]+`")


def break_mentions(text: str | None) -> str:
    """Mention-like tokens broken with a zero-width space; nothing else changes. For the
    places Discord shows as plain text (embed author name, footer)."""
    if not text:
        return ""
    text = _MASS_MENTION.sub(lambda m: "@" + ZWSP + m.group(1), text)
    return _TOKEN_OPEN.sub("<" + ZWSP, text)


def escape(text: str | None) -> str:
    """Text from outside (a feed, a user) for any place Discord renders markdown: every
    markdown character backslash-escaped, mentions and tokens broken, links left as text."""
    if not text:
        return ""
    text = _INLINE.sub(r"\\\1", break_mentions(text))
    text = _SCHEME.sub(r"\1\\:", text)
    return _LINE_START.sub(_escape_line_start, text)


def _escape_line_start(m: re.Match[str]) -> str:
    indent, marker = m.group(1), m.group(2)
    if marker[0].isdigit():  # "1. " -> "1\. ": only punctuation can be escaped
        digits = marker.rstrip(" \t")[:-1]
        return indent + digits + "\\" + marker[len(digits) :]
    return indent + "\\" + marker


def escape_reply(text: str | None) -> str:
    """A command reply's own text, which quotes feed names and what users typed: everything
    is escaped except the reply's `code spans` (inert in Discord, and how replies show
    commands). A stray backtick from a feed name is escaped like any other character."""
    if not text:
        return ""
    out: list[str] = []
    pos = 0
    for m in _CODE_SPAN.finditer(text):
        out.append(escape(text[pos : m.start()]))
        out.append(m.group(0))
        pos = m.end()
    out.append(escape(text[pos:]))
    return "".join(out)


def link_target(url: str | None) -> str | None:
    """A URL to put inside `[label](…)` or `<…>`: well formed, and with no `(`, `)`, `<`
    or `>` left to end the link early and open a second one."""
    link = web_link(url)
    if link is None:
        return None
    return link.replace("(", "%28").replace(")", "%29")
