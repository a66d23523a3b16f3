"""Configuration: one TOML file plus the environment, validated once at start.

Secrets come only from the environment. A bad value raises `ConfigError` naming the key and
the file (or the variable), and the CLI stops with that message (exit code 2). Every component
takes these validated objects; nothing else reads the environment.

The environment (README.md, "Configuration", lists each variable):
- KOREAPAGE_CONFIG, KOREAPAGE_DATABASE_URL, KOREAPAGE_ADMIN_IDS, KOREAPAGE_LLM_API_KEY,
  KOREAPAGE_LLM_BASE_URL (here), KOREAPAGE_LOG_LEVEL and KOREAPAGE_LOG_FORMAT (cli.common);
- KOREAPAGE_HTTP_HOST, KOREAPAGE_HTTP_PORT: the bot's web server (`ServerConfig`);
- DISCORD_*: the Discord adapter (`DiscordConfig`), started when DISCORD_TOKEN is set;
- SLACK_*: the Slack adapter (`SlackConfig`), started when SLACK_BOT_TOKEN is set.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///data/koreapage.db"
DEFAULT_CONFIG_PATH = Path("config/koreapage.toml")
USER_AGENT = "koreapage-bot/0.1 (+https://github.com/koreapage-bot/koreapage-bot)"


# The largest duration or count a setting may take: a year in seconds. Far above any sensible
# value, and far below what overflows datetime arithmetic.
MAX_SECONDS = 365 * 24 * 3600
# Fetch, publish and LLM timeouts: a day is already absurd.
MAX_TIMEOUT = 24 * 3600


class ConfigError(Exception):
    """A configuration value is missing or wrong; the message names the key and the file."""


@dataclass(frozen=True, slots=True)
class FeedConfig:
    name: str
    url: str
    interval_seconds: int | None = None


@dataclass(frozen=True, slots=True)
class PollConfig:
    interval_seconds: int = 1800
    min_interval_seconds: int = 900
    jitter: float = 0.1
    concurrency: int = 8
    per_host_limit: int = 2
    broken_after: int = 10
    max_backoff_seconds: int = 86400
    tick_seconds: int = 30
    # Processes that parse and analyse (0: one per usable core; 1: threads only).
    workers: int = 0


@dataclass(frozen=True, slots=True)
class HttpConfig:
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    total_timeout: float = 60.0
    max_body_bytes: int = 10 * 1024 * 1024
    user_agent: str = USER_AGENT


@dataclass(frozen=True, slots=True)
class LlmConfig:
    enabled: bool = False
    base_url: str = "http://127.0.0.1:11434/v1"
    model: str = "llama3.1"
    timeout_seconds: float = 20.0
    api_key: str | None = None  # from KOREAPAGE_LLM_API_KEY only


@dataclass(frozen=True, slots=True)
class AnalysisConfig:
    threshold: float = 0.5
    issues_file: Path | None = None
    fetch_full_text: bool = True
    min_excerpt_chars: int = 600
    # Hosts whose article pages may be on a private network (entry links are never trusted).
    article_private_hosts: tuple[str, ...] = ()
    llm: LlmConfig = field(default_factory=LlmConfig)


@dataclass(frozen=True, slots=True)
class DeliveryConfig:
    dispatch_interval_seconds: float = 2.0
    batch_size: int = 100
    max_attempts: int = 8
    base_backoff_seconds: float = 30.0
    max_backoff_seconds: float = 3600.0
    # Above discord.py's own 30 s wait for short 429s, so that wait is not cut short.
    publish_timeout_seconds: float = 45.0
    # Platform calls in flight at once, per platform (each one a delivery marked `sending`).
    max_in_flight: int = 32
    # What to do with a delivery that may have arrived (no answer, or a crash mid-send) when the
    # platform cannot tell (console; a channel the bot may not read): "resend" (at-least-once)
    # or "drop" (at-most-once). Discord and Slack are asked first and are not posted twice.
    in_doubt: str = "resend"
    admin_allowlist: tuple[str, ...] = ()
    allow_private_feeds: bool = False
    # Feeds one server or workspace may add from chat (the operator's shell has no limit).
    max_chat_feeds: int = 25
    console_channel: str = "console"


@dataclass(frozen=True, slots=True)
class StoriesConfig:
    """[stories]: reports of one event across outlets become one story (stories/)."""

    enabled: bool = True
    window_hours: float = 72.0  # a new brief is compared with the briefs of this window


@dataclass(frozen=True, slots=True)
class WebConfig:
    """The read-only web archive and its feeds, served on the bot's HTTP port."""

    enabled: bool = False
    # The public address of the archive (behind a proxy); links in feeds are built on it.
    # None: the address each request came to.
    base_url: str | None = None
    page_size: int = 20
    title: str = "US–ROK alliance briefs"


@dataclass(frozen=True, slots=True)
class NoticesConfig:
    """The operators' admin channels (`[notices]`): a broken or disabled feed, a paused
    channel and dead deliveries are told there, once per cause a day. None: no notices."""

    discord_channel: str | None = None  # a channel id (digits)
    slack_channel: str | None = None  # a channel id (C…, G…)

    def channels(self) -> dict[str, str]:
        """platform -> admin channel, for the platforms that have one."""
        found = {"discord": self.discord_channel, "slack": self.slack_channel}
        return {platform: channel for platform, channel in found.items() if channel}


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """The bot's own HTTP server (/healthz, /slack/events, the web archive)."""

    host: str = "127.0.0.1"  # KOREAPAGE_HTTP_HOST
    port: int = 8080  # KOREAPAGE_HTTP_PORT; 0 picks a free port (tests)
    # KOREAPAGE_HTTP_PORT was set: serve /healthz even when nothing else needs the server.
    requested: bool = False


@dataclass(frozen=True, slots=True)
class DiscordConfig:
    token: str = ""  # DISCORD_TOKEN
    # REST base (a proxy in front of large bots, or the fake in tests). None = discord.com.
    api_base: str | None = None  # DISCORD_API_BASE
    # Gateway websocket override. None = what Discord announces / discord.py's default.
    gateway_url: str | None = None  # DISCORD_GATEWAY_URL
    # Sync commands to this guild only (instant); otherwise global sync when changed.
    guild_id: int | None = None  # DISCORD_GUILD_ID
    sharded: bool = False  # DISCORD_SHARDED: AutoShardedClient
    # Shards split across processes: how many the bot has in all, and which this process runs
    # (None: all of them). Either one set means the sharded client.
    shard_count: int | None = None  # DISCORD_SHARD_COUNT
    shard_ids: tuple[int, ...] | None = None  # DISCORD_SHARD_IDS, e.g. "0,1" or "2-3"
    # discord.py waits out 429s shorter than this itself; longer ones surface as RetryAfter.
    # discord.py's floor is 30 s.
    max_ratelimit_timeout: float = 30.0  # DISCORD_MAX_RATELIMIT_TIMEOUT
    # Answer an interaction directly if the service replies within this; otherwise defer.
    defer_after: float = 2.0  # DISCORD_DEFER_AFTER
    # Optional delivery modes a subscription may ask for (they change the invite permissions).
    allow_threads: bool = True  # DISCORD_THREADS
    allow_webhooks: bool = False  # DISCORD_WEBHOOKS
    start_timeout: float = 60.0  # DISCORD_START_TIMEOUT: how long start() waits for READY
    # How long discord.py waits for further GUILD_CREATEs before READY (its default is 2 s).
    guild_ready_timeout: float = 2.0  # DISCORD_GUILD_READY_TIMEOUT
    # Seconds after a delivery's first attempt during which a retry is resent with the same
    # nonce without looking first. Discord drops a repeated nonce "for a few minutes"; stay
    # well inside that. Beyond it the channel's messages are read before sending again.
    nonce_window: float = 120.0  # DISCORD_NONCE_WINDOW, at most 120

    def __repr__(self) -> str:  # never print the token
        return (
            f"DiscordConfig(token={'***' if self.token else ''!r}, api_base={self.api_base!r}, "
            f"gateway_url={self.gateway_url!r}, guild_id={self.guild_id!r}, "
            f"sharded={self.sharded!r}, shard_count={self.shard_count!r}, "
            f"shard_ids={self.shard_ids!r})"
        )


class SlackMode(StrEnum):
    HTTP = "http"  # requests arrive at /slack/events, verified with the signing secret
    SOCKET = "socket"  # outbound websocket with the app-level token; no public URL needed
    POST_ONLY = "post_only"  # neither secret nor app token: publish briefs, no slash commands


SLACK_API_URL = "https://slack.com/api/"


@dataclass(frozen=True, slots=True)
class SlackConfig:
    bot_token: str  # SLACK_BOT_TOKEN
    signing_secret: str | None = None  # SLACK_SIGNING_SECRET: HTTP mode
    app_token: str | None = None  # SLACK_APP_TOKEN: Socket Mode
    api_url: str = SLACK_API_URL  # SLACK_API_URL: Enterprise hosts, proxies, tests
    admin_users: frozenset[str] = field(default_factory=frozenset)  # SLACK_ADMIN_USERS
    # SLACK_ADMIN_CACHE_SECONDS: how long a users.info answer (is this user an admin) is trusted
    admin_cache_seconds: float = 300.0
    events_path: str = "/slack/events"

    def __post_init__(self) -> None:
        if not self.api_url.endswith("/"):
            object.__setattr__(self, "api_url", self.api_url + "/")

    @property
    def mode(self) -> SlackMode:
        # Socket Mode wins when both are set: it needs no public URL, so it is what a user who
        # went to the trouble of making an app-level token means.
        if self.app_token:
            return SlackMode.SOCKET
        if self.signing_secret:
            return SlackMode.HTTP
        return SlackMode.POST_ONLY

    def __repr__(self) -> str:  # never print a secret
        return f"SlackConfig(mode={self.mode.value!r}, api_url={self.api_url!r})"


@dataclass(frozen=True, slots=True)
class Settings:
    config_path: Path | None
    database_url: str
    feeds: tuple[FeedConfig, ...]
    poll: PollConfig
    http: HttpConfig
    analysis: AnalysisConfig
    delivery: DeliveryConfig
    web: WebConfig = field(default_factory=WebConfig)
    notices: NoticesConfig = field(default_factory=NoticesConfig)
    server: ServerConfig = field(default_factory=ServerConfig)
    stories: StoriesConfig = field(default_factory=StoriesConfig)
    discord: DiscordConfig | None = None  # None: DISCORD_TOKEN is not set
    slack: SlackConfig | None = None  # None: SLACK_BOT_TOKEN is not set


_POLL, _HTTP, _ANALYSIS, _LLM = PollConfig(), HttpConfig(), AnalysisConfig(), LlmConfig()
_WEB, _SERVER = WebConfig(), ServerConfig()


class _Reader:
    """Typed access to one TOML table, with errors that name the key and the file."""

    def __init__(self, data: Mapping[str, Any], prefix: str, source: str) -> None:
        self.data = data
        self.prefix = prefix
        self.source = source
        self._seen: set[str] = set()

    def fail(self, key: str, message: str) -> ConfigError:
        return ConfigError(f"{self.source}: `{self.prefix}{key}` {message}")

    def get(self, key: str, kind: type, default: Any) -> Any:
        self._seen.add(key)
        if key not in self.data:
            return default
        value = self.data[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.fail(key, f"must be {kind.__name__}, got {value!r}")
        return value

    def positive(self, key: str, kind: type, default: Any, maximum: float = MAX_SECONDS) -> Any:
        """A number above 0 and at most `maximum`. TOML allows `nan` and `inf`, and a huge
        integer overflows the clock arithmetic: neither is a usable setting."""
        value = self.get(key, kind, default)
        if not math.isfinite(value) or not 0 < value <= maximum:
            raise self.fail(key, f"must be a number above 0 and at most {maximum}, got {value!r}")
        return value

    def check_unknown(self, tables: frozenset[str] = frozenset()) -> None:
        """A misspelt key is an error, not a silently ignored setting."""
        for key in self.data:
            if key not in self._seen and key not in tables:
                raise self.fail(key, "is not a known setting (check the spelling)")


def _table(data: Mapping[str, Any], key: str, source: str, prefix: str = "") -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: `{prefix}{key}` must be a table")
    return value


def _check_http_url(url: str, key: str, source: str) -> str:
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises for a port that is not a number in 0-65535
    except ValueError as exc:  # `http://[::1/feed`: a bracket never closed
        raise ConfigError(f"{source}: `{key}` is not a valid URL ({exc}): {url!r}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{source}: `{key}` must be an http(s) URL, got {url!r}")
    return url


def _host_names(r: _Reader, key: str) -> tuple[str, ...]:
    """A list of bare host names or IP addresses (no scheme, port or path), lower-cased."""
    hosts = r.get(key, list, [])
    out: list[str] = []
    for host in hosts:
        if not isinstance(host, str) or not host.strip():
            raise r.fail(key, f"must be a list of host names, got {host!r}")
        name = host.strip().lower().rstrip(".")
        try:
            ipaddress.ip_address(name.strip("[]"))
            out.append(name.strip("[]"))
            continue
        except ValueError:
            pass
        if not all(c.isalnum() or c in "-._" for c in name):
            raise r.fail(key, f"takes host names only (no scheme, port or path), got {host!r}")
        out.append(name)
    return tuple(out)


def _feeds(raw: Any, source: str, min_interval: int) -> tuple[FeedConfig, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ConfigError(f"{source}: `feeds` must be an array of tables ([[feeds]])")
    out: list[FeedConfig] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        key = f"feeds[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(f"{source}: `{key}` must be a table with name and url")
        r = _Reader(item, f"{key}.", source)
        url = r.get("url", str, None)
        if not url:
            raise r.fail("url", "is required")
        _check_http_url(url, f"{key}.url", source)
        if url in seen:
            raise r.fail("url", f"repeats a feed listed earlier ({url})")
        seen.add(url)
        name = r.get("name", str, None) or urlsplit(url).netloc
        interval = r.get("interval", int, None)
        if interval is not None and interval < min_interval:
            raise r.fail(
                "interval",
                f"is {interval} s; feeds are polled no faster than every {min_interval} s",
            )
        if interval is not None and interval > MAX_SECONDS:
            raise r.fail("interval", f"is {interval} s; at most {MAX_SECONDS} s (a year)")
        r.check_unknown()
        out.append(FeedConfig(name=name, url=url, interval_seconds=interval))
    return tuple(out)


def parse_settings(
    data: Mapping[str, Any], env: Mapping[str, str], source: str, path: Path | None
) -> Settings:
    top = _Reader(data, "", source)
    top.check_unknown(
        frozenset({"feeds", "poll", "http", "analysis", "delivery", "web", "notices", "stories"})
    )

    p = _Reader(_table(data, "poll", source), "poll.", source)
    poll = PollConfig(
        interval_seconds=p.positive("interval", int, _POLL.interval_seconds),
        min_interval_seconds=p.positive("min_interval", int, _POLL.min_interval_seconds),
        jitter=p.get("jitter", float, _POLL.jitter),
        concurrency=p.positive("concurrency", int, _POLL.concurrency),
        per_host_limit=p.positive("per_host_limit", int, _POLL.per_host_limit),
        broken_after=p.positive("broken_after", int, _POLL.broken_after),
        max_backoff_seconds=p.positive("max_backoff", int, _POLL.max_backoff_seconds),
        tick_seconds=p.positive("tick", int, _POLL.tick_seconds),
        workers=p.get("workers", int, _POLL.workers),
    )
    p.check_unknown()
    if poll.interval_seconds < poll.min_interval_seconds:
        raise p.fail(
            "interval", f"must be at least poll.min_interval ({poll.min_interval_seconds})"
        )
    if not 0 <= poll.workers <= 1024:
        raise p.fail("workers", "must be between 0 (one per core) and 1024")
    if not 0 <= poll.jitter <= 0.5:
        raise p.fail("jitter", "must be between 0 and 0.5 (a fraction of the interval)")

    h = _Reader(_table(data, "http", source), "http.", source)
    http = HttpConfig(
        connect_timeout=h.positive("connect_timeout", float, _HTTP.connect_timeout, MAX_TIMEOUT),
        read_timeout=h.positive("read_timeout", float, _HTTP.read_timeout, MAX_TIMEOUT),
        total_timeout=h.positive("total_timeout", float, _HTTP.total_timeout, MAX_TIMEOUT),
        max_body_bytes=h.positive("max_body_bytes", int, _HTTP.max_body_bytes, 2**40),
        user_agent=h.get("user_agent", str, USER_AGENT),
    )
    h.check_unknown()
    if "http" not in http.user_agent and "@" not in http.user_agent:
        raise h.fail("user_agent", "must name a contact (a URL or an e-mail address)")

    a_table = _table(data, "analysis", source)
    a = _Reader(a_table, "analysis.", source)
    threshold = a.get("threshold", float, _ANALYSIS.threshold)
    if not 0 <= threshold <= 1:
        raise a.fail("threshold", f"must be between 0 and 1, got {threshold}")
    issues_file = a.get("issues_file", str, None)
    issues_path: Path | None = None
    if issues_file:
        issues_path = Path(issues_file)
        if not issues_path.is_absolute() and path is not None:
            issues_path = (path.parent / issues_path).resolve()
        if not issues_path.is_file():
            raise a.fail("issues_file", f"names a file that does not exist: {issues_path}")
    l_reader = _Reader(_table(a_table, "llm", source, "analysis."), "analysis.llm.", source)
    llm = LlmConfig(
        enabled=l_reader.get("enabled", bool, False),
        base_url=l_reader.get("base_url", str, _LLM.base_url),
        model=l_reader.get("model", str, _LLM.model),
        timeout_seconds=l_reader.positive("timeout", float, _LLM.timeout_seconds, MAX_TIMEOUT),
        api_key=env.get("KOREAPAGE_LLM_API_KEY") or None,
    )
    l_reader.check_unknown()
    if env.get("KOREAPAGE_LLM_BASE_URL"):
        llm = LlmConfig(**{**_asdict(llm), "base_url": env["KOREAPAGE_LLM_BASE_URL"]})
    if llm.enabled:
        _check_http_url(llm.base_url, "analysis.llm.base_url", source)
    analysis = AnalysisConfig(
        threshold=threshold,
        issues_file=issues_path,
        fetch_full_text=a.get("fetch_full_text", bool, True),
        min_excerpt_chars=a.positive("min_excerpt_chars", int, _ANALYSIS.min_excerpt_chars),
        article_private_hosts=_host_names(a, "article_private_hosts"),
        llm=llm,
    )
    a.check_unknown(frozenset({"llm"}))

    d = _Reader(_table(data, "delivery", source), "delivery.", source)
    allow = d.get("admin_allowlist", list, [])
    if not all(isinstance(x, str) for x in allow):
        raise d.fail("admin_allowlist", "must be a list of user id strings")
    env_allow = [x.strip() for x in env.get("KOREAPAGE_ADMIN_IDS", "").split(",") if x.strip()]
    in_doubt = d.get("in_doubt", str, "resend")
    if in_doubt not in ("resend", "drop"):
        raise d.fail("in_doubt", f"must be 'resend' or 'drop', got {in_doubt!r}")
    delivery = DeliveryConfig(
        dispatch_interval_seconds=d.positive("dispatch_interval", float, 2.0),
        batch_size=d.positive("batch_size", int, 100),
        max_attempts=d.positive("max_attempts", int, 8),
        base_backoff_seconds=d.positive("base_backoff", float, 30.0),
        max_backoff_seconds=d.positive("max_backoff", float, 3600.0),
        publish_timeout_seconds=d.positive("publish_timeout", float, 45.0, MAX_TIMEOUT),
        max_in_flight=d.positive("max_in_flight", int, 32),
        in_doubt=in_doubt,
        admin_allowlist=tuple(allow) + tuple(env_allow),
        allow_private_feeds=d.get("allow_private_feeds", bool, False),
        max_chat_feeds=d.positive("max_chat_feeds", int, 25),
        console_channel=d.get("console_channel", str, "console"),
    )
    d.check_unknown()

    web = _web(_Reader(_table(data, "web", source), "web.", source))
    notices = _notices(_Reader(_table(data, "notices", source), "notices.", source))
    st = _Reader(_table(data, "stories", source), "stories.", source)
    stories = StoriesConfig(
        enabled=st.get("enabled", bool, True),
        # A week at most: the matcher keeps the window in memory.
        window_hours=st.positive("window", float, 72.0, 168.0),
    )
    st.check_unknown()

    database_url = env.get("KOREAPAGE_DATABASE_URL") or DEFAULT_DATABASE_URL
    if not database_url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        raise ConfigError(
            "KOREAPAGE_DATABASE_URL must start with sqlite+aiosqlite:// or "
            f"postgresql+asyncpg://, got {database_url.split('://')[0]}://…"
        )
    _check_database_port(database_url)
    return Settings(
        config_path=path,
        database_url=database_url,
        feeds=_feeds(data.get("feeds"), source, poll.min_interval_seconds),
        poll=poll,
        http=http,
        analysis=analysis,
        delivery=delivery,
        web=web,
        notices=notices,
        stories=stories,
        server=server_config(env),
        discord=discord_config(env) if _env(env, "DISCORD_TOKEN") else None,
        slack=slack_config(env) if _env(env, "SLACK_BOT_TOKEN") else None,
    )


def _check_database_port(url: str) -> None:
    # The host part only (user:password@host:port); never echo the URL, it may hold a password.
    netloc = url.split("://", 1)[1].split("/", 1)[0].rpartition("@")[2]
    if netloc.startswith("["):  # [::1]:5432
        netloc = netloc.partition("]")[2]
    _, colon, port = netloc.rpartition(":")
    if colon and port and not (port.isascii() and port.isdigit() and 0 < int(port) <= 65535):
        raise ConfigError(f"KOREAPAGE_DATABASE_URL has a bad port {port!r} (1-65535)")


def _web(w: _Reader) -> WebConfig:
    base_url = w.get("base_url", str, None) or None
    if base_url is not None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
            raise w.fail("base_url", f"must be an http(s) URL without a query, got {base_url!r}")
        base_url = base_url.rstrip("/")
    page_size = w.positive("page_size", int, _WEB.page_size)
    if page_size > 100:
        raise w.fail("page_size", f"must be at most 100, got {page_size}")
    title = w.get("title", str, _WEB.title).strip()
    if not title:
        raise w.fail("title", "must not be empty")
    config = WebConfig(
        enabled=w.get("enabled", bool, False),
        base_url=base_url,
        page_size=page_size,
        title=title[:120],
    )
    w.check_unknown()
    return config


_DISCORD_ID = re.compile(r"^[0-9]{15,20}$")
_SLACK_CHANNEL = re.compile(r"^[CG][A-Z0-9]{2,}$")


def _notices(n: _Reader) -> NoticesConfig:
    discord = (n.get("discord_channel", str, "") or "").strip() or None
    if discord is not None and not _DISCORD_ID.match(discord):
        raise n.fail("discord_channel", f"must be a Discord channel id (digits), got {discord!r}")
    slack = (n.get("slack_channel", str, "") or "").strip() or None
    if slack is not None and not _SLACK_CHANNEL.match(slack):
        raise n.fail(
            "slack_channel", f"must be a Slack channel id (C… or G…, not a name), got {slack!r}"
        )
    n.check_unknown()
    return NoticesConfig(discord_channel=discord, slack_channel=slack)


# -- the environment: the HTTP server and the chat adapters -----------------------------------

_TRUE = {"1", "true", "yes", "on"}


def _env(env: Mapping[str, str], key: str) -> str:
    return env.get(key, "").strip()


def _env_flag(env: Mapping[str, str], key: str, default: bool) -> bool:
    raw = _env(env, key).lower()
    return default if not raw else raw in _TRUE


def _env_seconds(env: Mapping[str, str], key: str, default: float) -> float:
    raw = _env(env, key)
    try:
        value = float(raw) if raw else default
    except ValueError:
        raise ConfigError(f"{key} must be a number of seconds, got {raw!r}") from None
    if not math.isfinite(value) or not 0 <= value <= MAX_TIMEOUT:
        raise ConfigError(f"{key} must be a number of seconds from 0 to {MAX_TIMEOUT}, got {raw!r}")
    return value


def server_config(env: Mapping[str, str]) -> ServerConfig:
    host = _env(env, "KOREAPAGE_HTTP_HOST") or _SERVER.host
    raw_port = _env(env, "KOREAPAGE_HTTP_PORT")
    if raw_port and not (raw_port.isascii() and raw_port.isdigit() and len(raw_port) <= 5):
        raise ConfigError(f"KOREAPAGE_HTTP_PORT must be a number, got {raw_port!r}")
    port = int(raw_port) if raw_port else _SERVER.port
    if not 0 <= port <= 65535:
        raise ConfigError(f"KOREAPAGE_HTTP_PORT out of range (0-65535): {port}")
    return ServerConfig(host=host, port=port, requested=bool(raw_port))


def discord_config(env: Mapping[str, str]) -> DiscordConfig:
    """The DISCORD_* variables (the token may be empty: `discord invite-url` needs none)."""
    raw_guild = _env(env, "DISCORD_GUILD_ID")
    if raw_guild and not (raw_guild.isascii() and raw_guild.isdigit() and len(raw_guild) <= 20):
        raise ConfigError(f"DISCORD_GUILD_ID must be a Discord id (digits), got {raw_guild!r}")
    shard_count, shard_ids = _discord_shards(env)
    return DiscordConfig(
        token=_env(env, "DISCORD_TOKEN"),
        api_base=_env(env, "DISCORD_API_BASE").rstrip("/") or None,
        gateway_url=_env(env, "DISCORD_GATEWAY_URL") or None,
        guild_id=int(raw_guild) if raw_guild else None,
        sharded=_env_flag(env, "DISCORD_SHARDED", False) or shard_count is not None,
        shard_count=shard_count,
        shard_ids=shard_ids,
        max_ratelimit_timeout=max(30.0, _env_seconds(env, "DISCORD_MAX_RATELIMIT_TIMEOUT", 30.0)),
        defer_after=_env_seconds(env, "DISCORD_DEFER_AFTER", 2.0),
        allow_threads=_env_flag(env, "DISCORD_THREADS", True),
        allow_webhooks=_env_flag(env, "DISCORD_WEBHOOKS", False),
        start_timeout=_env_seconds(env, "DISCORD_START_TIMEOUT", 60.0),
        guild_ready_timeout=_env_seconds(env, "DISCORD_GUILD_READY_TIMEOUT", 2.0),
        nonce_window=min(_env_seconds(env, "DISCORD_NONCE_WINDOW", 120.0), 120.0),
    )


MAX_SHARDS = 65536


def _discord_shards(env: Mapping[str, str]) -> tuple[int | None, tuple[int, ...] | None]:
    """DISCORD_SHARD_COUNT (the bot's shards in all) and DISCORD_SHARD_IDS (this process's:
    "0,1", "2-3", "0,4-7"; default all)."""
    raw_count = _env(env, "DISCORD_SHARD_COUNT")
    raw_ids = _env(env, "DISCORD_SHARD_IDS")
    if not raw_count:
        if raw_ids:
            raise ConfigError("DISCORD_SHARD_IDS needs DISCORD_SHARD_COUNT (the shards in all)")
        return None, None
    if not (raw_count.isascii() and raw_count.isdigit() and 1 <= int(raw_count) <= MAX_SHARDS):
        raise ConfigError(
            f"DISCORD_SHARD_COUNT must be a whole number from 1 to {MAX_SHARDS}, got {raw_count!r}"
        )
    count = int(raw_count)
    if not raw_ids:
        return count, None
    ids: list[int] = []
    for part in re.split(r"[\s,]+", raw_ids):
        if not part:
            continue
        first, _, last = part.partition("-")
        if not all(x.isascii() and x.isdigit() and len(x) <= 5 for x in (first, last or first)):
            raise ConfigError(
                f"DISCORD_SHARD_IDS must list shard numbers or ranges (0,1 or 2-3), got {raw_ids!r}"
            )
        low, high = int(first), int(last or first)
        if low > high or high >= count:
            raise ConfigError(
                f"DISCORD_SHARD_IDS: {part!r} is not within 0-{count - 1} "
                f"(DISCORD_SHARD_COUNT is {count})"
            )
        ids.extend(range(low, high + 1))
    if not ids:
        raise ConfigError("DISCORD_SHARD_IDS is set but names no shard")
    if len(set(ids)) != len(ids):
        raise ConfigError(f"DISCORD_SHARD_IDS names a shard twice: {raw_ids!r}")
    return count, tuple(sorted(ids))


def slack_config(env: Mapping[str, str]) -> SlackConfig:
    """The SLACK_* variables; SLACK_BOT_TOKEN is required."""
    token = _env(env, "SLACK_BOT_TOKEN")
    if not token:
        raise ConfigError("SLACK_BOT_TOKEN is required for the Slack adapter")
    if _env(env, "SLACK_CLIENT_ID") and _env(env, "SLACK_CLIENT_SECRET"):
        # slack-bolt reads these from os.environ by itself and then switches to multi-
        # workspace OAuth, silently ignoring the bot token. Refuse rather than misbehave.
        raise ConfigError(
            "unset SLACK_CLIENT_ID / SLACK_CLIENT_SECRET: koreapage-bot runs as a "
            "single-workspace app with SLACK_BOT_TOKEN"
        )
    api_url = _env(env, "SLACK_API_URL") or SLACK_API_URL
    _check_http_url(api_url, "SLACK_API_URL", "environment")
    return SlackConfig(
        bot_token=token,
        signing_secret=_env(env, "SLACK_SIGNING_SECRET") or None,
        app_token=_env(env, "SLACK_APP_TOKEN") or None,
        api_url=api_url,
        admin_users=parse_user_list(env.get("SLACK_ADMIN_USERS", "")),
        admin_cache_seconds=_env_seconds(env, "SLACK_ADMIN_CACHE_SECONDS", 300.0),
    )


def parse_user_list(raw: str) -> frozenset[str]:
    """'U123, U456 W789' -> {'U123', 'U456', 'W789'}."""
    return frozenset(part for part in re.split(r"[\s,;]+", raw.strip()) if part)


def _asdict(llm: LlmConfig) -> dict[str, Any]:
    return {f: getattr(llm, f) for f in LlmConfig.__slots__}


def validate_timezone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"unknown time zone {name!r}") from exc


def load_settings(path: Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read the TOML file (KOREAPAGE_CONFIG, else config/koreapage.toml, else the packaged
    default) and the environment."""
    env = dict(os.environ if env is None else env)
    if path is None and env.get("KOREAPAGE_CONFIG"):
        path = Path(env["KOREAPAGE_CONFIG"])
        if not path.is_file():
            raise ConfigError(f"KOREAPAGE_CONFIG names a file that does not exist: {path}")
    if path is None and DEFAULT_CONFIG_PATH.is_file():
        path = DEFAULT_CONFIG_PATH
    if path is not None:
        source = str(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"{source}: no such file") from exc
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{source}: not valid TOML: not UTF-8 text ({exc.reason})") from exc
        except OSError as exc:  # a directory, no permission, ...
            raise ConfigError(f"{source}: cannot read it: {exc.strerror or exc}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{source}: not valid TOML: {exc}") from exc
    else:
        source = "<packaged default koreapage.toml>"
        text = resources.files("koreapage_bot").joinpath("defaults/koreapage.toml").read_text()
        data = tomllib.loads(text)
    return parse_settings(data, env, source, path)
