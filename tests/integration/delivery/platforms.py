"""The real publishers against the fake Discord and the fake Slack, for the dispatcher's tests:
a running Discord adapter, a Slack publisher, and a budget clock the test moves by hand."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

from koreapage_bot.adapters.discord.client import DiscordAdapter
from koreapage_bot.adapters.slack.publisher import SlackPublisher, publishing_client
from koreapage_bot.config import discord_config
from tests.adapters.discord.conftest import InTestApi
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.slack_server import FakeSlack


@contextlib.asynccontextmanager
async def discord_adapter(fake: FakeDiscord, **env: str) -> AsyncIterator[DiscordAdapter]:
    """The Discord adapter logged into `fake` (its publisher is what the dispatcher uses)."""
    settings = discord_config(
        {
            "DISCORD_TOKEN": "fake-token",
            "DISCORD_API_BASE": fake.api_base,
            "DISCORD_GATEWAY_URL": fake.gateway_url,
            "DISCORD_GUILD_ID": str(fake.guild_id),
            "DISCORD_START_TIMEOUT": "20",
            "DISCORD_GUILD_READY_TIMEOUT": "0.05",
            **env,
        }
    )
    adapter = DiscordAdapter(settings, InTestApi([]))
    await adapter.start()
    try:
        yield adapter
    finally:
        await adapter.close()


def slack_publisher(fake: FakeSlack) -> SlackPublisher:
    return SlackPublisher(publishing_client(fake.bot_token, fake.api_url))


class ManualClock:
    """A rate budget's clock that moves only when the test says so: `sleep` returns once the
    clock has reached its deadline. With `auto` on, sleeps move the clock themselves."""

    def __init__(self) -> None:
        self.now = 0.0
        self.auto = False
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def __call__(self) -> float:
        return self.now

    @property
    def deadlines(self) -> list[float]:
        return sorted(d for d, f in self._sleepers if not f.done())

    async def sleep(self, seconds: float) -> None:
        if self.auto:
            await asyncio.sleep(0)
            self.now += max(0.0, seconds)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (self.now + max(0.0, seconds), future)
        self._sleepers.append(entry)
        try:
            await future
        finally:
            self._sleepers.remove(entry)

    def advance_to(self, when: float) -> None:
        self.now = max(self.now, when)
        for deadline, future in list(self._sleepers):
            if deadline <= self.now and not future.done():
                future.set_result(None)

    def run_free(self) -> None:
        """From now on time moves by itself; wake every sleeper."""
        self.auto = True
        latest = max([d for d, _ in self._sleepers], default=self.now)
        self.advance_to(latest)


async def until(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    """Wait for something the bot does in the background (a bound, not a timing check)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)
