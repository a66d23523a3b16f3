"""The Slack adapter on the real CommandService and a SQLite store: what people type in Slack
changes and queries the real data."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from koreapage_bot.adapters.slack.app import SlackAdapter
from koreapage_bot.commands.service import CommandService
from koreapage_bot.config import SlackConfig
from koreapage_bot.domain import Analysis, FeedEntry, KeyIssue
from koreapage_bot.http import HttpServer
from koreapage_bot.ports import NewPost
from koreapage_bot.store.store import Store
from tests.adapters.slack.conftest import (
    ADMIN,
    CHANNEL,
    GSOMIA,
    MEMBER,
    SIGNING_SECRET,
    USFK,
    SlashClient,
)
from tests.adapters.slack.test_http_mode import answer_for
from tests.contract.slack_spec import assert_valid_blocks
from tests.fakes.slack_server import FakeSlack


async def seed(store: Store) -> None:
    feed, _ = await store.feeds.add("https://feeds.example.org/alliance.xml", "Alliance Watch")
    entry = FeedEntry(
        key="entry-1",
        url="https://feeds.example.org/posts/gsomia-renewal",
        title="GSOMIA renewal keeps Seoul–Tokyo–Washington intelligence flowing",
        author="Lee Soo-jin",
        published=datetime(2026, 4, 20, 8, 0, tzinfo=UTC),
        summary="",
        content=None,
    )
    analysis = Analysis(
        relevant=True,
        relevance=0.9,
        key_issues=(KeyIssue("gsomia", "GSOMIA", 0.9),),
        author="Lee Soo-jin",
        summary="Seoul confirmed the intelligence pact stays in force; <!here> analysts agree.",
        why=("mentions GSOMIA",),
        text="Seoul confirmed the GSOMIA intelligence pact stays in force with renewal talks.",
    )
    await store.briefs.store_post(feed, NewPost(entry, analysis, "hash-1", relevant=True))


@pytest.fixture
async def service_client(
    sqlite_store: Store, fake_slack: FakeSlack, http_server: HttpServer
) -> AsyncIterator[SlashClient]:
    await seed(sqlite_store)
    service = CommandService(sqlite_store, [GSOMIA, USFK])
    settings = SlackConfig(
        bot_token=fake_slack.bot_token,
        signing_secret=SIGNING_SECRET,
        api_url=fake_slack.api_url,
    )
    adapter = SlackAdapter(settings, service, http_server)
    await adapter.start()
    try:
        yield SlashClient(f"{http_server.base_url}/slack/events", fake_slack)
    finally:
        await adapter.close()


async def test_admin_subscribes_member_is_refused(
    service_client: SlashClient, fake_slack: FakeSlack, sqlite_store: Store
) -> None:
    _, _, url = await service_client.send("/briefs", "subscribe gsomia", user_id=MEMBER)
    refused = await answer_for(fake_slack, url)
    assert refused["response_type"] == "ephemeral"
    assert await sqlite_store.subscriptions.for_channel("slack", CHANNEL) is None

    _, _, url = await service_client.send("/briefs", "subscribe gsomia", user_id=ADMIN)
    accepted = await answer_for(fake_slack, url)
    assert "Subscribed" in str(accepted["text"])
    sub = await sqlite_store.subscriptions.for_channel("slack", CHANNEL)
    assert sub is not None
    assert (sub.issues, sub.workspace, sub.created_by) == (("gsomia",), fake_slack.team_id, ADMIN)


async def test_latest_and_search_find_the_brief(
    service_client: SlashClient, fake_slack: FakeSlack
) -> None:
    for text in ("latest", "search intelligence pact", 'search "GSOMIA"'):
        _, _, url = await service_client.send("/briefs", text, user_id=MEMBER)
        answer = await answer_for(fake_slack, url)
        assert answer["response_type"] == "in_channel", (text, answer)
        blocks = answer["blocks"]
        assert isinstance(blocks, list)
        assert_valid_blocks(blocks)
        rendered = str(blocks)
        assert "GSOMIA renewal keeps" in rendered, text
        assert "<!here>" not in rendered


async def test_unknown_issue_is_an_ephemeral_error(
    service_client: SlashClient, fake_slack: FakeSlack
) -> None:
    _, _, url = await service_client.send("/briefs", "subscribe nosuchissue", user_id=ADMIN)
    answer = await answer_for(fake_slack, url)
    assert answer["response_type"] == "ephemeral"
    assert "nosuchissue" in str(answer["text"])


HUGE = "9" * 5000  # int() of more than 4300 digits raises in Python 3.11+


async def test_huge_numbers_get_a_usage_answer(
    service_client: SlashClient, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    for group, text, usage in (
        ("/briefs", f"show {HUGE}", "/briefs show"),
        ("/briefs", f"latest {HUGE}", "/briefs latest"),
        ("/briefs", f"latest 1{'0' * 30}", "/briefs latest"),
        ("/feeds", f"remove {HUGE}", "`feeds list` shows the ids"),
        ("/briefs", "show 2147483648", "/briefs show"),
    ):
        _, _, url = await service_client.send(group, text, user_id=ADMIN)
        answer = await answer_for(fake_slack, url)
        shown = str(answer["blocks"])
        assert answer["response_type"] == "ephemeral", text[:40]
        assert "went wrong" not in shown and "digits" not in shown, shown[:300]
        assert usage in shown, shown[:300]
        assert len(shown) < 2000  # the number is not echoed back whole
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
