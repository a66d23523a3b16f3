"""Slack's escaping of feed text: no mention, channel ping or link survives."""

from __future__ import annotations

import re

import pytest

from koreapage_bot.adapters.slack.mrkdwn import ZWSP, escape_slack_mrkdwn

# --- Slack ---------------------------------------------------------------------------------------

SLACK_CONTROL = re.compile(r"<[!@#][^>]*>|<https?://[^>]*>")


@pytest.mark.parametrize(
    "text",
    [
        "<!channel> urgent",
        "<!here|here> and <!everyone>",
        "hi <@U123ABC> and <#C999|general>",
        "<!subteam^S123|@team> look",
        "<https://evil.example|https://good.example>",
        "<<!channel>>",
    ],
)
def test_escape_slack_mrkdwn_defuses_control_sequences(text: str) -> None:
    out = escape_slack_mrkdwn(text)
    assert "<" not in out and ">" not in out
    assert SLACK_CONTROL.search(out) is None


def test_escape_slack_mrkdwn_exact() -> None:
    assert escape_slack_mrkdwn("a & b < c > d") == "a &amp; b &lt; c &gt; d"
    # Already-escaped text is escaped again: the reader sees exactly what the feed had.
    assert escape_slack_mrkdwn("&amp;") == "&amp;amp;"
    assert escape_slack_mrkdwn("<!channel>") == "&lt;!channel&gt;"
    assert escape_slack_mrkdwn(None) == ""
    assert escape_slack_mrkdwn("*bold* _it_ 한국어") == "*bold* _it_ 한국어"


def test_escape_slack_mrkdwn_breaks_bare_mass_mentions() -> None:
    assert escape_slack_mrkdwn("@channel @here @everyone") == (
        f"@{ZWSP}channel @{ZWSP}here @{ZWSP}everyone"
    )
    assert escape_slack_mrkdwn("@channel", break_mass_mentions=False) == "@channel"
    assert escape_slack_mrkdwn("@channels") == "@channels"
