"""`koreapage-bot feeds import FILE.opml` and `feeds export [FILE]`, run as the real console
script against temporary databases and the local feed server."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from tests.e2e.test_cli import ALLIANCE, SCRIPT, Workdir, cli, ok
from tests.fakes.feed_server import FeedServer, Item, StatusRoute
from tests.unit.test_opml import LAUGHS

assert SCRIPT  # the module skips itself when the console script is missing (see test_cli)


def opml(*outlines: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0"><head><title>Mine</title>'
        f"</head><body>{''.join(outlines)}</body></opml>\n"
    )


async def test_import_then_export_into_a_fresh_database(tmp_path: Path) -> None:
    first = Workdir(tmp_path / "first")
    first.path.mkdir()
    first.write_config()
    async with FeedServer() as server:
        server.feed("/alliance.xml").set_body(ALLIANCE.read_bytes())
        server.feed("/watch.xml", [Item("Allies meet", guid="w-1")])
        server.feed("/drills.xml", [Item("Drills resume", guid="d-1")])
        server.route("/gone.xml", StatusRoute(404))
        url = server.url
        listing = tmp_path / "subscriptions.opml"
        listing.write_text(
            opml(
                '<outline text="Korea">',
                f'<outline type="rss" text="Alliance Monitor" xmlUrl="{url("/alliance.xml")}"/>',
                '<outline text="Defence">',
                f'<outline type="rss" text="Drills" xmlUrl="{url("/drills.xml")}"/>',
                "</outline></outline>",
                f'<outline type="rss" text="Watch" xmlUrl="{url("/watch.xml")}"/>',
                f'<outline type="rss" text="Watch twice" xmlUrl="{url("/watch.xml")}"/>',
                f'<outline type="rss" text="Gone" xmlUrl="{url("/gone.xml")}"/>',
            ),
            encoding="utf-8",
        )
        imported = await cli(first, "feeds", "import", str(listing))
        assert imported.code == 1, imported.err  # one feed could not be added
        assert "5 feeds listed: 3 added, 1 skipped, 1 failed." in imported.out
        assert "repeats “Watch”" in imported.out and "404" in imported.out

        # Importing the same list again adds nothing and fetches nothing new.
        before = server.total_requests
        again = await cli(first, "feeds", "import", str(listing), "--json")
        report = again.json()
        assert [len(report[k]) for k in ("added", "skipped", "failed")] == [0, 4, 1]
        assert server.total_requests == before + 1  # only the failed one, tried again
        assert report["skipped"][0]["reason"].startswith("already followed as feed ")

        exported_file = tmp_path / "export.opml"
        exported, stdout = await asyncio.gather(
            cli(first, "feeds", "export", str(exported_file)),
            cli(first, "feeds", "export"),
        )
        assert "Wrote 3 feeds" in ok(exported).err
        assert ok(stdout).out.encode() == exported_file.read_bytes().replace(
            _date(exported_file.read_bytes()), _date(stdout.out.encode())
        )
        assert b'xmlUrl="' + url("/alliance.xml").encode() in exported_file.read_bytes()

        fresh = Workdir(tmp_path / "fresh")
        fresh.path.mkdir()
        fresh.write_config()
        ok(await cli(fresh, "feeds", "import", str(exported_file)))
        listed = await asyncio.gather(
            cli(first, "feeds", "list", "--json"), cli(fresh, "feeds", "list", "--json")
        )
        before_list, after_list = (
            sorted((f["url"], f["name"]) for f in ok(r).json()) for r in listed
        )
        assert after_list == before_list and len(after_list) == 3


def _date(document: bytes) -> bytes:
    start = document.index(b"<dateCreated>")
    return document[start : document.index(b"</dateCreated>", start)]


async def test_hostile_and_unusable_files_are_refused_with_exit_2(tmp_path: Path) -> None:
    wd = Workdir(tmp_path)
    wd.write_config()
    laughs = tmp_path / "laughs.opml"
    laughs.write_bytes(LAUGHS)
    huge = tmp_path / "huge.opml"
    with huge.open("wb") as stream:  # 50 MB, sparse: refused by its size, never read
        stream.truncate(50 * 1024 * 1024)
    # (XXE, a feed instead of a list and malformed XML: tests/unit/test_opml.py.)
    results = await asyncio.gather(
        cli(wd, "feeds", "import", str(laughs)),
        cli(wd, "feeds", "import", str(huge)),
        cli(wd, "feeds", "import", str(tmp_path / "missing.opml")),
    )
    messages = [
        "refused: the file declares XML entities",
        "the file is 52,428,800 bytes; an OPML feed list may be at most 5,242,880 bytes",
        "no such file",
    ]
    for result, message in zip(results, messages, strict=True):
        assert result.code == 2, (result.out, result.err)
        assert message in " ".join(result.err.split()), result.err
        assert "Traceback" not in result.err
    assert ok(await cli(wd, "feeds", "list", "--json")).json() == []


async def test_import_from_stdin(tmp_path: Path) -> None:
    wd = Workdir(tmp_path)
    wd.write_config()
    async with FeedServer() as server:
        server.feed("/watch.xml", [Item("Allies meet", guid="w-1")])
        document = opml(f'<outline text="Watch" xmlUrl="{server.url("/watch.xml")}"/>')
        proc = await asyncio.create_subprocess_exec(
            str(SCRIPT),
            "feeds",
            "import",
            "-",
            "--json",
            cwd=wd.path,
            env=wd.env(),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(document.encode()), 60)
    assert proc.returncode == 0, err.decode()
    report = json.loads(out)
    assert [a["title"] for a in report["added"]] == ["Watch"]
