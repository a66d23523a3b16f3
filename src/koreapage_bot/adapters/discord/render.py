"""BriefView / Reply -> Discord message parts (plain dicts), every Discord limit enforced here.

Kept as plain dicts so the limits are testable and the bodies can be checked against the
Discord OpenAPI spec; `to_embeds` turns them into `discord.Embed` at the edge.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import discord

from koreapage_bot.adapters.discord.markdown import (
    break_mentions,
    escape,
    escape_reply,
    link_target,
)
from koreapage_bot.commands.replies import Reply, ReplyKind
from koreapage_bot.delivery.view import language_label
from koreapage_bot.delivery.view import truncate as _truncate
from koreapage_bot.links import web_link
from koreapage_bot.ports import BriefView

TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FOOTER_MAX = 2048
AUTHOR_MAX = 256
EMBEDS_MAX = 10
MESSAGE_TOTAL_MAX = 6000  # all embeds of one message together
CONTENT_MAX = 2000  # bot messages and webhooks alike (the 4000 of the spec is for Nitro users)
URL_MAX = 2048

DEFAULT_COLOUR = 0x3B5BDB
# A stable colour per leading issue id (a hash picks from the palette, so new issues need no
# configuration); readers learn to spot their issue at a glance.
PALETTE = (0xC92A2A, 0x2B8A3E, 0x1864AB, 0xE67700, 0x862E9C, 0x0B7285, 0x5C940D, 0xA61E4D)

Embed = dict[str, Any]


def truncate(text: str | None, limit: int) -> str:
    """At most `limit` characters, cut at a word boundary with an ellipsis (the core's rule)."""
    return _truncate((text or "").strip(), limit)


def _safe(text: str | None, limit: int) -> str:
    """Outside text for a place Discord renders markdown (content, title, description, field):
    every markdown character escaped and mentions broken (see markdown.py), then cut."""
    return truncate(escape(text), limit)


def _plain(text: str | None, limit: int) -> str:
    """Outside text for a place Discord shows as plain text (author name, footer): a
    backslash would show there, so only mention-like tokens are broken."""
    return truncate(break_mentions(text), limit)


def colour_for(issue_id: str | None) -> int:
    if not issue_id:
        return DEFAULT_COLOUR
    return PALETTE[zlib.crc32(issue_id.encode()) % len(PALETTE)]


def _http_url(url: str | None) -> str | None:
    """A link Discord accepts as an embed URL, or None (the brief is shown without it):
    Discord refuses the whole message over one malformed URL."""
    return web_link(url, limit=URL_MAX)


def _timestamp(when: datetime | None) -> str | None:
    if when is None:
        return None
    if when.tzinfo is None:  # stored naive times are UTC
        when = when.replace(tzinfo=UTC)
    return when.isoformat()


def brief_embed(view: BriefView, *, compact: bool = False) -> Embed:
    """One brief as one embed: linked title, author, summary, issues and source, time, id."""
    footer = f"Brief {view.brief_id}"
    language = language_label(view.language)  # "Korean (한국어)"; nothing for English
    if language:
        footer += f" · {language}"
    embed: Embed = {
        "type": "rich",
        "title": _safe(view.title or f"Brief {view.brief_id}", TITLE_MAX),
        "description": _safe(view.summary, 350 if compact else DESCRIPTION_MAX),
        "color": colour_for(view.key_issues[0].id if view.key_issues else None),
        "footer": {"text": truncate(footer, FOOTER_MAX)},
        "fields": [],
    }
    url = _http_url(view.url)
    if url:
        embed["url"] = url
    if view.author:
        embed["author"] = {"name": _plain(view.author, AUTHOR_MAX)}
    if view.key_issues:
        labels = ", ".join(t.label for t in view.key_issues)
        embed["fields"].append(
            {"name": "Key issues", "value": _safe(labels, FIELD_VALUE_MAX), "inline": False}
        )
    if view.source:
        embed["fields"].append(
            {"name": "Source", "value": _safe(view.source, FIELD_VALUE_MAX), "inline": True}
        )
    if view.also:
        embed["fields"].append(
            {"name": ALSO_REPORTED, "value": also_reported(view), "inline": False}
        )
    stamp = _timestamp(view.published)
    if stamp:
        embed["timestamp"] = stamp
    if not embed["description"]:
        del embed["description"]
    return embed


ALSO_REPORTED = "Also reported by"


def also_reported(view: BriefView, limit: int = FIELD_VALUE_MAX) -> str:
    """The story's other reports as links ("[Korea Herald](…), [Yonhap](…)"), as many whole
    ones as fit in an embed field; the outlet names are escaped, the links well formed."""
    parts: list[str] = []
    for n, ref in enumerate(view.also):
        name = _safe(ref.source or ref.title or f"Brief {ref.brief_id}", 200)
        url = link_target(ref.url)
        part = f"[{name}]({url})" if url else name
        more = f" and {len(view.also) - n} more"
        if len(", ".join([*parts, part])) + len(more) > limit:
            return ", ".join(parts) + more
        parts.append(part)
    return ", ".join(parts)


def embed_length(embed: Embed) -> int:
    """Characters Discord counts toward the 6000 limit."""
    total = len(embed.get("title", "")) + len(embed.get("description", ""))
    total += len(embed.get("footer", {}).get("text", ""))
    total += len(embed.get("author", {}).get("name", ""))
    for f in embed.get("fields", []):
        total += len(f["name"]) + len(f["value"])
    return total


def fit_message(embeds: list[Embed]) -> list[Embed]:
    """Keep at most 10 embeds and 6000 characters in all, sharing the room between summaries."""
    embeds = [dict(e) for e in embeds[:EMBEDS_MAX]]
    # Titles, fields and footers are already within their own limits; if they alone overflow,
    # drop trailing embeds rather than send a message Discord would refuse.
    while (
        len(embeds) > 1
        and sum(embed_length(e) - len(e.get("description", "")) for e in embeds) > MESSAGE_TOTAL_MAX
    ):
        embeds.pop()
    fixed = sum(embed_length(e) - len(e.get("description", "")) for e in embeds)
    room = max(0, MESSAGE_TOTAL_MAX - fixed)
    lengths = sorted(len(e.get("description", "")) for e in embeds)
    if sum(lengths) <= room:
        return embeds
    # Water-filling: short summaries stay whole, the long ones share what is left equally.
    cap, left = 0, len(lengths)
    for n in lengths:
        if n * left > room:
            cap = room // left
            break
        room -= n
        left -= 1
    for e in embeds:
        desc = e.get("description", "")
        if len(desc) > cap:
            e["description"] = truncate(desc, cap) if cap > 0 else ""
            if not e["description"]:
                del e["description"]
    return embeds


def digest_parts(views: Sequence[BriefView], title: str) -> tuple[str, list[Embed]]:
    """One digest message: an embed per brief (≤10), else a compact list in one embed."""
    content = _safe(title, CONTENT_MAX)
    if len(views) <= EMBEDS_MAX:
        return content, fit_message([brief_embed(v, compact=True) for v in views])
    lines: list[str] = []
    used = 0
    for i, v in enumerate(views):
        # The one link of each line is the brief's own; the title and the source around it
        # are escaped, so neither can open a link or a second one.
        url = link_target(v.url)
        name = _safe(v.title or f"Brief {v.brief_id}", 200)
        source = _safe(v.source, 200)
        line = f"• [{name}]({url}) — {source}" if url else f"• {name} — {source}"
        more = f"…and {len(views) - i} more"
        if used + len(line) + 1 > DESCRIPTION_MAX - len(more) - 1:
            lines.append(more)
            break
        lines.append(line)
        used += len(line) + 1
    embed: Embed = {
        "type": "rich",
        "title": _safe(title, TITLE_MAX),
        "description": "\n".join(lines),
        "color": DEFAULT_COLOUR,
        "footer": {"text": f"{len(views)} briefs"},
    }
    return content, fit_message([embed])


@dataclass(frozen=True, slots=True)
class Rendered:
    content: str | None
    embeds: list[Embed] = field(default_factory=list)


def _lines(head: str, lines: Sequence[str]) -> str:
    """`head` (escaped here) then as many whole (already escaped) lines as fit in a message's
    content."""
    out = truncate(escape_reply(head), CONTENT_MAX)
    for i, line in enumerate(lines):
        more = f"\n…and {len(lines) - i} more"
        if len(out) + 1 + len(line) > CONTENT_MAX - len(more):
            return out + more
        out += "\n" + line
    return out


def render_reply(reply: Reply) -> Rendered:
    """A command service Reply as a Discord interaction message."""
    if reply.kind is ReplyKind.BRIEF and reply.briefs:
        text = truncate(escape_reply(reply.text), CONTENT_MAX)
        return Rendered(text or None, [brief_embed(reply.briefs[0])])
    if reply.kind is ReplyKind.BRIEFS and reply.briefs:
        embeds = fit_message([brief_embed(v, compact=True) for v in reply.briefs])
        extra = len(reply.briefs) - len(embeds)
        text = reply.text + (f" (showing {len(embeds)}, {extra} more)" if extra > 0 else "")
        return Rendered(truncate(escape_reply(text), CONTENT_MAX), embeds)
    # The lines' own markup (bullets, the channel mention) is built here; every value in
    # them that came from outside is escaped.
    lines: list[str] = []
    for s in reply.subscriptions:
        issues = escape(", ".join(s.issues)) if s.issues else "all issues"
        mode = (
            f"digest at {escape(s.digest_time)} {escape(s.digest_tz)}"
            if s.digest_time
            else "each brief"
        )
        own_id = s.channel.isascii() and s.channel.isdigit()
        channel = f"<#{s.channel}>" if own_id else escape(s.channel)
        line = f"• #{s.id} {channel} — {issues} — {mode} — {escape(s.state)}"
        if s.paused_reason:
            line += f" ({_safe(s.paused_reason, 300)})"
        lines.append(line)
    for f in reply.feeds:
        target = link_target(f.url)
        where = f"<{target}>" if target else _safe(f.url, 300)
        line = f"• {f.id}: {_safe(f.name, 200)} {where} — {escape(f.state)}"
        if f.last_error:
            line += f" (last error: {_safe(f.last_error, 200)})"
        lines.append(line)
    lines.extend(escape_reply(d) for d in reply.details)
    return Rendered(_lines(reply.text, lines))


def to_embeds(embeds: Sequence[Embed]) -> list[discord.Embed]:
    return [discord.Embed.from_dict(e) for e in embeds]


def no_mentions() -> discord.AllowedMentions:
    """`allowed_mentions: {"parse": []}`: a feed's @everyone or role mention pings no one."""
    return discord.AllowedMentions.none()
