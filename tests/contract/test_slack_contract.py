"""Every Block Kit payload the Slack adapter can produce validates against ../shared/specs.

Skips with a message when ../shared is absent (see slack_spec.py).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from koreapage_bot.adapters.slack import render
from koreapage_bot.commands.replies import FeedLine, Reply, ReplyKind, SubscriptionLine
from koreapage_bot.domain import IssueTag
from koreapage_bot.ports import BriefView
from tests.contract.slack_spec import assert_valid_blocks, assert_valid_post_message

pytestmark = pytest.mark.shared


def view(n: int, **kw: object) -> BriefView:
    values: dict[str, object] = {
        "brief_id": n,
        "title": f"Alliance note {n}",
        "url": f"https://example.org/p/{n}",
        "author": "Kim",
        "source": "Example Source",
        "published": datetime(2026, 3, 1, tzinfo=UTC),
        "summary": "A short summary.",
        "key_issues": (IssueTag("usfk", "USFK"),),
        "relevance": 0.7,
    }
    values.update(kw)
    return BriefView(**values)  # type: ignore[arg-type]


EXTREMES = [
    view(1),
    view(2, title="", summary="", author=None, url=None, published=None, key_issues=()),
    view(3, title="T" * 1000, summary="<&>" * 3000, author="a" * 5000, source="s" * 5000),
    view(4, key_issues=tuple(IssueTag(f"x{i}", "L" * 300) for i in range(40))),
    view(5, url="https://example.org/" + "p" * 2990),
    view(6, url="https://example.org/" + "p" * 3100),
    view(7, title="   \n\t  ", summary="   "),
    view(
        8,
        title="주한미군 감축 논의",
        summary="한미 양국이 주한미군 문제를 논의했다.",
        language="ko",
    ),
]


@pytest.mark.parametrize("brief", EXTREMES, ids=lambda v: f"brief{v.brief_id}")
def test_brief_message_is_valid(brief: BriefView) -> None:
    params = {
        "channel": "C0GENERAL",
        "text": render.brief_fallback(brief),
        "blocks": render.brief_blocks(brief),
        "unfurl_links": False,
        "unfurl_media": False,
    }
    assert_valid_post_message(params)


@pytest.mark.parametrize("count", [0, 1, 16, 17, 60])
def test_digest_message_is_valid(count: int) -> None:
    views = [EXTREMES[i % len(EXTREMES)] for i in range(count)]
    assert_valid_blocks(render.digest_blocks(views, "Daily digest " + "d" * 200))


SUB = SubscriptionLine(1, "C0GENERAL", ("usfk",), (2,), "paused", "x" * 4000, "08:00", "UTC", True)
FEED = FeedLine(1, "F" * 4000, "https://f.example/rss", "active", "e" * 4000, None, None)
REPLIES = [
    Reply(ReplyKind.BRIEFS, "Latest", briefs=tuple(EXTREMES * 10)),
    Reply(ReplyKind.BRIEF, "One", briefs=(EXTREMES[2],)),
    Reply(ReplyKind.BRIEF, "None found", briefs=()),
    Reply(ReplyKind.SUBSCRIPTIONS, "Subs", subscriptions=(SUB,) * 200),
    Reply(ReplyKind.FEEDS, "Feeds", feeds=(FEED,) * 200),
    Reply(ReplyKind.DONE, "Done."),
    Reply(ReplyKind.EMPTY, ""),
    Reply(ReplyKind.USAGE, "u" * 5000, details=("d" * 5000,) * 100),
    Reply(ReplyKind.ERROR, "<!channel> nope"),
]


@pytest.mark.parametrize("reply", REPLIES, ids=lambda r: r.kind.value)
def test_command_reply_is_valid(reply: Reply) -> None:
    message = render.reply_message(reply)
    assert_valid_blocks(message["blocks"])
    assert message["text"]
