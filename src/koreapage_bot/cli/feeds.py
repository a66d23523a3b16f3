"""`feeds add|list|remove|backfill`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from koreapage_bot.cli.common import (
    OPERATOR,
    JsonOpt,
    bot_for_cli,
    dump_rows,
    fail,
    feed_json,
    feeds_app,
    next_poll,
    out,
    queries_for_cli,
    run_async,
    show_reply,
)
from koreapage_bot.commands.replies import Reply
from koreapage_bot.delivery.fanout import recipients
from koreapage_bot.domain import Feed

# -- feeds -----------------------------------------------------------------------------------


@feeds_app.command("add")
def feeds_add(
    url: str,
    name: Annotated[str | None, typer.Option("--name", help="A display name.")] = None,
) -> None:
    """Follow a feed (a page URL works too). Trusted: it may be on a private network."""

    async def main() -> Reply:
        async with bot_for_cli() as bot:
            return await bot.commands.feeds_add(OPERATOR, url, name=name)

    show_reply(run_async(main()))


@feeds_app.command("list")
def feeds_list(as_json: JsonOpt = False) -> None:
    """The feeds, with state, last error and next poll time."""

    async def main() -> list[Feed]:
        async with queries_for_cli() as bot:
            return await bot.store.feeds.all()

    feeds = run_async(main())
    if as_json:
        dump_rows(feed_json(f) for f in feeds)
        return
    table = Table("id", "name", "state", "next poll (UTC)", "last error", "url")
    for f in feeds:
        table.add_row(
            str(f.id),
            Text(f.name),
            f.state.value,
            due.strftime("%Y-%m-%d %H:%M") if (due := next_poll(f)) else "-",
            Text(f.last_error or ""),
            Text(f.url),
        )
    out.print(table)


@feeds_app.command("remove")
def feeds_remove(feed: Annotated[str, typer.Argument(help="Feed id, URL or name.")]) -> None:
    """Stop following a feed; its briefs stay searchable."""

    async def main() -> Reply:
        async with queries_for_cli() as bot:
            return await bot.commands.feeds_remove(OPERATOR, feed)

    show_reply(run_async(main()))


@feeds_app.command("backfill")
def feeds_backfill(
    feed: Annotated[str, typer.Argument(help="Feed id, URL or name.")],
    latest: Annotated[int, typer.Option("--latest", min=1, max=100, help="How many.")] = 5,
) -> None:
    """Deliver the newest N archived briefs of a feed to the channels that match."""

    async def main() -> int:
        async with bot_for_cli() as bot:
            found = await bot.store.feeds.find(feed)
            if found is None:
                raise fail(f"no feed {feed!r}; `koreapage-bot feeds list` shows them")
            briefs = await bot.store.briefs.latest(latest, feed_id=found.id)
            return await bot.store.outbox.enqueue(list(reversed(briefs)), recipients)

    queued = run_async(main())
    out.print(f"Queued {queued} deliveries; a running bot sends them (or `run --once`).")
