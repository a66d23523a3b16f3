"""End to end on Discord: a served feed, the whole bot (bootstrap, poller, analyser, outbox,
dispatcher, CommandService) and the fake Discord that the real discord.Client logs into.

A new alliance post becomes exactly one message with the expected embed, even through forced
429s; a channel the bot may not post in gets its subscription paused with the reason; a
restart sends nothing twice; slash commands run on the real command service."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console

from koreapage_bot.adapters.discord.client import DiscordAdapter
from koreapage_bot.bootstrap import open_bot, run_once
from koreapage_bot.config import Settings, load_settings
from koreapage_bot.ports import SubscriptionSpec
from tests.contract.discord_spec import validate_all
from tests.e2e.support import OLD, new_alliance_item, write_config
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.feed_server import FeedServer

MESSAGES = "/channels/{channel_id}/messages"
CALLBACK = "/interactions/{interaction_id}/{interaction_token}/callback"
NO_ACCESS = 710000000000000099  # the bot lacks Send Messages here
MANAGE_GUILD = 1 << 5

NEW = new_alliance_item("@everyone")


def _settings(tmp_path: Path, fake: FakeDiscord, feed_url: str) -> Settings:
    config = write_config(tmp_path, feed_url)
    env = {
        "DISCORD_TOKEN": "fake-token",
        "DISCORD_API_BASE": fake.api_base,
        "DISCORD_GATEWAY_URL": fake.gateway_url,
        "DISCORD_GUILD_ID": str(fake.guild_id),
        "DISCORD_GUILD_READY_TIMEOUT": "0.05",
        "KOREAPAGE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
    }
    return load_settings(config, env)


async def test_new_alliance_post_becomes_one_discord_message(tmp_path: Path) -> None:
    async with FeedServer() as feeds, FakeDiscord() as fake:
        good = fake.channel_ids[0]
        fake.channel_errors[NO_ACCESS] = (403, 50013, "Missing Permissions")
        route = feeds.feed("/alliance.xml", [OLD])
        settings = _settings(tmp_path, fake, feeds.url("/alliance.xml"))
        console = Console(file=io.StringIO())

        async with open_bot(settings, console=console) as bot:
            for channel in (good, NO_ACCESS):
                await bot.store.subscriptions.upsert(
                    SubscriptionSpec(
                        platform="discord", channel=str(channel), workspace=str(fake.guild_id)
                    )
                )
            await run_once(bot)  # first fetch: a baseline, nothing is posted
        assert not fake.calls("POST", MESSAGES)

        route.set_items([NEW, OLD])
        # A Cloudflare-style 429 (no `Via`): discord.py gives up, the core reschedules. Then a
        # Discord 429 that discord.py waits out itself.
        fake.fail_next("POST", MESSAGES, status=429, retry_after=0, via=False)
        fake.fail_next("POST", MESSAGES, status=429, retry_after=0.05)
        async with open_bot(settings, console=console) as bot:
            feed = (await bot.store.feeds.all())[0]
            await bot.store.feeds.set_next_poll(feed.id, datetime.now(UTC) - timedelta(seconds=1))
            await run_once(bot)
            # Whichever channel drew the first 429, it was handed back: wait out the 0.5 s floor.
            await asyncio.sleep(0.6)
            for adapter in bot.adapters:
                await adapter.start()
            try:
                await bot.dispatcher.drain()
            finally:
                for adapter in bot.adapters:
                    await adapter.close()
            paused = await bot.store.subscriptions.for_channel("discord", str(NO_ACCESS))
            assert paused is not None and paused.state.value == "paused"
            assert paused.paused_reason is not None and "50013" in paused.paused_reason

        (message,) = fake.messages[good]
        calls = fake.calls("POST", MESSAGES)
        assert [c.status for c in calls].count(429) == 2  # both forced 429s were met
        good_calls = [c.status for c in calls if c.params["channel_id"] == str(good)]
        assert good_calls.count(200) == 1 and good_calls[-1] == 200
        (embed,) = message["embeds"]
        assert embed["title"] == NEW.title and embed["url"] == NEW.link
        assert embed["author"]["name"] == "Jane Doe"
        assert embed["footer"]["text"].startswith("Brief ")
        assert "Cost" in str(embed["fields"]) or "cost" in str(embed["fields"]).lower()
        assert len(embed["description"]) <= 4096
        bodies = [c.body for c in fake.calls("POST", MESSAGES)]
        assert all(b["allowed_mentions"] == {"parse": []} for b in bodies)
        assert all(b["nonce"].startswith("kp-") and b["enforce_nonce"] for b in bodies)
        validate_all(fake.requests, skip_if_absent=False)

        async with open_bot(settings, console=console) as bot:  # a restart
            await run_once(bot)
        assert len(fake.messages[good]) == 1
        assert NO_ACCESS not in fake.messages


async def test_slash_commands_on_the_real_service(tmp_path: Path) -> None:
    async with FeedServer() as feeds, FakeDiscord() as fake:
        feeds.feed("/alliance.xml", [OLD])
        settings = _settings(tmp_path, fake, feeds.url("/alliance.xml"))
        async with open_bot(settings, console=Console(file=io.StringIO())) as bot:
            (adapter,) = bot.adapters
            assert isinstance(adapter, DiscordAdapter)
            await adapter.start()
            try:

                async def ask(**kwargs: object) -> dict[str, object]:
                    p = await fake.inject_interaction(**kwargs)  # type: ignore[arg-type]
                    await fake.wait_for(lambda: bool(fake.responses_to(p)))
                    body = fake.responses_to(p)[0].body
                    assert isinstance(body, dict)
                    return body

                member = await ask(
                    name="briefs",
                    subcommand="subscribe",
                    options={"issues": "usfk"},
                    permissions=1 << 11,
                )
                assert member["data"]["flags"] & 64  # type: ignore[index]
                channel = str(fake.channel_ids[0])
                assert await bot.store.subscriptions.for_channel("discord", channel) is None

                admin = await ask(
                    name="briefs",
                    subcommand="subscribe",
                    options={"issues": "usfk"},
                    permissions=MANAGE_GUILD,
                )
                assert admin["type"] == 4
                sub = await bot.store.subscriptions.for_channel("discord", channel)
                assert sub is not None and sub.issues == ("usfk",)
                assert sub.workspace == str(fake.guild_id)

                latest = await ask(name="briefs", subcommand="latest")
                search = await ask(name="briefs", subcommand="search", options={"query": "sma"})
                for answer in (latest, search):
                    assert answer["type"] in (4, 5)
                choices = await ask(
                    name="briefs",
                    subcommand="latest",
                    options={"issue": "us"},
                    autocomplete_focus="issue",
                )
                assert choices["type"] == 8
                values = [c["value"] for c in choices["data"]["choices"]]  # type: ignore[index]
                assert "usfk" in values
            finally:
                await adapter.close()
        validate_all(fake.requests, skip_if_absent=False)
