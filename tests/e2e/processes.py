"""Several `koreapage-bot run` processes on one PostgreSQL database, against the local feed
server, the fake Discord and the fake Slack that this test process serves (tests/e2e and
bench/scaleout.py drive them).

Each process is the real console script in a subprocess: `kill9()` is a real SIGKILL, its
sessions (the leader's advisory lock among them) end with it, and its PID no longer runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import func, select

from koreapage_bot.dates import utcnow
from koreapage_bot.store import tables as t
from koreapage_bot.store.store import Store
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.feed_server import Item
from tests.fakes.slack_server import FakeSlack

REPO = Path(__file__).resolve().parents[2]
BOT = Path(sys.executable).with_name("koreapage-bot")
_PORT = re.compile(r"HTTP server on port (\d+)")


class BotProcess:
    """One `koreapage-bot run` with its own log file and HTTP port (/healthz)."""

    def __init__(self, workdir: Path, env: dict[str, str], name: str) -> None:
        self.env = env
        self.name = name
        self.log_path = workdir / f"{name}.log"
        self.proc: asyncio.subprocess.Process | None = None
        self.starts = 0
        self._log_offset = 0
        self.port: int | None = None

    async def start(self) -> None:
        self.starts += 1
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        self.port = None
        with self.log_path.open("a", encoding="utf-8") as log:
            log.write(f"--- start {self.starts} at {time.strftime('%H:%M:%S')}\n")
            log.flush()
            self.proc = await asyncio.create_subprocess_exec(
                str(BOT), "run", env=self.env, stdout=log, stderr=log, cwd=str(REPO)
            )

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)

    async def wait(self) -> int:
        assert self.proc is not None
        return await self.proc.wait()

    async def stop(self, timeout: float = 60.0) -> int | None:
        """SIGTERM and wait (the exit code); SIGKILL if it hangs."""
        if self.proc is None:
            return None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), timeout)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        return self.proc.returncode

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8") if self.log_path.exists() else ""

    def check_alive(self) -> None:
        if self.proc is not None and self.proc.returncode is not None:
            raise AssertionError(
                f"{self.name} exited ({self.proc.returncode}):\n{self.log()[-4000:]}"
            )

    async def logged(self, text: str, timeout: float = 60.0) -> None:
        """Wait until its log says `text` (e.g. an adapter has started: the HTTP server
        listens before the adapters mount their routes)."""
        deadline = time.monotonic() + timeout
        while text not in self.log():
            self.check_alive()
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} never logged {text!r}:\n{self.log()[-3000:]}")
            await asyncio.sleep(0.1)

    async def http_port(self, timeout: float = 60.0) -> int:
        """The port it serves /healthz on (read from its log: it binds port 0)."""
        deadline = time.monotonic() + timeout
        while self.port is None:
            self.check_alive()
            text = self.log()[self._log_offset :]
            found = _PORT.search(text)
            if found:
                self.port = int(found.group(1))
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} never served HTTP:\n{text[-3000:]}")
            await asyncio.sleep(0.1)
        return self.port

    async def health(self) -> dict[str, Any]:
        port = await self.http_port()
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}/healthz") as resp,
        ):
            body: dict[str, Any] = await resp.json()
            body["http_status"] = resp.status
            return body


async def until(
    predicate: Callable[[], Awaitable[bool]],
    timeout: float,
    what: str,
    *,
    every: float = 0.1,
    alive: Sequence[BotProcess] = (),
) -> None:
    """Poll `predicate` until it holds; a process that died unexpectedly fails at once."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        for p in alive:
            p.check_alive()
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(every)


def bot_env(
    workdir: Path,
    db_url: str,
    discord: FakeDiscord,
    slack: FakeSlack,
    *,
    feeds: Iterable[str] = (),
    poll_interval: int = 3600,
    extra: dict[str, str] | None = None,
    poll: str = "",
    http: str = "",
) -> dict[str, str]:
    """The environment of every process: one config file, one database, both fakes (`poll`,
    `http`: more lines for those TOML tables)."""
    issues = (REPO / "config" / "issues.toml").resolve()
    feed_tables = "".join(
        f'[[feeds]]\nname = "Feed {i}"\nurl = "{url}"\n' for i, url in enumerate(feeds)
    )
    config = workdir / "koreapage.toml"
    config.write_text(
        f"[poll]\ninterval = {poll_interval}\nmin_interval = 1\njitter = 0\ntick = 1\n{poll}"
        f"[http]\n{http}"
        f'[analysis]\nissues_file = "{issues}"\nfetch_full_text = false\n'
        "[delivery]\npublish_timeout = 10\nbase_backoff = 1\nmax_backoff = 5\n"
        "max_attempts = 50\ndispatch_interval = 1\n" + feed_tables,
        encoding="utf-8",
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DISCORD_", "SLACK_", "KOREAPAGE_"))
    }
    env.update(
        {
            "KOREAPAGE_CONFIG": str(config),
            "KOREAPAGE_DATABASE_URL": db_url,
            "KOREAPAGE_LOG_LEVEL": "INFO",
            "KOREAPAGE_HTTP_HOST": "127.0.0.1",
            "KOREAPAGE_HTTP_PORT": "0",
            "DISCORD_TOKEN": "fake-token",
            "DISCORD_API_BASE": discord.api_base,
            "DISCORD_GATEWAY_URL": discord.gateway_url,
            "DISCORD_GUILD_ID": str(discord.guild_id),
            "DISCORD_GUILD_READY_TIMEOUT": "0.05",
            "SLACK_BOT_TOKEN": slack.bot_token,
            "SLACK_API_URL": slack.api_url,
            **(extra or {}),
        }
    )
    return env


def alliance_item(n: int) -> Item:
    """A new alliance post, distinct per `n` (its own guid and link)."""
    return Item(
        f"USFK and South Korea agree on defense cost sharing, round {n}",
        link=f"https://feeds.example.org/p/sma-{n}",
        guid=f"sma-{n}",
        published=datetime(2026, 5, 2, tzinfo=UTC),
        author="Jane Doe",
        description=(
            "Negotiators from Washington and Seoul signed a new Special Measures Agreement on "
            "how much South Korea contributes to the upkeep of United States Forces Korea "
            "(USFK). Both sides called the US–ROK alliance and extended deterrence against "
            "North Korea solid; the agreement covers the 28,500 American troops on the "
            "peninsula. "
        )
        * 3,
    )


async def add_subscriptions(
    store: Store,
    platform: str,
    workspace: str,
    channels: Iterable[str],
    *,
    per_brief: bool = True,
    digest_time: str | None = None,
    last_digest_at: datetime | None = None,
) -> None:
    now = utcnow()
    rows = [
        {
            "platform": platform,
            "workspace": workspace,
            "channel": channel,
            "issues": [],
            "feeds": [],
            "min_relevance": 0.0,
            "state": "active",
            "per_brief": per_brief,
            "digest_time": digest_time,
            "digest_tz": "UTC",
            "last_digest_at": last_digest_at or now,
            "options": {},
            "created_at": now,
            "updated_at": now,
        }
        for channel in channels
    ]
    async with store.engine.begin() as conn:
        await conn.execute(t.subscriptions.insert(), rows)


async def delivery_states(store: Store) -> Counter[str]:
    async with store.engine.connect() as conn:
        rows = await conn.execute(
            select(t.deliveries.c.state, func.count()).group_by(t.deliveries.c.state)
        )
        return Counter({state: int(n) for state, n in rows})


async def delivery_rows(store: Store) -> dict[str, tuple[str, str, str, str]]:
    """delivery key -> (platform, channel, state, kind)."""
    async with store.engine.connect() as conn:
        rows = await conn.execute(
            select(
                t.deliveries.c.id,
                t.subscriptions.c.platform,
                t.subscriptions.c.channel,
                t.deliveries.c.state,
                t.deliveries.c.kind,
            ).join(t.subscriptions, t.subscriptions.c.id == t.deliveries.c.subscription_id)
        )
        return {f"kp-{i}": (p, c, s, k) for i, p, c, s, k in rows}


def posted(discord: FakeDiscord, slack: FakeSlack) -> list[tuple[str, str, str]]:
    """Every message made on the platforms, in the order each channel got it:
    (platform, channel, delivery key)."""
    out: list[tuple[str, str, str]] = []
    for p in sorted(discord.posts, key=lambda p: int(p.message_id)):
        out.append(("discord", str(p.channel), str(p.nonce)))
    for channel, messages in slack.history.items():
        for m in messages:
            payload = (m.get("metadata") or {}).get("event_payload") or {}
            out.append(("slack", channel, str(payload.get("delivery_key"))))
    return out


def out_of_order(messages: Sequence[tuple[str, str, str]]) -> int:
    """Messages that reached their channel after a message with a later delivery key."""
    latest: dict[tuple[str, str], int] = {}
    late = 0
    for platform, channel, key in messages:
        number = int(key.removeprefix("kp-")) if key.startswith("kp-") else 0
        place = (platform, channel)
        if number < latest.get(place, 0):
            late += 1
        latest[place] = max(latest.get(place, 0), number)
    return late


async def leaders(processes: Sequence[BotProcess]) -> list[BotProcess]:
    """The live processes whose /healthz says they lead."""
    found = []
    for p in processes:
        if not p.running:
            continue
        with contextlib.suppress(aiohttp.ClientError, OSError, json.JSONDecodeError):
            if (await p.health())["role"]["leader"]:
                found.append(p)
    return found
