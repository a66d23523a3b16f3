"""What the hostile-input end-to-end tests share: the bot's settings on the fake Discord, a
poll-and-deliver step, and a slash command asked through the fake gateway."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from koreapage_bot.bootstrap import Bot, run_once
from koreapage_bot.config import Settings, load_settings
from tests.e2e.support import write_config
from tests.fakes.discord_server import FakeDiscord


def settings_for(tmp_path: Path, fake: FakeDiscord, feed_url: str) -> Settings:
    env = {
        "DISCORD_TOKEN": "fake-token",
        "DISCORD_API_BASE": fake.api_base,
        "DISCORD_GATEWAY_URL": fake.gateway_url,
        "DISCORD_GUILD_ID": str(fake.guild_id),
        "DISCORD_GUILD_READY_TIMEOUT": "0.05",
        "KOREAPAGE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
    }
    return load_settings(write_config(tmp_path, feed_url), env)


async def deliver_all(bot: Bot) -> None:
    """Poll the (due) feed, then send everything the outbox holds through the real client."""
    feed = (await bot.store.feeds.all())[0]
    await bot.store.feeds.set_next_poll(feed.id, datetime.now(UTC) - timedelta(seconds=1))
    await run_once(bot)
    for adapter in bot.adapters:
        await adapter.start()
    try:
        await bot.dispatcher.drain()
    finally:
        for adapter in bot.adapters:
            await adapter.close()


def _message_of(body: Any) -> dict[str, Any] | None:
    """The message an interaction response carries (callback `data`, a follow-up, an edit)."""
    if not isinstance(body, dict):
        return None
    data = body.get("data", body) if body.get("type") in (4, 5) else body
    if isinstance(data, dict) and (data.get("content") or data.get("embeds")):
        return data
    return None


async def ask(fake: FakeDiscord, **kwargs: Any) -> dict[str, Any]:
    """Run a slash command; its answer (the message, deferred or not). Every response the
    bot made to it must have been accepted."""
    payload = await fake.inject_interaction(**kwargs)

    def answered() -> bool:
        return any(r.status and _message_of(r.body) for r in fake.responses_to(payload))

    await fake.wait_for(answered)
    responses = fake.responses_to(payload)
    assert all(r.status < 300 for r in responses), [(r.status, r.body) for r in responses]
    return next(m for r in responses if (m := _message_of(r.body)) is not None)
