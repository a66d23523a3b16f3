"""Dispatcher figures: deliveries per second to a publisher that answers instantly, and the time
to fan one brief out to 1,000 channels under a 50 req/s budget.

    .venv/bin/python bench/dispatch.py [--channels 1000] [--briefs 5] [--concurrency 32]
                                       [--fanout 1000] [--rate 50] [--no-real] [--no-pg]

Throughput runs on SQLite in a temporary directory, and on PostgreSQL too when one is reachable
(KOREAPAGE_BENCH_PG, default postgresql+asyncpg://postgres@127.0.0.1:5432/test; a scratch
database is created and dropped). Fan-out runs on SQLite, once on virtual time (the budget's
clock and sleep injected: the budget's pacing alone) and once in real time (pacing plus the
store's own cost).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.integration...

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from tests.integration.delivery.support import (
    Clock,
    FakePlatform,
    VirtualClock,
    a_brief,
    a_feed,
    add_subscriptions,
    max_in_window,
)

from koreapage_bot.config import DeliveryConfig
from koreapage_bot.delivery.dispatcher import Dispatcher
from koreapage_bot.delivery.ratelimit import RateBudget
from koreapage_bot.store.store import Store

PG_URL = os.environ.get("KOREAPAGE_BENCH_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")


async def throughput(url: str, label: str, channels: int, briefs: int, concurrency: int) -> None:
    store = await Store.open(url)
    try:
        await add_subscriptions(store, channels)
        feed = await a_feed(store)
        queued = 0
        for i in range(briefs):
            queued += (await a_brief(store, feed, f"Bench brief {i}"))[1]
        platform = FakePlatform()
        dispatcher = Dispatcher(
            store, {"fake": platform}, DeliveryConfig(), concurrency=concurrency, clock=Clock()
        )
        start = time.perf_counter()
        stats = await dispatcher.drain(max_rounds=100_000)
        elapsed = time.perf_counter() - start
        assert stats.sent == queued == channels * briefs, (stats, queued)
        print(
            f"{label:<10} {queued:>6} deliveries ({channels} channels x {briefs} briefs, "
            f"concurrency {concurrency}): {elapsed:6.2f} s = {queued / elapsed:7.0f} /s"
        )
    finally:
        await store.close()


async def fanout(url: str, channels: int, rate: float, virtual: bool) -> None:
    store = await Store.open(url)
    try:
        await add_subscriptions(store, channels)
        await a_brief(store, await a_feed(store), "Fan-out brief")
        vclock = VirtualClock()
        if virtual:
            budget = RateBudget(rate, 1.0, key_rate=1.0, clock=vclock, sleep=vclock.sleep)
            platform = FakePlatform(clock=vclock)
        else:
            budget = RateBudget(rate, 1.0, key_rate=1.0)
            platform = FakePlatform(clock=time.monotonic)
        dispatcher = Dispatcher(
            store, {"fake": platform}, DeliveryConfig(), {"fake": budget}, clock=Clock()
        )
        start = time.perf_counter()
        stats = await dispatcher.drain()
        wall = time.perf_counter() - start
        times = [c.loop_time for c in platform.calls]
        span = max(times) - min(times)
        kind = "virtual" if virtual else "real"
        print(
            f"fan-out {stats.sent} channels at {rate:g}/s ({kind} time): first to last send "
            f"{span:6.2f} s (floor {(channels - 1) / rate:.2f} s), busiest 1 s window "
            f"{max_in_window(times)}, wall {wall:6.2f} s"
        )
    finally:
        await store.close()


def pg_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


async def pg_scratch(sql: str) -> None:
    engine = create_async_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        await throughput(
            f"sqlite+aiosqlite:///{tmp}/tp.db",
            "sqlite",
            args.channels,
            args.briefs,
            args.concurrency,
        )
        if not args.no_pg and pg_reachable():
            name = f"koreapage_bench_{os.getpid()}"
            try:
                await pg_scratch(f'CREATE DATABASE "{name}"')
            except Exception as exc:
                print(f"postgres   skipped: cannot create a scratch database ({exc})")
            else:
                try:
                    url = f"{PG_URL.rsplit('/', 1)[0]}/{name}"
                    await throughput(url, "postgres", args.channels, args.briefs, args.concurrency)
                finally:
                    await pg_scratch(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        elif not args.no_pg:
            print("postgres   skipped: not reachable at 127.0.0.1:5432")
        await fanout(f"sqlite+aiosqlite:///{tmp}/fv.db", args.fanout, args.rate, virtual=True)
        if not args.no_real:
            await fanout(f"sqlite+aiosqlite:///{tmp}/fr.db", args.fanout, args.rate, virtual=False)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--channels", type=int, default=1000)
    parser.add_argument("--briefs", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--fanout", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--no-real", action="store_true", help="skip the ~20 s real-time run")
    parser.add_argument("--no-pg", action="store_true")
    asyncio.run(main(parser.parse_args()))
