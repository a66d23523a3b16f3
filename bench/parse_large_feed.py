"""Parse time of the 2,930-item feed in ../shared/feeds (median of several runs).

    .venv/bin/python bench/parse_large_feed.py [--runs N] [--file PATH]

Prints the median wall time of `parse_feed` (feedparser in a worker thread, plus dates,
links and entry keys), entries per second, and the time of the entry-key step alone.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

from koreapage_bot.ingest.identity import EntryFacts, entry_keys
from koreapage_bot.ingest.parse import parse_feed

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / ".." / "shared" / "feeds" / "100s-archive__tagesschau100s-archive.xml"


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--file", type=Path, default=DEFAULT)
    args = ap.parse_args()
    if not args.file.exists():
        print(f"skip: {args.file} not found (../shared is absent)")
        return 0
    body = args.file.read_bytes()
    base = "https://samples.example/archive.xml"
    times: list[float] = []
    entries = 0
    parsed = None
    for _ in range(args.runs):
        started = time.perf_counter()
        parsed = await parse_feed(body, base)
        times.append(time.perf_counter() - started)
        entries = len(parsed.entries)
    assert parsed is not None
    facts = [
        EntryFacts(guid=None, link=e.url, title=e.title, published=e.published, summary=e.summary)
        for e in parsed.entries
    ]
    key_times = []
    for _ in range(args.runs):
        started = time.perf_counter()
        keys = entry_keys(facts)
        key_times.append(time.perf_counter() - started)
    median = statistics.median(times)
    key_median = statistics.median(key_times)
    print(f"file              {args.file.name} ({len(body) / 1e6:.2f} MB)")
    print(f"entries           {entries}")
    print(f"runs              {args.runs}")
    spread = f"min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}"
    print(f"parse median      {median * 1000:.0f} ms  ({spread})")
    print(f"entries/s         {entries / median:,.0f}")
    rate = len(keys) / key_median
    print(
        f"keys alone        {key_median * 1000:.1f} ms for {len(keys)} keys -> {rate:,.0f} keys/s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
