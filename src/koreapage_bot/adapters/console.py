"""The console adapter: the embedded default. New briefs are printed to the terminal, and the
CLI renders command replies with the same code."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from koreapage_bot.commands.replies import Reply, ReplyKind
from koreapage_bot.delivery.view import format_date, issue_labels, language_label, truncate
from koreapage_bot.links import web_link
from koreapage_bot.ports import BriefView, DeliveryTarget, PublishOutcome, Sent, SourceRef

CONSOLE_PLATFORM = "console"


def brief_panel(view: BriefView) -> Panel:
    """One brief, readable in a terminal: what it says, what it touches, who and where."""
    body = Text()
    body.append(truncate(view.summary, 900) or "(no summary)")
    body.append("\n\n")
    if view.key_issues:
        body.append("Key issues: ", style="bold")
        body.append(issue_labels(view.key_issues) + "\n")
    byline = " · ".join(
        part
        for part in (
            view.author or "author unknown",
            view.source,
            format_date(view.published) if view.published else "undated",
        )
        if part
    )
    body.append(byline, style="dim")
    link = web_link(view.url)
    if link:
        body.append("\n" + link, style="cyan")
    if view.also:
        body.append("\nAlso reported by: ", style="bold")
        body.append(", ".join(_source_line(ref) for ref in view.also))
    subtitle = f"brief {view.brief_id} · relevance {view.relevance:.2f}"
    language = language_label(view.language)  # "Korean (한국어)"; nothing for English
    if language:
        subtitle += f" · {language}"
    # Text(...) never interprets markup, so feed text cannot restyle the terminal.
    return Panel(
        body,
        title=Text(truncate(view.title, 120), style="bold"),
        subtitle=Text(subtitle, style="dim"),
        title_align="left",
        subtitle_align="right",
    )


def _source_line(ref: SourceRef) -> str:
    link = web_link(ref.url)
    return f"{ref.source} (brief {ref.brief_id}{', ' + link if link else ''})"


class ConsolePublisher:
    """Prints briefs. Console output cannot fail for the channel, so it always answers Sent."""

    platform = CONSOLE_PLATFORM

    def __init__(self, console: Console | None = None) -> None:
        self._console = console or Console()
        self._lock = asyncio.Lock()  # keep panels from interleaving

    async def publish(self, target: DeliveryTarget, view: BriefView) -> PublishOutcome:
        async with self._lock:
            self._console.print(brief_panel(view))
        return Sent(f"console-{target.delivery_id}")

    async def publish_digest(
        self, target: DeliveryTarget, views: Sequence[BriefView], title: str
    ) -> PublishOutcome:
        async with self._lock:
            self._console.rule(Text(title))
            for view in views:
                self._console.print(brief_panel(view))
        return Sent(f"console-{target.delivery_id}")


def render_reply(console: Console, reply: Reply) -> None:
    """Print a command reply the way a chat adapter would show it."""
    style = "red" if reply.kind is ReplyKind.ERROR else None
    if reply.text:
        console.print(Text(reply.text, style=style or ""))
    for view in reply.briefs:
        console.print(brief_panel(view))
    if reply.subscriptions:
        table = Table("id", "channel", "issues", "state", "digest")
        for s in reply.subscriptions:
            state = s.state + (f" ({s.paused_reason})" if s.paused_reason else "")
            digest = f"{s.digest_time} {s.digest_tz}" if s.digest_time else "-"
            table.add_row(str(s.id), s.channel, ", ".join(s.issues) or "all", state, digest)
        console.print(table)
    if reply.feeds:
        table = Table("id", "name", "state", "next poll", "last error")
        for f in reply.feeds:
            table.add_row(
                str(f.id),
                Text(f.name),
                f.state,
                f.next_poll_at.strftime("%Y-%m-%d %H:%M UTC") if f.next_poll_at else "-",
                Text(f.last_error or ""),
            )
        console.print(table)
    for line in reply.details:
        console.print(Text(line))
