"""One limit for how many briefs an answer lists: the grammar, Discord's option, the CLI."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from koreapage_bot.commands import grammar
from koreapage_bot.commands.grammar import BRIEFS_MAX, CLI_MAX, LATEST_MAX, LATEST_MIN


def test_the_grammar_takes_exactly_the_shared_range() -> None:
    assert grammar.parse("briefs", f"latest {LATEST_MAX}") == grammar.Latest(LATEST_MAX)
    with pytest.raises(grammar.GrammarError, match=f"between {LATEST_MIN} and {LATEST_MAX}"):
        grammar.parse("briefs", f"latest {LATEST_MAX + 1}")


def test_discords_option_range_is_the_shared_one() -> None:
    from koreapage_bot.adapters.discord.commands import BriefsGroup

    count = next(p for p in BriefsGroup.latest.parameters if p.name == "count")
    assert (count.min_value, count.max_value) == (LATEST_MIN, LATEST_MAX)


@pytest.mark.parametrize("command", ["latest", "search"])
def test_the_cli_lists_up_to_its_own_limit(command: str) -> None:
    from koreapage_bot.cli import app
    from koreapage_bot.cli.briefs import briefs_latest, briefs_search

    args = ["briefs", command, *(["alliance"] if command == "search" else [])]
    # Refused by the option's range before anything is opened.
    result = CliRunner().invoke(app, [*args, "--limit", str(CLI_MAX + 1)])
    assert result.exit_code == 2
    # Ten by default, like chat.
    function = briefs_latest if command == "latest" else briefs_search
    assert function.__defaults__ is not None and BRIEFS_MAX in function.__defaults__
