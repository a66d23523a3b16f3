"""BriefView and Reply -> Slack Block Kit. Pure functions; no SDK objects, plain dicts.

Every piece of feed or user text that lands in a mrkdwn field is escaped (&, <, >), so a feed
cannot produce `<!channel>`, `<!here>`, `<@U…>` or a disguised link. Plain-text objects are not
parsed by Slack, so they are only truncated.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from koreapage_bot.adapters.slack.mrkdwn import escape_slack_mrkdwn
from koreapage_bot.commands.replies import FeedLine, Reply, ReplyKind, SubscriptionLine
from koreapage_bot.delivery.view import format_date, language_label, truncate
from koreapage_bot.links import web_link
from koreapage_bot.ports import BriefView

Block = dict[str, Any]

# Block Kit limits (https://docs.slack.dev/reference/block-kit).
MAX_BLOCKS = 50
HEADER_MAX = 150
SECTION_MAX = 3000
FIELD_MAX = 2000
MAX_FIELDS = 10
CONTEXT_TEXT_MAX = 3000
BUTTON_TEXT_MAX = 75
URL_MAX = 3000
FALLBACK_MAX = 3000  # `text` may be far longer; notifications show only the start anyway

_CHANNEL_ID_RE = re.compile(r"^[CGD][A-Z0-9]{2,}$")
ELLIPSIS = "…"


# -- text helpers -------------------------------------------------------------------------------


def escape_mrkdwn(text: str) -> str:
    return escape_slack_mrkdwn(text)


def fit_mrkdwn(text: str, limit: int) -> str:
    """Escape for mrkdwn and cut (at a word boundary) so the *escaped* text fits `limit`;
    the cut is made on the raw text, so an entity such as `&amp;` is never split."""
    text = text.strip()
    escaped = escape_slack_mrkdwn(text)
    room = min(len(text), limit)
    while len(escaped) > limit and room > 0:
        escaped = escape_slack_mrkdwn(truncate(text, room, ELLIPSIS))
        room -= max(len(escaped) - limit, 1)
    return escaped if len(escaped) <= limit else ELLIPSIS


def one_line(text: str) -> str:
    return " ".join(text.split())


def safe_url(url: str | None) -> str | None:
    """An http(s) URL usable in a button or a `<url|label>` link, or None. Well formed (spaces
    and unsafe characters percent-encoded), so `|`, `<` and `>`, which would end or split a
    mrkdwn link, are never in it."""
    return web_link(url, limit=URL_MAX)


def mrkdwn_link(url: str | None, label: str, limit: int = 300) -> str:
    target = safe_url(url)
    text = fit_mrkdwn(one_line(label), limit)
    return f"<{target}|{text}>" if target else text


def channel_ref(channel: str) -> str:
    # `<#C…>` renders a channel name without notifying anyone; anything else stays plain text.
    return f"<#{channel}>" if _CHANNEL_ID_RE.match(channel) else escape_mrkdwn(channel)


# -- block builders -----------------------------------------------------------------------------


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _header(text: str) -> Block:
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": truncate(one_line(text), HEADER_MAX) or "Brief"},
    }


def _byline(view: BriefView) -> str:
    parts = [f"*{fit_mrkdwn(one_line(view.source), 200)}*"]
    if view.author:
        parts.append("by " + fit_mrkdwn(one_line(view.author), 200))
    date = format_date(view.published)
    if date:
        parts.append(date)
    return " · ".join(parts)


def _issues_text(view: BriefView, limit: int) -> str:
    if not view.key_issues:
        return "—"
    return fit_mrkdwn("\n".join(f"• {tag.label}" for tag in view.key_issues), limit)


def brief_blocks(view: BriefView) -> list[Block]:
    """One brief as a message: header, summary, fields, byline, link button."""
    blocks: list[Block] = [_header(view.title)]
    summary = view.summary.strip() or "(no summary)"
    blocks.append(_section(fit_mrkdwn(summary, SECTION_MAX)))
    fields = [
        {"type": "mrkdwn", "text": "*Key issues*\n" + _issues_text(view, FIELD_MAX - 20)},
        {
            "type": "mrkdwn",
            "text": "*Source*\n" + fit_mrkdwn(one_line(view.source) or "—", FIELD_MAX - 20),
        },
    ]
    blocks.append({"type": "section", "fields": fields})
    byline: list[str] = []
    if view.author:
        byline.append("By " + fit_mrkdwn(one_line(view.author), 500))
    date = format_date(view.published)
    if date:
        byline.append(date)
    byline.append(f"brief #{view.brief_id}")
    language = language_label(view.language)  # "Korean (한국어)"; nothing for English
    if language:
        byline.append(escape_mrkdwn(language))
    blocks.append(_context(" · ".join(byline)))
    if view.also:
        blocks.append(_context(also_reported(view)))
    url = safe_url(view.url)
    if url:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Read the post"},
                        "url": url,
                        "action_id": "open_post",
                    }
                ],
            }
        )
    return blocks


def also_reported(view: BriefView, limit: int = CONTEXT_TEXT_MAX) -> str:
    """ "Also reported by: <link|Korea Herald>, <link|Yonhap>": the story's other reports, as
    many whole ones as fit; names escaped, links well formed."""
    head = "*Also reported by:* "
    parts: list[str] = []
    for n, ref in enumerate(view.also):
        part = mrkdwn_link(ref.url, ref.source or ref.title or f"brief {ref.brief_id}", 200)
        more = f" and {len(view.also) - n} more"
        if len(head) + len(", ".join([*parts, part])) + len(more) > limit:
            return head + ", ".join(parts) + more
        parts.append(part)
    return head + ", ".join(parts)


def brief_fallback(view: BriefView) -> str:
    """Notification text; Slack parses it like mrkdwn, so it is escaped too."""
    return fit_mrkdwn(one_line(f"{view.title} — {view.source}"), FALLBACK_MAX)


def _brief_item(view: BriefView, summary_max: int) -> list[Block]:
    title = f"*{mrkdwn_link(view.url, one_line(view.title) or '(untitled)')}*"
    summary = fit_mrkdwn(view.summary, summary_max) if view.summary.strip() else ""
    text = f"{title}\n{summary}" if summary else title
    meta = _byline(view) + f" · #{view.brief_id}"
    if language_label(view.language):
        meta += " · " + escape_mrkdwn(language_label(view.language))
    if view.key_issues:
        meta += " · " + fit_mrkdwn(", ".join(t.label for t in view.key_issues), 300)
    if view.also:
        meta += " · " + also_reported(view, 1200)
    return [_section(text), _context(meta)]


def brief_list_blocks(
    views: Sequence[BriefView], lead: list[Block], summary_max: int = 400
) -> list[Block]:
    """`lead` blocks, then two blocks per brief, within the 50-block limit."""
    blocks = list(lead)
    room = MAX_BLOCKS - len(blocks)
    fit = len(views) if 2 * len(views) <= room else (room - 1) // 2
    for view in views[:fit]:
        blocks.extend(_brief_item(view, summary_max))
    if fit < len(views):
        blocks.append(_context(f"…and {len(views) - fit} more not shown."))
    return blocks


def digest_blocks(views: Sequence[BriefView], title: str) -> list[Block]:
    blocks = [_header(title)] if title.strip() else []
    blocks.append(_context(f"{len(views)} brief{'s' if len(views) != 1 else ''}"))
    return brief_list_blocks(views, blocks, summary_max=300)


def digest_fallback(views: Sequence[BriefView], title: str) -> str:
    heads = "; ".join(one_line(v.title) for v in views[:5])
    return fit_mrkdwn(f"{title}: {heads}" if heads else title, FALLBACK_MAX)


# -- command replies ----------------------------------------------------------------------------


def _line_sections(lines: Iterable[str], room: int) -> list[Block]:
    """Pack mrkdwn lines into as few sections as fit (each ≤3000), at most `room` blocks."""
    blocks: list[Block] = []
    current = ""
    for line in lines:
        line = line if len(line) <= SECTION_MAX else line[: SECTION_MAX - 1] + ELLIPSIS
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > SECTION_MAX:
            blocks.append(_section(current))
            current = line
        else:
            current = candidate
    if current:
        blocks.append(_section(current))
    if len(blocks) > room:
        blocks = [*blocks[: room - 1], _context("…more not shown.")]
    return blocks


def _subscription_line(sub: SubscriptionLine) -> str:
    what = fit_mrkdwn(", ".join(sub.issues), 300) if sub.issues else "every relevant brief"
    parts = [f"*#{sub.id}* {channel_ref(sub.channel)}: {what}"]
    if sub.feeds:
        parts.append("feeds " + ", ".join(str(f) for f in sub.feeds))
    if sub.digest_time:
        parts.append(f"digest {escape_mrkdwn(sub.digest_time)} {escape_mrkdwn(sub.digest_tz)}")
    if sub.state != "active":
        reason = f" ({fit_mrkdwn(sub.paused_reason, 300)})" if sub.paused_reason else ""
        parts.append(f"_{escape_mrkdwn(sub.state)}_{reason}")
    return " · ".join(parts)


def _feed_line(feed: FeedLine) -> str:
    name = mrkdwn_link(feed.url, feed.name or feed.url)
    parts = [f"*#{feed.id}* {name}", escape_mrkdwn(feed.state)]
    if feed.last_error:
        parts.append("last error: " + fit_mrkdwn(one_line(feed.last_error), 300))
    return " · ".join(parts)


def reply_message(reply: Reply) -> dict[str, Any]:
    """A Reply as keyword arguments for bolt's `respond()`."""
    headline = fit_mrkdwn(reply.text or reply.kind.value, SECTION_MAX)
    lead: list[Block] = [_section(headline)]
    details = [fit_mrkdwn(d, SECTION_MAX) for d in reply.details]
    if reply.kind is ReplyKind.BRIEF and reply.briefs:
        blocks = brief_blocks(reply.briefs[0])
    elif reply.kind is ReplyKind.BRIEFS:
        blocks = brief_list_blocks(reply.briefs, lead)
    elif reply.kind is ReplyKind.SUBSCRIPTIONS:
        lines = [_subscription_line(s) for s in reply.subscriptions] + details
        blocks = lead + _line_sections(lines, MAX_BLOCKS - 1)
    elif reply.kind is ReplyKind.FEEDS:
        lines = [_feed_line(f) for f in reply.feeds] + details
        blocks = lead + _line_sections(lines, MAX_BLOCKS - 1)
    else:
        blocks = lead + _line_sections(details, MAX_BLOCKS - 1)
    return {
        "text": fit_mrkdwn(one_line(reply.text or reply.kind.value), FALLBACK_MAX),
        "blocks": blocks,
        "response_type": "in_channel" if reply.public else "ephemeral",
    }
