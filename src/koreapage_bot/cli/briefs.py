"""`briefs latest|search|show`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

import typer
from rich.text import Text

from koreapage_bot.adapters.console import brief_panel
from koreapage_bot.cli.common import (
    JsonOpt,
    RowId,
    briefs_app,
    dump,
    fail,
    out,
    print_stories,
    queries_for_cli,
    run_async,
    show_reply,
)
from koreapage_bot.commands.grammar import BRIEFS_MAX, CLI_MAX, LATEST_MIN
from koreapage_bot.commands.service import CommandService, Refused, StoryGroup
from koreapage_bot.ports import BriefView

# -- briefs ----------------------------------------------------------------------------------


# Ten by default, like chat; a terminal may ask for up to CLI_MAX (chat stays at ten). The
# command service checks the limit again (and the issue).
Limit = Annotated[
    int, typer.Option("--limit", "-n", min=LATEST_MIN, max=CLI_MAX, help=f"1 to {CLI_MAX}.")
]


async def _stories(
    query: Callable[[CommandService], Awaitable[list[StoryGroup]]],
) -> list[StoryGroup]:
    async with queries_for_cli() as bot:
        try:
            return await query(bot.commands)
        except Refused as refused:
            show_reply(refused.reply)
            raise


@briefs_app.command("latest")
def briefs_latest(
    limit: Limit = BRIEFS_MAX,
    issue: Annotated[str | None, typer.Option("--issue", help="A key-issue id.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The latest stories (one line each, with every outlet that reported it), optionally on
    one key issue."""
    found = run_async(
        _stories(lambda commands: commands.latest_stories(limit, issue, most=CLI_MAX))
    )
    print_stories(found, as_json, "No briefs yet.")


@briefs_app.command("search")
def briefs_search(
    query: str,
    limit: Limit = BRIEFS_MAX,
    as_json: JsonOpt = False,
) -> None:
    """Full-text search over briefs, best match first, one line per story."""
    found = run_async(
        _stories(lambda commands: commands.matching_stories(query, limit, most=CLI_MAX))
    )
    print_stories(found, as_json, f"No briefs match {query!r}.")


@briefs_app.command("show")
def briefs_show(brief_id: RowId, as_json: JsonOpt = False) -> None:
    """One brief in full, and every report of its story."""

    async def main() -> StoryGroup | None:
        async with queries_for_cli() as bot:
            brief = await bot.store.briefs.get(brief_id)
            return await bot.commands.story_of(brief) if brief is not None else None

    group = run_async(main())
    if group is None:
        raise fail(f"no brief {brief_id}")
    if as_json:
        dump({**group.brief.to_json(), "reports": [b.to_json() for b in group.reports]})
        return
    out.print(brief_panel(BriefView.of(group.brief, group.reports)))
    if len(group.reports) > 1:
        out.print(f"Reports of story {group.brief.story_id}:")
        for b in group.reports:
            when = b.published.date().isoformat() if b.published else "undated"
            out.print(Text(f"  brief {b.id} · {b.source} · {when} · {b.title}"))
