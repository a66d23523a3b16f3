"""The whole bot, running as `koreapage-bot run` runs it (run_bot: scheduler, dispatcher,
Discord and Slack adapters and the HTTP server in one loop), against a local feed server, the
fake Discord and the fake Slack.

Admins subscribe a channel on each platform with slash commands; one new alliance post in the
served feed becomes exactly one Discord message and one Slack message; `/briefs search` finds it
on both platforms; stopping is clean."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from rich.console import Console

from koreapage_bot.bootstrap import Bot, open_bot, run_bot
from koreapage_bot.config import load_settings
from tests.contract.discord_spec import validate_all
from tests.contract.slack_spec import assert_valid_post_message
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.feed_server import FeedServer, Item
from tests.fakes.slack_server import FakeSlack, signed_slash_command
from tests.fixtures.stories import COST_SHARING, FOOD

MANAGE_GUILD = 1 << 5
SECRET = "test-signing-secret"
SLACK_CHANNEL = "C0ALLIANCE"
SLACK_ADMIN = "U0ADMIN01"

OLD = Item(
    FOOD.title,
    link="https://alliance.example/food",
    guid="food-1",
    published=datetime(2026, 4, 1, tzinfo=UTC),
    description=FOOD.html,
)
NEW = Item(
    COST_SHARING.title,
    link="https://alliance.example/cost-sharing",
    guid="cost-1",
    published=datetime(2026, 5, 2, tzinfo=UTC),
    author=COST_SHARING.author,
    description=COST_SHARING.paragraphs[0],
    content_html=COST_SHARING.html,
)


async def wait_until(predicate: Any, timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out waiting")
        await asyncio.sleep(0.05)


async def slack_command(bot: Bot, slack: FakeSlack, text: str) -> dict[str, Any]:
    response_url = slack.new_response_url()
    body, headers = signed_slash_command(
        SECRET,
        "/briefs",
        text,
        user_id=SLACK_ADMIN,
        response_url=response_url,
        channel_id=SLACK_CHANNEL,
        team_id=slack.team_id,
    )
    key = response_url.rsplit("/", 1)[-1]
    async with aiohttp.ClientSession() as http:
        url = f"http://127.0.0.1:{bot.http.port}/slack/events"
        async with http.post(url, data=body, headers=headers) as resp:
            assert resp.status == 200

    async def answered() -> bool:
        return any(r.key == key for r in slack.responses)

    await wait_until(answered)
    return next(r.body for r in slack.responses if r.key == key)


async def discord_command(fake: FakeDiscord, subcommand: str, **options: str) -> str:
    payload = await fake.inject_interaction(
        name="briefs", subcommand=subcommand, options=options, permissions=MANAGE_GUILD
    )

    async def answered() -> bool:
        return any(r.status < 300 and r.body for r in fake.responses_to(payload))

    await wait_until(answered)
    return json.dumps([r.body for r in fake.responses_to(payload)], ensure_ascii=False)


async def test_one_post_reaches_discord_and_slack_once_and_search_finds_it(tmp_path: Path) -> None:
    async with FeedServer() as feeds, FakeDiscord() as discord, FakeSlack() as slack:
        slack.add_channel(SLACK_CHANNEL, "alliance")
        slack.add_user(SLACK_ADMIN, "admin", admin=True)
        route = feeds.feed("/alliance.xml", [OLD])
        config = tmp_path / "koreapage.toml"
        config.write_text(
            "[poll]\ntick = 3600\n[analysis]\nfetch_full_text = false\n"
            f'[[feeds]]\nname = "Alliance Watch"\nurl = "{feeds.url("/alliance.xml")}"\n',
            encoding="utf-8",
        )
        env = {
            "KOREAPAGE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
            "KOREAPAGE_HTTP_HOST": "127.0.0.1",
            "KOREAPAGE_HTTP_PORT": "0",
            "DISCORD_TOKEN": "fake-token",
            "DISCORD_API_BASE": discord.api_base,
            "DISCORD_GATEWAY_URL": discord.gateway_url,
            "DISCORD_GUILD_ID": str(discord.guild_id),
            "DISCORD_GUILD_READY_TIMEOUT": "0.05",
            "SLACK_BOT_TOKEN": slack.bot_token,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": slack.api_url,
        }
        settings = load_settings(config, env)
        console = io.StringIO()
        async with open_bot(settings, console=Console(file=console)) as bot:
            stop = asyncio.Event()
            running = asyncio.create_task(run_bot(bot, stop))

            async def baselined() -> bool:
                if running.done():
                    running.result()
                found = await bot.store.feeds.all()
                return bool(found) and found[0].baselined

            await wait_until(baselined)  # the first tick archived the feed

            answer = await discord_command(discord, "subscribe")
            assert "Subscribed" in answer
            answer_slack = await slack_command(bot, slack, "subscribe")
            assert "Subscribed" in json.dumps(answer_slack)

            route.set_items([NEW, OLD])
            [feed] = await bot.store.feeds.all()
            await bot.store.feeds.set_next_poll(feed.id, datetime.now(UTC) - timedelta(seconds=1))
            bot.scheduler.wake_polls()  # what the poll pipeline does when the feed falls due

            discord_channel = discord.channel_ids[0]

            async def delivered() -> bool:
                return bool(discord.messages.get(discord_channel)) and bool(slack.posts())

            await wait_until(delivered)
            await asyncio.sleep(0.3)  # anything sent twice would show up by now

            found_discord = await discord_command(discord, "search", query="cost sharing")
            found_slack = await slack_command(bot, slack, 'search "cost sharing"')
            stop.set()
            await asyncio.wait_for(running, timeout=30)

        [message] = discord.messages[discord_channel]
        assert message["embeds"][0]["title"] == COST_SHARING.title
        [post] = slack.posts()
        assert post.params["channel"] == SLACK_CHANNEL
        assert COST_SHARING.title in json.dumps(post.params["blocks"], ensure_ascii=False)
        assert_valid_post_message(post.params)
        validate_all(discord.requests, skip_if_absent=False)
        assert COST_SHARING.title in found_discord
        assert COST_SHARING.title in json.dumps(found_slack, ensure_ascii=False)
        assert FOOD.title not in found_discord
        # Chat adapters are on: the console subscription stays quiet.
        assert COST_SHARING.title not in console.getvalue()
