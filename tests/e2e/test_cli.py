"""The real `koreapage-bot` console script, run as a subprocess against a temporary SQLite
database, a temporary config, and (where a URL is needed) the local feed server.

Each CLI start costs about a second, so a seeded database is made once per module (by `poll`)
and copied for the tests that change it.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from koreapage_bot.domain import DeliveryState
from koreapage_bot.store.store import Store
from tests.fakes.feed_server import FeedServer, HtmlRoute, StatusRoute

REPO = Path(__file__).resolve().parents[2]
FEEDS = REPO / "tests" / "fixtures" / "feeds"
ALLIANCE = FEEDS / "alliance.xml"
BIN_DIR = Path(sys.executable).parent
SCRIPT = BIN_DIR / "koreapage-bot"
ISSUES = REPO / "config" / "issues.toml"
TIMEOUT = 60.0

SMA = "Washington and Seoul open a new round of defense cost sharing talks"
GSOMIA = "Seoul and Tokyo keep GSOMIA alive as trilateral intelligence sharing with the US deepens"
NCG = "Allies agree to add nuclear scenarios to spring drills as USFK reviews its posture"
BRIEF_KEYS = {
    "id",
    "title",
    "url",
    "author",
    "published",
    "source",
    "summary",
    "key_issues",
    "relevance",
    "created_at",
    "language",
    "story_id",
}

pytestmark = pytest.mark.skipif(
    not SCRIPT.exists(), reason=f"the console script is not installed at {SCRIPT}"
)


def alliance_with_new_item() -> bytes:
    body = ALLIANCE.read_bytes()
    item = (FEEDS / "alliance_new_item.xml").read_bytes()
    return body.replace(b"<item>", item[item.index(b"<item>") :] + b"\n<item>", 1)


@dataclass
class Workdir:
    """A working directory with its own database and config."""

    path: Path

    @property
    def db(self) -> Path:
        return self.path / "bot.db"

    @property
    def config(self) -> Path:
        return self.path / "koreapage.toml"

    @property
    def db_url(self) -> str:
        return f"sqlite+aiosqlite:///{self.db}"

    def write_config(self, extra: str = "", *, allow_private: bool = True) -> None:
        self.config.write_text(
            f'[poll]\nbroken_after = 1\n\n[analysis]\nissues_file = "{ISSUES}"\n'
            "fetch_full_text = false\n\n"
            f"[delivery]\nallow_private_feeds = {'true' if allow_private else 'false'}\n"
            f"{extra}",
            encoding="utf-8",
        )

    def env(self, **overrides: str) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("KOREAPAGE_", "DISCORD_", "SLACK_"))
        }
        env.update(
            KOREAPAGE_DATABASE_URL=self.db_url,
            KOREAPAGE_CONFIG=str(self.config),
            COLUMNS="200",  # rich wraps at 80 columns when not on a terminal
            PYTHONUNBUFFERED="1",
        )
        env.update(overrides)
        return env

    async def store(self) -> Store:
        return await Store.open(self.db_url)


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


async def cli(wd: Workdir, *args: str, env: Mapping[str, str] | None = None) -> Result:
    """Run the console script to completion without blocking the loop (the feed server lives
    in this process's loop)."""
    proc = await asyncio.create_subprocess_exec(
        str(SCRIPT),
        *args,
        cwd=wd.path,
        env=dict(env or wd.env()),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), TIMEOUT)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return Result(proc.returncode, out.decode(), err.decode())


def ok(result: Result) -> Result:
    assert result.code == 0, f"exit {result.code}\nstdout:\n{result.out}\nstderr:\n{result.err}"
    return result


@dataclass(frozen=True)
class Seed:
    path: Path  # a workdir whose database holds the fixture feed's briefs
    poll_out: str


@pytest.fixture(scope="module")
def seed(tmp_path_factory: pytest.TempPathFactory) -> Seed:
    wd = Workdir(tmp_path_factory.mktemp("seed"))
    wd.write_config()
    done = subprocess.run(
        [str(SCRIPT), "poll", str(ALLIANCE), "--json"],
        cwd=wd.path,
        env=wd.env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return Seed(wd.path, done.stdout)


@pytest.fixture
def seeded(seed: Seed, tmp_path: Path) -> Workdir:
    """A private copy of the seeded database (the process that wrote it has exited, so the
    WAL is checkpointed; copy any side files anyway)."""
    wd = Workdir(tmp_path)
    wd.write_config()
    for name in ("bot.db", "bot.db-wal", "bot.db-shm"):
        if (seed.path / name).exists():
            shutil.copy2(seed.path / name, tmp_path / name)
    return wd


def assert_brief_shape(brief: dict[str, Any], *extra: str) -> None:
    assert set(brief) == BRIEF_KEYS | set(extra)
    assert isinstance(brief["story_id"], int)
    assert isinstance(brief["id"], int)
    assert brief["url"].startswith("https://alliance-monitor.example/")
    assert datetime.fromisoformat(brief["published"]).tzinfo is not None
    assert datetime.fromisoformat(brief["created_at"]).tzinfo is not None
    assert brief["source"] and brief["summary"] and brief["language"] == "en"
    assert 0.5 <= brief["relevance"] <= 1
    assert brief["key_issues"] and all(set(k) == {"id", "label"} for k in brief["key_issues"])


# -- poll and briefs ---------------------------------------------------------------------------


async def test_poll_prints_the_briefs_it_created(seed: Seed, seeded: Workdir) -> None:
    briefs = json.loads(seed.poll_out)
    assert [b["title"] for b in briefs] == [SMA, GSOMIA]  # oldest first; no K-pop, no kimchi
    for brief in briefs:
        assert_brief_shape(brief)
    sma = briefs[0]
    assert sma["author"] == "Min-ji Park" and sma["source"] == "Peninsula Alliance Monitor"
    assert sma["published"] == "2026-03-10T02:30:00+00:00"
    assert {"id": "cost-sharing", "label": "Defense cost sharing (SMA)"} in sma["key_issues"]
    assert "Special Measures Agreement" in sma["summary"]

    # Polling the same file again creates nothing: known entries are never briefed twice.
    again, missing = await asyncio.gather(
        cli(seeded, "poll", str(ALLIANCE), "--json"),
        cli(seeded, "poll", str(seeded.path / "nope.xml")),
    )
    assert ok(again).json() == []
    assert missing.code == 1 and "no such file" in missing.err


async def test_briefs_latest_search_show(seed: Seed, seeded: Workdir) -> None:
    by_title = {b["title"]: b for b in json.loads(seed.poll_out)}

    gsomia_id = str(by_title[GSOMIA]["id"])
    # Read-only queries: run them side by side to keep the file fast.
    latest, usfk, found, shown, text, missing, unknown, huge = await asyncio.gather(
        cli(seeded, "briefs", "latest", "--json"),
        cli(seeded, "briefs", "latest", "--issue", "usfk", "-n", "3", "--json"),
        cli(seeded, "briefs", "search", "cost sharing", "--json"),
        cli(seeded, "briefs", "show", gsomia_id, "--json"),
        cli(seeded, "briefs", "show", gsomia_id),
        cli(seeded, "briefs", "show", "999"),
        cli(seeded, "briefs", "latest", "--issue", "kpop"),
        cli(seeded, "briefs", "show", "99999999999999999999"),
    )
    newest = ok(latest).json()
    assert [b["title"] for b in newest] == [GSOMIA, SMA]  # newest published first
    for brief in newest:
        # One line per story, with every report of it (here each story has one).
        assert_brief_shape(brief, "sources")
        [source] = brief["sources"]
        assert source["brief_id"] == brief["id"] and source["source"] == brief["source"]
        assert source["url"] == brief["url"] and source["title"] == brief["title"]
    assert [b["title"] for b in ok(usfk).json()] == [SMA]
    assert ok(found).json()[0]["title"] == SMA
    detail = ok(shown).json()
    reports = detail.pop("reports")
    assert detail == by_title[GSOMIA]
    assert [r["id"] for r in reports] == [by_title[GSOMIA]["id"]]
    assert "GSOMIA" in ok(text).out and "Daniel Cho" in text.out
    assert missing.code == 1 and "no brief 999" in missing.err
    assert unknown.code == 1 and "kpop" in unknown.err and "gsomia" in unknown.err
    # Beyond the id column's range: a usage error, not a database driver traceback.
    assert huge.code == 2 and "2147483647" in huge.err and "Traceback" not in huge.err


# -- feeds -------------------------------------------------------------------------------------


async def test_feeds_add_list_remove(tmp_path: Path) -> None:
    wd = Workdir(tmp_path)
    wd.write_config()
    async with FeedServer() as server:
        server.feed("/alliance.xml").set_body(ALLIANCE.read_bytes())
        server.feed("/down.xml").set_body(ALLIANCE.read_bytes())
        url = server.url("/alliance.xml")

        added = ok(await cli(wd, "feeds", "add", url, "--name", "Alliance Monitor"))
        assert "Added feed 1" in added.out
        assert "Peninsula Alliance Monitor" in added.out and "4 items" in added.out
        assert server.count("/alliance.xml") == 1  # fetched once before it was accepted

        # The operator's shell is trusted: even with private feeds refused for chat, the CLI
        # may follow a feed on this (loopback) network. A failing feed polled once shows its
        # state and last error (broken_after = 1 here).
        strict = Workdir(tmp_path / "strict")
        strict.path.mkdir()
        strict.write_config(allow_private=False)
        trusted = await cli(
            wd, "feeds", "add", url, env=wd.env(KOREAPAGE_CONFIG=str(strict.config))
        )
        assert "Already following feed 1" in ok(trusted).out
        assert len(ok(await cli(wd, "poll", server.url("/down.xml"), "--json")).json()) == 2
        assert server.count("/down.xml") == 1  # the probe's response was the first poll
        server.route("/down.xml", StatusRoute(500))  # the feed's server breaks
        broken = await cli(wd, "poll", server.url("/down.xml"), "--json")
        assert broken.code == 1 and broken.json() == [] and "500" in broken.err

        feeds = {f["id"]: f for f in ok(await cli(wd, "feeds", "list", "--json")).json()}
        assert feeds[1]["name"] == "Alliance Monitor" and feeds[1]["url"] == url
        assert feeds[1]["state"] == "active" and feeds[1]["last_error"] is None
        assert datetime.fromisoformat(feeds[1]["next_poll_at"]).tzinfo is not None
        assert feeds[2]["state"] == "broken" and "500" in feeds[2]["last_error"]
        assert datetime.fromisoformat(feeds[2]["next_poll_at"]) > datetime.now(UTC)

        removed = ok(await cli(wd, "feeds", "remove", "1"))
        assert "Stopped following feed 1" in removed.out
        listing, again = await asyncio.gather(
            cli(wd, "feeds", "list", "--json"), cli(wd, "feeds", "remove", "1")
        )
        after = {f["id"]: f for f in ok(listing).json()}
        assert after[1]["state"] == "disabled" and after[1]["next_poll_at"] is None
        assert again.code == 1 and "No feed" in again.err


# -- subscriptions, backfill, deliveries --------------------------------------------------------


async def test_subscriptions_backfill_and_deliveries(seed: Seed, seeded: Workdir) -> None:
    gsomia_id = next(b["id"] for b in json.loads(seed.poll_out) if b["title"] == GSOMIA)
    added, bad, bad_tz, by_name = await asyncio.gather(
        cli(seeded, "subscriptions", "add", "console:x", "--issues", "gsomia", "--json"),
        cli(seeded, "subscriptions", "add", "console:y", "--issues", "kpop"),
        cli(seeded, "subscriptions", "add", "console:y", "--digest", "08:00", "--tz", "Seoul"),
        cli(seeded, "subscriptions", "add", "slack:general"),
    )
    assert by_name.code == 1 and "id" in by_name.err  # chat stores ids, not names
    sub = ok(added).json()
    assert sub["platform"] == "console" and sub["channel"] == "x"
    assert sub["issues"] == ["gsomia"] and sub["state"] == "active"
    assert bad.code == 1 and "kpop" in bad.err
    assert bad_tz.code == 1 and "unknown time zone 'Seoul'" in bad_tz.err

    listed, queued = await asyncio.gather(
        cli(seeded, "subscriptions", "list", "--json"), cli(seeded, "deliveries", "list", "--json")
    )
    assert [(s["id"], s["issues"]) for s in ok(listed).json()] == [(sub["id"], ["gsomia"])]
    # The feed was baselined by `poll`: nothing is queued until a backfill asks for it.
    assert ok(queued).json() == []
    backfill = ok(await cli(seeded, "feeds", "backfill", "1", "--latest", "5"))
    assert "Queued 1 deliveries" in backfill.out  # only the GSOMIA brief matches
    everything, dead_none = await asyncio.gather(
        cli(seeded, "deliveries", "list", "--json"),
        cli(seeded, "deliveries", "list", "--state", "dead", "--json"),
    )
    (pending,) = ok(everything).json()
    assert pending["brief_id"] == gsomia_id and pending["subscription_id"] == sub["id"]
    assert pending["state"] == "pending" and pending["attempts"] == 0
    assert ok(dead_none).json() == []

    # A delivery that used up its attempts is visible as dead, with its error.
    store = await seeded.store()
    try:
        await store.outbox.mark_dead(pending["id"], "HTTP 503 after 8 attempts", datetime.now(UTC))
    finally:
        await store.close()
    dead_list, wrong = await asyncio.gather(
        cli(seeded, "deliveries", "list", "--state", "dead", "--json"),
        cli(seeded, "deliveries", "list", "--state", "lost"),
    )
    (dead,) = ok(dead_list).json()
    assert dead["id"] == pending["id"] and dead["state"] == DeliveryState.DEAD.value
    assert dead["last_error"] == "HTTP 503 after 8 attempts"
    assert wrong.code == 1 and "dead" in wrong.err

    ok(await cli(seeded, "subscriptions", "remove", str(sub["id"])))
    deliveries_after, gone = await asyncio.gather(
        cli(seeded, "deliveries", "list", "--json"),
        cli(seeded, "subscriptions", "remove", str(sub["id"])),
    )
    assert ok(deliveries_after).json() == []  # removed with their subscription
    assert gone.code == 1 and f"no subscription {sub['id']}" in gone.err


# -- configuration and entry points ------------------------------------------------------------


async def test_bad_config_exits_2_naming_key_and_file(tmp_path: Path) -> None:
    wd = Workdir(tmp_path)
    wd.write_config("[poll]\n")  # a second [poll] table: invalid TOML
    broken = await cli(wd, "feeds", "list")
    assert broken.code == 2 and str(wd.config) in broken.err and "not valid TOML" in broken.err

    wd.config.write_text("[poll]\nconcurrency = -1\n", encoding="utf-8")
    result = await cli(wd, "run", "--once")
    assert result.code == 2
    assert "configuration error" in result.err
    assert str(wd.config) in result.err and "`poll.concurrency`" in result.err
    assert "Traceback" not in result.err
    assert not wd.db.exists()  # stopped before touching the database


def test_python_m_help() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "koreapage_bot", "--help"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert done.returncode == 0, done.stderr
    for command in ("run", "poll", "feeds", "briefs", "subscriptions", "deliveries"):
        assert command in done.stdout


# -- run ---------------------------------------------------------------------------------------


async def test_run_once_prints_new_briefs_after_the_baseline(tmp_path: Path) -> None:
    wd = Workdir(tmp_path)
    async with FeedServer() as server:
        route = server.feed("/alliance.xml")
        route.set_body(ALLIANCE.read_bytes())
        wd.write_config(
            f'\n[[feeds]]\nname = "Alliance Monitor"\nurl = "{server.url("/alliance.xml")}"\n'
        )

        first = ok(await cli(wd, "run", "--once"))
        assert SMA not in first.out and GSOMIA not in first.out  # archived, not delivered
        subs = ok(await cli(wd, "subscriptions", "list", "--json")).json()
        assert [(s["platform"], s["channel"], s["state"]) for s in subs] == [
            ("console", "console", "active")  # made by `run` because no chat token is set
        ]

        route.set_body(alliance_with_new_item())
        store = await wd.store()
        try:  # due now, instead of waiting out the 30-minute interval
            (feed,) = await store.feeds.all()
            await store.feeds.set_next_poll(feed.id, datetime.now(UTC) - timedelta(seconds=1))
        finally:
            await store.close()
        second = ok(await cli(wd, "run", "--once"))
        assert NCG in second.out and "Grace Yoon" in second.out
        assert SMA not in second.out and GSOMIA not in second.out  # no reposts
        assert server.count("/alliance.xml") == 2

        sent = ok(await cli(wd, "deliveries", "list", "--state", "sent", "--json")).json()
        assert len(sent) == 1 and sent[0]["message_id"].startswith("console-")


async def _run_until_signal(wd: Workdir, sig: signal.Signals) -> Result:
    proc = await asyncio.create_subprocess_exec(
        str(SCRIPT),
        "run",
        cwd=wd.path,
        env=wd.env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stderr is not None and proc.stdout is not None
    seen: list[str] = []
    try:
        # Wait for the log line written once the scheduler and dispatcher are running.
        async with asyncio.timeout(TIMEOUT):
            while True:
                line = (await proc.stderr.readline()).decode()
                if not line:
                    raise AssertionError("`run` exited early:\n" + "".join(seen))
                seen.append(line)
                if "new briefs are printed here" in line:
                    break
        proc.send_signal(sig)
        async with asyncio.timeout(TIMEOUT):
            out, err = await proc.communicate()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    return Result(proc.returncode, out.decode(), "".join(seen) + err.decode())


async def test_run_stops_cleanly_on_sigterm_and_sigint(tmp_path: Path) -> None:
    dirs = []
    for name in ("term", "int"):
        wd = Workdir(tmp_path / name)
        wd.path.mkdir()
        wd.write_config()
        dirs.append(wd)
    term, interrupt = await asyncio.gather(
        _run_until_signal(dirs[0], signal.SIGTERM), _run_until_signal(dirs[1], signal.SIGINT)
    )
    for result in (term, interrupt):
        assert result.code == 0, result.err
        assert "stopped cleanly" in result.err
        assert "Traceback" not in result.err


async def test_poll_of_a_page_url_discovers_its_feed_or_says_there_is_none(
    tmp_path: Path,
) -> None:
    wd = Workdir(tmp_path)
    wd.write_config()
    async with FeedServer() as server:
        server.feed("/feeds/alliance.xml").set_body(ALLIANCE.read_bytes())
        server.route(
            "/blog/", HtmlRoute(feed_links=[("/feeds/alliance.xml", "application/rss+xml")])
        )
        server.route("/about/", HtmlRoute())
        found, none = await asyncio.gather(
            cli(wd, "poll", server.url("/blog/"), "--json"),
            cli(wd, "poll", server.url("/about/"), "--json"),
        )
        assert [b["title"] for b in ok(found).json()] == [SMA, GSOMIA]
        assert server.count("/feeds/alliance.xml") == 1  # found, then polled from that fetch
        assert none.code == 1 and none.json() == [] and "links to no RSS/Atom feed" in none.err
        feeds = ok(await cli(wd, "feeds", "list", "--json")).json()
        assert [f["url"] for f in feeds] == [server.url("/feeds/alliance.xml")]
