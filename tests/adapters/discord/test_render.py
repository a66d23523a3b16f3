"""Rendering rules that do not need a server: limits, colours, replies, invite URL."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import parse_qs, urlparse

from koreapage_bot.adapters.discord.invite import invite_url
from koreapage_bot.adapters.discord.render import (
    CONTENT_MAX,
    DEFAULT_COLOUR,
    brief_embed,
    colour_for,
    embed_length,
    fit_message,
    render_reply,
    truncate,
)
from koreapage_bot.commands.replies import FeedLine, Reply, ReplyKind
from tests.adapters.discord.conftest import make_view


def test_truncate_cuts_at_a_word_boundary_with_an_ellipsis() -> None:
    assert truncate("short", 10) == "short"
    cut = truncate("alliance burden sharing talks resume", 20)
    assert cut == "alliance burden…" and len(cut) <= 20
    assert truncate("x" * 50, 10) == "x" * 9 + "…"  # no space: hard cut


def test_colour_is_stable_per_leading_issue() -> None:
    assert colour_for("usfk") == colour_for("usfk")
    assert colour_for(None) == DEFAULT_COLOUR
    assert brief_embed(make_view(1))["color"] == colour_for("cost-sharing")


def test_fit_message_keeps_ten_embeds_within_six_thousand() -> None:
    embeds = [brief_embed(make_view(n, summary="sanctions " * 400)) for n in range(12)]
    fitted = fit_message(embeds)
    assert len(fitted) == 10
    assert sum(embed_length(e) for e in fitted) <= 6000
    assert all(e["description"].endswith("…") for e in fitted)


def test_embed_without_url_or_author_or_summary() -> None:
    view = replace(make_view(1), url="javascript:alert(1)", author=None, summary="")
    bare = brief_embed(view)
    assert "url" not in bare and "author" not in bare and "description" not in bare


def test_feed_lines_fit_in_one_message() -> None:
    feeds = tuple(
        FeedLine(
            i, f"Feed {i}", f"https://example.org/{i}.xml", "broken", "timeout " * 40, None, None
        )
        for i in range(100)
    )
    rendered = render_reply(Reply(ReplyKind.FEEDS, "Feeds:", feeds=feeds))
    assert rendered.content is not None and len(rendered.content) <= CONTENT_MAX
    assert rendered.content.endswith("more") and not rendered.embeds


def test_invite_url_asks_for_exactly_what_is_used() -> None:
    q = parse_qs(urlparse(invite_url("123456")).query)
    assert q["client_id"] == ["123456"]
    assert q["scope"] == ["bot applications.commands"]
    view, send, embed, history, threads_send, public_threads, hooks = 10, 11, 14, 16, 38, 35, 29
    assert int(q["permissions"][0]) == sum(
        1 << b for b in (view, send, embed, history, threads_send, public_threads)
    )
    plain = parse_qs(urlparse(invite_url("1", threads=False)).query)
    assert int(plain["permissions"][0]) == sum(1 << b for b in (view, send, embed, history))
    with_hooks = parse_qs(urlparse(invite_url("1", threads=False, webhooks=True)).query)
    assert int(with_hooks["permissions"][0]) & (1 << hooks)


def test_a_korean_brief_says_so_in_the_footer_and_an_english_one_does_not() -> None:
    english = brief_embed(make_view(7))
    korean = brief_embed(replace(make_view(7), language="ko"))
    assert english["footer"]["text"] == "Brief 7"
    assert korean["footer"]["text"] == "Brief 7 · Korean (한국어)"
