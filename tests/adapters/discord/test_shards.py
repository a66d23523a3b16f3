"""Shards split across processes (DISCORD_SHARD_COUNT, DISCORD_SHARD_IDS): each process's
client identifies with its own shards, hears only its guilds, and so only the process that
owns a guild's shard answers that guild's slash commands. Two adapters stand for two processes
here (the fake gateway routes each guild's events to the shard that owns it, as Discord does)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from koreapage_bot.adapters.discord.client import DiscordAdapter
from tests.adapters.discord.conftest import InTestApi, make_view, settings_for
from tests.fakes.discord_server import FakeDiscord

# Two guilds on different shards of two: (id >> 22) % 2 is 0 for the first, 1 for the other.
GUILD_ON_0 = 700000000000000001 & ~(1 << 22)
GUILD_ON_1 = GUILD_ON_0 | (1 << 22)


@contextlib.asynccontextmanager
async def process(fake: FakeDiscord, shard: int, api: InTestApi) -> AsyncIterator[DiscordAdapter]:
    adapter = DiscordAdapter(
        settings_for(fake, shard_count=2, shard_ids=(shard,), sharded=True), api
    )
    await adapter.start()
    try:
        yield adapter
    finally:
        await adapter.close()


async def test_each_guild_is_answered_by_the_process_that_owns_its_shard() -> None:
    assert FakeDiscord.shard_of(GUILD_ON_0, 2) == 0 and FakeDiscord.shard_of(GUILD_ON_1, 2) == 1
    async with FakeDiscord(guild_id=GUILD_ON_0, extra_guild_ids=(GUILD_ON_1,)) as fake:
        api_0, api_1 = InTestApi([make_view(1)]), InTestApi([make_view(1)])
        async with process(fake, 0, api_0) as first, process(fake, 1, api_1) as second:
            assert sorted(i["shard"] for i in fake.identifies) == [[0, 2], [1, 2]]
            assert first.shards() == {"ids": [0], "count": 2, "ready": True}
            assert second.shards()["ids"] == [1]
            assert first.client is not None and second.client is not None
            assert [g.id for g in first.client.guilds] == [GUILD_ON_0]
            assert [g.id for g in second.client.guilds] == [GUILD_ON_1]

            asked = [
                await fake.inject_interaction(name="briefs", subcommand="latest", guild_id=gid)
                for gid in (GUILD_ON_0, GUILD_ON_1, GUILD_ON_1)
            ]

            async def answered() -> bool:
                return all(fake.responses_to(p) for p in asked)

            async with asyncio.timeout(20):
                while not await answered():
                    await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)  # a second answer would show by now
        # Each interaction answered once, by its guild's process.
        assert [len(fake.responses_to(p)) for p in asked] == [1, 1, 1]
        assert [name for name, *_ in api_0.calls] == ["latest"]
        assert [name for name, *_ in api_1.calls] == ["latest", "latest"]
