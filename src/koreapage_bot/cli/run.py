"""`run`, `poll` and `analyze`: the commands that do the bot's work."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TextIO

import typer
from rich.text import Text

from koreapage_bot.bootstrap import install_signal_handlers, open_bot, run_bot, run_once
from koreapage_bot.cli.common import (
    OPERATOR,
    JsonOpt,
    JsonRows,
    app,
    bot_for_cli,
    err,
    fail,
    out,
    print_briefs,
    progress_bar,
    run_async,
    settings,
    setup_logging,
)
from koreapage_bot.config import ConfigError
from koreapage_bot.domain import Brief

if TYPE_CHECKING:
    from koreapage_bot.commands.service import FeedProbe
    from koreapage_bot.domain import Feed
    from koreapage_bot.ingest.poller import PollReport

# -- run -------------------------------------------------------------------------------------


@app.command()
def run(
    once: Annotated[
        bool, typer.Option("--once", help="Poll due feeds once, deliver, exit.")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
    log_format: Annotated[
        str | None,
        typer.Option(
            "--log-format",
            metavar="text|json",
            help="Logs as text (default) or one JSON object per line; else KOREAPAGE_LOG_FORMAT.",
        ),
    ] = None,
) -> None:
    """Run the bot: poll feeds, write briefs, deliver them (console, Discord, Slack)."""
    setup_logging(verbose, log_format)
    config = settings()
    log = logging.getLogger("koreapage_bot")
    log.info(
        "starting: %d feeds from %s, database %s",
        len(config.feeds),
        config.config_path or "the packaged default config",
        config.database_url.split("://")[0],
    )

    async def main() -> None:
        async with open_bot(config, console=out) as bot:
            if once:
                await run_once(bot)
                return
            stop = asyncio.Event()
            install_signal_handlers(stop)
            await run_bot(bot, stop)
        log.info("stopped cleanly")

    try:
        asyncio.run(main())
    except ConfigError as exc:
        raise fail(f"configuration error: {exc}", 2) from None
    except KeyboardInterrupt:  # a second Ctrl-C during shutdown
        pass


# -- poll ------------------------------------------------------------------------------------


def _feed_url(target: str) -> str:
    if target.startswith(("http://", "https://", "file://")):
        return target
    path = Path(target).expanduser()
    if not path.is_file():
        raise fail(f"{target}: not an http(s) URL and no such file")
    return path.resolve().as_uri()


@app.command()
def poll(
    targets: Annotated[list[str], typer.Argument(metavar="FEED_URL_OR_PATH...")],
    as_json: JsonOpt = False,
) -> None:
    """Add each feed if new, poll it now, print the briefs it created; exit 1 if a feed fails."""
    failed: list[str] = []
    created: list[Brief] = []

    urls = [_feed_url(target) for target in targets]

    async def main(on_brief: Callable[[Brief], None] | None) -> None:
        # With --json stdout carries only the JSON: console deliveries go to stderr.
        async with bot_for_cli(console=err if as_json else None) as bot:
            for url in urls:
                feed = await bot.store.feeds.by_url(url)
                if feed is None and url.startswith("file:"):
                    feed, _ = await bot.store.feeds.add(url, Path(url).name)
                elif feed is None:
                    # A new URL is added as `feeds add` does: fetched once, and a page's
                    # RSS/Atom link discovered; a URL with no feed is a clear error. The
                    # response read then is the first poll (no second fetch).
                    first: list[PollReport] = []

                    async def first_poll(
                        added: Feed, probe: FeedProbe, first: list[PollReport] = first
                    ) -> None:
                        with progress_bar(not as_json) as progress:
                            first.append(
                                await bot.poller.poll(
                                    added,
                                    progress,
                                    on_brief,
                                    fetched=probe.fetched,
                                    parsed=probe.parsed,
                                )
                            )

                    reply = await bot.commands.feeds_add(OPERATOR, url, first_poll=first_poll)
                    if not reply.ok or not reply.feeds:
                        err.print(Text(f"{url}: {reply.text}", style="red"))
                        failed.append(url)
                        continue
                    if first:
                        report = first[0]
                        if report.error:
                            err.print(Text(f"{url}: {report.error}", style="yellow"))
                            failed.append(url)
                        created.extend(report.briefs)
                        continue
                    feed = await bot.store.feeds.get(reply.feeds[0].id)
                    assert feed is not None
                with progress_bar(not as_json) as progress:
                    report = await bot.poller.poll(feed, progress, on_brief)
                if report.error:
                    err.print(Text(f"{url}: {report.error}", style="yellow"))
                    failed.append(url)
                created.extend(report.briefs)
            await bot.dispatcher.drain()

    if as_json:
        # Each brief is printed as soon as it is stored: a first fetch of a huge feed starts
        # printing at once and is never held in memory as a whole.
        with JsonRows() as array:
            run_async(main(lambda brief: array.add(brief.to_json())))
    else:
        run_async(main(None))
        print_briefs(created, False, "No new briefs.")
    if failed:
        raise typer.Exit(1)


# -- analyze ---------------------------------------------------------------------------------


@app.command()
def analyze(
    source: Annotated[
        str, typer.Argument(metavar="[FILE|-]", help="JSON lines; - for stdin.")
    ] = "-",
) -> None:
    """Analyse JSON-lines articles offline: relevance, key issues, author, summary."""
    from koreapage_bot.analysis.jsonl import analyze_jsonl
    from koreapage_bot.analysis.taxonomy import TaxonomyError, load_taxonomy
    from koreapage_bot.bootstrap import build_analyzer

    config = settings()
    try:
        taxonomy = load_taxonomy(config.analysis.issues_file)
    except TaxonomyError as exc:
        raise fail(f"configuration error: {exc}", 2) from None
    analyzer = build_analyzer(config, taxonomy)

    if source != "-" and not Path(source).is_file():
        raise fail(f"{source}: no such file")

    async def main(stream: TextIO) -> None:
        # Lines are read as they come, so `tail -f archive.jsonl | … analyze -` works.
        async with analyzer:
            async for line in analyze_jsonl(stream, analyzer):
                sys.stdout.write(line + "\n")
                sys.stdout.flush()

    if source == "-":
        run_async(main(sys.stdin))
        return
    with open(source, encoding="utf-8") as stream:
        run_async(main(stream))
