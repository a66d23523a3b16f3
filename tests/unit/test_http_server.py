"""The bot's own HTTP server: /healthz, mounted routes, port 0, settings from the environment."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp import web

from koreapage_bot.config import ConfigError, ServerConfig, server_config
from koreapage_bot.http import HttpServer


def test_settings_from_env() -> None:
    assert server_config({}) == ServerConfig("127.0.0.1", 8080, requested=False)
    env = {"KOREAPAGE_HTTP_HOST": "0.0.0.0", "KOREAPAGE_HTTP_PORT": "3000"}
    assert server_config(env) == ServerConfig("0.0.0.0", 3000, requested=True)
    with pytest.raises(ConfigError, match="KOREAPAGE_HTTP_PORT"):
        server_config({"KOREAPAGE_HTTP_PORT": "eighty"})
    with pytest.raises(ConfigError, match="range"):
        server_config({"KOREAPAGE_HTTP_PORT": "70000"})


async def test_healthz_and_mounted_routes() -> None:
    async def echo(request: web.Request) -> web.Response:
        return web.Response(text="got " + await request.text())

    server = HttpServer(ServerConfig(port=0))
    server.mount("/early", echo)  # before start
    async with server, aiohttp.ClientSession() as session:
        assert server.port > 0
        server.mount("/late", echo, methods=("POST", "PUT"))  # after start
        async with session.get(f"{server.base_url}/healthz") as resp:
            assert resp.status == 200
            assert await resp.json() == {"status": "ok", "checks": {}}
        for path in ("/early", "/late"):
            async with session.post(server.base_url + path, data="x") as resp:
                assert (resp.status, await resp.text()) == (200, "got x")
        async with session.get(f"{server.base_url}/early") as resp:
            assert resp.status == 405
        async with session.post(f"{server.base_url}/nowhere") as resp:
            assert resp.status == 404
        server.unmount("/late")
        async with session.post(f"{server.base_url}/late") as resp:
            assert resp.status == 404


async def test_failing_health_check_is_503() -> None:
    async def fine() -> tuple[bool, str]:
        return True, "fine"

    async def broken() -> tuple[bool, str]:
        raise RuntimeError("db gone")

    async with HttpServer(ServerConfig(port=0)) as server, aiohttp.ClientSession() as session:
        server.add_health_check("db", fine)
        async with session.get(f"{server.base_url}/healthz") as resp:
            assert resp.status == 200
        server.add_health_check("queue", broken)
        async with session.get(f"{server.base_url}/healthz") as resp:
            body = await resp.json()
            assert resp.status == 503
        assert body["status"] == "degraded"
        assert body["checks"]["db"] == {"ok": True, "detail": "fine"}
        assert body["checks"]["queue"]["ok"] is False
        assert "db gone" in body["checks"]["queue"]["detail"]


def test_mount_rejects_duplicates_and_healthz() -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response()

    server = HttpServer()
    server.mount("/slack/events", handler)
    with pytest.raises(ValueError):
        server.mount("/slack/events", handler)
    with pytest.raises(ValueError):
        server.mount("/healthz", handler)
    with pytest.raises(RuntimeError):
        _ = server.port


async def test_close_stops_listening() -> None:
    server = HttpServer(ServerConfig(port=0))
    await server.start()
    url = f"{server.base_url}/healthz"
    await server.close()
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectionError):
            async with session.get(url):
                pass


async def test_healthz_reports_info_beside_the_checks() -> None:
    """This process's role and shards ride along in /healthz (a failing provider says so)."""
    server = HttpServer(ServerConfig(port=0))

    async def database() -> tuple[bool, str]:
        return True, "reachable (postgresql)"

    def broken() -> object:
        raise RuntimeError("no client")

    server.add_health_check("database", database)
    server.set_info("role", lambda: {"leader": True})
    server.set_info("discord_shards", broken)
    async with (
        server,
        aiohttp.ClientSession() as http,
        http.get(f"{server.base_url}/healthz") as resp,
    ):
        body = await resp.json()
        assert resp.status == 200
    assert body["checks"]["database"] == {"ok": True, "detail": "reachable (postgresql)"}
    assert body["role"] == {"leader": True}
    assert body["discord_shards"] == "RuntimeError: no client"
