"""`briefs latest|search|show`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

import typer

from koreapage_bot.adapters.console import brief_panel
from koreapage_bot.cli.common import (
    JsonOpt,
    RowId,
    bot_for_cli,
    briefs_app,
    dump,
    fail,
    out,
    print_briefs,
    run_async,
    show_reply,
)
from koreapage_bot.commands.grammar import BRIEFS_MAX, LATEST_DEFAULT, LATEST_MIN
from koreapage_bot.commands.service import CommandService, Refused
from koreapage_bot.domain import Brief
from koreapage_bot.ports import BriefView

# -- briefs ----------------------------------------------------------------------------------


# The same limits as in chat: the command service checks them (and the issue).
Limit = Annotated[int, typer.Option("--limit", "-n", min=LATEST_MIN, max=BRIEFS_MAX)]


async def _briefs(query: Callable[[CommandService], Awaitable[list[Brief]]]) -> list[Brief]:
    async with bot_for_cli() as bot:
        try:
            return await query(bot.commands)
        except Refused as refused:
            show_reply(refused.reply)
            raise


@briefs_app.command("latest")
def briefs_latest(
    limit: Limit = LATEST_DEFAULT,
    issue: Annotated[str | None, typer.Option("--issue", help="A key-issue id.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The latest briefs, optionally on one key issue."""
    found = run_async(_briefs(lambda commands: commands.latest_briefs(limit, issue)))
    print_briefs(found, as_json, "No briefs yet.")


@briefs_app.command("search")
def briefs_search(
    query: str,
    limit: Limit = BRIEFS_MAX,
    as_json: JsonOpt = False,
) -> None:
    """Full-text search over briefs, best match first."""
    found = run_async(_briefs(lambda commands: commands.matching_briefs(query, limit)))
    print_briefs(found, as_json, f"No briefs match {query!r}.")


@briefs_app.command("show")
def briefs_show(brief_id: RowId, as_json: JsonOpt = False) -> None:
    """One brief in full."""

    async def main() -> Brief | None:
        async with bot_for_cli() as bot:
            return await bot.store.briefs.get(brief_id)

    brief = run_async(main())
    if brief is None:
        raise fail(f"no brief {brief_id}")
    if as_json:
        dump(brief.to_json())
    else:
        out.print(brief_panel(BriefView.of(brief)))
