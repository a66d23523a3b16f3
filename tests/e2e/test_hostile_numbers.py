"""Huge numbers in Discord slash-command options, end to end (the whole bot, the real
discord.py, the fake Discord, which like any client may send what Discord's own checks would
stop): each gets a clear usage answer, never "Something went wrong" nor a traceback."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest
from rich.console import Console

from koreapage_bot.adapters.discord.client import DiscordAdapter
from koreapage_bot.bootstrap import open_bot, run_once
from tests.e2e.hostile import ask, settings_for
from tests.e2e.support import OLD
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.feed_server import FeedServer

MANAGE_GUILD = 1 << 5
HUGE = "9" * 5000  # int() of more than 4300 digits raises in Python 3.11+


async def test_huge_ids_and_counts_get_usage_answers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with FeedServer() as feeds, FakeDiscord() as fake:
        feeds.feed("/alliance.xml", [OLD])
        settings = settings_for(tmp_path, fake, feeds.url("/alliance.xml"))
        async with open_bot(settings, console=Console(file=io.StringIO())) as bot:
            await run_once(bot)
            (adapter,) = bot.adapters
            assert isinstance(adapter, DiscordAdapter)
            await adapter.start()
            caplog.set_level(logging.INFO)
            try:
                answers = {
                    "show": await ask(fake, name="briefs", subcommand="show", options={"id": HUGE}),
                    "remove": await ask(
                        fake,
                        name="feeds",
                        subcommand="remove",
                        options={"feed": HUGE},
                        permissions=MANAGE_GUILD,
                    ),
                    "latest": await ask(
                        fake, name="briefs", subcommand="latest", options={"count": 10**30}
                    ),
                }
            finally:
                await adapter.close()

    for name, answer in answers.items():
        content = answer.get("content") or ""
        assert "went wrong" not in content and "not understood" not in content, (name, content)
        assert "digits" not in content and len(content) < 500, (name, content[:300])
        assert answer["flags"] & 64, name  # a usage answer is for the asker only
    assert "not a brief id" in answers["show"]["content"]
    assert "No feed" in answers["remove"]["content"]
    assert "between 1 and" in answers["latest"]["content"]
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
