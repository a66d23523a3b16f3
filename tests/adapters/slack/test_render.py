"""Block Kit rendering: limits, escaping, and links that cannot be hijacked."""

from __future__ import annotations

from datetime import UTC, datetime

from koreapage_bot.adapters.slack import render
from koreapage_bot.commands.replies import FeedLine, Reply, ReplyKind, SubscriptionLine
from koreapage_bot.domain import IssueTag
from tests.adapters.slack.conftest import make_view


def test_fit_mrkdwn_never_exceeds_the_limit_nor_splits_an_entity() -> None:
    text = "A&B " * 1000  # escapes to 4x the length of "&"
    for limit in (10, 57, 150, 2000, 3000):
        out = render.fit_mrkdwn(text, limit)
        assert len(out) <= limit
        assert out.endswith("…")
        assert "&am…" not in out and not out[:-1].endswith("&")
    assert render.fit_mrkdwn("short & sweet", 100) == "short &amp; sweet"


def test_brief_blocks_respect_every_limit() -> None:
    view = make_view(
        title="T" * 400,
        summary="word " * 2000,
        author="A" * 3000,
        source="S" * 3000,
        key_issues=tuple(IssueTag(f"i{n}", f"Issue {n} " + "x" * 200) for n in range(30)),
    )
    blocks = render.brief_blocks(view)
    header, summary, fields, context = blocks[0], blocks[1], blocks[2], blocks[3]
    assert len(header["text"]["text"]) <= 150
    assert len(summary["text"]["text"]) <= 3000
    assert len(fields["fields"]) <= 10
    assert all(len(f["text"]) <= 2000 for f in fields["fields"])
    assert len(context["elements"][0]["text"]) <= 3000


def test_header_is_one_line_plain_text() -> None:
    blocks = render.brief_blocks(make_view(title="Line one\nline <two> & three"))
    assert blocks[0]["text"] == {"type": "plain_text", "text": "Line one line <two> & three"}


def test_unsafe_urls_get_no_button_or_link() -> None:
    for url in ("javascript:alert(1)", "ftp://x.example/y", "https://a b", None, ""):
        view = make_view(url=url)
        assert all(b["type"] != "actions" for b in render.brief_blocks(view))
        assert "<" not in render.mrkdwn_link(url, "label")


def test_a_link_with_spaces_is_encoded_not_dropped() -> None:
    view = make_view(url="https://x.example/cost sharing deal")
    (actions,) = [b for b in render.brief_blocks(view) if b["type"] == "actions"]
    assert actions["elements"][0]["url"] == "https://x.example/cost%20sharing%20deal"
    link = render.mrkdwn_link(view.url, "label")
    assert link == "<https://x.example/cost%20sharing%20deal|label>"


def test_link_cannot_be_broken_out_of() -> None:
    link = render.mrkdwn_link("https://x.example/a|b>c<d", "pay <!channel> | here")
    assert link == "<https://x.example/a%7Cb%3Ec%3Cd|pay &lt;!channel&gt; | here>"


def test_byline_and_date() -> None:
    view = make_view(published=datetime(2026, 1, 2, 23, 0, tzinfo=UTC), author=None)
    context = render.brief_blocks(view)[3]["elements"][0]["text"]
    assert context == "2026-01-02 · brief #1"


def test_digest_fits_fifty_blocks() -> None:
    views = [make_view(i) for i in range(100)]
    blocks = render.digest_blocks(views, "Digest")
    assert len(blocks) <= 50
    assert blocks[0]["type"] == "header"
    assert "more not shown" in blocks[-1]["elements"][0]["text"]
    small = render.digest_blocks(views[:3], "Digest")
    assert len(small) == 2 + 3 * 2


def test_reply_kinds_choose_visibility() -> None:
    assert render.reply_message(Reply(ReplyKind.BRIEFS, "x"))["response_type"] == "in_channel"
    for kind in (ReplyKind.ERROR, ReplyKind.USAGE, ReplyKind.DONE, ReplyKind.SUBSCRIPTIONS):
        assert render.reply_message(Reply(kind, "x"))["response_type"] == "ephemeral"


def test_subscription_and_feed_lines() -> None:
    sub = SubscriptionLine(
        id=4,
        channel="C0GENERAL",
        issues=("gsomia",),
        feeds=(),
        state="paused",
        paused_reason="slack: not_in_channel: invite the bot",
        digest_time="08:00",
        digest_tz="Asia/Seoul",
        per_brief=True,
    )
    feed = FeedLine(4, "Feed <b>", "https://f.example/rss", "broken", "HTTP 500", None, None)
    subs = render.reply_message(Reply(ReplyKind.SUBSCRIPTIONS, "Subs", subscriptions=(sub,)))
    text = subs["blocks"][1]["text"]["text"]
    assert "<#C0GENERAL>" in text and "not_in_channel" in text and "Asia/Seoul" in text
    feeds = render.reply_message(Reply(ReplyKind.FEEDS, "Feeds", feeds=(feed,)))
    assert "<https://f.example/rss|Feed &lt;b&gt;>" in feeds["blocks"][1]["text"]["text"]


def test_many_lines_are_packed_within_limits() -> None:
    lines = tuple(f"detail {n} " + "y" * 500 for n in range(400))
    message = render.reply_message(Reply(ReplyKind.USAGE, "Usage", details=lines))
    assert len(message["blocks"]) <= 50
    assert all(len(b["text"]["text"]) <= 3000 for b in message["blocks"] if "text" in b)


def test_a_korean_brief_says_so_beside_its_id() -> None:
    view = make_view(published=None, author=None, language="ko")
    context = render.brief_blocks(view)[3]["elements"][0]["text"]
    assert context == "brief #1 · Korean (한국어)"
    item = render.digest_blocks([view], "Digest")
    assert any("Korean (한국어)" in str(b) for b in item)
    english = render.brief_blocks(make_view(published=None, author=None))
    assert english[3]["elements"][0]["text"] == "brief #1"
