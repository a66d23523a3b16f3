"""Peak memory of `koreapage-bot poll --json` on a large generated feed, in a subprocess.

    .venv/bin/python bench/json_memory.py [--items 5000]

Writes an RSS file of `--items` alliance-flavoured items (most relevant, so most become
briefs), polls it with a fresh SQLite database and the console script, and prints the peak
RSS of that process (from wait4), the JSON it printed and the time it took. The output must
be one valid JSON array with one element per brief. For comparison the same file is polled
again by `run --once`-style plain `poll` (text output) into another fresh database.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

BIN = Path(sys.executable).parent / "koreapage-bot"
TOPICS = (
    "Seoul and Washington extend talks on the cost of stationing US troops in Korea",
    "South Korea weighs the GSOMIA intelligence pact with Japan under US pressure",
    "Combined exercises of US and South Korean forces resume next month",
    "A weather front brings early snow to Gangwon province",
)


def write_feed(path: Path, items: int) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with path.open("w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>')
        out.write("<title>Bench Alliance Wire</title><link>https://wire.example/</link>")
        for n in range(items):
            topic = TOPICS[n % len(TOPICS)]
            body = f"{topic}. Officials from both allies met on Monday in Seoul. " * 3
            when = (start + timedelta(minutes=n)).strftime("%a, %d %b %Y %H:%M:%S +0000")
            out.write(
                f"<item><title>{escape(topic)} ({n})</title>"
                f"<link>https://wire.example/{n}</link><guid>wire-{n}</guid>"
                f"<pubDate>{when}</pubDate><description>{escape(body)}</description></item>\n"
            )
        out.write("</channel></rss>\n")


def measure(args: list[str], workdir: Path, db: str, stdout: Path) -> tuple[float, float, int]:
    """(peak RSS in MB, seconds, exit code) of one console-script run."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("KOREAPAGE_")},
        "KOREAPAGE_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / db}",
        "KOREAPAGE_CONFIG": str(workdir / "koreapage.toml"),
    }
    started = time.perf_counter()
    with stdout.open("wb") as sink:
        proc = subprocess.Popen([str(BIN), *args], cwd=workdir, env=env, stdout=sink)
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_maxrss / 1024, time.perf_counter() - started, proc.returncode


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=5000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "koreapage.toml").write_text(
            "[analysis]\nfetch_full_text = false\n", encoding="utf-8"
        )
        feed = work / "wire.xml"
        write_feed(feed, args.items)
        size = feed.stat().st_size / 1e6
        print(f"feed: {args.items} items, {size:.1f} MB")
        rss, seconds, code = measure(["poll", "--json", str(feed)], work, "json.db", work / "out")
        text = (work / "out").read_text(encoding="utf-8")
        briefs = json.loads(text)
        assert code == 0 and isinstance(briefs, list), code
        print(
            f"  poll --json  peak RSS {rss:7.1f} MB  {seconds:6.1f} s  "
            f"{len(briefs)} briefs, {len(text) / 1e6:.1f} MB of JSON"
        )
        rss, seconds, code = measure(["poll", str(feed)], work, "text.db", work / "out.txt")
        assert code == 0, code
        print(f"  poll (text)  peak RSS {rss:7.1f} MB  {seconds:6.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
