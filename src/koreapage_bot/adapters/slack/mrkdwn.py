"""Slack's escaping: feed text is untrusted, and nothing from a feed may ping anyone or turn
into a link or a mention in Slack's mrkdwn."""

from __future__ import annotations

import re

ZWSP = "\u200b"  # zero-width space: breaks a mention token without changing how it reads

_SLACK_MASS = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)


def escape_slack_mrkdwn(text: str | None, *, break_mass_mentions: bool = True) -> str:
    """Escape `&`, `<`, `>` as Slack requires, so `<!channel>`, `<!here>`, `<@U123>`,
    `<!subteam^…>` and `<url|label>` in feed text render as text. Only these three are encoded
    (Slack decodes nothing else). Plain `@channel`/`@here` are also broken with a zero-width
    space in case a message is ever sent with `link_names`.
    """
    if not text:
        return ""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if break_mass_mentions:
        text = _SLACK_MASS.sub(lambda m: "@" + ZWSP + m.group(1), text)
    return text
