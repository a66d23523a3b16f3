"""A notice to the operators (ports.Notice) as a Slack message: a plain-text header, one
mrkdwn field per value (escaped: `&`, `<`, `>`), the hint as context."""

from __future__ import annotations

from typing import Any

from koreapage_bot.adapters.slack.render import (
    FALLBACK_MAX,
    FIELD_MAX,
    HEADER_MAX,
    MAX_FIELDS,
    Block,
    escape_mrkdwn,
    fit_mrkdwn,
    one_line,
)
from koreapage_bot.delivery.view import truncate
from koreapage_bot.ports import Notice


def notice_blocks(notice: Notice) -> list[Block]:
    blocks: list[Block] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": truncate(one_line(notice.headline), HEADER_MAX)},
        }
    ]
    fields: list[dict[str, Any]] = []
    for label, value in notice.fields[:MAX_FIELDS]:
        head = f"*{escape_mrkdwn(one_line(label))}*\n"
        text = head + fit_mrkdwn(one_line(value), FIELD_MAX - len(head))
        fields.append({"type": "mrkdwn", "text": text})
    if fields:
        blocks.append({"type": "section", "fields": fields})
    if notice.hint:
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": fit_mrkdwn(notice.hint, 3000)}],
            }
        )
    return blocks


def notice_fallback(notice: Notice) -> str:
    """The notification text (`text`): headline and values, escaped like mrkdwn."""
    return fit_mrkdwn(one_line(notice.text), FALLBACK_MAX)
