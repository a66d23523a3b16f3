"""The command line: `koreapage-bot run`, `poll`, `analyze`, and the feeds / briefs /
subscriptions / deliveries groups. Every command that prints data takes `--json`."""

from __future__ import annotations

# Importing the command modules registers their commands on the Typer apps.
from koreapage_bot.cli import briefs, discord_cmds, feeds, opml, run, subscriptions
from koreapage_bot.cli.common import app

__all__ = ["app", "briefs", "discord_cmds", "feeds", "main", "opml", "run", "subscriptions"]


def main() -> None:
    app()
