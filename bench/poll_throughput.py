"""Feeds polled per second against a local server holding 1,000 feeds (mostly 304s, 5% changed).

    .venv/bin/python bench/poll_throughput.py [--feeds 1000] [--changed 0.05] [--rounds 3]
                                              [--concurrency 16] [--per-host N]

Each round polls every feed once: conditional fetch -> policy -> parse when changed.
Round 0 is the first fetch of everything (all 200s); later rounds change a fresh 5% first.

`poll_one` is the single seam: to measure the full poller with the store, replace it with a
function that takes a Feed and returns the Feed as stored after the poll (see PollFn).
The server runs in the same process and event loop as the client, so figures are a floor.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.fakes

from tests.fakes.feed_server import FeedRoute, FeedServer, Item

from koreapage_bot.config import PollConfig
from koreapage_bot.domain import Feed, FeedState
from koreapage_bot.ingest.fetch import FeedFetcher
from koreapage_bot.ingest.parse import NotAFeed, parse_feed
from koreapage_bot.ingest.policy import PollDecision, decide, parse_failed

T0 = datetime(2024, 7, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Polled:
    feed: Feed  # the feed as it would be stored after the poll
    outcome: str
    entries: int


PollFn = Callable[[Feed, datetime], Awaitable[Polled]]


def apply(feed: Feed, decision: PollDecision, now: datetime) -> Feed:
    """What a store would write back (the lead's repository does this for real)."""
    return replace(
        feed,
        url=decision.update.new_url or feed.url,
        state=decision.update.state,
        etag=decision.update.etag,
        last_modified=decision.update.last_modified,
        content_hash=decision.update.content_hash,
        next_poll_at=decision.update.next_poll_at,
        last_polled_at=now,
        consecutive_failures=decision.update.consecutive_failures,
        last_error=decision.update.last_error,
    )


def make_poll_one(fetcher: FeedFetcher, settings: PollConfig) -> PollFn:
    async def poll_one(feed: Feed, now: datetime) -> Polled:
        result = await fetcher.fetch(feed.url, feed.etag, feed.last_modified)
        decision = decide(feed, result, now, settings)
        entries = 0
        if decision.parse and result.body is not None:
            try:
                parsed = await parse_feed(result.body, result.final_url, result.content_type)
                entries = len(parsed.entries)
            except NotAFeed as exc:
                decision = parse_failed(feed, decision, exc.reason, now, settings)
        return Polled(apply(feed, decision, now), decision.outcome.value, entries)

    return poll_one


async def run_round(
    feeds: list[Feed], poll: PollFn, now: datetime
) -> tuple[list[Feed], float, Counter[str], int]:
    started = time.perf_counter()
    results = await asyncio.gather(*(poll(f, now) for f in feeds))
    elapsed = time.perf_counter() - started
    outcomes = Counter(r.outcome for r in results)
    return [r.feed for r in results], elapsed, outcomes, sum(r.entries for r in results)


def items_for(n: int, version: int, count: int = 20) -> list[Item]:
    newest = 100 + version
    return [
        Item(
            f"Feed {n}: alliance note {k}",
            link=f"https://site{n % 97}.example/feed{n}/posts/{k}",
            guid=f"f{n}-{k}",
            published=T0 + timedelta(hours=k),
            description=f"Invented summary {k} about the alliance for feed {n}. " * 3,
        )
        for k in range(newest, newest - count, -1)
    ]


async def bench(args: argparse.Namespace, per_host: int) -> list[float]:
    rng = random.Random(42)
    poll_settings = PollConfig(interval_seconds=900)  # a poll every 15 minutes
    async with FeedServer() as server:
        routes: list[FeedRoute] = []
        feeds: list[Feed] = []
        for n in range(args.feeds):
            routes.append(server.feed(f"/feeds/{n}.xml", items_for(n, 0)))
            feeds.append(
                Feed(
                    id=n,
                    url=server.url(f"/feeds/{n}.xml"),
                    name=f"feed {n}",
                    state=FeedState.ACTIVE,
                )
            )
        async with FeedFetcher(
            concurrency=args.concurrency, per_host_limit=per_host, allow_private=True
        ) as fetcher:
            poll = make_poll_one(fetcher, poll_settings)
            now = T0
            feeds, elapsed, outcomes, entries = await run_round(feeds, poll, now)
            rate = len(feeds) / elapsed
            print(
                f"  round 0 (first fetch): {rate:7.0f} feeds/s  {dict(outcomes)}  parsed {entries}"
            )
            rates = []
            for r in range(1, args.rounds + 1):
                for idx in rng.sample(range(args.feeds), int(args.feeds * args.changed)):
                    routes[idx].set_items(items_for(idx, r))
                now += timedelta(minutes=15)
                feeds, elapsed, outcomes, entries = await run_round(feeds, poll, now)
                rates.append(len(feeds) / elapsed)
                took = f"{rates[-1]:7.0f} feeds/s  ({elapsed * 1000:.0f} ms)"
                print(f"  round {r}: {took}  {dict(outcomes)}  parsed {entries}")
            assert server.total_requests == args.feeds * (args.rounds + 1)
    return rates


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--feeds", type=int, default=1000)
    ap.add_argument("--changed", type=float, default=0.05)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument(
        "--per-host",
        type=int,
        default=None,
        help="per-host limit (default: the concurrency, as if feeds were on many hosts)",
    )
    args = ap.parse_args()
    configs = [args.per_host] if args.per_host else [args.concurrency, 2]
    for per_host in configs:
        label = "many hosts" if per_host == args.concurrency else "one host"
        print(
            f"{args.feeds} feeds, {args.changed:.0%} changed per round, "
            f"concurrency {args.concurrency}, per-host limit {per_host} ({label})"
        )
        rates = await bench(args, per_host)
        print(f"  => median {statistics.median(rates):.0f} feeds/s over {len(rates)} rounds\n")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
