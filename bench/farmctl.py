"""What the farm benchmarks share: start bench/feed_farm.py in its own process and drive it,
write a bot config listing the farm's feeds, and run a child process while measuring its
wall time, CPU seconds and peak memory."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
SKIPPED = 3  # the farm's exit status when ../shared is absent

try:
    import psutil
except ImportError:  # the `bench` extra brings it; without it only ru_maxrss is reported
    psutil = None


class FarmSkipped(Exception):
    """The farm cannot start here (no ../shared/feeds)."""


@dataclass
class Farm:
    info: dict[str, Any]
    process: subprocess.Popen[bytes]

    @property
    def control(self) -> str:
        return str(self.info["control"])

    @property
    def urls(self) -> list[str]:
        return [f["url"] for f in self.info["feeds"]]

    def call(self, method: str, what: str, **query: object) -> Any:
        q = "&".join(f"{k}={v}" for k, v in query.items())
        url = f"{self.control}/{what}" + (f"?{q}" if q else "")
        req = urllib.request.Request(url, method=method)
        with urllib.request.urlopen(req, timeout=60) as resp:  # loopback only
            return json.loads(resp.read())

    def change(self, share: float, seed: int) -> list[int]:
        return list(self.call("POST", "change", share=share, seed=seed)["changed"])

    def reset(self) -> None:
        self.call("POST", "reset")

    def stats(self) -> dict[str, Any]:
        return dict(self.call("GET", "stats"))

    def log_after(self, seq: int) -> list[list[Any]]:
        return list(self.call("GET", "log", after=seq)["entries"])


@contextlib.contextmanager
def feed_farm(workdir: Path, *args: str, timeout: float = 300.0) -> Iterator[Farm]:
    """bench/feed_farm.py in a process of its own, stopped on the way out."""
    info_file = workdir / "farm.json"
    info_file.unlink(missing_ok=True)  # a kept workdir holds the last run's
    log = (workdir / "farm.log").open("wb")
    cmd = [
        sys.executable,
        str(BENCH / "feed_farm.py"),
        "--info-file",
        str(info_file),
        "--parent-pid",
        str(os.getpid()),
        *args,
    ]
    process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while not info_file.exists():
            code = process.poll()
            if code == SKIPPED:
                raise FarmSkipped((workdir / "farm.log").read_text().strip())
            if code is not None:
                raise RuntimeError(f"the feed farm exited ({code}): see {workdir / 'farm.log'}")
            if time.monotonic() > deadline:
                raise RuntimeError("the feed farm did not start in time")
            time.sleep(0.2)
        yield Farm(json.loads(info_file.read_text(encoding="utf-8")), process)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def bot_config(
    path: Path,
    urls: Sequence[str],
    *,
    poll: Mapping[str, object],
    extra: str = "",
) -> Path:
    """A config file for `koreapage-bot` following `urls`, with `[poll]` keys `poll`. Full-text
    fetching is off: entry links point at the farm, and reader fetches no pages either."""
    issues = REPO / "config" / "issues.toml"
    lines = ["[poll]"]
    lines += [f"{k} = {json.dumps(v)}" for k, v in poll.items()]
    lines += ["", "[analysis]", f"issues_file = {json.dumps(str(issues))}"]
    lines += ["fetch_full_text = false", "", extra, ""]
    for n, url in enumerate(urls):
        lines += ["[[feeds]]", f'name = "farm feed {n}"', f"url = {json.dumps(url)}", ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def bot_env(config: Path, database_url: str, **more: str) -> dict[str, str]:
    """The environment of a bot child: ours, minus any chat token or HTTP port of the shell."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DISCORD_", "SLACK_", "KOREAPAGE_"))
    }
    env.update(KOREAPAGE_CONFIG=str(config), KOREAPAGE_DATABASE_URL=database_url, **more)
    return env


def bot_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "koreapage_bot", *args]


@dataclass
class Measured:
    returncode: int
    wall: float
    cpu: float  # user + sys of the child and every child it waited for
    maxrss_mb: float  # the largest single process (ru_maxrss)
    tree_peak_mb: float | None  # the most the child and its children held at once (sampled)


class Child:
    """A child process measured from start to exit: wall time, CPU seconds (wait4's rusage)
    and peak RSS (ru_maxrss, plus the whole process tree sampled with psutil)."""

    def __init__(
        self,
        cmd: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        stdout: IO[bytes] | int | None = subprocess.DEVNULL,
        stderr: IO[bytes] | int | None = None,
        sample_every: float = 0.05,
    ) -> None:
        self.started = time.perf_counter()
        self.started_at = time.time()
        self.process = subprocess.Popen(
            list(cmd), env=dict(env) if env is not None else None, cwd=cwd, stdout=stdout,
            stderr=stderr,
        )  # fmt: skip
        self._peak = 0
        self._done = threading.Event()
        self._sampler: threading.Thread | None = None
        if psutil is not None:
            self._sampler = threading.Thread(target=self._sample, args=(sample_every,))
            self._sampler.start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def _sample(self, every: float) -> None:
        assert psutil is not None
        try:
            root = psutil.Process(self.process.pid)
        except psutil.Error:
            return
        while not self._done.is_set():
            total = 0
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.Error:
                break
            for p in procs:
                with contextlib.suppress(psutil.Error):
                    total += p.memory_info().rss
            self._peak = max(self._peak, total)
            self._done.wait(every)

    def wait(self, timeout: float | None = None) -> Measured | None:
        """Wait for the exit (at most `timeout` seconds; None if still running then)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(self.process.pid, 0 if deadline is None else os.WNOHANG)
            if pid:
                break
            if deadline is not None and time.monotonic() >= deadline:
                return None
            time.sleep(0.05)
        wall = time.perf_counter() - self.started
        self.process.returncode = os.waitstatus_to_exitcode(status)
        self._done.set()
        if self._sampler is not None:
            self._sampler.join()
        return Measured(
            returncode=self.process.returncode,
            wall=wall,
            cpu=usage.ru_utime + usage.ru_stime,
            maxrss_mb=usage.ru_maxrss / 1024,
            tree_peak_mb=self._peak / 2**20 if psutil is not None else None,
        )

    def finish(self) -> Measured:
        measured = self.wait()
        assert measured is not None
        return measured

    def stop(self, timeout: float = 30.0) -> Measured:
        """SIGTERM (the bot's clean stop) and wait; SIGKILL if it does not stop in time."""
        self.process.terminate()
        measured = self.wait(timeout)
        if measured is None:
            self.process.kill()
            measured = self.finish()
        return measured


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by nearest rank; nan for no values."""
    if not values:
        return float("nan")
    ranked = sorted(values)
    k = max(0, min(len(ranked) - 1, round(q / 100 * len(ranked) + 0.5) - 1))
    return ranked[k]


LOG_TIME = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) ")


def log_time(line: str) -> float | None:
    """Unix time of a bot log line (`%(asctime)s`: local time, milliseconds)."""
    m = LOG_TIME.match(line)
    if m is None:
        return None
    return time.mktime(time.strptime(m.group(1), "%Y-%m-%d %H:%M:%S")) + int(m.group(2)) / 1000


def phases(log_text: str, started_at: float, wall: float) -> str:
    """Where a `run --once` pass spent its wall time, from its log: start-up to the
    "starting" line (mostly imports), setup to the first poll's line (store, migrations,
    config feeds), polling to the "polled" line, and the rest (delivery, shutdown)."""
    marks: dict[str, float] = {}
    for line in log_text.splitlines():
        at = log_time(line)
        if at is None:
            continue
        if "starting:" in line:
            marks.setdefault("starting", at)
        elif "koreapage_bot.ingest.poller" in line:
            marks.setdefault("first poll", at)
        elif POLLED.search(line):
            marks["polled"] = at
    if len(marks) < 3:
        return ""
    end = started_at + wall
    return (
        f"imports {marks['starting'] - started_at:.1f} s, setup "
        f"{marks['first poll'] - marks['starting']:.1f} s, polling "
        f"{marks['polled'] - marks['first poll']:.1f} s, after {end - marks['polled']:.1f} s"
    )


POLLED = re.compile(r"polled (\d+) feeds: (\d+) new entries, (\d+) briefs, (\d+) failed")


def polled_line(log_text: str) -> tuple[int, int, int, int] | None:
    """The bot's "polled N feeds: …" summary of a `run --once` pass."""
    found = POLLED.findall(log_text)
    if not found:
        return None
    polled, new, briefs, failed = (int(x) for x in found[-1])
    return polled, new, briefs, failed
