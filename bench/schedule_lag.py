"""Does `koreapage-bot run` keep a large feed list on schedule? The lag of each poll behind
its feed's `next_poll_at`, on the local feed farm.

    .venv/bin/python bench/schedule_lag.py [--feeds 5000] [--interval 900] [--churn 0.05]
                                           [--max-duration 3600]

The farm (bench/feed_farm.py: 20 items per feed, 50 ms latency, ETag/Last-Modified) runs in
its own process; the bot runs as `python -m koreapage_bot run` with a fresh SQLite database
and a config listing the farm's feeds, at `poll.interval = --interval` (15 minutes by
default, the shipped `min_interval`; a shorter one lowers `min_interval` with it) and the
shipped jitter, concurrency and per-host limit. While it runs, `--churn` of the feeds change
per interval (spread over the interval, one new item each), as live feeds do.

The bench reads the feeds table every `--sample` seconds: each time a feed's
`last_polled_at` moves, the `next_poll_at` its poll wrote is that feed's next due time. The
farm's request log says when each poll's request arrived. A poll's lag is its request's
arrival minus the due time (the first poll of each feed: minus the moment it was added).

It stops once every feed has been polled after its second due time (or at
`--max-duration`) and prints p50/p95/max lag for: the first fetch of the new list (every
feed due at once), later polls that fell due while that first fetch was still going, and
later polls due after it (the steady state). Polls still waiting at the end count with their
lag so far, and are reported. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from farmctl import (
    Child,
    Farm,
    FarmSkipped,
    bot_command,
    bot_config,
    bot_env,
    feed_farm,
    percentile,
)


def _ts(value: str | None) -> float | None:
    """A stored UTC datetime (SQLite keeps naive-UTC text) as Unix time."""
    if value is None:
        return None
    return datetime.fromisoformat(value).replace(tzinfo=UTC).timestamp()


@dataclass
class FeedTrack:
    added: float
    polled: list[float] = field(default_factory=list)  # last_polled_at values, in order
    due: list[float] = field(default_factory=list)  # due[k]: the due time of poll k
    requests: list[float] = field(default_factory=list)  # farm arrival times


class Tracker:
    def __init__(self, db: Path, farm: Farm) -> None:
        self.db = db
        self.farm = farm
        self.feeds: dict[str, FeedTrack] = {}  # by URL (ids differ between farm and bot)
        self.seq = 0
        self.by_farm_id = {f["id"]: f["url"] for f in farm.info["feeds"]}

    def sample(self) -> None:
        try:
            conn = sqlite3.connect(self.db, timeout=5)
        except sqlite3.Error:
            return
        try:
            rows = conn.execute(
                "SELECT url, created_at, last_polled_at, next_poll_at FROM feeds"
            ).fetchall()
        except sqlite3.Error:
            return  # not migrated yet, or busy
        finally:
            conn.close()
        for url, created, polled, next_poll in rows:
            track = self.feeds.get(url)
            if track is None:
                added = _ts(created)
                assert added is not None
                track = self.feeds[url] = FeedTrack(added, due=[added])
            last = _ts(polled)
            if last is not None and (not track.polled or last != track.polled[-1]):
                track.polled.append(last)
                nxt = _ts(next_poll)
                assert nxt is not None
                track.due.append(nxt)
        for _seq, at, feed_id, _status in self.farm.log_after(self.seq):
            self.seq = max(self.seq, _seq)
            url = self.by_farm_id[feed_id]
            if url in self.feeds:
                self.feeds[url].requests.append(at)

    def polled_twice(self) -> int:
        return sum(len(t.requests) >= 2 for t in self.feeds.values())

    def first_fetch_done(self) -> float | None:
        """When the last feed's first poll finished (None while some still wait)."""
        if len(self.feeds) < len(self.by_farm_id) or not all(t.polled for t in self.feeds.values()):
            return None
        return max(t.polled[0] for t in self.feeds.values())


@dataclass
class Lags:
    values: list[float] = field(default_factory=list)
    waiting: int = 0  # polls due but not made by the end (counted with their lag so far)

    def line(self, label: str) -> str:
        v = self.values
        if not v:
            return f"  {label:44s}      -"
        return (
            f"  {label:44s} {len(v):6d} {percentile(v, 50):8.2f} {percentile(v, 95):8.2f} "
            f"{max(v):8.2f}   {self.waiting}"
        )


def lags(tracker: Tracker, first_done: float, end: float) -> tuple[Lags, Lags, Lags]:
    first, during, steady = Lags(), Lags(), Lags()
    for track in tracker.feeds.values():
        for k, due in enumerate(track.due):
            if due > end:
                break
            bucket = first if k == 0 else (during if due < first_done else steady)
            # Poll k's request is the first one after poll k-1 finished.
            after = track.polled[k - 1] if k else 0.0
            arrival = next((r for r in track.requests if r > after), None)
            if arrival is None:
                bucket.waiting += 1
                bucket.values.append(end - due)
            else:
                bucket.values.append(arrival - due)
    return first, during, steady


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--feeds", type=int, default=5000)
    ap.add_argument("--items", type=int, default=20)
    ap.add_argument("--hosts", type=int, default=500)
    ap.add_argument("--interval", type=int, default=900, help="poll.interval, seconds")
    ap.add_argument("--churn", type=float, default=0.05, help="share changed per interval")
    ap.add_argument("--sample", type=float, default=2.0, help="seconds between DB reads")
    ap.add_argument("--max-duration", type=float, default=3600.0)
    ap.add_argument("--keep", default=None, help="keep the database and logs in this dir")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="schedule-lag-") as tmp:
        workdir = Path(args.keep) if args.keep else Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        farm_args = ["--feeds", str(args.feeds), "--items", str(args.items)]
        farm_args += ["--hosts", str(args.hosts), "--lifetime", str(args.max_duration + 600)]
        try:
            with feed_farm(workdir, *farm_args) as farm:
                return measure(args, workdir, farm)
        except FarmSkipped as exc:
            print(f"skipped: {exc}")
            return 0


def measure(args: argparse.Namespace, workdir: Path, farm: Farm) -> int:
    db = workdir / "bot.db"
    for suffix in ("", "-wal", "-shm"):  # a kept workdir's last run
        db.with_name(db.name + suffix).unlink(missing_ok=True)
    poll = {"interval": args.interval, "min_interval": min(args.interval, 900)}
    config = bot_config(workdir / "koreapage.toml", farm.urls, poll=poll)
    print(
        f"{args.feeds} feeds x {args.items} items on {farm.info['hosts']} loopback hosts; "
        f"`koreapage-bot run` at poll.interval {args.interval} s (shipped jitter, concurrency "
        f"and per-host limit); {args.churn:.0%} of feeds change per interval"
    )
    per_minute = args.feeds * args.churn * 60 / args.interval
    tracker = Tracker(db, farm)
    log = (workdir / "bot.log").open("wb")
    bot = Child(
        bot_command("run"),
        env=bot_env(config, f"sqlite+aiosqlite:///{db}"),
        cwd=workdir,
        stderr=log,
    )
    started = time.time()
    next_churn = started + 60
    next_report = started + 60
    churned = 0.0
    seed = 100
    first_done: float | None = None
    try:
        while True:
            time.sleep(args.sample)
            now = time.time()
            if bot.process.poll() is not None:
                print(f"the bot exited early ({bot.process.returncode}): see {workdir}/bot.log")
                return 1
            tracker.sample()
            if first_done is None:
                first_done = tracker.first_fetch_done()
                if first_done is not None:
                    print(
                        f"  first fetch of {args.feeds} feeds done after "
                        f"{first_done - started:.0f} s"
                    )
            if now >= next_churn:
                churned += per_minute
                count = int(churned)
                if count:
                    churned -= count
                    seed += 1
                    farm.call("POST", "change", count=count, seed=seed)
                next_churn += 60
            if now >= next_report:
                once = sum(bool(t.polled) for t in tracker.feeds.values())
                twice = tracker.polled_twice()
                print(f"  {now - started:5.0f} s: {once} feeds polled, {twice} of them twice")
                next_report += 60
            if tracker.polled_twice() >= args.feeds or now - started > args.max_duration:
                break
    finally:
        measured = bot.stop()
        log.close()
    end = time.time()
    tracker.sample()
    first, during, steady = lags(tracker, first_done or end, end)
    print()
    why = "every feed polled twice"
    if tracker.polled_twice() < args.feeds:
        why = "stopped at --max-duration"
    print(f"after {end - started:.0f} s ({why})")
    head = f"{'polls':>6s} {'p50':>8s} {'p95':>8s} {'max':>8s}   waiting"
    print(f"  {'lag behind next_poll_at, seconds':44s} {head}")
    print(first.line("first fetch of the new list (due at once)"))
    print(during.line("later polls due during the first fetch"))
    print(steady.line("later polls due after it (steady state)"))
    stats = farm.stats()
    print(
        f"  farm: {stats['requests']} requests, {stats['not_modified']} x 304, "
        f"{stats['other']} other; bot CPU {measured.cpu:.0f} s, peak RSS "
        f"{measured.maxrss_mb:.0f} MB, exit {measured.returncode}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
