"""A story's message lists its other reports ("Also reported by"), on Discord, Slack and the
console: as links, outlet names escaped, within each platform's limits."""

from __future__ import annotations

import io
import json
from dataclasses import replace

from rich.console import Console

from koreapage_bot.adapters.console import brief_panel
from koreapage_bot.adapters.discord.render import ALSO_REPORTED, brief_embed, fit_message
from koreapage_bot.adapters.slack import render as slack
from koreapage_bot.ports import SourceRef
from tests.adapters.discord.conftest import make_view
from tests.contract.discord_spec import spec_available, validate_request
from tests.contract.slack_spec import block_errors

HOSTILE = SourceRef(7, "Evil [Times](https://evil.example) @everyone <!here> *bold*", None, "x")
SOURCES = (
    SourceRef(2, "Korea Herald", "https://herald.example/a(1)", "Talks open"),
    SourceRef(3, "연합뉴스", "https://yna.example/b", "협상 시작"),
    HOSTILE,
)


def test_discord_lists_the_sources_as_links_with_the_names_escaped() -> None:
    embed = brief_embed(replace(make_view(1), also=SOURCES))
    [field] = [f for f in embed["fields"] if f["name"] == ALSO_REPORTED]
    value = field["value"]
    assert value.startswith(
        "[Korea Herald](https://herald.example/a%281%29), [연합뉴스](https://yna.example/b), "
    )
    # The feed's own markdown is shown as written: no masked link, no ping, no emphasis.
    assert value.endswith(
        "Evil \\[Times\\](https\\://evil.example) @\u200beveryone <\u200b!here> \\*bold\\*"
    )
    if spec_available():
        body = {"embeds": fit_message([embed]), "allowed_mentions": {"parse": []}}
        validate_request("PATCH", "/channels/{channel_id}/messages/{message_id}", body)


def test_discord_cuts_a_long_list_at_a_whole_source() -> None:
    many = tuple(
        SourceRef(n, f"Outlet number {n}", f"https://o{n}.example/{'x' * 60}", "t")
        for n in range(40)
    )
    embed = brief_embed(replace(make_view(1), also=many))
    [field] = [f for f in embed["fields"] if f["name"] == ALSO_REPORTED]
    assert len(field["value"]) <= 1024 and field["value"].endswith(" more")


def test_slack_lists_the_sources_in_a_valid_message() -> None:
    view = replace(make_view(1), also=SOURCES)
    blocks = slack.brief_blocks(view)
    assert slack.also_reported(view) == (
        "*Also reported by:* <https://herald.example/a(1)|Korea Herald>, "
        "<https://yna.example/b|연합뉴스>, Evil [Times](https://evil.example) @\u200beveryone "
        "&lt;!here&gt; *bold*"
    )
    assert slack.also_reported(view) in json.dumps(blocks, ensure_ascii=False)
    if spec_available():
        assert block_errors(blocks) == []
    listed = slack.brief_list_blocks([view], [])
    assert "Also reported by" in json.dumps(listed)


def test_the_console_names_the_other_reports() -> None:
    out = io.StringIO()
    Console(file=out, width=200).print(brief_panel(replace(make_view(1), also=SOURCES[:2])))
    assert "Also reported by: Korea Herald (brief 2, https://herald.example/a(1))" in (
        out.getvalue()
    )
