"""Malformed chat-adapter variables stop the bot with a message naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from koreapage_bot.config import ConfigError, parse_settings


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"DISCORD_TOKEN": "t", "DISCORD_GUILD_ID": "abc"}, "DISCORD_GUILD_ID"),
        ({"DISCORD_TOKEN": "t", "DISCORD_DEFER_AFTER": "soon"}, "DISCORD_DEFER_AFTER"),
        ({"SLACK_BOT_TOKEN": "x", "SLACK_ADMIN_CACHE_SECONDS": "a while"}, "SLACK_ADMIN_CACHE"),
        ({"SLACK_BOT_TOKEN": "x", "KOREAPAGE_HTTP_PORT": "eighty"}, "KOREAPAGE_HTTP_PORT"),
    ],
)
def test_bad_adapter_variables_are_configuration_errors(
    tmp_path: Path, env: dict[str, str], named: str
) -> None:
    env = {**env, "KOREAPAGE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'b.db'}"}
    with pytest.raises(ConfigError, match=named):
        parse_settings({}, env, "<test>", None)
