"""Stories end to end: the whole bot (`run_bot`: polls, analysis, story matching, dispatcher,
Discord and Slack adapters) against three feeds, the fake Discord and the fake Slack.

Three outlets (two English, one Korean) publish one story within an hour, in our own words
(tests/fixtures/stories/reports.toml). A channel subscribed as usual gets one message, edited
twice to list the other two outlets; a channel subscribed with every_report gets three."""

from __future__ import annotations

import asyncio
import io
import json
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console

from koreapage_bot.bootstrap import open_bot, run_bot
from koreapage_bot.config import load_settings
from tests.contract.discord_spec import validate_all
from tests.contract.slack_spec import assert_valid_post_message
from tests.e2e.test_both_platforms import (
    SECRET,
    SLACK_ADMIN,
    discord_command,
    slack_command,
    wait_until,
)
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.feed_server import FeedServer, Item
from tests.fakes.slack_server import FakeSlack
from tests.integration.stories.evaluation import REPORTS

SLACK_STORY, SLACK_EVERY = "C0ALLIANCE", "C0EVERYONE"
OUTLETS = {  # feed path -> (outlet, invented report)
    "/wire.xml": ("Capital Wire", "sma-r2-wire"),
    "/ko.xml": ("수도통신", "sma-r2-ko"),
    "/daily.xml": ("Harbor Daily", "sma-r2-daily"),
}


def items() -> dict[str, Item]:
    raw = {r["key"]: r for r in tomllib.loads(REPORTS.read_text(encoding="utf-8"))["report"]}
    start = datetime.now(UTC) - timedelta(minutes=50)
    out = {}
    for n, (path, (_, key)) in enumerate(OUTLETS.items()):
        r = raw[key]
        out[path] = Item(
            r["title"],
            link=f"https://news.example{path.removesuffix('.xml')}/{key}",
            guid=key,
            published=start + timedelta(minutes=20 * n),
            description=f"<p>{r['text']}</p>",
        )
    return out


def fields(message: dict[str, Any]) -> dict[str, str]:
    return {f["name"]: f["value"] for f in message["embeds"][0].get("fields", [])}


async def test_three_outlets_make_one_message_edited_twice_or_three_with_every_report(
    tmp_path: Path,
) -> None:
    async with FeedServer() as feeds, FakeDiscord() as discord, FakeSlack() as slack:
        for channel in (SLACK_STORY, SLACK_EVERY):
            slack.add_channel(channel)
        slack.add_user(SLACK_ADMIN, "admin", admin=True)
        routes = {path: feeds.feed(path, []) for path in OUTLETS}
        config = tmp_path / "koreapage.toml"
        config.write_text(
            "[poll]\ntick = 3600\n[analysis]\nfetch_full_text = false\n"
            + "".join(
                f'[[feeds]]\nname = "{name}"\nurl = "{feeds.url(path)}"\n'
                for path, (name, _) in OUTLETS.items()
            ),
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
        story_channel, every_channel = discord.channel_ids
        async with open_bot(load_settings(config, env), console=Console(file=io.StringIO())) as bot:
            stop = asyncio.Event()
            running = asyncio.create_task(run_bot(bot, stop))

            async def baselined() -> bool:
                if running.done():
                    running.result()
                found = await bot.store.feeds.all()
                return len(found) == 3 and all(f.baselined for f in found)

            await wait_until(baselined)
            assert "Subscribed" in await discord_command(discord, "subscribe")
            answer = await discord.inject_interaction(
                name="briefs",
                subcommand="subscribe",
                options={"every_report": True},
                permissions=1 << 5,
                channel_id=every_channel,
            )
            await wait_until(lambda: _answered(discord, answer))
            assert "Subscribed" in json.dumps(await slack_command(bot, slack, "subscribe"))
            reply = await _slack_in(bot, slack, SLACK_EVERY, "subscribe --every-report")
            assert "every report of a story is posted" in json.dumps(reply)

            published = items()
            for n, path in enumerate(OUTLETS, start=1):
                routes[path].set_items([published[path]])
                feed = next(f for f in await bot.store.feeds.all() if f.url.endswith(path))
                await bot.store.feeds.set_next_poll(
                    feed.id, datetime.now(UTC) - timedelta(seconds=1)
                )
                bot.scheduler.wake_polls()

                async def settled(n: int = n) -> bool:
                    rows = await bot.store.outbox.all()
                    return len(rows) == 4 * n and all(r.state.value == "sent" for r in rows)

                await wait_until(settled, timeout=30)
            await asyncio.sleep(0.3)  # anything sent twice would show up by now
            stop.set()
            await asyncio.wait_for(running, timeout=30)

        # One story: every brief joined the first one's.
        # Discord, usual subscription: one message, edited twice.
        [message] = discord.channel_messages(story_channel)
        assert len(discord.revisions[(story_channel, message["id"])]) == 3
        also = fields(message)["Also reported by"]
        assert "수도통신" in also and "Harbor Daily" in also and "Capital Wire" not in also
        # Discord, every_report: three messages, none edited.
        assert len(discord.channel_messages(every_channel)) == 3
        assert all(
            len(discord.revisions[(every_channel, m["id"])]) == 1
            for m in discord.channel_messages(every_channel)
        )
        # Slack likewise.
        [post] = slack.messages_in(SLACK_STORY)
        assert len(slack.revisions[(SLACK_STORY, post["ts"])]) == 3
        final = json.dumps(post["blocks"], ensure_ascii=False)
        assert "수도통신" in final and "Harbor Daily" in final
        assert len(slack.messages_in(SLACK_EVERY)) == 3
        validate_all(discord.requests, skip_if_absent=False)
        for call in slack.calls_to("chat.update"):
            assert_valid_post_message(call.params, "chat.update")


async def _answered(fake: FakeDiscord, payload: dict[str, Any]) -> bool:
    return any(r.status < 300 and r.body for r in fake.responses_to(payload))


async def _slack_in(bot: Any, slack: FakeSlack, channel: str, text: str) -> dict[str, Any]:
    import aiohttp

    from tests.fakes.slack_server import signed_slash_command

    response_url = slack.new_response_url()
    body, headers = signed_slash_command(
        SECRET,
        "/briefs",
        text,
        user_id=SLACK_ADMIN,
        response_url=response_url,
        channel_id=channel,
        team_id=slack.team_id,
    )
    async with aiohttp.ClientSession() as http:
        url = f"http://127.0.0.1:{bot.http.port}/slack/events"
        async with http.post(url, data=body, headers=headers) as resp:
            assert resp.status == 200
    key = response_url.rsplit("/", 1)[-1]

    async def answered() -> bool:
        return any(r.key == key for r in slack.responses)

    await wait_until(answered)
    return next(r.body for r in slack.responses if r.key == key)
