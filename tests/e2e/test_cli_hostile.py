"""The console script against hostile or broken surroundings, as a subprocess: JSON output that
streams."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

import pytest

from tests.e2e.test_cli import (
    ALLIANCE,
    GSOMIA,
    NCG,
    SCRIPT,
    SMA,
    TIMEOUT,
    Result,
    Workdir,
    alliance_with_new_item,
    cli,
)
from tests.fakes.feed_server import FeedServer, RawRoute
from tests.fakes.hold import HeldRoute

pytestmark = pytest.mark.skipif(
    not SCRIPT.exists(), reason=f"the console script is not installed at {SCRIPT}"
)


# -- --json streams --------------------------------------------------------------------------


async def test_poll_json_prints_each_brief_as_soon_as_it_is_stored(tmp_path: Path) -> None:
    wd = Workdir(tmp_path)
    wd.write_config()
    async with FeedServer() as server:
        # The second feed does not answer until the test has seen the first feed's briefs.
        later = server.route("/later.xml", HeldRoute(RawRoute(alliance_with_new_item())))
        proc = await asyncio.create_subprocess_exec(
            str(SCRIPT),
            "poll",
            str(ALLIANCE),
            server.url("/later.xml"),
            "--json",
            cwd=wd.path,
            env=wd.env(),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert proc.stdout is not None
        printed = b""
        try:
            while GSOMIA.encode() not in printed:
                chunk = await asyncio.wait_for(proc.stdout.read(65536), 30)
                if not chunk:
                    break
                printed += chunk
            # Printed while the second feed cannot finish (its answer is held back): written
            # as stored, not kept for the end.
            assert GSOMIA.encode() in printed and SMA.encode() in printed
            await later.wait_arrived()
        finally:
            later.release()
        rest, err = await asyncio.wait_for(proc.communicate(), TIMEOUT)
    assert proc.returncode == 0, err.decode()
    briefs = json.loads(printed + rest)  # one valid JSON array, as before
    titles = [b["title"] for b in briefs]
    assert titles[:2] == [SMA, GSOMIA] and NCG in titles[2:]
    assert len({b["id"] for b in briefs}) == len(briefs) == 5


# -- configuration and environment errors: exit 2, one message, no traceback --------------------


def clear_error(result: Result, *names: str) -> None:
    assert result.code == 2, f"exit {result.code}\nstdout:\n{result.out}\nstderr:\n{result.err}"
    assert "Traceback" not in result.err, result.err
    for name in names:
        assert name in result.err, result.err
    # The error, at most beside the start-up log line of `run`: not a dump.
    assert len(result.err.strip().splitlines()) <= 3, result.err


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_database_that_cannot_be_used_is_a_clear_error(tmp_path: Path) -> None:
    # More cases (unresolvable, bad port, a directory) in-process in
    # tests/integration/test_bot_environment.py; these two through the script.
    wd = Workdir(tmp_path)
    wd.write_config()
    not_a_db = tmp_path / "notes.txt"
    not_a_db.write_text("shopping list, not a database\n", encoding="utf-8")
    refused = f"postgresql+asyncpg://bot:s3cret@127.0.0.1:{closed_port()}/bot"
    listing, run_once = await asyncio.gather(
        cli(wd, "feeds", "list", env=wd.env(KOREAPAGE_DATABASE_URL=refused)),
        cli(
            wd,
            "run",
            "--once",
            env=wd.env(KOREAPAGE_DATABASE_URL=f"sqlite+aiosqlite:///{not_a_db}"),
        ),
    )
    clear_error(listing, "KOREAPAGE_DATABASE_URL")
    assert "refused" in listing.err.lower() and "s3cret" not in listing.err
    clear_error(run_once, "KOREAPAGE_DATABASE_URL", "not a database")
    assert not_a_db.read_text(encoding="utf-8") == "shopping list, not a database\n"


async def test_bad_environment_for_run_is_a_clear_error(tmp_path: Path) -> None:
    # An address the machine lacks, or a name that cannot resolve: in-process in
    # tests/integration/test_bot_environment.py.
    wd = Workdir(tmp_path)
    wd.write_config()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        log_level, in_use = await asyncio.gather(
            cli(wd, "run", "--once", env=wd.env(KOREAPAGE_LOG_LEVEL="BOGUS")),
            cli(wd, "run", env=wd.env(KOREAPAGE_HTTP_HOST="127.0.0.1", KOREAPAGE_HTTP_PORT=port)),
        )
    clear_error(log_level, "KOREAPAGE_LOG_LEVEL", "BOGUS")
    clear_error(in_use, "KOREAPAGE_HTTP_PORT", port)


async def test_bad_values_in_the_config_files_are_clear_errors(tmp_path: Path) -> None:
    # Every key's checks (inf, negatives, huge numbers, ports) are in tests/unit/test_config.py.
    configs = {
        "feed url": ('\n[[feeds]]\nname = "x"\nurl = "http://[::1/feed"\n', "feeds[0].url"),
        "publish nan": ("publish_timeout = nan\n", "delivery.publish_timeout"),  # in [delivery]
    }
    dirs = []
    for n, (text, _key) in enumerate(configs.values()):
        wd = Workdir(tmp_path / str(n))
        wd.path.mkdir()
        wd.write_config(text)
        dirs.append(wd)
    # A typo in the issue taxonomy that the config points at.
    typo = Workdir(tmp_path / "typo")
    typo.path.mkdir()
    issues = typo.path / "issues.toml"
    issues.write_text('[[issue]]\nid = "sma"\nlabell = "Cost sharing"\n', encoding="utf-8")
    typo.config.write_text(f'[analysis]\nissues_file = "{issues}"\n', encoding="utf-8")
    results = await asyncio.gather(
        cli(dirs[0], "run", "--once"),
        cli(dirs[1], "feeds", "list"),
        cli(typo, "run", "--once"),
        cli(typo, "analyze", str(ALLIANCE)),
    )
    for (_text, key), wd, result in zip(configs.values(), dirs, results, strict=False):
        clear_error(result, f"`{key}`", str(wd.config))
    for result in results[len(dirs) :]:
        clear_error(result, str(issues), "label")
