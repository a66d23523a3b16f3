"""`feeds import FILE.opml` and `feeds export [FILE]`: feed lists in and out as OPML 2.0."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from koreapage_bot.cli.common import (
    OPERATOR,
    JsonOpt,
    bot_for_cli,
    dump,
    err,
    fail,
    feeds_app,
    out,
    run_async,
)
from koreapage_bot.commands.feedlist import ImportReport, Outcome, import_feeds
from koreapage_bot.domain import Feed
from koreapage_bot.opml import MAX_OPML_BYTES, OpmlError, read_opml, write_opml

EXPORT_TITLE = "koreapage-bot feeds"


def _read_capped(source: str) -> bytes:
    """The file's bytes, refusing one over the cap before reading it (and while reading
    standard input, which has no size to look at first)."""
    if source == "-":
        data = sys.stdin.buffer.read(MAX_OPML_BYTES + 1)
    else:
        path = Path(source).expanduser()
        try:
            size = path.stat().st_size
            if size > MAX_OPML_BYTES:
                raise fail(
                    f"{source}: the file is {size:,} bytes; an OPML feed list may be at most "
                    f"{MAX_OPML_BYTES:,} bytes",
                    2,
                )
            with path.open("rb") as stream:
                data = stream.read(MAX_OPML_BYTES + 1)
        except IsADirectoryError:
            raise fail(f"{source}: is a directory, not an OPML file", 2) from None
        except FileNotFoundError:
            raise fail(f"{source}: no such file", 2) from None
        except OSError as exc:
            raise fail(f"{source}: cannot read it: {exc.strerror or exc}", 2) from None
    if len(data) > MAX_OPML_BYTES:
        raise fail(f"{source}: more than {MAX_OPML_BYTES:,} bytes; not an OPML feed list", 2)
    return data


@feeds_app.command("import")
def feeds_import(
    file: Annotated[str, typer.Argument(metavar="FILE.opml", help="An OPML file; - for stdin.")],
    as_json: JsonOpt = False,
) -> None:
    """Follow every feed an OPML file lists (folders too). Each is checked like `feeds add`;
    feeds already followed are skipped. Exit 1 when a feed could not be added."""
    data = _read_capped(file)
    try:
        listed = read_opml(data)
    except OpmlError as exc:
        raise fail(f"{file}: {exc}", 2) from None

    async def main() -> ImportReport:
        async with bot_for_cli() as bot:
            return await import_feeds(bot.commands, bot.store, listed, OPERATOR)

    report = run_async(main())
    if as_json:
        dump(report.to_json())
    else:
        _print_report(report, len(listed))
    if report.of(Outcome.FAILED):
        raise typer.Exit(1)


def _print_report(report: ImportReport, listed: int) -> None:
    if report.lines:
        table = Table("result", "feed", "title", "detail")
        style = {Outcome.ADDED: "green", Outcome.SKIPPED: "yellow", Outcome.FAILED: "red"}
        for line in report.lines:
            table.add_row(
                Text(line.outcome.value, style=style[line.outcome]),
                str(line.feed_id) if line.feed_id is not None else "-",
                Text(line.title or ""),
                Text(line.reason or line.url),
            )
        out.print(table)
    added, skipped, failed = (len(report.of(o)) for o in Outcome)
    out.print(f"{listed} feeds listed: {added} added, {skipped} skipped, {failed} failed.")
    if added:
        out.print("Their current posts are archived; channels get what appears from now on.")


@feeds_app.command("export")
def feeds_export(
    file: Annotated[
        str | None, typer.Argument(metavar="[FILE]", help="Where to write; default stdout.")
    ] = None,
) -> None:
    """Write every followed feed as OPML 2.0 (title, xmlUrl, htmlUrl), for another reader or
    for `feeds import` elsewhere."""

    async def main() -> list[Feed]:
        async with bot_for_cli() as bot:
            return await bot.store.feeds.all(include_disabled=False)

    feeds = run_async(main())
    document = write_opml(feeds, title=EXPORT_TITLE)
    if file is None or file == "-":
        sys.stdout.buffer.write(document)
        sys.stdout.flush()
        return
    target = Path(file).expanduser()
    try:
        # Written beside the target and renamed over it: a failed write never leaves half a
        # file where a good one was.
        fd, temp = tempfile.mkstemp(prefix=".opml-", dir=target.parent or Path("."))
        try:
            umask = os.umask(0o022)
            os.umask(umask)
            os.fchmod(fd, 0o666 & ~umask)  # as an ordinary new file, not mkstemp's 0600
            with os.fdopen(fd, "wb") as stream:
                stream.write(document)
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise fail(f"{file}: cannot write it: {exc.strerror or exc}") from None
    err.print(f"Wrote {len(feeds)} feeds to {target}.")
