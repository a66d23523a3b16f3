"""Slack requests replayed to another process, end to end: two bots built by bootstrap on one
database, each serving /slack/events; a signed `/briefs subscribe` sent to the first and
replayed to the second within Slack's 5 minutes runs once."""

from __future__ import annotations

import io
from pathlib import Path

import aiohttp
from rich.console import Console

from koreapage_bot.bootstrap import open_bot
from koreapage_bot.config import load_settings
from tests.e2e.support import write_config
from tests.fakes.slack_server import FakeSlack, signed_slash_command

SECRET = "test-signing-secret"
CHANNEL = "C0ALLIANCE"
ADMIN = "U0ADMIN01"


async def test_a_replay_to_another_process_is_refused(tmp_path: Path) -> None:
    async with FakeSlack() as slack:
        slack.add_channel(CHANNEL, "alliance")
        slack.add_user(ADMIN, "admin", admin=True)
        env = {
            "KOREAPAGE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
            "KOREAPAGE_HTTP_HOST": "127.0.0.1",
            "KOREAPAGE_HTTP_PORT": "0",
            "SLACK_BOT_TOKEN": slack.bot_token,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": slack.api_url,
        }
        settings = load_settings(write_config(tmp_path, "https://feeds.example.org/a.xml"), env)
        response_url = slack.new_response_url()
        body, headers = signed_slash_command(
            SECRET,
            "/briefs",
            "subscribe usfk",
            user_id=ADMIN,
            response_url=response_url,
            channel_id=CHANNEL,
            team_id=slack.team_id,
        )
        key = response_url.rsplit("/", 1)[-1]
        statuses = []
        console = Console(file=io.StringIO())
        async with open_bot(settings, console=console) as one, open_bot(settings) as two:
            for bot in (one, two):
                await bot.http.start()
                for adapter in bot.adapters:
                    await adapter.start()
            try:
                async with aiohttp.ClientSession() as http:
                    for bot in (one, two):
                        url = f"http://127.0.0.1:{bot.http.port}/slack/events"
                        async with http.post(url, data=body.encode(), headers=headers) as resp:
                            statuses.append(resp.status)
                        if bot is one:
                            await slack.wait_until(
                                lambda: any(r.key == key for r in slack.responses)
                            )
                subscribed = await one.store.subscriptions.for_channel("slack", CHANNEL)
            finally:
                for bot in (one, two):
                    for adapter in bot.adapters:
                        await adapter.close()
                    await bot.http.close()

        assert statuses == [200, 401]
        assert subscribed is not None and subscribed.issues == ("usfk",)
        assert len(slack.responses) == 1  # one answer: the replay did not run
