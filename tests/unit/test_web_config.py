"""The `[web]` table: defaults, the shipped file, errors that name the key, and what
bootstrap does with it (the archive on the bot's own HTTP server, beside /healthz)."""

from __future__ import annotations

import asyncio
import socket
import tomllib
from pathlib import Path

import aiohttp
import pytest

from koreapage_bot.bootstrap import open_bot, run_bot
from koreapage_bot.config import ConfigError, WebConfig, load_settings, parse_settings

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "config" / "koreapage.toml"
PACKAGED = REPO / "src" / "koreapage_bot" / "defaults" / "koreapage.toml"


def web(table: dict[str, object]) -> WebConfig:
    return parse_settings({"web": table}, {}, "<test>", None).web


def test_off_unless_enabled() -> None:
    assert parse_settings({}, {}, "<test>", None).web == WebConfig()
    assert WebConfig().enabled is False and WebConfig().base_url is None


def test_values_and_errors() -> None:
    config = web({"enabled": True, "base_url": "https://briefs.example.org/", "page_size": 50})
    assert config == WebConfig(True, "https://briefs.example.org", 50, WebConfig().title)
    for table, named in [
        ({"enabled": "yes"}, "web.enabled"),
        ({"page_size": 0}, "web.page_size"),
        ({"page_size": 101}, "web.page_size"),
        ({"base_url": "ftp://files.example"}, "web.base_url"),
        ({"base_url": "https://x.example/?a=1"}, "web.base_url"),
        ({"title": "  "}, "web.title"),
        ({"port": 80}, "web.port"),
    ]:
        with pytest.raises(ConfigError, match=named):
            web(table)


def test_shipped_config_serves_the_archive_and_the_packaged_copy_matches() -> None:
    assert load_settings(SHIPPED, env={}).web.enabled is True
    shipped = tomllib.loads(SHIPPED.read_text(encoding="utf-8"))
    packaged = tomllib.loads(PACKAGED.read_text(encoding="utf-8"))
    # The packaged default is the shipped file, except that it uses the packaged taxonomy.
    shipped["analysis"].pop("issues_file")
    assert packaged == shipped
    assert "[web]" in PACKAGED.read_text(encoding="utf-8")


async def test_bootstrap_mounts_the_archive_beside_healthz(tmp_path: Path) -> None:
    env = {
        "KOREAPAGE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'b.db'}",
        "KOREAPAGE_HTTP_HOST": "127.0.0.1",
        "KOREAPAGE_HTTP_PORT": "0",
    }
    for enabled, front_page in ((True, 200), (False, 404)):
        settings = parse_settings({"web": {"enabled": enabled}}, env, "<test>", None)
        async with open_bot(settings) as bot:
            assert bot.http is not None
            async with bot.http, aiohttp.ClientSession() as session:
                async with session.get(bot.http.base_url + "/") as resp:
                    assert resp.status == front_page
                    if enabled:
                        assert "No briefs yet" in await resp.text()
                async with session.get(bot.http.base_url + "/healthz") as resp:
                    assert resp.status == 200


async def test_the_archive_alone_starts_the_http_server(tmp_path: Path) -> None:
    env = {"KOREAPAGE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'b.db'}"}
    settings = parse_settings({"web": {"enabled": True}}, env, "<test>", None)
    async with open_bot(settings) as bot:
        assert bot.http is not None  # no chat adapter asked for one: the archive did
        assert (bot.http.settings.host, bot.http.settings.port) == ("127.0.0.1", 8080)
    async with open_bot(parse_settings({}, env, "<test>", None)) as bot:
        assert bot.http is None
    async with open_bot(settings, chat=False) as bot:  # CLI commands serve nothing
        assert bot.http is None


async def test_a_taken_port_stops_the_bot_with_a_message(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {
            "KOREAPAGE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'b.db'}",
            "KOREAPAGE_HTTP_PORT": str(port),
        }
        settings = parse_settings({"web": {"enabled": True}}, env, "<test>", None)
        async with open_bot(settings) as bot:
            with pytest.raises(ConfigError, match=f"cannot serve HTTP on 127.0.0.1:{port}") as e:
                await run_bot(bot, asyncio.Event())
    assert "KOREAPAGE_HTTP_PORT" in str(e.value) and "[web] enabled = false" in str(e.value)
