"""The console script against hostile or broken surroundings, as a subprocess: JSON output that
streams."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from tests.e2e.test_cli import (
    ALLIANCE,
    GSOMIA,
    NCG,
    SCRIPT,
    SMA,
    TIMEOUT,
    Workdir,
    alliance_with_new_item,
    cli,
    ok,
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


async def test_json_listings_are_valid_json_when_empty_or_failing(tmp_path: Path) -> None:
    wd = Workdir(tmp_path)
    wd.write_config()
    feeds, deliveries, latest, search = await asyncio.gather(
        cli(wd, "feeds", "list", "--json"),
        cli(wd, "deliveries", "list", "--json"),
        cli(wd, "briefs", "latest", "--json"),
        cli(wd, "briefs", "search", "alliance", "--json"),
    )
    for result in (feeds, deliveries, latest, search):
        assert ok(result).json() == []
    missing = await cli(wd, "poll", str(tmp_path / "nope.xml"), "--json")
    assert missing.code == 1 and missing.out == "" and "no such file" in missing.err
