"""The bot's own small web server: `/healthz` plus routes that adapters mount (`/slack/events`).

Platform-neutral: adapters register plain aiohttp handlers on it. Routes live in a table that is
consulted per request, so an adapter may mount its route before or after the server starts
(aiohttp freezes its router once running; bootstrap should not have to care about the order).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from types import TracebackType
from typing import Self

from aiohttp import web

from koreapage_bot.config import ServerConfig

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# A health check answers (ok, detail); any exception counts as not ok.
HealthCheck = Callable[[], Awaitable[tuple[bool, str]]]


class HttpServer:
    """aiohttp server with a mount table. Use `async with` or `start()` / `close()`."""

    def __init__(self, settings: ServerConfig | None = None) -> None:
        self.settings = settings or ServerConfig()
        self._routes: dict[str, tuple[frozenset[str], Handler]] = {}
        self._fallback: Handler | None = None
        self._health: dict[str, HealthCheck] = {}
        self._info: dict[str, Callable[[], object]] = {}
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._port: int | None = None

    # -- mounting -----------------------------------------------------------------------------

    def mount(self, path: str, handler: Handler, methods: Iterable[str] = ("POST",)) -> None:
        if not path.startswith("/"):
            raise ValueError(f"path must start with '/': {path!r}")
        if path == "/healthz" or path in self._routes:
            raise ValueError(f"route already mounted: {path}")
        self._routes[path] = (frozenset(m.upper() for m in methods), handler)

    def mount_fallback(self, handler: Handler) -> None:
        """A handler for every path that `/healthz` and the mounted routes do not claim (the
        web archive, which routes its own paths and answers 404 and 405 itself)."""
        self._fallback = handler

    def unmount(self, path: str) -> None:
        self._routes.pop(path, None)

    def add_health_check(self, name: str, check: HealthCheck) -> None:
        self._health[name] = check

    def remove_health_check(self, name: str) -> None:
        self._health.pop(name, None)

    def set_info(self, name: str, provide: Callable[[], object]) -> None:
        """A JSON value `/healthz` reports as `name` (this process's role, its shards)."""
        self._info[name] = provide

    # -- lifetime -----------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("server not started")
        return self._port

    @property
    def base_url(self) -> str:
        host = self.settings.host
        if ":" in host:  # IPv6 literal
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        if self._runner is not None:
            return
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.settings.host, self.settings.port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner, self._site = runner, site
        self._port = _bound_port(runner, self.settings.port)
        log.info("http server listening on %s", self.base_url)

    async def close(self) -> None:
        runner, self._runner, self._site = self._runner, None, None
        if runner is not None:
            await runner.cleanup()
        self._port = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- requests -----------------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        if request.path == "/healthz":
            if request.method not in ("GET", "HEAD"):
                raise web.HTTPMethodNotAllowed(request.method, ["GET", "HEAD"])
            return await self._healthz()
        route = self._routes.get(request.path)
        if route is None:
            if self._fallback is not None:
                return await self._fallback(request)
            raise web.HTTPNotFound()
        methods, handler = route
        if request.method not in methods:
            raise web.HTTPMethodNotAllowed(request.method, sorted(methods))
        return await handler(request)

    async def _healthz(self) -> web.Response:
        checks: dict[str, dict[str, object]] = {}
        healthy = True
        for name, check in self._health.items():
            try:
                ok, detail = await check()
            except Exception as exc:  # a failing check reports, it does not take the server down
                ok, detail = False, f"{type(exc).__name__}: {exc}"
            healthy = healthy and ok
            checks[name] = {"ok": ok, "detail": detail}
        body: dict[str, object] = {"status": "ok" if healthy else "degraded", "checks": checks}
        for name, provide in self._info.items():
            try:
                body[name] = provide()
            except Exception as exc:
                body[name] = f"{type(exc).__name__}: {exc}"
        return web.json_response(body, status=200 if healthy else 503)


def _bound_port(runner: web.AppRunner, requested: int) -> int:
    for address in runner.addresses:
        # TCP addresses are (host, port) or (host, port, flowinfo, scope_id).
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return requested
