"""A fake Slack on 127.0.0.1 (port 0): Web API, response_url sink and a Socket Mode websocket.

The real slack_sdk / slack-bolt code talks to it through `api_url` (SLACK_API_URL). It answers
the way Slack documents: `{"ok": false, "error": ...}` with HTTP 200 for API errors, HTTP 429 with
`Retry-After` for rate limits. Everything it receives is recorded for assertions, with its
arrival time (`ApiCall.at`, time.monotonic()).

Delivery faults, for the dispatcher's tests and benches:
- `limit_history(every=60)`: conversations.history answers one call per `every` seconds and a
  429 with Retry-After otherwise (Slack's limit for apps outside its Marketplace);
- `block_workspace(retry_after)`: every chat.postMessage gets a 429 until lifted or timed out
  (Slack's limits apply per method per workspace);
- `lose_answers(...)` / `answer_loss`: a post is made but its answer is lost (the connection is
  cut, a 500 after posting, or held until `release_held()`);
- `down = True`: posting and reading history answer 503 (an outage); signing in still works.
Message timestamps (`ts`) are real times, so history's `oldest` / `latest` work. `chat.update`
changes a message and every version a message had is kept in `revisions` (what readers saw);
a post with `thread_ts` is a reply, kept out of the channel's history (as Slack does) and
listed by `conversations.replies`.

Test helpers for the other direction (Slack -> bot) live here too: `signed_slash_command` builds
a form-encoded slash-command request signed like Slack signs it (v0 HMAC-SHA256).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import math
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from aiohttp import WSMsgType, web

API_METHODS = (
    "auth.test",
    "chat.postMessage",
    "chat.update",
    "conversations.replies",
    "users.info",
    "conversations.info",
    "conversations.history",
    "apps.connections.open",
)


@dataclass
class ApiCall:
    method: str
    params: dict[str, Any]  # query, form and JSON body merged; `blocks` decoded to a list
    token: str | None
    content_type: str
    ok: bool = False
    error: str | None = None
    status: int = 200
    at: float = 0.0  # time.monotonic() when it arrived
    lost: bool = False  # made, but its answer was lost


@dataclass
class ForcedFailure:
    error: str
    status: int = 200
    retry_after: float | None = None
    times: int = 1


@dataclass
class ResponseUrlPost:
    key: str
    body: dict[str, Any]


@dataclass
class SocketAck:
    envelope_id: str
    payload: dict[str, Any] | None


@dataclass
class FakeSlack:
    bot_token: str = "xoxb-fake-bot-token"
    app_token: str = "xapp-fake-app-token"
    team_id: str = "T0FAKE01"
    bot_user_id: str = "UBOT0001"
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[ApiCall] = field(default_factory=list)
    responses: list[ResponseUrlPost] = field(default_factory=list)
    acks: list[SocketAck] = field(default_factory=list)
    socket_connections: int = 0
    answer_loss: float = 0.0  # share (0..1) of posts whose answer is lost, evenly spread
    down: bool = False

    def __post_init__(self) -> None:
        self._made = 0
        self._losses: list[tuple[str, int, str | None]] = []  # (how, times, channel)
        self._history_every = 0.0
        self._history_next = -math.inf
        self._workspace_block: tuple[float, float] | None = None  # (until, retry_after)
        self._last_ts = 0.0
        self._held = asyncio.Event()
        self._forced: dict[str, list[ForcedFailure]] = {}
        self._seq = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._envelopes: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._sockets: set[web.WebSocketResponse] = set()
        self.history: dict[str, list[dict[str, Any]]] = {}  # channel -> messages, newest last
        # (channel, thread ts) -> the replies in that thread, newest last
        self.thread_replies: dict[tuple[str, str], list[dict[str, Any]]] = {}
        # (channel, ts) -> every version of the message (text, blocks), the first one first
        self.revisions: dict[tuple[str, str], list[dict[str, Any]]] = {}

    # -- set-up -------------------------------------------------------------------------------

    def add_user(
        self, user_id: str, name: str = "", *, admin: bool = False, owner: bool = False
    ) -> None:
        self.users[user_id] = {
            "id": user_id,
            "team_id": self.team_id,
            "name": name or user_id.lower(),
            "deleted": False,
            "is_bot": False,
            "is_admin": admin,
            "is_owner": owner,
            "is_primary_owner": False,
        }

    def add_channel(
        self, channel_id: str, name: str = "", *, archived: bool = False, member: bool = True
    ) -> None:
        self.channels[channel_id] = {
            "id": channel_id,
            "name": name or channel_id.lower(),
            "is_channel": True,
            "is_private": False,
            "is_archived": archived,
            "is_member": member,
        }

    def force_error(self, method: str, error: str, *, status: int = 200, times: int = 1) -> None:
        """The next `times` calls to `method` fail with `error`."""
        self._forced.setdefault(method, []).append(ForcedFailure(error, status, None, times))

    def force_rate_limit(self, method: str, retry_after: float = 3, *, times: int = 1) -> None:
        """The next `times` calls to `method` get HTTP 429 with `Retry-After`."""
        failure = ForcedFailure("ratelimited", 429, retry_after, times)
        self._forced.setdefault(method, []).append(failure)

    def limit_history(self, every: float = 60.0) -> None:
        """conversations.history: one call per `every` seconds, else 429 with Retry-After."""
        self._history_every = every

    def reset_history_limit(self) -> None:
        """As if the history window had passed: the next call is answered."""
        self._history_next = -math.inf

    def block_workspace(self, retry_after: float, *, timed: bool = False) -> None:
        """Every chat.postMessage gets a 429 (Retry-After) until `lift_workspace_block()`, or
        with `timed` until `retry_after` seconds have passed."""
        until = time.monotonic() + retry_after if timed else math.inf
        self._workspace_block = (until, retry_after)

    def lift_workspace_block(self) -> None:
        self._workspace_block = None

    def lose_answers(
        self, how: str = "drop", *, times: int = 1, channel: str | None = None
    ) -> None:
        """The next `times` posts (to `channel`, or anywhere) are made but their answer is lost:
        "drop" cuts the connection, "500" answers a server error, "hold" waits for
        `release_held()`."""
        self._losses.append((how, times, channel))

    def release_held(self) -> None:
        """Answer every held post (they were made already)."""
        self._held.set()
        self._held = asyncio.Event()

    def stop_losing(self) -> None:
        """Forget the answers still to be lost (`lose_answers`, `answer_loss`)."""
        self._losses.clear()
        self.answer_loss = 0.0

    def messages_in(self, channel_id: str) -> list[dict[str, Any]]:
        return list(self.history.get(channel_id, []))

    # -- lifetime -----------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._port is None:
            raise RuntimeError("fake Slack not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    def new_response_url(self) -> str:
        return f"{self.base_url}/response/{next(self._seq)}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/response/{key}", self._response_url)
        app.router.add_get("/link/", self._socket)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = int(self._runner.addresses[0][1])

    async def close(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

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

    # -- queries for tests --------------------------------------------------------------------

    def calls_to(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method]

    def posts(self) -> list[ApiCall]:
        """chat.postMessage calls Slack accepted."""
        return [c for c in self.calls_to("chat.postMessage") if c.ok]

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait for something the bot does in the background (a bound, not a timing check)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            if loop.time() > deadline:
                raise AssertionError("fake Slack: condition not met in time")
            await asyncio.sleep(0.01)

    # -- Socket Mode --------------------------------------------------------------------------

    def deliver_slash_command(
        self,
        command: str,
        text: str,
        *,
        user_id: str,
        channel_id: str = "C0GENERAL",
        envelope_id: str | None = None,
    ) -> tuple[str, str]:
        """Queue a slash-command envelope for the connected socket; returns (envelope, resp url)."""
        envelope_id = envelope_id or f"env-{next(self._seq)}"
        response_url = self.new_response_url()
        payload = slash_command_payload(
            command, text, user_id=user_id, channel_id=channel_id, team_id=self.team_id
        )
        payload["response_url"] = response_url
        self._envelopes.put_nowait(
            {
                "envelope_id": envelope_id,
                "type": "slash_commands",
                "accepts_response_payload": True,
                "payload": payload,
            }
        )
        return envelope_id, response_url

    def ack_for(self, envelope_id: str) -> SocketAck | None:
        return next((a for a in self.acks if a.envelope_id == envelope_id), None)

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse()  # autoping answers the SDK's pings
        await ws.prepare(request)
        self._sockets.add(ws)
        self.socket_connections += 1
        await ws.send_json(
            {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0FAKE"}}
        )
        sender = asyncio.create_task(self._send_envelopes(ws))
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    data = json.loads(message.data)
                    if "envelope_id" in data:
                        self.acks.append(SocketAck(data["envelope_id"], data.get("payload")))
        finally:
            sender.cancel()
            self._sockets.discard(ws)
        return ws

    async def _send_envelopes(self, ws: web.WebSocketResponse) -> None:
        while not ws.closed:
            envelope = await self._envelopes.get()
            await ws.send_json(envelope)

    # -- response_url -------------------------------------------------------------------------

    async def _response_url(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.responses.append(ResponseUrlPost(request.match_info["key"], body))
        return web.Response(text="ok", content_type="text/html")

    # -- Web API ------------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params: dict[str, Any] = dict(request.query)
        content_type = request.content_type
        if request.method == "POST" and request.can_read_body:
            if content_type == "application/json":
                params.update(await request.json())
            else:
                params.update(dict(await request.post()))
        token = _bearer(request.headers) or params.pop("token", None)
        if isinstance(params.get("blocks"), str):
            params["blocks"] = json.loads(params["blocks"])
        call = ApiCall(method, params, token, content_type, at=time.monotonic())
        self.calls.append(call)

        status, body, headers = self._answer(method, params, token)
        call.ok = bool(body.get("ok"))
        call.error = body.get("error")
        call.status = status
        if call.ok and method in ("chat.postMessage", "chat.update"):
            how = self._take_loss(str(params.get("channel", "")))
            if how is not None:
                call.lost = True
                if how == "hold":
                    await self._held.wait()
                    return web.json_response(body, status=status, headers=headers)
                if how == "500":
                    return web.json_response({"ok": False, "error": "internal_error"}, status=500)
                if request.transport is not None:
                    request.transport.abort()  # the answer never comes
        return web.json_response(body, status=status, headers=headers)

    def _take_loss(self, channel: str) -> str | None:
        for i, (how, times, only) in enumerate(self._losses):
            if only is None or only == channel:
                if times <= 1:
                    self._losses.pop(i)
                else:
                    self._losses[i] = (how, times - 1, only)
                return how
        self._made += 1
        if int(self._made * self.answer_loss) > int((self._made - 1) * self.answer_loss):
            lost = sum(1 for c in self.calls if c.lost)
            return ("drop", "500")[lost % 2]
        return None

    def _limited(self, method: str) -> tuple[int, dict[str, Any], dict[str, str]] | None:
        now = time.monotonic()
        if method == "conversations.history" and self._history_every:
            if now < self._history_next:
                wait = str(max(1, math.ceil(self._history_next - now)))
                return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": wait}
            self._history_next = now + self._history_every
        if method == "chat.postMessage" and self._workspace_block is not None:
            until, retry_after = self._workspace_block
            if now < until:
                wait = str(max(1, math.ceil(min(retry_after, until - now))))
                return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": wait}
            self._workspace_block = None
        return None

    def _answer(
        self, method: str, params: dict[str, Any], token: str | None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        if method not in API_METHODS:
            return 200, {"ok": False, "error": "unknown_method"}, {}
        expected = self.app_token if method == "apps.connections.open" else self.bot_token
        if not token:
            return 200, {"ok": False, "error": "not_authed"}, {}
        if token != expected:
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        if self.down and method in ("chat.postMessage", "chat.update", "conversations.history"):
            return 503, {"ok": False, "error": "service_unavailable"}, {}
        limited = self._limited(method)
        if limited is not None:
            return limited
        forced = self._take_forced(method)
        if forced is not None:
            headers = {}
            if forced.retry_after is not None:
                headers["Retry-After"] = str(int(forced.retry_after))
            return forced.status, {"ok": False, "error": forced.error}, headers
        handler = getattr(self, "_m_" + method.replace(".", "_"))
        return 200, handler(params), {}

    def _take_forced(self, method: str) -> ForcedFailure | None:
        queue = self._forced.get(method)
        if not queue:
            return None
        failure = queue[0]
        failure.times -= 1
        if failure.times <= 0:
            queue.pop(0)
        return failure

    def _m_auth_test(self, params: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://fake-workspace.slack.com/",
            "team": "Fake Workspace",
            "user": "koreapage",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": "B0FAKE01",
            "is_enterprise_install": False,
        }

    def _m_users_info(self, params: Mapping[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(params.get("user", "")))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": user}

    def _m_conversations_info(self, params: Mapping[str, Any]) -> dict[str, Any]:
        channel = self.channels.get(str(params.get("channel", "")))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        return {"ok": True, "channel": channel}

    def _m_conversations_history(self, params: Mapping[str, Any]) -> dict[str, Any]:
        channel_id = str(params.get("channel", ""))
        if channel_id not in self.channels:
            return {"ok": False, "error": "channel_not_found"}
        limit = int(params.get("limit") or 100)
        with_metadata = str(params.get("include_all_metadata")).lower() in ("1", "true")
        inclusive = str(params.get("inclusive")).lower() in ("1", "true")
        oldest = float(params.get("oldest") or 0)
        latest = float(params.get("latest") or math.inf)
        messages = [
            m
            for m in reversed(self.history.get(channel_id, []))  # newest first
            if (oldest <= float(m["ts"]) <= latest)
            and (inclusive or oldest < float(m["ts"]) < latest)
        ]
        start = int(params.get("cursor") or 0)
        page = messages[start : start + limit]
        more = start + limit < len(messages)
        if not with_metadata:
            page = [{k: v for k, v in m.items() if k != "metadata"} for m in page]
        return {
            "ok": True,
            "messages": page,
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _m_apps_connections_open(self, params: Mapping[str, Any]) -> dict[str, Any]:
        ws_url = self.base_url.replace("http://", "ws://") + f"/link/?ticket={next(self._seq)}"
        return {"ok": True, "url": ws_url}

    def _m_chat_postMessage(self, params: Mapping[str, Any]) -> dict[str, Any]:
        channel_id = str(params.get("channel", ""))
        channel = self.channels.get(channel_id)
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        if channel["is_archived"]:
            return {"ok": False, "error": "is_archived"}
        if not channel["is_member"]:
            return {"ok": False, "error": "not_in_channel"}
        if not params.get("text") and not params.get("blocks"):
            return {"ok": False, "error": "no_text"}
        # A real time, unique and increasing like Slack's.
        self._last_ts = max(round(time.time(), 6), self._last_ts + 0.000001)
        ts = f"{self._last_ts:.6f}"
        message = {
            "type": "message",
            "subtype": "bot_message",
            "text": params.get("text", ""),
            "ts": ts,
            "username": "koreapage",
            "bot_id": "B0FAKE01",
        }
        if params.get("blocks"):
            message["blocks"] = params["blocks"]
        stored = dict(message)
        if isinstance(params.get("metadata"), dict):
            stored["metadata"] = params["metadata"]
        thread_ts = str(params.get("thread_ts") or "")
        if thread_ts:
            stored["thread_ts"] = thread_ts
            self.thread_replies.setdefault((channel_id, thread_ts), []).append(stored)
        else:
            self.history.setdefault(channel_id, []).append(stored)
        self.revisions[(channel_id, ts)] = [_shown(stored)]
        return {"ok": True, "channel": channel_id, "ts": ts, "message": message}

    def find_message(self, channel_id: str, ts: str) -> dict[str, Any] | None:
        return next((m for m in self.history.get(channel_id, []) if m["ts"] == ts), None)

    def _m_chat_update(self, params: Mapping[str, Any]) -> dict[str, Any]:
        channel_id, ts = str(params.get("channel", "")), str(params.get("ts", ""))
        if channel_id not in self.channels:
            return {"ok": False, "error": "channel_not_found"}
        message = self.find_message(channel_id, ts)
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        if not params.get("text") and not params.get("blocks"):
            return {"ok": False, "error": "no_text"}
        message["text"] = params.get("text", "")
        if params.get("blocks"):
            message["blocks"] = params["blocks"]
        if isinstance(params.get("metadata"), dict):
            message["metadata"] = params["metadata"]
        message["edited"] = {"user": self.bot_user_id, "ts": f"{time.time():.6f}"}
        self.revisions.setdefault((channel_id, ts), []).append(_shown(message))
        shown = {k: v for k, v in message.items() if k != "metadata"}
        return {
            "ok": True,
            "channel": channel_id,
            "ts": ts,
            "text": message["text"],
            "message": shown,
        }

    def _m_conversations_replies(self, params: Mapping[str, Any]) -> dict[str, Any]:
        channel_id, ts = str(params.get("channel", "")), str(params.get("ts", ""))
        if channel_id not in self.channels:
            return {"ok": False, "error": "channel_not_found"}
        parent = self.find_message(channel_id, ts)
        if parent is None:
            return {"ok": False, "error": "thread_not_found"}
        with_metadata = str(params.get("include_all_metadata")).lower() in ("1", "true")
        oldest = float(params.get("oldest") or 0)
        latest = float(params.get("latest") or math.inf)
        replies = [
            m
            for m in self.thread_replies.get((channel_id, ts), [])
            if oldest <= float(m["ts"]) <= latest
        ]
        page = [parent, *replies]  # the parent first, then the replies oldest first
        if not with_metadata:
            page = [{k: v for k, v in m.items() if k != "metadata"} for m in page]
        return {"ok": True, "messages": page, "has_more": False, "response_metadata": {}}


def _shown(message: Mapping[str, Any]) -> dict[str, Any]:
    """What readers see of a message (a copy: later updates do not change it)."""
    return json.loads(json.dumps({"text": message.get("text"), "blocks": message.get("blocks")}))


def _bearer(headers: Mapping[str, str]) -> str | None:
    value = headers.get("Authorization", "")
    return value[len("Bearer ") :].strip() or None if value.startswith("Bearer ") else None


# -- Slack -> bot -----------------------------------------------------------------------------


def slash_command_payload(
    command: str,
    text: str,
    *,
    user_id: str,
    channel_id: str = "C0GENERAL",
    team_id: str = "T0FAKE01",
    response_url: str = "",
) -> dict[str, Any]:
    return {
        "token": "legacy-verification-token-unused",
        "team_id": team_id,
        "team_domain": "fake-workspace",
        "channel_id": channel_id,
        "channel_name": "general",
        "user_id": user_id,
        "user_name": user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": "A0FAKE",
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": f"trigger.{user_id}.{int(time.time())}",
    }


def sign(secret: str, timestamp: str, body: str) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_slash_command(
    secret: str,
    command: str,
    text: str,
    *,
    user_id: str,
    response_url: str,
    channel_id: str = "C0GENERAL",
    team_id: str = "T0FAKE01",
    timestamp: int | None = None,
) -> tuple[str, dict[str, str]]:
    """A form-encoded body and headers, as Slack would POST them to the request URL."""
    payload = slash_command_payload(
        command,
        text,
        user_id=user_id,
        channel_id=channel_id,
        team_id=team_id,
        response_url=response_url,
    )
    body = urllib.parse.urlencode(payload)
    ts = str(int(time.time()) if timestamp is None else timestamp)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": sign(secret, ts, body),
    }
    return body, headers
