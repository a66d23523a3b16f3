"""A notice to the operators (ports.Notice) as a Discord message: plain content, with every
quoted value (feed names, URLs, errors, channel ids) escaped like any feed text."""

from __future__ import annotations

from koreapage_bot.adapters.discord.markdown import escape, escape_reply
from koreapage_bot.adapters.discord.render import CONTENT_MAX, truncate
from koreapage_bot.ports import Notice

VALUE_MAX = 400  # characters of one quoted value before escaping (shortened until it all fits)


def notice_content(notice: Notice) -> str:
    """The message content: the headline in bold, one line per field, the hint; at most
    CONTENT_MAX characters. Values are cut before they are escaped, so an escape is never
    split (a lone trailing backslash would escape whatever follows)."""
    limit = VALUE_MAX
    while True:
        lines = [f"⚠️ **{escape(truncate(notice.headline, 200))}**"]
        lines += [
            f"**{escape(label)}:** {escape(truncate(' '.join(value.split()), limit))}"
            for label, value in notice.fields
        ]
        if notice.hint:
            lines.append(escape_reply(truncate(notice.hint, 600)))
        content = "\n".join(lines)
        if len(content) <= CONTENT_MAX or limit <= 20:
            return content[:CONTENT_MAX]
        limit //= 2
