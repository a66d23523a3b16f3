"""An environment the bot cannot work in is a `ConfigError` naming the variable (the CLI turns
it into exit 2 and one message; tests/e2e/test_cli_hostile.py checks that end to end)."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest
from rich.console import Console

from koreapage_bot.bootstrap import open_bot, run_bot
from koreapage_bot.config import ConfigError, Settings, load_settings

# A host name no resolver can answer, refused before any lookup is sent (a label over 63
# characters): nothing leaves loopback.
UNRESOLVABLE = "a" * 64 + ".example"


def settings_for(tmp_path: Path, **env: str) -> Settings:
    config = tmp_path / "koreapage.toml"
    config.write_text("[analysis]\nfetch_full_text = false\n", encoding="utf-8")
    base = {"KOREAPAGE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"}
    return load_settings(config, {**base, **env})


async def test_a_database_that_cannot_be_opened_names_the_variable(tmp_path: Path) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a database\n", encoding="utf-8")
    cases = {
        "unresolvable": f"postgresql+asyncpg://bot:pw-123@{UNRESOLVABLE}/bot",
        "a file where a directory should be": f"sqlite+aiosqlite:///{a_file}/data/bot.db",
        "a directory": f"sqlite+aiosqlite:///{tmp_path}",
        "not a database": f"sqlite+aiosqlite:///{a_file}",
    }
    for case, url in cases.items():
        settings = settings_for(tmp_path, KOREAPAGE_DATABASE_URL=url)
        with pytest.raises(ConfigError) as caught:
            async with open_bot(settings, console=Console(file=io.StringIO()), chat=False):
                pass
        message = str(caught.value)
        assert "KOREAPAGE_DATABASE_URL" in message and "cannot open" in message, case
        assert "pw-123" not in message, case
    assert a_file.read_text(encoding="utf-8") == "not a database\n"


@pytest.mark.parametrize("host", ["192.0.2.1", UNRESOLVABLE], ids=["absent", "unresolvable"])
async def test_an_http_host_the_bot_cannot_listen_on_names_the_variable(
    tmp_path: Path, host: str
) -> None:
    # 192.0.2.1 (TEST-NET-1) is no address of this machine: the bind fails, nothing is sent.
    settings = settings_for(tmp_path, KOREAPAGE_HTTP_HOST=host, KOREAPAGE_HTTP_PORT="0")
    async with open_bot(settings, console=Console(file=io.StringIO())) as bot:
        with pytest.raises(ConfigError) as caught:
            await asyncio.wait_for(run_bot(bot, asyncio.Event()), 30)
    assert "KOREAPAGE_HTTP_HOST" in str(caught.value)
