"""Do slash commands answer within Discord's 3 s window while the bot runs a large first fetch?

    .venv/bin/python bench/commands_under_load.py [--feeds 1000] [--every 1.0]

The farm (bench/feed_farm.py: N feeds x 20 items, 50 ms latency) in its own process, the
fake Discord (tests/fakes/discord_server.py: REST and gateway) in this one, and the bot as
`python -m koreapage_bot run` with DISCORD_TOKEN, DISCORD_API_BASE and DISCORD_GATEWAY_URL
pointing at the fake and a fresh SQLite database whose config lists the farm's feeds: on
start it fetches every feed for the first time. Once its slash commands are synced, an
interaction arrives over the gateway every `--every` seconds, in turn `/briefs latest`,
`/briefs search` (a common word, a phrase, a rare word) and an autocomplete of the `issue`
option. The latency is from the INTERACTION_CREATE being sent to the bot's first answer
(the interaction callback, which is what the 3 s window covers) reaching the fake.

It goes on until the first fetch is over (every feed polled once) and prints p50/p95/max
latency for the interactions sent while it ran, and how many missed 3 s. Not a test: it
times things. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from itertools import cycle
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))  # for tests.fakes
sys.path.insert(0, str(BENCH))

from tests.fakes.discord_server import FakeDiscord  # noqa: E402

from farmctl import (  # noqa: E402
    Child,
    Farm,
    FarmSkipped,
    bot_command,
    bot_config,
    bot_env,
    feed_farm,
    percentile,
)

WINDOW = 3.0  # seconds Discord gives for the first answer to an interaction
GIVE_UP = 30.0
ASKS: tuple[dict[str, Any], ...] = (
    {"name": "briefs", "subcommand": "latest"},
    {"name": "briefs", "subcommand": "search", "options": {"query": "alliance"}},
    {"name": "briefs", "subcommand": "search", "options": {"query": '"joint exercises"'}},
    {"name": "briefs", "subcommand": "search", "options": {"query": "gsomia"}},
    {
        "name": "briefs",
        "subcommand": "latest",
        "options": {"issue": "us"},
        "autocomplete_focus": "issue",
    },
)


def polled_feeds(db: Path) -> int:
    try:
        conn = sqlite3.connect(db, timeout=5)
        try:
            row = conn.execute("SELECT count(*) FROM feeds WHERE last_polled_at IS NOT NULL")
            return int(row.fetchone()[0])
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


async def ask(fake: FakeDiscord, kwargs: dict[str, Any]) -> tuple[float, int] | None:
    """Send one interaction: seconds until its first answer and the answer's callback type
    (4 a message, 5 deferred, 8 autocomplete choices); None if none within GIVE_UP."""
    started = time.perf_counter()
    payload = await fake.inject_interaction(**kwargs)
    try:
        await fake.wait_for(lambda: bool(fake.responses_to(payload)), timeout=GIVE_UP)
    except TimeoutError:
        return None
    took = time.perf_counter() - started
    first = fake.responses_to(payload)[0]
    kind = first.body.get("type", 0) if isinstance(first.body, dict) else 0
    return took, int(kind)


async def measure(args: argparse.Namespace, workdir: Path, farm: Farm) -> int:
    db = workdir / "bot.db"
    for suffix in ("", "-wal", "-shm"):  # a kept workdir's last run
        db.with_name(db.name + suffix).unlink(missing_ok=True)
    config = bot_config(workdir / "koreapage.toml", farm.urls, poll={})
    async with FakeDiscord() as fake:
        env = bot_env(
            config,
            f"sqlite+aiosqlite:///{db}",
            DISCORD_TOKEN="fake-token",
            DISCORD_API_BASE=fake.api_base,
            DISCORD_GATEWAY_URL=fake.gateway_url,
            DISCORD_GUILD_ID=str(fake.guild_id),
        )
        log = (workdir / "bot.log").open("wb")
        bot = Child(bot_command("run"), env=env, cwd=workdir, stderr=log)
        started = time.perf_counter()
        try:
            try:
                await fake.wait_for(lambda: fake.connected and bool(fake.command_puts), 120)
            except TimeoutError:
                print(f"the bot did not log in to the fake Discord: see {workdir}/bot.log")
                return 1
            ready = time.perf_counter() - started
            polled_at_ready = await asyncio.to_thread(polled_feeds, db)
            print(
                f"  bot logged in and synced its commands after {ready:.1f} s "
                f"({polled_at_ready} feeds polled by then)"
            )
            return await _ask_until_done(args, fake, bot, db, started)
        finally:
            await asyncio.to_thread(bot.stop)
            log.close()


async def _ask_until_done(
    args: argparse.Namespace, fake: FakeDiscord, bot: Child, db: Path, started: float
) -> int:
    pending: list[asyncio.Task[tuple[float, int] | None]] = []
    done_at: float | None = None
    asks = cycle(ASKS)
    polled = 0
    next_report = time.perf_counter() + 30
    while time.perf_counter() - started < args.max_duration:
        if bot.process.poll() is not None:
            print(f"the bot exited early ({bot.process.returncode})")
            return 1
        pending.append(asyncio.create_task(ask(fake, next(asks))))
        await asyncio.sleep(args.every)
        polled = await asyncio.to_thread(polled_feeds, db)
        if time.perf_counter() > next_report:
            print(f"  {time.perf_counter() - started:5.0f} s: {polled} feeds polled")
            next_report += 30
        if polled >= args.feeds:
            done_at = time.perf_counter() - started
            break
    results = await asyncio.gather(*pending)
    answered = [r[0] for r in results if r is not None]
    kinds = Counter(r[1] for r in results if r is not None)
    lost = len(results) - len(answered)
    missed = lost + sum(r > WINDOW for r in answered)
    print()
    if done_at is not None:
        print(f"first fetch of {args.feeds} feeds done after {done_at:.0f} s (bot start)")
    else:
        print(f"stopped at --max-duration with {polled}/{args.feeds} feeds polled")
    print(
        f"{len(results)} interactions during it, one every {args.every:g} s: first answer "
        f"p50 {percentile(answered, 50) * 1000:.0f} ms, p95 "
        f"{percentile(answered, 95) * 1000:.0f} ms, max {max(answered, default=0) * 1000:.0f} ms;"
        f" {missed} missed the {WINDOW:g} s window ({lost} unanswered after {GIVE_UP:g} s)"
    )
    print(
        "answers by callback type (4 message, 5 deferred, 8 choices):",
        dict(sorted(kinds.items())),
    )
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--feeds", type=int, default=1000)
    ap.add_argument("--items", type=int, default=20)
    ap.add_argument("--hosts", type=int, default=200)
    ap.add_argument("--every", type=float, default=1.0, help="seconds between interactions")
    ap.add_argument("--max-duration", type=float, default=1800.0)
    ap.add_argument("--keep", default=None, help="keep the database and logs in this dir")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="commands-under-load-") as tmp:
        workdir = Path(args.keep) if args.keep else Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        farm_args = ["--feeds", str(args.feeds), "--items", str(args.items)]
        farm_args += ["--hosts", str(args.hosts)]
        try:
            with feed_farm(workdir, *farm_args) as farm:
                print(
                    f"{args.feeds} feeds x {args.items} items on {farm.info['hosts']} hosts; "
                    "`koreapage-bot run` logged in to the fake Discord, first fetch of all"
                )
                return asyncio.run(measure(args, workdir, farm))
        except FarmSkipped as exc:
            print(f"skipped: {exc}")
            return 0


if __name__ == "__main__":
    sys.exit(main())
