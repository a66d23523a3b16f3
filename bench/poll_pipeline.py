"""Feeds polled per second through the whole poller: fetch, policy, parse, identify, analyze
and store (SQLite in a temp dir, or PostgreSQL with --database-url), against a local server
holding 1,000 feeds of which 5% change between rounds.

    .venv/bin/python bench/poll_pipeline.py [--feeds 1000] [--changed 0.05] [--rounds 3]

Round 0 is every feed's first fetch (baseline: all entries analysed and archived). Later
rounds are mostly 304s; the changed feeds bring one new entry each, analysed and stored with
its outbox rows. The feed server shares the process and loop, so figures are a floor.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.fakes

from rich.console import Console
from tests.fakes.feed_server import FeedServer, Item

from koreapage_bot.bootstrap import open_bot
from koreapage_bot.config import load_settings
from koreapage_bot.domain import Feed
from koreapage_bot.ports import FeedStore

T0 = datetime(2026, 7, 1, tzinfo=UTC)
TOPICS = (
    "Seoul and Washington extend talks on the cost of stationing US troops in Korea",
    "South Korea weighs the GSOMIA intelligence pact with Japan under US pressure",
    "A weather front brings early snow to Gangwon province",
    "Combined exercises of US and South Korean forces resume next month",
)


def items_for(n: int, version: int, count: int = 10) -> list[Item]:
    newest = 100 + version
    return [
        Item(
            f"{TOPICS[(n + k) % len(TOPICS)]} ({n}-{k})",
            link=f"https://site{n % 50}.example/{n}/{k}",
            guid=f"f{n}-{k}",
            published=T0 + timedelta(hours=k),
            description=(TOPICS[(n + k) % len(TOPICS)] + ". Officials met on Monday. ") * 4,
        )
        for k in range(newest, newest - count, -1)
    ]


async def make_all_due(repo: FeedStore, feeds: list[Feed]) -> None:
    past = datetime.now(UTC) - timedelta(seconds=1)
    for feed in feeds:
        await repo.set_next_poll(feed.id, past)


async def bench(args: argparse.Namespace, workdir: Path) -> list[float]:
    rng = random.Random(7)
    config = workdir / "koreapage.toml"
    config.write_text(
        f"[poll]\nconcurrency = {args.concurrency}\nper_host_limit = {args.concurrency}\n"
        "[analysis]\nfetch_full_text = false\n",
        encoding="utf-8",
    )
    url = args.database_url or f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    settings = load_settings(config, {"KOREAPAGE_DATABASE_URL": url})
    async with (
        FeedServer() as server,
        open_bot(settings, console=Console(file=io.StringIO()), chat=False) as bot,
    ):
        routes = [server.feed(f"/f/{n}.xml", items_for(n, 0)) for n in range(args.feeds)]
        for n in range(args.feeds):
            await bot.store.feeds.add(server.url(f"/f/{n}.xml"), f"feed {n}")
        rates = []
        for r in range(args.rounds + 1):
            if r:
                for idx in rng.sample(range(args.feeds), int(args.feeds * args.changed)):
                    routes[idx].set_items(items_for(idx, r))
            feeds = await bot.store.feeds.all()
            await make_all_due(bot.store.feeds, feeds)
            started = time.perf_counter()
            polled = 0
            new = 0
            stats = await bot.scheduler.pipeline.poll_due_now()
            polled += stats.polled
            new += stats.new_entries
            elapsed = time.perf_counter() - started
            rate = polled / elapsed
            label = "first fetch" if r == 0 else f"round {r}"
            print(f"  {label:12s} {rate:7.0f} feeds/s  polled {polled}  new entries {new}")
            if r:
                rates.append(rate)
    return rates


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--feeds", type=int, default=1000)
    ap.add_argument("--changed", type=float, default=0.05)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--database-url", default=None)
    args = ap.parse_args()
    logging.disable(logging.INFO)
    print(
        f"{args.feeds} feeds through the full poller, {args.changed:.0%} changed per round, "
        f"concurrency {args.concurrency}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        rates = await bench(args, Path(tmp))
    print(f"  => median {statistics.median(rates):.0f} feeds/s over {len(rates)} rounds")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
