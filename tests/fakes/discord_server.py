"""A local fake Discord (REST + gateway websocket) that the real `discord.Client` logs into.

Bind: 127.0.0.1, port 0. Point the adapter at it with `DISCORD_API_BASE=fake.api_base` and
`DISCORD_GATEWAY_URL=fake.gateway_url`. Every REST call is recorded (`fake.requests`) with the
route template spelled as in the Discord OpenAPI spec, so tests can validate each body against
`#/paths/<template>/<method>/requestBody`.

Failure hooks:
- `fail_next(method, template, status=429 | 403 | 404 | 5xx, ...)`: the next matching call(s) fail.
- `channel_errors[channel_id] = (status, code, message)`: a channel that always fails (no access,
  deleted).
- `lose_answers(...)` / `answer_loss`: a message is created but its answer is lost (the
  connection dropped, a 500, or held until `release_held()`), as after a network fault.
- `block_globally(retry_after)`: every REST call gets a global 429 until `lift_global_block()`
  (or until `retry_after` has passed, with `timed=True`).
- `down = True`: every channel route (posting, reading messages) answers 503 (an outage) until
  set back; logging in still works, so a bot restarted meanwhile faces the outage.

Messages are kept per channel and served by `GET /channels/{id}/messages` (after / before /
around / limit, newest first, as Discord does; like Discord it never returns `nonce`) and
`GET /channels/{id}/messages/{message_id}`. `PATCH /channels/{id}/messages/{message_id}` edits
one (its embeds, content), and every version a message had is kept in `revisions` (newest
last), so a test sees what readers saw. A thread started from a message has the message's id
(as on Discord), so its messages are kept under that id. An
enforced nonce is de-duplicated for `nonce_window` seconds (`expire_nonces()` ends the window
at once). Message ids are real snowflakes of the time they were made.

Like Discord, a message whose embed carries a URL that is not well formed (a space, no http(s)
scheme or host, over 2048 characters) is refused whole: 400, code 50035 "Invalid Form Body".
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSMsgType, web

API_PREFIX = "/api/v10"
EMBED_URL_MAX = 2048
_WELL_FORMED_URL = re.compile(r"https?://[^\s/?#@]+[^\s]*", re.IGNORECASE)
NONCE_WINDOW_SECONDS = 300.0  # Discord dedupes enforced nonces "for a few minutes"
DISCORD_EPOCH_MS = 1_420_070_400_000

Json = dict[str, Any]


@dataclass
class Recorded:
    method: str
    template: str  # e.g. "/channels/{channel_id}/messages" (the spec's path key)
    path: str
    params: dict[str, str]
    query: dict[str, str]
    body: Any
    status: int = 0


@dataclass
class _Failure:
    status: int
    code: int
    message: str
    retry_after: float = 0.0
    is_global: bool = False
    via: bool = True  # discord.py treats a 429 without `Via` as a Cloudflare ban


@dataclass
class Loss:
    """How the answers to message creations get lost: `how` is "drop" (the connection is cut
    after the message is made), "500" (made, then a 500 answer: discord.py retries it with the
    same nonce) or "hold" (made, the answer waits for `release_held()`)."""

    how: str = "drop"
    times: int = 1
    channel: int | None = None


@dataclass
class PostRecord:
    """One message creation the fake accepted (a new message, not a nonce repeat)."""

    at: float  # time.monotonic() when it was made
    channel: int
    message_id: str
    nonce: str | None


@dataclass
class _Session:
    session_id: str
    ws: web.WebSocketResponse
    seq: int = 0
    identify: Json = field(default_factory=dict)


def _json(data: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # Exactly "application/json", no charset: discord.py compares the header verbatim.
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers={**(headers or {}), "Content-Type": "application/json"},
    )


def _shown(msg: Json) -> Json:
    """What readers see of a message (a copy: later edits do not change it)."""
    return json.loads(json.dumps({"content": msg.get("content"), "embeds": msg.get("embeds")}))


def _url_errors(embed: Json) -> dict[str, Any]:
    """The url fields of one embed that Discord would refuse, as its error tree."""
    bad: dict[str, Any] = {}
    error = {"_errors": [{"code": "URL_TYPE_INVALID_URL", "message": "Not a well formed URL."}]}
    places: list[tuple[tuple[str, ...], Any]] = [(("url",), embed.get("url"))]
    for part in ("author", "footer", "image", "thumbnail"):
        value = embed.get(part)
        if isinstance(value, dict):
            key = "icon_url" if part == "footer" else "url"
            places.append(((part, key), value.get(key)))
            if part == "author":
                places.append(((part, "icon_url"), value.get("icon_url")))
    for path, url in places:
        if url is None:
            continue
        ok = (
            isinstance(url, str)
            and len(url) <= EMBED_URL_MAX
            and _WELL_FORMED_URL.fullmatch(url) is not None
            and url.isprintable()
        )
        if not ok:
            node = bad
            for key in path[:-1]:
                node = node.setdefault(key, {})
            node[path[-1]] = error
    return bad


def _invalid_embed_urls(body: Any) -> web.Response | None:
    """400 Invalid Form Body when any embed of the message carries a malformed URL."""
    if not isinstance(body, dict):
        return None
    data = body.get("data") if isinstance(body.get("data"), dict) else body  # callbacks nest
    embeds = data.get("embeds") if isinstance(data, dict) else None
    if not isinstance(embeds, list):
        return None
    found = {str(i): _url_errors(e) for i, e in enumerate(embeds) if isinstance(e, dict)}
    errors = {i: e for i, e in found.items() if e}
    if not errors:
        return None
    tree: Json = {"embeds": errors}
    if data is not body:
        tree = {"data": tree}
    return _json({"message": "Invalid Form Body", "code": 50035, "errors": tree}, status=400)


class FakeDiscord:
    """In-process fake of the parts of Discord the bot touches."""

    def __init__(
        self,
        *,
        bot_id: int = 900000000000000001,
        application_id: int | None = None,
        guild_id: int = 700000000000000001,
        channel_ids: tuple[int, ...] = (710000000000000001, 710000000000000002),
        bot_name: str = "koreapage",
        nonce_window: float = NONCE_WINDOW_SECONDS,
        answer_loss: float = 0.0,
        extra_guild_ids: tuple[int, ...] = (),
    ) -> None:
        self.bot_id = bot_id
        self.application_id = application_id or bot_id
        self.guild_id = guild_id
        # Every guild the bot is in. Like Discord, a session that IDENTIFYs with
        # `shard: [id, count]` hears only the guilds with (guild_id >> 22) % count == id.
        self.guild_ids = (guild_id, *extra_guild_ids)
        self.channel_ids = channel_ids
        self.bot_name = bot_name
        self.requests: list[Recorded] = []
        self.messages: dict[int, list[Json]] = {}
        self.commands: dict[int | None, list[Json]] = {}  # None = global
        self.command_puts: list[tuple[int | None, list[Json]]] = []
        self.threads: list[Json] = []
        # (channel id, message id) -> every version of the message, the first one first.
        self.revisions: dict[tuple[int, str], list[Json]] = {}
        self.webhooks: dict[int, Json] = {}
        self.callbacks: list[tuple[int, Json]] = []
        self.identifies: list[Json] = []
        self.resumes: list[Json] = []
        self.channel_errors: dict[int, tuple[int, int, str]] = {}
        self._failures: dict[tuple[str, str], list[_Failure]] = {}
        self._nonces: dict[tuple[int, str], tuple[float, Json]] = {}
        self.nonce_window = nonce_window
        # A share of message creations (0..1) whose answer is lost, evenly spread (at 0.2
        # every fifth), each way in turn.
        self.answer_loss = answer_loss
        self._made = 0
        self._loss_ways = ("drop", "500", "hold")
        self._losses: list[Loss] = []
        self.lost: list[PostRecord] = []  # messages made whose answer was lost
        self.posts: list[PostRecord] = []
        self._held = asyncio.Event()
        self._global_block: tuple[float, float] | None = None  # (until, retry_after)
        self.down = False
        self._last_id = 0
        self._sessions: list[_Session] = []
        self._runner: web.AppRunner | None = None
        self._changed = asyncio.Condition()
        self.port = 0

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(middlewares=[self._middleware])
        self._routes(app)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[attr-defined]
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def close(self) -> None:
        for s in list(self._sessions):
            with contextlib.suppress(Exception):
                await s.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    # -- hooks for tests -------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        template: str,
        *,
        status: int,
        code: int = 0,
        message: str = "",
        retry_after: float = 1.0,
        times: int = 1,
        is_global: bool = False,
        via: bool = True,
    ) -> None:
        text = message or {429: "You are being rate limited.", 403: "Missing Permissions"}.get(
            status, "Error"
        )
        failure = _Failure(status, code, text, retry_after, is_global, via)
        self._failures.setdefault((method.upper(), template), []).extend([failure] * times)

    def lose_answers(
        self, how: str = "drop", *, times: int = 1, channel: int | None = None
    ) -> None:
        """The next `times` message creations (in `channel`, or anywhere) are made but their
        answer is lost (see Loss)."""
        self._losses.append(Loss(how, times, channel))

    def stop_losing(self) -> None:
        """Forget the answers still to be lost (`lose_answers`, `answer_loss`)."""
        self._losses.clear()
        self.answer_loss = 0.0

    def release_held(self) -> None:
        """Answer every held message creation (they were made already)."""
        self._held.set()
        self._held = asyncio.Event()

    def expire_nonces(self) -> None:
        """As if Discord's nonce window had passed for every message made so far."""
        self._nonces.clear()

    def block_globally(self, retry_after: float, *, timed: bool = False) -> None:
        """Every REST call gets a global 429 (X-RateLimit-Global) until `lift_global_block()`,
        or with `timed` until `retry_after` seconds have passed."""
        until = time.monotonic() + retry_after if timed else math.inf
        self._global_block = (until, retry_after)

    def lift_global_block(self) -> None:
        self._global_block = None

    def channel_messages(self, channel_id: int) -> list[Json]:
        return list(self.messages.get(channel_id, []))

    def calls(self, method: str, template: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.template == template]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait (event-driven) until `predicate()` holds after some recorded change."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(predicate)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def next_id(self) -> int:
        # A real snowflake: milliseconds since Discord's epoch in the top bits, so
        # `interaction.created_at` and a message's time are when the fake made them.
        now = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        self._last_id = max(now, self._last_id + 1)
        return self._last_id

    async def dispatch(self, event: str, data: Json) -> None:
        """Send a gateway DISPATCH to every connected session (a guild's event: only to the
        sessions of the shard that owns the guild)."""
        if not self._sessions:
            raise RuntimeError("no gateway session is connected")
        gid = data.get("guild_id")
        sessions = [s for s in self._sessions if gid is None or self._owns(s, int(gid))]
        if not sessions:
            raise RuntimeError(f"no connected shard owns guild {gid}")
        for s in sessions:
            s.seq += 1
            await s.ws.send_json({"op": 0, "t": event, "s": s.seq, "d": data})

    async def drop_gateway(self) -> None:
        """Close the gateway sockets abruptly (code 4000: the client should RESUME)."""
        for s in list(self._sessions):
            await s.ws.close(code=4000, message=b"fake reconnect")

    def user(self, user_id: int, name: str) -> Json:
        return {
            "id": str(user_id),
            "username": name,
            "discriminator": "0",
            "global_name": name,
            "avatar": None,
            "bot": user_id == self.bot_id,
        }

    def interaction_payload(
        self,
        *,
        name: str,
        subcommand: str | None = None,
        options: dict[str, Any] | None = None,
        permissions: int = 0,
        user_id: int = 800000000000000001,
        user_name: str = "member",
        channel_id: int | None = None,
        guild_id: int | None = None,
        autocomplete_focus: str | None = None,
    ) -> Json:
        """An INTERACTION_CREATE for a chat-input command (or autocomplete on one option)."""
        opts: list[Json] = []
        for key, value in (options or {}).items():
            kind = 5 if isinstance(value, bool) else 4 if isinstance(value, int) else 3
            opt: Json = {"name": key, "type": kind, "value": value}
            if key == autocomplete_focus:
                opt["focused"] = True
                opt["type"] = 3
            opts.append(opt)
        data_options: list[Json] = opts
        if subcommand is not None:
            data_options = [{"name": subcommand, "type": 1, "options": opts}]
        gid = guild_id or self.guild_id
        cid = channel_id or self.channel_ids[0]
        cmd_id = next(
            (c["id"] for scope in self.commands.values() for c in scope if c["name"] == name),
            str(self.next_id()),
        )
        return {
            "id": str(self.next_id()),
            "application_id": str(self.application_id),
            "type": 4 if autocomplete_focus else 2,
            "data": {"id": cmd_id, "name": name, "type": 1, "options": data_options},
            "guild_id": str(gid),
            "channel_id": str(cid),
            "channel": {**self._channel(cid), "guild_id": str(gid), "name": "alliance-news"},
            "member": {
                "user": self.user(user_id, user_name),
                "roles": [],
                "permissions": str(permissions),
                "joined_at": "2024-01-01T00:00:00+00:00",
                "deaf": False,
                "mute": False,
                "flags": 0,
            },
            "token": f"itoken-{self.next_id()}",
            "version": 1,
            "app_permissions": str((1 << 10) | (1 << 11) | (1 << 14)),
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "attachment_size_limit": 10 * 1024 * 1024,
            "authorizing_integration_owners": {"0": str(gid)},
            "context": 0,
        }

    async def inject_interaction(self, **kwargs: Any) -> Json:
        payload = self.interaction_payload(**kwargs)
        await self.dispatch("INTERACTION_CREATE", payload)
        return payload

    def responses_to(self, payload: Json) -> list[Recorded]:
        """Every REST call answering one interaction (callback, follow-ups, edits)."""
        token = payload["token"]
        return [r for r in self.requests if token in r.path]

    # -- HTTP plumbing ---------------------------------------------------------------------

    def _routes(self, app: web.Application) -> None:
        p = API_PREFIX
        r = app.router
        r.add_get("/gateway", self._gateway_ws)
        r.add_get(p + "/users/@me", self._me)
        r.add_get(p + "/gateway", self._get_gateway)
        r.add_get(p + "/gateway/bot", self._get_gateway)
        r.add_get(p + "/oauth2/applications/@me", self._application)
        r.add_get(p + "/applications/{application_id}/commands", self._get_commands)
        r.add_put(p + "/applications/{application_id}/commands", self._put_commands)
        guild_cmds = p + "/applications/{application_id}/guilds/{guild_id}/commands"
        r.add_get(guild_cmds, self._get_commands)
        r.add_put(guild_cmds, self._put_commands)
        r.add_post(p + "/channels/{channel_id}/messages", self._create_message)
        r.add_get(p + "/channels/{channel_id}/messages", self._list_messages)
        r.add_get(p + "/channels/{channel_id}/messages/{message_id}", self._get_message)
        r.add_patch(p + "/channels/{channel_id}/messages/{message_id}", self._edit_message)
        r.add_post(p + "/channels/{channel_id}/messages/{message_id}/threads", self._create_thread)
        r.add_get(p + "/channels/{channel_id}", self._get_channel)
        r.add_get(p + "/channels/{channel_id}/webhooks", self._list_webhooks)
        r.add_post(p + "/channels/{channel_id}/webhooks", self._create_webhook)
        r.add_post(
            p + "/interactions/{interaction_id}/{interaction_token}/callback", self._callback
        )
        hook = p + "/webhooks/{webhook_id}/{webhook_token}"
        r.add_post(hook, self._execute_webhook)
        r.add_patch(hook + "/messages/@original", self._edit_original)
        r.add_delete(hook + "/messages/@original", self._delete_original)
        r.add_patch(hook + "/messages/{message_id}", self._edit_original)

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Any]
    ) -> web.StreamResponse:
        if request.path == "/gateway":
            result: web.StreamResponse = await handler(request)
            return result
        resource = request.match_info.route.resource
        canonical = resource.canonical if resource is not None else request.path
        template = canonical.removeprefix(API_PREFIX)
        raw = await request.read()
        body = json.loads(raw) if raw else None
        rec = Recorded(
            request.method,
            template,
            request.path.removeprefix(API_PREFIX),
            dict(request.match_info),
            dict(request.query),
            body,
        )
        self.requests.append(rec)
        response = (
            self._outage(template)
            or self._globally_blocked()
            or self._forced(request.method, template)
            or self._channel_error(request)
            or _invalid_embed_urls(body)
        )
        if response is None:
            try:
                response = await handler(request)
            except web.HTTPException as exc:
                response = exc
        rec.status = response.status
        if response.status != 429:
            bucket = template.replace("/", "-")
            response.headers.update(
                {
                    "X-RateLimit-Limit": "5",
                    "X-RateLimit-Remaining": "4",
                    "X-RateLimit-Reset": f"{time.time() + 1:.3f}",
                    "X-RateLimit-Reset-After": "1.000",
                    "X-RateLimit-Bucket": bucket,
                }
            )
        await self._notify()
        return response

    def _outage(self, template: str) -> web.Response | None:
        if not self.down or not template.startswith("/channels/"):
            return None
        return _json({"message": "Service Unavailable", "code": 0}, status=503)

    def _globally_blocked(self) -> web.Response | None:
        if self._global_block is None:
            return None
        until, retry_after = self._global_block
        if time.monotonic() >= until:
            self._global_block = None
            return None
        left = min(retry_after, until - time.monotonic())
        return self._error_response(_Failure(429, 0, "global", left, is_global=True))

    def _forced(self, method: str, template: str) -> web.Response | None:
        queue = self._failures.get((method, template))
        if not queue:
            return None
        return self._error_response(queue.pop(0))

    def _channel_error(self, request: web.Request) -> web.Response | None:
        cid = request.match_info.get("channel_id")
        if cid is None or int(cid) not in self.channel_errors:
            return None
        status, code, message = self.channel_errors[int(cid)]
        return self._error_response(_Failure(status, code, message))

    @staticmethod
    def _error_response(f: _Failure) -> web.Response:
        if f.status == 429:
            body: Json = {"message": f.message, "retry_after": f.retry_after, "global": f.is_global}
            headers = {
                "Retry-After": str(math.ceil(f.retry_after)),  # whole seconds, as Discord sends
                "X-RateLimit-Limit": "5",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset-After": f"{f.retry_after:.3f}",
                "X-RateLimit-Scope": "global" if f.is_global else "user",
            }
            if f.is_global:
                headers["X-RateLimit-Global"] = "true"
            if f.via:
                headers["Via"] = "1.1 google"
            return _json(body, status=429, headers=headers)
        return _json({"message": f.message, "code": f.code}, status=f.status)

    # -- REST handlers ---------------------------------------------------------------------

    async def _me(self, request: web.Request) -> web.Response:
        return _json({**self.user(self.bot_id, self.bot_name), "flags": 0})

    async def _get_gateway(self, request: web.Request) -> web.Response:
        limit = {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}
        return _json({"url": self.gateway_url, "shards": 1, "session_start_limit": limit})

    async def _application(self, request: web.Request) -> web.Response:
        return _json(
            {
                "id": str(self.application_id),
                "name": self.bot_name,
                "icon": None,
                "description": "",
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": self.user(800000000000000009, "owner"),
                "team": None,
                "verify_key": "0" * 64,
                "flags": 0,
            }
        )

    def _scope(self, request: web.Request) -> int | None:
        gid = request.match_info.get("guild_id")
        return int(gid) if gid is not None else None

    async def _get_commands(self, request: web.Request) -> web.Response:
        return _json(self.commands.get(self._scope(request), []))

    async def _put_commands(self, request: web.Request) -> web.Response:
        scope = self._scope(request)
        payload = await request.json()
        self.command_puts.append((scope, payload))
        stored: list[Json] = []
        for cmd in payload:
            perms = cmd.get("default_member_permissions")
            full = {
                "id": str(self.next_id()),
                "application_id": str(self.application_id),
                "version": str(self.next_id()),
                "type": cmd.get("type", 1),
                "name": cmd["name"],
                "description": cmd.get("description", ""),
                "options": cmd.get("options", []),
                # Discord echoes the bitfield as a string, whatever was sent
                "default_member_permissions": (None if perms is None else str(perms)),
                "nsfw": cmd.get("nsfw", False),
                "contexts": cmd.get("contexts"),
                "integration_types": cmd.get("integration_types", [0]),
            }
            if scope is not None:
                full["guild_id"] = str(scope)
            stored.append(full)
        self.commands[scope] = stored
        return _json(stored)

    def _message(self, channel_id: int, body: Json, *, author: Json | None = None) -> Json:
        return {
            "id": str(self.next_id()),
            "channel_id": str(channel_id),
            "author": author or self.user(self.bot_id, self.bot_name),
            "content": body.get("content") or "",
            "timestamp": datetime.now(UTC).isoformat(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": body.get("embeds") or [],
            "pinned": False,
            "type": 0,
            "flags": body.get("flags", 0) or 0,
            "nonce": body.get("nonce"),
        }

    async def _create_message(self, request: web.Request) -> web.Response:
        cid = int(request.match_info["channel_id"])
        body = await request.json()
        nonce = body.get("nonce")
        now = time.monotonic()
        if nonce is not None and body.get("enforce_nonce"):
            seen = self._nonces.get((cid, str(nonce)))
            if seen is not None and now - seen[0] < self.nonce_window:
                return _json(seen[1])
        msg = self._message(cid, body)
        self.messages.setdefault(cid, []).append(msg)
        self.revisions[(cid, msg["id"])] = [_shown(msg)]
        record = PostRecord(now, cid, msg["id"], None if nonce is None else str(nonce))
        self.posts.append(record)
        if nonce is not None:
            self._nonces[(cid, str(nonce))] = (now, msg)
        loss = self._take_loss(cid)
        if loss is None:
            return _json(msg)
        self.lost.append(record)
        if loss == "hold":
            await self._held.wait()
            return _json(msg)
        if loss == "500":
            return _json({"message": "Internal Server Error", "code": 0}, status=500)
        if request.transport is not None:  # "drop": the answer never comes
            request.transport.abort()
        return _json(msg)

    def _take_loss(self, cid: int) -> str | None:
        for loss in self._losses:
            if loss.channel is None or loss.channel == cid:
                loss.times -= 1
                if loss.times <= 0:
                    self._losses.remove(loss)
                return loss.how
        self._made += 1
        if int(self._made * self.answer_loss) > int((self._made - 1) * self.answer_loss):
            return self._loss_ways[len(self.lost) % len(self._loss_ways)]
        return None

    async def _list_messages(self, request: web.Request) -> web.Response:
        cid = int(request.match_info["channel_id"])
        q = request.query
        limit = max(1, min(int(q.get("limit") or 50), 100))
        # Oldest first here; Discord answers newest first whatever the parameters.
        stored = sorted(self.messages.get(cid, []), key=lambda m: int(m["id"]))
        if "around" in q:
            pivot = int(q["around"])
            before = [m for m in stored if int(m["id"]) < pivot][-(limit // 2) :]
            after = [m for m in stored if int(m["id"]) >= pivot][: limit - len(before)]
            page = before + after
        elif "after" in q:
            page = [m for m in stored if int(m["id"]) > int(q["after"])]
            if "before" in q:
                page = [m for m in page if int(m["id"]) < int(q["before"])]
            page = page[:limit]
        else:
            if "before" in q:
                stored = [m for m in stored if int(m["id"]) < int(q["before"])]
            page = stored[-limit:]
        # Message history never carries the nonce.
        return _json([{k: v for k, v in m.items() if k != "nonce"} for m in reversed(page)])

    def find_message(self, cid: int, mid: str) -> Json | None:
        return next((m for m in self.messages.get(cid, []) if m["id"] == mid), None)

    async def _get_message(self, request: web.Request) -> web.Response:
        cid, mid = int(request.match_info["channel_id"]), request.match_info["message_id"]
        msg = self.find_message(cid, mid)
        if msg is None:
            return _json({"message": "Unknown Message", "code": 10008}, status=404)
        return _json({k: v for k, v in msg.items() if k != "nonce"})

    async def _edit_message(self, request: web.Request) -> web.Response:
        cid, mid = int(request.match_info["channel_id"]), request.match_info["message_id"]
        msg = self.find_message(cid, mid)
        if msg is None:
            return _json({"message": "Unknown Message", "code": 10008}, status=404)
        body = await request.json()
        if msg["author"]["id"] != str(self.bot_id):
            refused = {"message": "Cannot edit a message authored by another user", "code": 50005}
            return _json(refused, status=403)
        for key in ("content", "embeds", "flags"):
            if key in body and body[key] is not None:
                msg[key] = body[key]
        msg["edited_timestamp"] = datetime.now(UTC).isoformat()
        self.revisions.setdefault((cid, mid), []).append(_shown(msg))
        return _json({k: v for k, v in msg.items() if k != "nonce"})

    async def _get_channel(self, request: web.Request) -> web.Response:
        cid = int(request.match_info["channel_id"])
        return _json(self._channel(cid))

    def _channel(self, cid: int) -> Json:
        return {
            "id": str(cid),
            "type": 0,
            "guild_id": str(self.guild_id),
            "name": f"channel-{cid % 1000}",
            "position": 0,
            "permission_overwrites": [],
            "nsfw": False,
            "parent_id": None,
            "topic": None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
        }

    async def _create_thread(self, request: web.Request) -> web.Response:
        cid = int(request.match_info["channel_id"])
        body = await request.json()
        thread = {
            "id": request.match_info["message_id"],  # Discord: the thread takes the message's id
            "type": 11,
            "guild_id": str(self.guild_id),
            "parent_id": str(cid),
            "owner_id": str(self.bot_id),
            "name": body["name"],
            "message_count": 0,
            "member_count": 1,
            "rate_limit_per_user": 0,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": body.get("auto_archive_duration", 1440),
                "archive_timestamp": datetime.now(UTC).isoformat(),
                "locked": False,
            },
            "message_id": request.match_info["message_id"],
        }
        self.threads.append(thread)
        return _json(thread, status=201)

    async def _list_webhooks(self, request: web.Request) -> web.Response:
        cid = request.match_info["channel_id"]
        return _json([w for w in self.webhooks.values() if w["channel_id"] == cid])

    async def _create_webhook(self, request: web.Request) -> web.Response:
        body = await request.json()
        wid = self.next_id()
        hook = {
            "id": str(wid),
            "type": 1,
            "token": f"wtoken-{wid}",
            "channel_id": request.match_info["channel_id"],
            "guild_id": str(self.guild_id),
            "name": body["name"],
            "avatar": None,
            "application_id": str(self.application_id),
            "user": self.user(self.bot_id, self.bot_name),
        }
        self.webhooks[wid] = hook
        return _json(hook)

    async def _callback(self, request: web.Request) -> web.Response:
        body = await request.json()
        iid = int(request.match_info["interaction_id"])
        self.callbacks.append((iid, body))
        kind = body["type"]
        data = body.get("data") or {}
        ephemeral = bool((data.get("flags") or 0) & 64)
        interaction: Json = {"id": str(iid), "type": 2}
        out: Json = {"interaction": interaction}
        if kind in (4, 5):
            msg = self._message(self.channel_ids[0], data)
            interaction.update(
                response_message_id=msg["id"],
                response_message_loading=kind == 5,
                response_message_ephemeral=ephemeral,
            )
            out["resource"] = {"type": kind, "message": msg}
        return _json(out)

    async def _execute_webhook(self, request: web.Request) -> web.Response:
        wid = int(request.match_info["webhook_id"])
        body = await request.json()
        hook = self.webhooks.get(wid)
        if hook is None and wid != self.application_id:
            return _json({"message": "Unknown Webhook", "code": 10015}, status=404)
        cid = int(hook["channel_id"]) if hook else self.channel_ids[0]
        author = self.user(wid, body.get("username") or self.bot_name)
        msg = self._message(cid, body, author=author)
        msg["webhook_id"] = str(wid)
        if hook is not None:
            self.messages.setdefault(cid, []).append(msg)
        if request.query.get("wait") in ("true", "1", "True"):
            return _json(msg)
        return web.Response(status=204)

    async def _edit_original(self, request: web.Request) -> web.Response:
        body = await request.json()
        return _json(self._message(self.channel_ids[0], body))

    async def _delete_original(self, request: web.Request) -> web.Response:
        return web.Response(status=204)

    # -- gateway ---------------------------------------------------------------------------

    @staticmethod
    def shard_of(guild_id: int, count: int) -> int:
        return (guild_id >> 22) % count

    def _owns(self, session: _Session, guild_id: int) -> bool:
        shard = session.identify.get("shard") or [0, 1]
        return self.shard_of(guild_id, int(shard[1])) == int(shard[0])

    def _guild_create(self, guild_id: int | None = None) -> Json:
        gid = str(guild_id or self.guild_id)
        return {
            "id": gid,
            "name": "Alliance Watchers",
            "icon": None,
            "owner_id": "800000000000000009",
            "member_count": 3,
            "large": False,
            "unavailable": False,
            "features": [],
            "emojis": [],
            "stickers": [],
            "roles": [
                {
                    "id": gid,
                    "name": "@everyone",
                    "permissions": str((1 << 10) | (1 << 11)),
                    "position": 0,
                    "color": 0,
                    "hoist": False,
                    "managed": False,
                    "mentionable": False,
                    "flags": 0,
                }
            ],
            "channels": [
                {**self._channel(cid), "guild_id": gid}
                for cid in (self.channel_ids if gid == str(self.guild_id) else ())
            ],
            "threads": [],
            "members": [],
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "joined_at": "2024-01-01T00:00:00+00:00",
            "preferred_locale": "en-US",
        }

    async def _gateway_ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        await ws.send_json({"op": 10, "d": {"heartbeat_interval": 41250}})
        session: _Session | None = None
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                frame = json.loads(msg.data)
                op = frame.get("op")
                if op == 1:
                    await ws.send_json({"op": 11})
                elif op == 2:
                    self.identifies.append(frame["d"])
                    session = _Session(f"session-{self.next_id()}", ws, identify=frame["d"])
                    self._sessions.append(session)
                    await self._send_ready(session)
                elif op == 6:
                    self.resumes.append(frame["d"])
                    session = _Session(frame["d"]["session_id"], ws, seq=frame["d"].get("seq") or 0)
                    self._sessions.append(session)
                    session.seq += 1
                    await ws.send_json({"op": 0, "t": "RESUMED", "s": session.seq, "d": {}})
                await self._notify()
        finally:
            if session is not None and session in self._sessions:
                self._sessions.remove(session)
        return ws

    async def _send_ready(self, s: _Session) -> None:
        owned = [g for g in self.guild_ids if self._owns(s, g)]
        ready = {
            "v": 10,
            "user": {**self.user(self.bot_id, self.bot_name), "verified": True, "flags": 0},
            "guilds": [{"id": str(g), "unavailable": True} for g in owned],
            "session_id": s.session_id,
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(self.application_id), "flags": 0},
            "private_channels": [],
            "shard": s.identify.get("shard") or [0, 1],
            "relationships": [],
        }
        s.seq += 1
        await s.ws.send_json({"op": 0, "t": "READY", "s": s.seq, "d": ready})
        for gid in owned:
            s.seq += 1
            await s.ws.send_json(
                {"op": 0, "t": "GUILD_CREATE", "s": s.seq, "d": self._guild_create(gid)}
            )

    @property
    def connected(self) -> bool:
        return bool(self._sessions)
