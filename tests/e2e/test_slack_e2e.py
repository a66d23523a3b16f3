"""End to end on Slack: a served feed, the whole bot (bootstrap, poller, analyser, outbox,
dispatcher) and the fake Slack. A new alliance post becomes exactly one chat.postMessage even
through a forced 429, a channel Slack does not know gets its subscription paused with the reason,
and running the bot again sends nothing twice."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console

from koreapage_bot.bootstrap import open_bot, run_once
from koreapage_bot.config import load_settings
from koreapage_bot.ports import SubscriptionSpec
from tests.contract.slack_spec import assert_valid_post_message
from tests.e2e.support import OLD, new_alliance_item, write_config
from tests.fakes.feed_server import FeedServer
from tests.fakes.slack_server import FakeSlack

CHANNEL = "C0ALLIANCE"
GONE = "C0DELETED"  # never created on the fake: chat.postMessage says channel_not_found

NEW = new_alliance_item("")


async def test_new_alliance_post_becomes_one_slack_message(tmp_path: Path) -> None:
    async with FeedServer() as feeds, FakeSlack() as slack:
        slack.add_channel(CHANNEL, "alliance")
        route = feeds.feed("/alliance.xml", [OLD])
        env = {
            "SLACK_BOT_TOKEN": slack.bot_token,
            "SLACK_API_URL": slack.api_url,
            "KOREAPAGE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        }
        settings = load_settings(write_config(tmp_path, feeds.url("/alliance.xml")), env)
        console = Console(file=io.StringIO())

        async with open_bot(settings, console=console) as bot:
            for channel in (CHANNEL, GONE):
                await bot.store.subscriptions.upsert(
                    SubscriptionSpec(platform="slack", channel=channel, workspace=slack.team_id)
                )
            await run_once(bot)  # first fetch: a baseline, nothing is posted
        assert slack.posts() == []

        route.set_items([NEW, OLD])
        slack.force_rate_limit("chat.postMessage", retry_after=0)
        async with open_bot(settings, console=console) as bot:
            feed = (await bot.store.feeds.all())[0]
            await bot.store.feeds.set_next_poll(feed.id, datetime.now(UTC) - timedelta(seconds=1))
            await run_once(bot)
            # The 429 was handed back and rescheduled (Retry-After 0 -> the core's 0.5 s floor).
            rate_limited = [c for c in slack.calls_to("chat.postMessage") if c.status == 429]
            assert len(rate_limited) == 1
            await asyncio.sleep(0.6)
            await bot.dispatcher.drain()
            gone = await bot.store.subscriptions.for_channel("slack", GONE)
            assert gone is not None and gone.state.value == "paused"
            assert gone.paused_reason is not None and "channel_not_found" in gone.paused_reason
        posts = slack.posts()
        assert len(posts) == 1, [p.params.get("text") for p in posts]
        assert posts[0].params["channel"] == CHANNEL
        assert_valid_post_message(posts[0].params)
        assert "USFK and South Korea agree" in str(posts[0].params["blocks"])

        async with open_bot(settings, console=console) as bot:  # a restart
            await run_once(bot)
        assert len(slack.posts()) == 1
