"""koreapage-bot's real poll path beside `reader`, on one local feed farm, in one run.

    make bench-deps     # once: the `bench` extra (reader, psutil, py-spy) into .venv
    .venv/bin/python bench/poll_vs_reader.py [--feeds 1000] [--changed 0.05] [--workers 8]
                                             [--profile]

The farm (bench/feed_farm.py: N feeds x 20 items, 50 ms latency, ETag and Last-Modified, on
many loopback hosts) runs in a process of its own. Each tool runs as a child process per
pass, measured from process start to exit:

- reader (the Python feed library discord-rss-bot is built on): `make_reader(db)`,
  `add_feed` for every farm feed, `update_feeds_iter(scheduled=False, workers=W)`;
- koreapage-bot: `python -m koreapage_bot run --once` with a fresh SQLite database for the
  first pass and a config listing the farm's feeds. The config keeps the shipped defaults
  (concurrency 8, per-host limit 2, full analysis) except `poll.interval = min_interval = 1`
  and `jitter = 0`, so that every feed is due again one second after its poll and each pass
  polls every feed (`run --once` polls what is due), and `fetch_full_text = false` (entry
  links point at the farm; reader fetches no pages either).

Passes, each tool in turn on the same farm state: the first fetch of everything, a steady
pass after `--changed` of the feeds changed (one new item each), and an all-304 pass.
Per pass and tool: feeds/s over the process's wall time and over the farm's fetch window
(first to last request it saw), requests per feed, 200s and 304s as the farm counted them,
CPU seconds (user + sys, from wait4), peak RSS (ru_maxrss; and the whole process tree
sampled with psutil). Then the issue's targets, met or missed. `--profile` adds one more
first fetch of the bot (fresh database) under py-spy and prints where its time goes.

Prints figures; asserts nothing. Exits with a message when ../shared is absent.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from farmctl import (
    Child,
    Farm,
    FarmSkipped,
    Measured,
    bot_command,
    bot_config,
    bot_env,
    feed_farm,
    phases,
    polled_line,
)


@dataclass
class Run:
    tool: str
    pass_name: str
    due: int
    measured: Measured
    stats: dict[str, Any]
    detail: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def window(self) -> float:
        first, last = self.stats.get("first"), self.stats.get("last")
        return float(last - first) if first is not None and last is not None else float("nan")

    @property
    def rate(self) -> float:
        return self.due / self.measured.wall

    @property
    def window_rate(self) -> float:
        w = self.window
        return self.due / w if w and w == w else float("nan")

    @property
    def requests(self) -> int:
        return int(self.stats["requests"]) - int(self.stats["other"])


# -- reader, in its own process ---------------------------------------------------------------


def reader_child(db: str, urls_file: str, workers: int) -> int:
    """One reader pass: add the feeds (a no-op after the first pass) and update them all."""
    from reader import make_reader

    urls = json.loads(Path(urls_file).read_text(encoding="utf-8"))
    reader = make_reader(db)
    try:
        for url in urls:
            reader.add_feed(url, exist_ok=True)
        counts: Counter[str] = Counter()
        new = 0
        for _url, value in reader.update_feeds_iter(scheduled=False, workers=workers):
            if value is None:
                counts["not_modified"] += 1
            elif isinstance(value, Exception):
                counts["error"] += 1
            else:
                counts["updated"] += 1
                new += value.new
        counts["new_entries"] = new
    finally:
        reader.close()
    print(json.dumps(counts))
    return 0


# -- the passes -------------------------------------------------------------------------------


class Bench:
    def __init__(self, args: argparse.Namespace, workdir: Path, farm: Farm) -> None:
        self.args = args
        self.workdir = workdir
        self.farm = farm
        self.urls_file = workdir / "urls.json"
        self.urls_file.write_text(json.dumps(farm.urls), encoding="utf-8")
        self.reader_db = workdir / "reader.sqlite"
        self.bot_db = workdir / "bot.db"
        for db in (self.reader_db, self.bot_db, workdir / "profiled.db"):
            for suffix in ("", "-wal", "-shm", "-journal"):  # a kept workdir's last run
                db.with_name(db.name + suffix).unlink(missing_ok=True)
        self.config = bot_config(
            workdir / "koreapage.toml",
            farm.urls,
            poll={"interval": 1, "min_interval": 1, "jitter": 0.0, **self._poll_overrides()},
        )
        self.bot_done = 0.0  # when the bot's last pass ended (its feeds fall due 1 s later)
        self.runs: list[Run] = []

    def _poll_overrides(self) -> dict[str, int]:
        out = {}
        if self.args.concurrency:
            out["concurrency"] = self.args.concurrency
        if self.args.per_host_limit:
            out["per_host_limit"] = self.args.per_host_limit
        return out

    def reader_pass(self, name: str) -> Run:
        self.farm.reset()
        out = self.workdir / f"reader-{len(self.runs)}.out"
        cmd = [
            sys.executable,
            __file__,
            "--reader-child",
            str(self.reader_db),
            str(self.urls_file),
            str(self.args.workers),
        ]
        with out.open("wb") as stdout:
            measured = Child(cmd, stdout=stdout, stderr=subprocess.STDOUT).finish()
        text = out.read_text(encoding="utf-8", errors="replace").strip()
        try:
            counts = json.loads(text.splitlines()[-1])
        except (IndexError, ValueError):
            counts = {"output": text[-500:]}
        detail = f"{counts.get('new_entries', '?')} new entries"
        if counts.get("error"):
            detail += f", {counts['error']} errors"
        if measured.returncode:
            detail += f", exit {measured.returncode}: {text.splitlines()[-1:]}"
        run = Run("reader", name, len(self.farm.urls), measured, self.farm.stats(), detail)
        self.runs.append(run)
        return run

    def bot_pass(
        self, name: str, database: Path | None = None, wrap: list[str] | None = None
    ) -> Run:
        wait = self.bot_done + 1.5 - time.monotonic()
        if wait > 0:  # every feed is due again 1 s after its poll
            time.sleep(wait)
        self.farm.reset()
        log = self.workdir / f"bot-{len(self.runs)}.log"
        env = bot_env(self.config, f"sqlite+aiosqlite:///{database or self.bot_db}")
        cmd = [*(wrap or []), *bot_command("run", "--once")]
        with log.open("wb") as stderr:
            child = Child(cmd, env=env, cwd=self.workdir, stderr=stderr)
            measured = child.finish()
        self.bot_done = time.monotonic()
        text = log.read_text(encoding="utf-8", errors="replace")
        timeline = phases(text, child.started_at, measured.wall)
        polled = polled_line(text)
        if polled is None:
            detail = "no 'polled' line: " + (text.strip().splitlines() or ["(no output)"])[-1]
        else:
            detail = f"{polled[1]} new entries, {polled[2]} briefs"
            if polled[3]:
                detail += f", {polled[3]} failed"
        if measured.returncode:
            detail += f", exit {measured.returncode}"
        if timeline:
            detail += f"; {timeline}"
        run = Run("koreapage-bot", name, len(self.farm.urls), measured, self.farm.stats(), detail)
        self.runs.append(run)
        return run

    def run(self) -> None:
        n = len(self.farm.urls)
        passes = ("first fetch", f"steady, {self.args.changed:.0%} changed", "all 304")
        for k, name in enumerate(passes):
            changed = 0
            if k == 1:
                changed = len(self.farm.change(self.args.changed, seed=self.args.seed))
            for tool in self.args.order.split(","):
                run = self.reader_pass(name) if tool == "reader" else self.bot_pass(name)
                run.extra["changed"] = changed
                print(f"  {run.tool:14s} {name:18s} {run.measured.wall:7.1f} s  ({run.detail})")
        print()
        print_table(self.runs)
        print()
        print_targets(self.runs, n)

    def profile(self) -> None:
        spy = str(Path(sys.executable).with_name("py-spy"))  # the bench extra's, else PATH's
        if not Path(spy).exists():
            spy = shutil.which("py-spy") or spy
        if not Path(spy).exists():
            print("--profile: py-spy is not installed (make bench-deps)")
            return
        raw = self.workdir / "profile.txt"
        wrap = [spy, "record", "--gil", "--full-filenames", "--subprocesses", "--nonblocking"]
        wrap += ["--format", "raw", "--rate", "100", "--output", str(raw), "--"]
        run = self.bot_pass("first fetch (py-spy)", self.workdir / "profiled.db", wrap)
        print(f"py-spy, one more first fetch of the bot: {run.measured.wall:.1f} s, {run.detail}")
        if not raw.exists():
            print("  py-spy wrote no profile (ptrace not permitted here?)")
            return
        print_profile(raw)


# -- reporting --------------------------------------------------------------------------------


def print_table(runs: list[Run]) -> None:
    head = (
        f"{'pass':18s} {'tool':14s} {'wall s':>7s} {'feeds/s':>8s} {'window s':>8s} "
        f"{'feeds/s':>8s} {'req/feed':>8s} {'200':>5s} {'304':>5s} {'304 %':>6s} "
        f"{'CPU s':>6s} {'RSS MB':>7s} {'tree MB':>7s}"
    )
    print("                                     (process)          (farm window)")
    print(head)
    print("-" * len(head))
    for r in runs:
        s = r.stats
        share = s["not_modified"] / r.requests if r.requests else 0.0
        tree = f"{r.measured.tree_peak_mb:7.0f}" if r.measured.tree_peak_mb else "      -"
        print(
            f"{r.pass_name:18s} {r.tool:14s} {r.measured.wall:7.1f} {r.rate:8.1f} "
            f"{r.window:8.1f} {r.window_rate:8.1f} {r.requests / r.due:8.2f} {s['ok']:5d} "
            f"{s['not_modified']:5d} {share:6.1%} {r.measured.cpu:6.1f} "
            f"{r.measured.maxrss_mb:7.0f} {tree}"
        )
    for r in runs:
        more = r.stats["feeds_requested_more_than_once"]
        missing = r.due - r.stats["feeds_requested"]
        if more or missing or r.stats["other"]:
            print(
                f"  {r.tool} / {r.pass_name}: {missing} feeds not requested, {more} requested "
                f"more than once (max {r.stats['max_requests_per_feed']}), "
                f"{r.stats['other']} other requests"
            )


def print_targets(runs: list[Run], n: int) -> None:
    def find(tool: str, prefix: str) -> Run | None:
        return next((r for r in runs if r.tool == tool and r.pass_name.startswith(prefix)), None)

    print("targets (issue 10), feeds/s over process wall time:")
    for label, prefix, want in (("first fetch", "first", 1.0), ("steady pass", "steady", 2.0)):
        bot, reader = find("koreapage-bot", prefix), find("reader", prefix)
        if bot and reader:
            ratio = bot.rate / reader.rate
            verdict = "met" if ratio >= want else "MISSED"
            print(
                f"  {label:12s} bot {bot.rate:6.1f} vs reader {reader.rate:6.1f} feeds/s = "
                f"{ratio:4.2f}x (want >= {want:.0f}x): {verdict}"
            )
    bot_runs = [r for r in runs if r.tool == "koreapage-bot"]
    one = all(
        r.requests == r.due and r.stats["feeds_requested_more_than_once"] == 0 for r in bot_runs
    )
    print(f"  one request per due feed, every pass: {'met' if one else 'MISSED'}")
    steady, quiet = find("koreapage-bot", "steady"), find("koreapage-bot", "all 304")
    if steady and quiet:
        unchanged = n - int(steady.extra.get("changed", 0))
        got = (steady.stats["not_modified"], quiet.stats["not_modified"])
        ok = got == (unchanged, n)
        print(
            f"  a 304 for every unchanged feed: steady {got[0]}/{unchanged}, all-304 "
            f"{got[1]}/{n}: {'met' if ok else 'MISSED'}"
        )
    reader_rss = max((r.measured.maxrss_mb for r in runs if r.tool == "reader"), default=0)
    bot_rss = max((r.measured.maxrss_mb for r in bot_runs), default=0)
    if reader_rss:
        ratio = bot_rss / reader_rss
        print(
            f"  peak RSS bot {bot_rss:.0f} MB vs reader {reader_rss:.0f} MB = {ratio:.2f}x "
            f"(want <= 2x): {'met' if ratio <= 2 else 'MISSED'}"
        )


def print_profile(raw: Path, top: int = 15) -> None:
    """Collapsed stacks from `py-spy record --gil`: where the time holding the GIL (the one
    core's worth of Python work) goes, over every thread: by package, by function (own
    time), and by the bot's own functions including what they call."""
    own: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    mine: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit() or not stack:
            continue
        n = int(count)
        total += n
        frames = [f for f in stack.split(";") if not f.startswith(("thread ", "process "))]
        if not frames:
            continue
        leaf = frames[-1]
        own[_frame(leaf)] += n
        importing = any("<frozen importlib" in f for f in frames)
        packages["(importing modules)" if importing else _package(leaf)] += n
        for frame in {_frame(f) for f in frames if "/koreapage_bot/" in f}:
            mine[frame] += n
    if not total:
        print("  (empty profile)")
        return
    print(f"  {total} samples holding the GIL, all threads. By package (own time):")
    for name, n in packages.most_common(top):
        print(f"    {n / total:6.1%}  {name}")
    print("  top functions by own time:")
    for frame, n in own.most_common(top):
        print(f"    {n / total:6.1%}  {frame}")
    print("  koreapage_bot functions, including what they call:")
    for frame, n in mine.most_common(top + 5):
        print(f"    {n / total:6.1%}  {frame}")


def _frame(text: str) -> str:
    """'func (/path/to/pkg/module.py:123)' -> 'func (pkg/module.py)': lines of a function add
    up."""
    name, _, where = text.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    parts = Path(path).parts
    short = "/".join(parts[-2:]) if parts else path
    return f"{name} ({short})"


def _package(text: str) -> str:
    """The package a frame's code belongs to: koreapage_bot/<area>, a site package, or the
    standard library module."""
    path = text.partition(" (")[2].rstrip(")").rsplit(":", 1)[0]
    parts = Path(path).parts
    if "koreapage_bot" in parts:
        i = parts.index("koreapage_bot")
        return "/".join(parts[i : i + 2]) if i + 2 < len(parts) else parts[i]
    if "site-packages" in parts:
        i = parts.index("site-packages")
        return parts[i + 1].removesuffix(".py") if i + 1 < len(parts) else path
    for k, part in enumerate(parts):
        if part.startswith("python3"):
            rest = parts[k + 1 :]
            return f"stdlib {rest[0].removesuffix('.py')}" if rest else path
    return path or "?"


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--reader-child":
        return reader_child(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--feeds", type=int, default=1000)
    ap.add_argument("--items", type=int, default=20)
    ap.add_argument("--latency", type=float, default=0.05)
    ap.add_argument("--hosts", type=int, default=200)
    ap.add_argument("--changed", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=2)
    ap.add_argument("--workers", type=int, default=8, help="reader's update threads")
    ap.add_argument("--concurrency", type=int, default=0, help="poll.concurrency (default: 8)")
    ap.add_argument("--per-host-limit", type=int, default=0, help="poll.per_host_limit (2)")
    ap.add_argument("--order", default="reader,koreapage-bot", help="who goes first per pass")
    ap.add_argument("--profile", action="store_true", help="py-spy one more bot first fetch")
    ap.add_argument("--keep", default=None, help="keep the databases and logs in this dir")
    args = ap.parse_args()
    try:
        import reader  # noqa: F401
    except ImportError:
        print("reader is not installed: `make bench-deps` (the `bench` extra) first")
        return 2
    with tempfile.TemporaryDirectory(prefix="poll-vs-reader-") as tmp:
        workdir = Path(args.keep) if args.keep else Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        farm_args = ["--feeds", str(args.feeds), "--items", str(args.items)]
        farm_args += ["--latency", str(args.latency), "--hosts", str(args.hosts)]
        try:
            with feed_farm(workdir, *farm_args) as farm:
                print(
                    f"{args.feeds} feeds x {args.items} items on {farm.info['hosts']} loopback "
                    f"hosts, {args.latency * 1000:.0f} ms latency; reader {_version()} with "
                    f"{args.workers} workers; koreapage-bot `run --once` (poll concurrency "
                    f"{args.concurrency or 8}, per host {args.per_host_limit or 2}); "
                    f"{os.cpu_count()} CPUs"
                )
                bench = Bench(args, workdir, farm)
                bench.run()
                if args.profile:
                    print()
                    bench.profile()
        except FarmSkipped as exc:
            print(f"skipped: {exc}")
            return 0
    return 0


def _version() -> str:
    from importlib.metadata import version

    return version("reader")


if __name__ == "__main__":
    sys.exit(main())
