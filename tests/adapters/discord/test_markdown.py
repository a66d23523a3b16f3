"""Feed text made inert for Discord: nothing live is left, and it reads exactly as written."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from koreapage_bot.adapters.discord.markdown import (
    ZWSP,
    break_mentions,
    escape,
    escape_reply,
    link_target,
)
from koreapage_bot.adapters.discord.render import brief_embed, digest_parts, render_reply
from koreapage_bot.commands.replies import FeedLine, Reply, ReplyKind, SubscriptionLine
from tests.adapters.discord.conftest import make_view
from tests.contract.discord_markdown import hazards, live, reveal

MASKED_LINE = re.compile(r"• \[([^\]\n]*)\]\(([^()\s]+)\) — (.*)")
CODE_SPAN = re.compile(r"`[^`\n]+`")

HOSTILE = [
    "[feed](https://evil.example)",
    "[https://good.example](https://evil.example/phish)",
    "@everyone the base is closing",
    "@here read this, @EVERYONE and @Here",
    "hi <@123456789012345678> and <@!42>",
    "role ping <@&987654321098765432>",
    "see <#710000000000000001> now",
    "run </briefs subscribe:1234567890>",
    "at <t:1700000000:R> or <t:1700000000>",
    "emoji <:kp:123456789012345678> and <a:dance:1>",
    "browse <id:customize>",
    "nested <<@&1>> and @@everyone",
    "# Heading",
    "## Sub\n### Third",
    "-# small print",
    "- a bullet\n* another\n+ plus",
    "1. first\n22) second",
    "> quote\n>>> all the rest",
    "  # indented heading",
    "**bold** *it* __under__ _it_ ~~strike~~ ||spoiler||",
    "`code` and ```block```",
    "a bare link https://evil.example/x_y and <https://evil.example/z>",
    "steam://run/1 and discord://-/channels/1",
    "back\\slash \\*not bold\\* \\",
    "email ops@here.example and a@everyone.example",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_escape_leaves_nothing_live_and_reads_the_same(text: str) -> None:
    out = escape(text)
    assert hazards(out) == [], (text, out)
    assert reveal(out) == text
    assert escape(None) == ""


def test_ordinary_text_is_left_alone() -> None:
    text = "Seoul and Washington agree on a 5.1% rise (for 2026), says the minister: 'done'."
    assert escape(text) == text
    assert escape("USFK a < b > c") == "USFK a < b > c"


def test_numbered_list_is_escaped_on_its_punctuation() -> None:
    # A backslash before a digit would show; the one before the dot does not.
    assert escape("1. first") == "1\\. first"
    assert escape("-# small") == "\\-# small"


@pytest.mark.parametrize("text", HOSTILE)
def test_break_mentions_only_adds_invisible_breaks(text: str) -> None:
    out = break_mentions(text)
    assert out.replace(ZWSP, "") == text
    plain = [h for h in hazards(out) if h in ("mention or token", "mass mention")]
    assert plain == []


def test_reply_keeps_its_own_code_spans_and_escapes_the_rest() -> None:
    text = "Stopped following feed 3 ([x](https://evil.example) @here). See `feeds list`."
    out = escape_reply(text)
    assert out.endswith("See `feeds list`.")
    assert hazards(out.replace("`feeds list`", "")) == []
    assert reveal(out) == text
    # A stray backtick from a feed name may pair up with the reply's own: what it encloses
    # is code (inert in Discord), and all outside it is still escaped.
    odd = escape_reply("Feed ev`il [x](https://e.example) added. Try `feeds list`")
    assert hazards(CODE_SPAN.sub("", odd)) == []


def test_link_target_cannot_close_a_masked_link() -> None:
    assert link_target("https://news.example/deal)[x](https://evil.example") == (
        "https://news.example/deal%29%5Bx%5D%28https://evil.example"
    )
    assert link_target("https://news.example/a b") == "https://news.example/a%20b"
    assert link_target("javascript:alert(1)") is None


def test_embed_fields_render_hostile_text_inert() -> None:
    view = replace(
        make_view(1),
        title="# [click](https://evil.example) <@&1> **x**",
        author="<@123> [me](https://evil.example)",
        source="[Alliance Watch](https://evil.example) @everyone",
        summary="> quote\n- list <t:1:R> https://evil.example",
    )
    embed = brief_embed(view)
    for text in (embed["title"], embed["description"], *[f["value"] for f in embed["fields"]]):
        assert hazards(text) == [], text
    # The author name is plain text in Discord: mentions broken, no backslashes to show.
    assert embed["author"]["name"] == f"<{ZWSP}@123> [me](https://evil.example)"


def test_digest_list_has_one_link_per_line_and_nothing_else_live() -> None:
    views = [
        replace(
            make_view(n),
            title=f"[t{n}](https://evil.example) @here",
            url=f"https://news.example/{n})(x",
            source="[Alliance Watch](https://evil.example) <@&1>",
        )
        for n in range(1, 13)
    ]
    content, (embed,) = digest_parts(views, "Daily digest @everyone")
    assert hazards(content) == [] and hazards(embed["title"]) == []
    for line in embed["description"].splitlines():
        m = MASKED_LINE.fullmatch(live(line))
        assert m is not None, line
        label, target, source = (line[m.start(i) : m.end(i)] for i in (1, 2, 3))
        assert hazards(label) == [] and hazards(source) == []
        assert target.startswith("https://news.example/") and "(" not in target


def test_command_replies_escape_every_value_from_outside() -> None:
    feeds = (
        FeedLine(
            1,
            "[Alliance Watch](https://evil.example) @everyone",
            "https://feeds.example/a)b",
            "broken",
            "HTTP 500: <@&1> [x](https://evil.example)",
            None,
            None,
        ),
    )
    subs = (
        SubscriptionLine(
            2, "710000000000000001", ("usfk",), (), "paused", "# [x](https://e.example)",
            None, "UTC", True,
        ),
    )  # fmt: skip
    for reply in (
        Reply(ReplyKind.FEEDS, "1 feed [x](https://evil.example)", feeds=feeds),
        Reply(ReplyKind.SUBSCRIPTIONS, "This channel's subscription", subscriptions=subs),
    ):
        content = render_reply(reply).content
        assert content is not None
        own = content.replace("<https://feeds.example/a%29b>", "").replace(
            "<#710000000000000001>", ""
        )
        assert hazards(own.replace("• ", "")) == [], content
