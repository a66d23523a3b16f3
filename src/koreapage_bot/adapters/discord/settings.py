"""Discord adapter settings, read from the environment by bootstrap."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_API_BASE = "https://discord.com/api/v10"

_TRUE = {"1", "true", "yes", "on"}


def _flag(env: Mapping[str, str], key: str, default: bool) -> bool:
    raw = env.get(key, "").strip().lower()
    return default if not raw else raw in _TRUE


def _float(env: Mapping[str, str], key: str, default: float) -> float:
    raw = env.get(key, "").strip()
    try:
        return float(raw) if raw else default
    except ValueError:
        raise ValueError(f"{key} must be a number of seconds, got {raw!r}") from None


def _snowflake(env: Mapping[str, str], key: str) -> int | None:
    raw = env.get(key, "").strip()
    if not raw:
        return None
    if not raw.isascii() or not raw.isdigit():
        raise ValueError(f"{key} must be a Discord id (digits), got {raw!r}")
    return int(raw)


@dataclass(frozen=True, slots=True)
class DiscordSettings:
    token: str = ""
    # REST base (a proxy in front of large bots, or the fake in tests). None = discord.com.
    api_base: str | None = None
    # Gateway websocket override. None = what Discord announces / discord.py's default.
    gateway_url: str | None = None
    # Sync commands to this guild only (instant); otherwise global sync when changed.
    guild_id: int | None = None
    sharded: bool = False  # AutoShardedClient
    # discord.py waits out 429s shorter than this itself; longer ones surface as RetryAfter.
    # discord.py's floor is 30 s.
    max_ratelimit_timeout: float = 30.0
    # Answer an interaction directly if the service replies within this; otherwise defer.
    defer_after: float = 2.0
    # Optional delivery modes a subscription may ask for (they change the invite permissions).
    allow_threads: bool = True
    allow_webhooks: bool = False
    start_timeout: float = 60.0  # how long start() waits for the gateway READY
    # How long discord.py waits for further GUILD_CREATEs before READY (its default is 2 s).
    guild_ready_timeout: float = 2.0
    # Seconds after a delivery's first attempt during which a retry is resent with the same
    # nonce without looking first. Discord drops a repeated nonce "for a few minutes"; stay
    # well inside that. Beyond it the channel's messages are read before sending again.
    nonce_window: float = 120.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> DiscordSettings:
        return cls(
            token=env.get("DISCORD_TOKEN", "").strip(),
            api_base=(env.get("DISCORD_API_BASE", "").strip().rstrip("/") or None),
            gateway_url=(env.get("DISCORD_GATEWAY_URL", "").strip() or None),
            guild_id=_snowflake(env, "DISCORD_GUILD_ID"),
            sharded=_flag(env, "DISCORD_SHARDED", False),
            max_ratelimit_timeout=max(30.0, _float(env, "DISCORD_MAX_RATELIMIT_TIMEOUT", 30.0)),
            defer_after=_float(env, "DISCORD_DEFER_AFTER", 2.0),
            allow_threads=_flag(env, "DISCORD_THREADS", True),
            allow_webhooks=_flag(env, "DISCORD_WEBHOOKS", False),
            start_timeout=_float(env, "DISCORD_START_TIMEOUT", 60.0),
            guild_ready_timeout=_float(env, "DISCORD_GUILD_READY_TIMEOUT", 2.0),
            nonce_window=max(0.0, min(_float(env, "DISCORD_NONCE_WINDOW", 120.0), 120.0)),
        )

    def __repr__(self) -> str:  # never print the token
        return (
            f"DiscordSettings(token={'***' if self.token else ''!r}, api_base={self.api_base!r}, "
            f"gateway_url={self.gateway_url!r}, guild_id={self.guild_id!r}, "
            f"sharded={self.sharded!r})"
        )
