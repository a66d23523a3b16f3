"""The Slack adapter: a slack-bolt AsyncApp for commands, a publisher for briefs.

Lifetime: construct (no I/O), `await start()`, `await close()` — all in the bot's event loop.
HTTP mode mounts `/slack/events` on the bot's own HttpServer; Socket Mode opens a websocket with
the app-level token. Everything bolt would read from `SLACK_*` on its own is passed explicitly.
"""

from __future__ import annotations

import logging

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from koreapage_bot.adapters.slack.commands import AdminResolver, register_commands
from koreapage_bot.adapters.slack.publisher import SlackPublisher, publishing_client
from koreapage_bot.adapters.slack.verify import MemoryReplayGuard, Refused, check_replay, verify
from koreapage_bot.commands.api import CommandApi
from koreapage_bot.config import SlackConfig, SlackMode
from koreapage_bot.error_text import bounded_error
from koreapage_bot.http import HttpServer
from koreapage_bot.ports import ReplayGuard

log = logging.getLogger(__name__)


class SlackAdapter:
    platform = "slack"

    def __init__(
        self,
        settings: SlackConfig,
        commands: CommandApi,
        http: HttpServer | None = None,
        *,
        replays: ReplayGuard | None = None,
    ) -> None:
        if settings.mode is SlackMode.HTTP and http is None:
            raise ValueError("Slack HTTP mode (SLACK_SIGNING_SECRET) needs the bot's HTTP server")
        self.settings = settings
        self._http = http
        # Shared through the database by bootstrap; one process's memory otherwise.
        self._replays: ReplayGuard = replays or MemoryReplayGuard()
        # The client bolt uses for auth.test, users.info and apps.connections.open. It keeps the
        # SDK's default retry (one retry on a dropped connection): those calls are safe to repeat.
        self.client = AsyncWebClient(token=settings.bot_token, base_url=settings.api_url)
        self.app = AsyncApp(
            name="koreapage-bot",
            logger=logging.getLogger("koreapage_bot.adapters.slack.bolt"),
            client=self.client,
            signing_secret=settings.signing_secret or "",
            # Always verify HTTP requests; Socket Mode requests are skipped by bolt itself.
            request_verification_enabled=True,
            # Ack and listener run concurrently: Slack gets its 200 as soon as ack() is called.
            process_before_response=False,
        )
        self.admins = AdminResolver(
            self.client, settings.admin_users, ttl=settings.admin_cache_seconds
        )
        register_commands(self.app, commands, self.admins)
        # Paced by the dispatcher's Slack budget (bootstrap), not here.
        self.publisher = SlackPublisher(publishing_client(settings.bot_token, settings.api_url))
        self._socket: AsyncSocketModeHandler | None = None
        self._mounted = False
        self.bot_user_id: str | None = None
        self.team_id: str | None = None

    @property
    def mode(self) -> SlackMode:
        return self.settings.mode

    async def start(self) -> None:
        await self._identify()
        if self.mode is SlackMode.HTTP:
            assert self._http is not None
            self._http.mount(self.settings.events_path, self._handle_http, methods=("POST",))
            self._mounted = True
            log.info("slack: HTTP mode, requests at %s", self.settings.events_path)
        elif self.mode is SlackMode.SOCKET:
            # Built here, not in __init__: the socket client starts tasks and an aiohttp session
            # as soon as it exists, which needs the running loop.
            self._socket = AsyncSocketModeHandler(
                self.app, app_token=self.settings.app_token, web_client=self.client
            )
            await self._socket.connect_async()  # type: ignore[no-untyped-call]
            if self._http is not None:
                self._http.add_health_check("slack_socket", self._socket_health)
            log.info("slack: Socket Mode connected")
        else:
            log.warning(
                "slack: neither SLACK_SIGNING_SECRET nor SLACK_APP_TOKEN is set; "
                "briefs are posted but /briefs and /feeds are not served"
            )

    async def close(self) -> None:
        if self._mounted and self._http is not None:
            self._http.unmount(self.settings.events_path)
            self._mounted = False
        socket, self._socket = self._socket, None
        if socket is not None:
            if self._http is not None:
                self._http.remove_health_check("slack_socket")
            await socket.close_async()  # type: ignore[no-untyped-call]

    async def _identify(self) -> None:
        # A bad token is reported loudly but does not stop the bot: other platforms keep going
        # and each failed post pauses its subscription with the reason.
        try:
            response = await self.client.auth_test()
        except SlackApiError as exc:
            log.error("slack: auth.test failed: %s", exc.response.get("error"))
            return
        except Exception as exc:
            log.error("slack: auth.test failed: %r", exc)
            return
        self.bot_user_id = response.get("user_id")
        self.team_id = response.get("team_id")
        log.info("slack: signed in as %s in team %s", response.get("user"), self.team_id)

    async def _handle_http(self, request: web.Request) -> web.StreamResponse:
        # The signature is checked on the raw bytes before anything decodes or parses them
        # (see verify.py); bolt checks it again, which costs nothing.
        raw = await request.read()  # over the server's 1 MiB limit: 413 from aiohttp
        try:
            verified = verify(self.settings.signing_secret or "", raw, request.headers)
            fresh = await check_replay(self._replays, verified, request.headers)
        except Refused as exc:
            log.warning("slack: %d for a request from %s: %s", exc.status, request.remote, exc)
            return web.json_response({"error": exc.reason}, status=exc.status)
        if not fresh:
            retry = bounded_error(request.headers.get("X-Slack-Retry-Num"), 20)
            log.info("slack: retry %s of a request already handled: acknowledged, not run", retry)
            return web.Response(status=200)
        try:
            bolt_request = AsyncBoltRequest(
                body=verified.body,
                query=request.query_string,
                headers=request.headers,  # type: ignore[arg-type]
            )
        except Exception as exc:  # signed, yet not the form or JSON it claims to be
            reason = bounded_error(exc, 200)
            log.warning("slack: 400 for a signed request bolt cannot read: %s", reason)
            return web.json_response({"error": "unreadable body"}, status=400)
        bolt_response = await self.app.async_dispatch(bolt_request)
        if bolt_response.status >= 500:
            # Failed on our side: Slack's retry of it (same signature) may run.
            await self._replays.forget(verified.signature)
        return await to_aiohttp_response(bolt_response)

    async def _socket_health(self) -> tuple[bool, str]:
        socket = self._socket
        if socket is None:
            return False, "not started"
        connected = bool(await socket.client.is_connected())
        return connected, "connected" if connected else "disconnected"
