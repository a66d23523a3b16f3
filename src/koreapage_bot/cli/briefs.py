"""`briefs latest|search|show`."""

from __future__ import annotations

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
)
from koreapage_bot.domain import Brief
from koreapage_bot.ports import BriefView

# -- briefs ----------------------------------------------------------------------------------


@briefs_app.command("latest")
def briefs_latest(
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=100)] = 5,
    issue: Annotated[str | None, typer.Option("--issue", help="A key-issue id.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The latest briefs, optionally on one key issue."""

    async def main() -> list[Brief]:
        async with bot_for_cli() as bot:
            if issue and issue not in {i.id for i in bot.taxonomy.issues}:
                valid = ", ".join(i.id for i in bot.taxonomy.issues)
                raise fail(f"unknown issue {issue!r}; valid ids: {valid}")
            return await bot.store.briefs.latest(limit, issue=issue)

    print_briefs(run_async(main()), as_json, "No briefs yet.")


@briefs_app.command("search")
def briefs_search(
    query: str,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=100)] = 10,
    as_json: JsonOpt = False,
) -> None:
    """Full-text search over briefs, best match first."""

    async def main() -> list[Brief]:
        async with bot_for_cli() as bot:
            return await bot.store.briefs.search(query, limit)

    print_briefs(run_async(main()), as_json, f"No briefs match {query!r}.")


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
