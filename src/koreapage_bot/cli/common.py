"""What every CLI command shares: the Typer apps, consoles, settings, JSON and errors."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, TextIO, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from koreapage_bot.adapters.console import CONSOLE_PLATFORM, brief_panel, render_reply
from koreapage_bot.commands.replies import Caller, Reply
from koreapage_bot.config import ConfigError, Settings, load_settings
from koreapage_bot.domain import Brief, Feed, FeedState
from koreapage_bot.ports import MAX_ROW_ID, BriefView

if TYPE_CHECKING:
    # bootstrap is imported by the commands that open the bot, when they run: the CLI's
    # start loads only what the command it runs needs.
    from koreapage_bot.bootstrap import Bot, Queries
    from koreapage_bot.commands.service import StoryGroup

T = TypeVar("T")

app = typer.Typer(
    help="Briefs on the US–South Korea alliance from Korea-focused feeds, for Discord and Slack.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
feeds_app = typer.Typer(help="The feeds the bot follows.", no_args_is_help=True)
briefs_app = typer.Typer(help="Query stored briefs.", no_args_is_help=True)
subs_app = typer.Typer(help="Channels that follow briefs.", no_args_is_help=True)
deliveries_app = typer.Typer(
    help="The outbox: what was sent, what waits, what died.", no_args_is_help=True
)
discord_app = typer.Typer(help="Discord helpers.", no_args_is_help=True)
app.add_typer(feeds_app, name="feeds")
app.add_typer(briefs_app, name="briefs")
app.add_typer(subs_app, name="subscriptions")
app.add_typer(deliveries_app, name="deliveries")
app.add_typer(discord_app, name="discord")

out = Console()
err = Console(stderr=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
# Row ids fit the database's INTEGER columns; a larger number is refused as a usage error
# instead of failing inside the database driver.
RowId = Annotated[int, typer.Argument(min=1, max=MAX_ROW_ID)]
OPERATOR = Caller(
    platform=CONSOLE_PLATFORM, workspace=None, channel="console", user_id="operator", is_admin=True
)


def fail(message: str, code: int = 1) -> typer.Exit:
    err.print(Text(message, style="red"))
    return typer.Exit(code)


def settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        raise fail(f"configuration error: {exc}", 2) from None


def run_async(coro: Awaitable[T]) -> T:
    return asyncio.run(_main(coro))


async def _main(coro: Awaitable[T]) -> T:
    return await coro


@contextlib.asynccontextmanager
async def bot_for_cli(chat: bool = False, *, console: Console | None = None) -> AsyncIterator[Bot]:
    """The bot for one CLI command. `console` is where deliveries to the console channel are
    printed (stderr when stdout carries JSON)."""
    from koreapage_bot.bootstrap import open_bot

    try:
        async with open_bot(settings(), console=console or out, chat=chat) as bot:
            yield bot
    except ConfigError as exc:
        raise fail(f"configuration error: {exc}", 2) from None


@contextlib.asynccontextmanager
async def queries_for_cli() -> AsyncIterator[Queries]:
    """The store and the command service only, for commands that read or change rows."""
    from koreapage_bot.bootstrap import open_queries

    try:
        async with open_queries(settings()) as queries:
            yield queries
    except ConfigError as exc:
        raise fail(f"configuration error: {exc}", 2) from None


def setup_logging(verbose: bool = False, log_format: str | None = None) -> None:
    """Logs to stderr: readable text, or one JSON object per line (`--log-format json`, else
    KOREAPAGE_LOG_FORMAT) for log shippers."""
    from koreapage_bot.logfmt import FORMATS, formatter

    level = os.environ.get("KOREAPAGE_LOG_LEVEL", "").strip().upper() or (
        "DEBUG" if verbose else "INFO"
    )
    if level not in logging.getLevelNamesMapping():
        names = ", ".join(("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"))
        raise fail(
            f"configuration error: KOREAPAGE_LOG_LEVEL must be one of {names}, "
            f"got {os.environ.get('KOREAPAGE_LOG_LEVEL', '')!r}",
            2,
        )
    raw = log_format or os.environ.get("KOREAPAGE_LOG_FORMAT", "")
    chosen = raw.strip().lower() or "text"
    if chosen not in FORMATS:
        where = "--log-format" if log_format else "KOREAPAGE_LOG_FORMAT"
        raise fail(
            f"configuration error: {where} must be one of {', '.join(FORMATS)}, got {raw!r}", 2
        )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(chosen))
    logging.basicConfig(level=level, handlers=[handler])
    for noisy in ("apscheduler", "aiosqlite", "discord.gateway", "discord.client", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))


def _json_text(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, default=str)


def dump(data: Any) -> None:
    """One JSON value on stdout (plain text: rich's highlighter holds many copies of it)."""
    sys.stdout.write(_json_text(data) + "\n")
    sys.stdout.flush()


class JsonRows:
    """A JSON array written to stdout one element at a time, so a long listing (a poll of a
    large feed) starts printing at once and never sits in memory as a whole. Once an element
    is out the array is closed however the command ends, so stdout is always valid JSON; a
    command that fails before its first element prints nothing there."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stdout
        self.count = 0

    def __enter__(self) -> JsonRows:
        return self

    def add(self, row: Any) -> None:
        element = _json_text(row).replace("\n", "\n  ")
        self._stream.write(("," if self.count else "[") + "\n  " + element)
        self._stream.flush()
        self.count += 1

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        if self.count:
            self._stream.write("\n]\n")
        elif exc_type is None:
            self._stream.write("[]\n")
        self._stream.flush()


def dump_rows(rows: Iterable[Any]) -> None:
    with JsonRows() as array:
        for row in rows:
            array.add(row)


def print_briefs(briefs: Iterable[Brief], as_json: bool, empty: str) -> None:
    if as_json:
        dump_rows(b.to_json() for b in briefs)
        return
    shown = False
    for brief in briefs:
        out.print(brief_panel(BriefView.of(brief)))
        shown = True
    if not shown:
        out.print(empty)


def print_stories(groups: Sequence[StoryGroup], as_json: bool, empty: str) -> None:
    """One line per story: its shown brief with the other reports as "Also reported by";
    JSON: the brief's fields, its `story_id` and every report in `sources`."""
    if as_json:
        dump_rows(g.to_json() for g in groups)
        return
    for group in groups:
        out.print(brief_panel(group.view))
    if not groups:
        out.print(empty)


def next_poll(f: Feed) -> datetime | None:
    """A removed (disabled) feed is never polled again, whatever its row says."""
    return f.next_poll_at if f.state is not FeedState.DISABLED else None


def feed_json(f: Feed) -> dict[str, Any]:
    due = next_poll(f)
    return {
        "id": f.id,
        "name": f.name,
        "url": f.url,
        "state": f.state.value,
        "title": f.title,
        "last_error": f.last_error,
        "consecutive_failures": f.consecutive_failures,
        "next_poll_at": due.isoformat() if due else None,
        "last_polled_at": f.last_polled_at.isoformat() if f.last_polled_at else None,
        "baselined": f.baselined,
    }


def show_reply(reply: Reply) -> None:
    # Refusals and usage go to stderr, like every other CLI error.
    render_reply(out if reply.ok else err, reply)
    if not reply.ok:
        raise typer.Exit(1)


@contextlib.contextmanager
def progress_bar(enabled: bool) -> Iterator[Callable[[Feed, int, int], None] | None]:
    """A progress bar on a terminal for long work (the first fetch of a large feed)."""
    if not enabled or not err.is_terminal:
        yield None
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as progress:
        tasks: dict[int, Any] = {}

        def update(feed: Feed, done: int, total: int) -> None:
            if feed.id not in tasks:
                tasks[feed.id] = progress.add_task(f"analysing {feed.name}", total=total)
            progress.update(tasks[feed.id], completed=done)

        yield update
