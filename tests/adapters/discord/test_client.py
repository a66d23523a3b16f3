"""The real discord.Client logs into the fake Discord and syncs its slash commands."""

from __future__ import annotations

from koreapage_bot.adapters.discord.client import DiscordAdapter
from koreapage_bot.config import discord_config
from tests.adapters.discord.conftest import InTestApi, check_bodies, settings_for
from tests.fakes.discord_server import FakeDiscord

GUILD_COMMANDS = "/applications/{application_id}/guilds/{guild_id}/commands"
GLOBAL_COMMANDS = "/applications/{application_id}/commands"
MANAGE_GUILD = 1 << 5


def _sub(cmd: dict[str, object], name: str) -> dict[str, object]:
    options = cmd["options"]
    assert isinstance(options, list)
    return next(o for o in options if o["name"] == name)


async def test_logs_in_through_the_env_overrides_and_syncs_to_the_guild(
    fake: FakeDiscord, adapter: DiscordAdapter
) -> None:
    assert adapter.client is not None and adapter.client.user is not None
    assert adapter.client.user.id == fake.bot_id
    assert adapter.client.get_guild(fake.guild_id) is not None  # GUILD_CREATE was read
    # Only the non-privileged `guilds` intent (bit 0).
    assert [i["intents"] for i in fake.identifies] == [1]

    puts = fake.calls("PUT", GUILD_COMMANDS)
    assert len(puts) == 1 and not fake.calls("PUT", GLOBAL_COMMANDS)
    assert puts[0].params["guild_id"] == str(fake.guild_id)
    by_name = {c["name"]: c for c in puts[0].body}
    assert set(by_name) == {"briefs", "feeds"}
    briefs, feeds = by_name["briefs"], by_name["feeds"]
    assert {o["name"] for o in briefs["options"]} == {
        "latest",
        "search",
        "issue",
        "show",
        "subscribe",
        "unsubscribe",
        "subscriptions",
        "digest",
    }
    assert {o["name"] for o in feeds["options"]} == {"add", "remove", "list"}
    assert int(feeds["default_member_permissions"]) == MANAGE_GUILD
    assert briefs["default_member_permissions"] is None  # queries are for everyone
    latest = _sub(briefs, "latest")
    opts = {o["name"]: o for o in latest["options"]}
    assert opts["count"]["type"] == 4 and opts["count"]["min_value"] == 1
    assert opts["count"]["max_value"] == 10 and not opts["count"]["required"]
    assert opts["issue"]["autocomplete"] is True
    assert _sub(briefs, "subscribe")["options"][0]["autocomplete"] is True
    assert _sub(briefs, "search")["options"][0]["required"] is True
    assert adapter.synced is True
    check_bodies(fake)


async def test_restart_does_not_resync_unchanged_commands(
    fake: FakeDiscord, api: InTestApi
) -> None:
    for _ in range(2):
        bot = DiscordAdapter(settings_for(fake, guild_id=None), api)
        await bot.start()
        await bot.close()
    puts = fake.calls("PUT", GLOBAL_COMMANDS)
    assert len(puts) == 1  # the second start compared definitions and skipped the sync
    assert len(fake.calls("GET", GLOBAL_COMMANDS)) == 2
    assert len(fake.identifies) == 2


async def test_changed_definitions_are_synced_again(fake: FakeDiscord, api: InTestApi) -> None:
    bot = DiscordAdapter(settings_for(fake, guild_id=None), api)
    await bot.start()
    await bot.close()
    fake.commands[None][0]["description"] = "an older description"
    bot = DiscordAdapter(settings_for(fake, guild_id=None), api)
    await bot.start()
    await bot.close()
    assert len(fake.calls("PUT", GLOBAL_COMMANDS)) == 2
    assert bot.synced is True


async def test_sharded_client_finds_the_gateway_through_the_rest_base(
    fake: FakeDiscord, api: InTestApi
) -> None:
    bot = DiscordAdapter(settings_for(fake, sharded=True), api)
    await bot.start()
    try:
        assert fake.calls("GET", "/gateway/bot")
        assert fake.identifies and fake.identifies[0]["shard"] == [0, 1]
    finally:
        await bot.close()


async def test_close_disconnects_from_the_gateway(fake: FakeDiscord, api: InTestApi) -> None:
    bot = DiscordAdapter(settings_for(fake), api)
    await bot.start()
    assert fake.connected
    await bot.close()
    await fake.wait_for(lambda: not fake.connected)
    assert bot.client is not None and bot.client.is_closed()


async def test_resumes_after_a_dropped_gateway(fake: FakeDiscord, adapter: DiscordAdapter) -> None:
    await fake.drop_gateway()
    await fake.wait_for(lambda: len(fake.resumes) == 1 and fake.connected)
    assert fake.resumes[0]["token"] == "fake-token"
    assert len(fake.identifies) == 1


def test_settings_from_env() -> None:
    s = discord_config(
        {
            "DISCORD_TOKEN": " t0ken ",
            "DISCORD_API_BASE": "http://proxy.internal/api/v10/",
            "DISCORD_GATEWAY_URL": "wss://gw.internal/",
            "DISCORD_GUILD_ID": "42",
            "DISCORD_SHARDED": "yes",
            "DISCORD_MAX_RATELIMIT_TIMEOUT": "5",
            "DISCORD_WEBHOOKS": "1",
        }
    )
    assert s.token == "t0ken"
    assert s.api_base == "http://proxy.internal/api/v10"
    assert s.gateway_url == "wss://gw.internal/" and s.guild_id == 42 and s.sharded
    assert s.max_ratelimit_timeout == 30.0  # discord.py's floor
    assert s.allow_webhooks and s.allow_threads
    assert "t0ken" not in repr(s)
    empty = discord_config({})
    assert not empty.token and empty.api_base is None and empty.guild_id is None
