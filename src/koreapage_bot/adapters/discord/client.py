"""The Discord adapter: owns the discord.py client, its command tree, sync and lifetime.

Bootstrap: `adapter = DiscordAdapter(settings.discord, command_api)`, register
`adapter.publisher` with the dispatcher, `await adapter.start()`, and at shutdown
`await adapter.close()` — all in the bot's one event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from typing import Any

import discord
import yarl
from discord import app_commands

from koreapage_bot.adapters.discord.commands import install
from koreapage_bot.adapters.discord.publisher import DiscordPublisher
from koreapage_bot.commands.api import CommandApi
from koreapage_bot.config import DiscordConfig

log = logging.getLogger(__name__)

Tree = app_commands.CommandTree[discord.Client]


# --- the one place that touches discord.py internals ------------------------------------------
# discord.py has no public setting for the REST root or the gateway URL. `Route.BASE` prefixes
# every REST route (webhooks and interaction callbacks included); `DiscordWebSocket.
# DEFAULT_GATEWAY` is where a non-sharded Client connects (AutoShardedClient asks
# `GET /gateway/bot` under the REST root instead). Both are class attributes, so the override is
# process-wide: one Discord bot per process, which is how this bot runs.
DEFAULT_API_BASE = "https://discord.com/api/v10"
_DEFAULTS: dict[str, Any] = {}


def _point_sdk_at(api_base: str | None, gateway_url: str | None) -> None:
    from discord.gateway import DiscordWebSocket
    from discord.http import Route

    _DEFAULTS.setdefault("base", Route.BASE)
    _DEFAULTS.setdefault("gateway", DiscordWebSocket.DEFAULT_GATEWAY)
    Route.BASE = api_base or _DEFAULTS["base"] or DEFAULT_API_BASE
    DiscordWebSocket.DEFAULT_GATEWAY = (
        yarl.URL(gateway_url) if gateway_url else _DEFAULTS["gateway"]
    )


def _restore_sdk() -> None:
    from discord.gateway import DiscordWebSocket
    from discord.http import Route

    if _DEFAULTS:
        Route.BASE = _DEFAULTS["base"]
        DiscordWebSocket.DEFAULT_GATEWAY = _DEFAULTS["gateway"]


# --- command definitions, compared so a global sync happens only when they changed ------------
def _normalize(node: dict[str, Any]) -> dict[str, Any]:
    """A command or option as Discord would echo it, without ids and defaults."""
    keep = (
        "type",
        "name",
        "description",
        "required",
        "autocomplete",
        "min_value",
        "max_value",
        "min_length",
        "max_length",
        "nsfw",
        "contexts",
    )
    out: dict[str, Any] = {k: node.get(k) for k in keep}
    perms = node.get("default_member_permissions")
    out["default_member_permissions"] = str(perms) if perms is not None else None
    out["choices"] = [[c["name"], c["value"]] for c in node.get("choices") or []]
    out["channel_types"] = sorted(node.get("channel_types") or [])
    out["options"] = [_normalize(o) for o in node.get("options") or []]
    return {k: v for k, v in out.items() if v not in (None, False, [], {})}


def command_digest(commands: list[dict[str, Any]]) -> str:
    canon = sorted((_normalize(c) for c in commands), key=lambda c: (c.get("type", 1), c["name"]))
    return hashlib.sha256(json.dumps(canon, sort_keys=True).encode()).hexdigest()


def _remote_dict(cmd: app_commands.AppCommand) -> dict[str, Any]:
    data: dict[str, Any] = dict(cmd.to_dict())
    perms = cmd.default_member_permissions
    data["default_member_permissions"] = perms.value if perms is not None else None
    data["nsfw"] = cmd.nsfw
    return data


class _Bot(discord.Client):
    def __init__(self, adapter: DiscordAdapter, **options: Any) -> None:
        super().__init__(**options)
        self._adapter = adapter

    async def setup_hook(self) -> None:
        await self._adapter._setup(self)

    async def on_ready(self) -> None:
        self._adapter._ready.set()


class _ShardedBot(discord.AutoShardedClient):
    def __init__(self, adapter: DiscordAdapter, **options: Any) -> None:
        super().__init__(**options)
        self._adapter = adapter

    async def setup_hook(self) -> None:
        await self._adapter._setup(self)

    async def on_ready(self) -> None:
        self._adapter._ready.set()


class DiscordAdapter:
    platform = "discord"

    def __init__(self, settings: DiscordConfig, api: CommandApi) -> None:
        self.settings = settings
        self.api = api
        self.publisher = DiscordPublisher(lambda: self._client, settings)
        self._client: discord.Client | None = None
        self._tree: Tree | None = None
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self.synced: bool | None = None  # None: not tried; False: unchanged; True: sent

    @property
    def client(self) -> discord.Client | None:
        return self._client

    @property
    def tree(self) -> Tree | None:
        return self._tree

    def _make_client(self) -> discord.Client:
        # Slash commands and REST posting need no privileged intents; `guilds` keeps the
        # channel/guild cache that interactions refer to.
        intents = discord.Intents.none()
        intents.guilds = True
        options: dict[str, Any] = {
            "intents": intents,
            "max_ratelimit_timeout": self.settings.max_ratelimit_timeout,
            "allowed_mentions": discord.AllowedMentions.none(),
            "guild_ready_timeout": self.settings.guild_ready_timeout,
            # Lets the publisher tell a global 429 from a route's (discord.py does not say).
            "http_trace": self.publisher.global_limit.trace_config(),
        }
        if self.settings.shard_count is not None:
            # This process runs its share of the bot's shards; Discord sends each shard only
            # its own guilds' events, so a guild's slash commands are answered by the one
            # process that owns its shard. Posting needs no shard: any process posts anywhere.
            options["shard_count"] = self.settings.shard_count
            if self.settings.shard_ids is not None:
                options["shard_ids"] = list(self.settings.shard_ids)
        client: discord.Client = (
            _ShardedBot(self, **options) if self.settings.sharded else _Bot(self, **options)
        )
        tree: Tree = app_commands.CommandTree(client)
        install(tree, self.api, self.settings.defer_after)
        self._tree = tree
        return client

    def shards(self) -> dict[str, object]:
        """The gateway shards this process runs (for /healthz)."""
        client = self._client
        if isinstance(client, discord.AutoShardedClient):
            ids = sorted(client.shards) or list(self.settings.shard_ids or [])
            return {"ids": ids, "count": client.shard_count, "ready": client.is_ready()}
        ready = client is not None and client.is_ready()
        return {"ids": [0], "count": 1, "ready": ready}

    async def start(self) -> None:
        """Log in, sync commands, connect to the gateway; returns once READY (or timed out)."""
        if self._task is not None:
            raise RuntimeError("the Discord adapter is already started")
        _point_sdk_at(self.settings.api_base, self.settings.gateway_url)
        self._ready.clear()
        self._client = self._make_client()
        self._task = asyncio.create_task(
            self._client.start(self.settings.token), name="discord-client"
        )
        ready = asyncio.create_task(self._ready.wait())
        done, _ = await asyncio.wait(
            {self._task, ready},
            timeout=self.settings.start_timeout,
            return_when=asyncio.FIRST_COMPLETED,
        )
        ready.cancel()
        if self._task in done:
            task, self._task = self._task, None
            await self._client.close()
            task.result()  # raises LoginFailure, PrivilegedIntentsRequired, ...
            raise RuntimeError("the Discord client stopped during start-up")
        if ready not in done:
            log.warning(
                "Discord gateway not ready after %.0fs; still trying", self.settings.start_timeout
            )

    async def _setup(self, client: discord.Client) -> None:
        """setup_hook: logged in over REST (application id known), gateway not yet connected."""
        try:
            self.synced = await self.sync_commands()
        except discord.HTTPException as exc:
            # The bot still posts briefs without commands; say what to fix.
            log.error(
                "could not sync slash commands (%s); check the applications.commands "
                "scope in the invite",
                exc,
            )

    async def sync_commands(self) -> bool:
        """Sync to DISCORD_GUILD_ID, or globally; only when the definitions changed."""
        tree = self._tree
        assert tree is not None
        guild = discord.Object(id=self.settings.guild_id) if self.settings.guild_id else None
        if guild is not None:
            tree.copy_global_to(guild=guild)
        local = [cmd.to_dict(tree) for cmd in tree.get_commands(guild=guild)]
        remote = [_remote_dict(c) for c in await tree.fetch_commands(guild=guild)]
        if command_digest(local) == command_digest(remote):
            log.info("slash commands unchanged; not syncing")
            return False
        await tree.sync(guild=guild)
        log.info("slash commands synced %s", f"to guild {guild.id}" if guild else "globally")
        return True

    async def close(self) -> None:
        client, task = self._client, self._task
        self._task = None
        if client is not None and not client.is_closed():
            await client.close()
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, timeout=10)
        _restore_sdk()
