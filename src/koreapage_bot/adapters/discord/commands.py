"""Slash commands: /briefs and /feeds. Parse options, call the CommandApi, render its Reply.

No logic lives here beyond Discord's: the answer-within-3-seconds dance, who is an admin on
this server, and autocomplete.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import discord
from discord import app_commands

from koreapage_bot.adapters.discord.render import no_mentions, render_reply, to_embeds
from koreapage_bot.commands.api import CommandApi
from koreapage_bot.commands.grammar import LATEST_DEFAULT, LATEST_MAX, LATEST_MIN
from koreapage_bot.commands.replies import Caller, Reply, ReplyKind

log = logging.getLogger(__name__)

Interaction = discord.Interaction[discord.Client]
Work = Callable[[Caller], Awaitable[Reply]]
CHOICES_MAX = 25  # Discord shows at most 25 autocomplete choices
CHOICE_MAX = 100  # choice name and value length

FAILED = Reply(
    ReplyKind.ERROR,
    "Something went wrong on our side. Try again in a minute; if it keeps failing, tell the "
    "bot's operator.",
)


def is_server_admin(interaction: Interaction) -> bool:
    """Manage Server (or Administrator), from the member permissions Discord sent us.

    Checked here as well as by the command's default permission: server admins can change who
    sees a command in Integrations settings, and subcommands cannot carry their own default.
    """
    if interaction.guild_id is None:
        return False
    perms = interaction.permissions
    return perms.administrator or perms.manage_guild


def caller_of(interaction: Interaction) -> Caller:
    return Caller(
        platform="discord",
        workspace=str(interaction.guild_id) if interaction.guild_id else None,
        channel=str(interaction.channel_id),
        user_id=str(interaction.user.id),
        is_admin=is_server_admin(interaction),
        user_name=interaction.user.name,
    )


class Responder:
    """Answers every interaction within Discord's 3 s window, deferring when the work is slow."""

    def __init__(self, api: CommandApi, defer_after: float) -> None:
        self.api = api
        self._defer_after = max(0.0, min(defer_after, 2.5))

    async def answer(self, interaction: Interaction, work: Work, *, public: bool) -> None:
        task = asyncio.ensure_future(self._run(work, caller_of(interaction)))
        # Discord's 3 s run from when the interaction was created, not from when this handler
        # got it: time spent on the gateway and in the event loop counts against the budget.
        waited = (discord.utils.utcnow() - interaction.created_at).total_seconds()
        budget = min(self._defer_after, max(0.0, self._defer_after - max(waited, 0.0)))
        done, _ = await asyncio.wait({task}, timeout=budget)
        if task in done:
            await self._send(interaction, task.result())
            return
        try:
            # Errors and admin chatter defer privately; shared results defer in the channel.
            await interaction.response.defer(ephemeral=not public, thinking=True)
        except discord.HTTPException as exc:  # the interaction expired: nothing left to answer
            log.warning("could not defer interaction %s: %r", interaction.id, exc)
            task.cancel()
            return
        reply = await task
        rendered = render_reply(reply)
        embeds = to_embeds(rendered.embeds)
        if public and not reply.public:
            # Deferred in channel, but the answer is an error: keep it private.
            await interaction.delete_original_response()
            await interaction.followup.send(
                **_content(rendered.content),
                embeds=embeds,
                ephemeral=True,
                allowed_mentions=no_mentions(),
            )
            return
        await interaction.edit_original_response(
            content=rendered.content, embeds=embeds, allowed_mentions=no_mentions()
        )

    async def _run(self, work: Work, caller: Caller) -> Reply:
        try:
            return await work(caller)
        except Exception:
            log.exception("command failed for %s in %s", caller.user_id, caller.channel)
            return FAILED

    async def _send(self, interaction: Interaction, reply: Reply) -> None:
        rendered = render_reply(reply)
        await interaction.response.send_message(
            **_content(rendered.content),
            embeds=to_embeds(rendered.embeds),
            ephemeral=not reply.public,
            allowed_mentions=no_mentions(),
        )

    def issue_choices(self, current: str, *, multi: bool = False) -> list[app_commands.Choice[str]]:
        """Taxonomy issues matching what is typed; `multi` completes the last of a list."""
        head, _, last = current.rpartition(",") if multi else ("", "", current)
        prefix = f"{head.strip()}," if head.strip() else ""
        out: list[app_commands.Choice[str]] = []
        for tag in self.api.issue_choices(last.strip()):
            value = prefix + tag.id
            if len(value) > CHOICE_MAX:
                continue
            out.append(
                app_commands.Choice(name=f"{tag.label} ({tag.id})"[:CHOICE_MAX], value=value)
            )
            if len(out) == CHOICES_MAX:
                break
        return out


def _usage(text: str) -> Work:
    async def work(caller: Caller) -> Reply:
        return Reply(ReplyKind.USAGE, text)

    return work


def _content(content: str | None) -> dict[str, Any]:
    return {"content": content} if content else {}


def split_issues(raw: str | None) -> tuple[str, ...]:
    if not raw:
        return ()
    return tuple(p for p in (x.strip() for x in raw.replace(" ", ",").split(",")) if p)


class BriefsGroup(app_commands.Group):
    def __init__(self, r: Responder) -> None:
        super().__init__(
            name="briefs",
            description="Briefs on the US–South Korea alliance",
            guild_only=True,
        )
        self.r = r

    @app_commands.command(name="latest", description="The most recent briefs")
    @app_commands.describe(
        count=f"How many ({LATEST_MIN}-{LATEST_MAX})", issue="Only briefs on this key issue"
    )
    async def latest(
        self,
        interaction: Interaction,
        count: app_commands.Range[int, LATEST_MIN, LATEST_MAX] = LATEST_DEFAULT,
        issue: str | None = None,
    ) -> None:
        # Discord checks the range it was told; a client that does not is answered the same.
        if not LATEST_MIN <= count <= LATEST_MAX:
            usage = _usage(f"Count must be between {LATEST_MIN} and {LATEST_MAX}.")
            await self.r.answer(interaction, usage, public=False)
            return
        await self.r.answer(interaction, lambda c: self.r.api.latest(c, count, issue), public=True)

    @app_commands.command(name="search", description="Search past briefs")
    @app_commands.describe(query='Words to find, e.g. cost sharing or "extended deterrence"')
    async def search(
        self, interaction: Interaction, query: app_commands.Range[str, 1, 200]
    ) -> None:
        await self.r.answer(interaction, lambda c: self.r.api.search(c, query), public=True)

    @app_commands.command(name="issue", description="Recent briefs on one key issue")
    @app_commands.describe(issue="The key issue")
    async def issue(self, interaction: Interaction, issue: str) -> None:
        await self.r.answer(interaction, lambda c: self.r.api.issue(c, issue), public=True)

    @app_commands.command(name="show", description="One brief in full")
    @app_commands.describe(id="The brief id (in each brief's footer)")
    async def show(self, interaction: Interaction, id: app_commands.Range[str, 1, 40]) -> None:
        await self.r.answer(interaction, lambda c: self.r.api.show(c, id), public=True)

    @app_commands.command(name="subscribe", description="Post new briefs in this channel")
    @app_commands.describe(
        issues="Only these key issues, comma-separated (default: all)",
        every_report="Post every report of a story (default: update the story's message)",
    )
    async def subscribe(
        self,
        interaction: Interaction,
        issues: str | None = None,
        every_report: bool | None = None,
    ) -> None:
        wanted = split_issues(issues)
        await self.r.answer(
            interaction,
            lambda c: self.r.api.subscribe(c, wanted, every_report=every_report),
            public=False,
        )

    @app_commands.command(name="unsubscribe", description="Stop posting briefs in this channel")
    async def unsubscribe(self, interaction: Interaction) -> None:
        await self.r.answer(interaction, self.r.api.unsubscribe, public=False)

    @app_commands.command(name="subscriptions", description="What this channel receives")
    async def subscriptions(self, interaction: Interaction) -> None:
        await self.r.answer(interaction, self.r.api.subscriptions, public=False)

    @app_commands.command(name="digest", description="A digest of today's briefs")
    async def digest(self, interaction: Interaction) -> None:
        await self.r.answer(interaction, self.r.api.digest, public=True)

    @latest.autocomplete("issue")
    @issue.autocomplete("issue")
    async def _issue_autocomplete(
        self, interaction: Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return self.r.issue_choices(current)

    @subscribe.autocomplete("issues")
    async def _issues_autocomplete(
        self, interaction: Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return self.r.issue_choices(current, multi=True)


class FeedsGroup(app_commands.Group):
    def __init__(self, r: Responder) -> None:
        super().__init__(
            name="feeds",
            description="The feeds this bot reads",
            guild_only=True,
            # Hidden from members by default; server admins may grant it to other roles.
            default_permissions=discord.Permissions(manage_guild=True),
        )
        self.r = r

    @app_commands.command(name="add", description="Start reading a feed")
    @app_commands.describe(url="The feed's URL (RSS or Atom)")
    async def add(self, interaction: Interaction, url: app_commands.Range[str, 8, 2000]) -> None:
        await self.r.answer(interaction, lambda c: self.r.api.feeds_add(c, url), public=False)

    @app_commands.command(name="remove", description="Stop reading a feed")
    @app_commands.describe(feed="The feed id or URL (see /feeds list)")
    async def remove(
        self, interaction: Interaction, feed: app_commands.Range[str, 1, 2000]
    ) -> None:
        await self.r.answer(interaction, lambda c: self.r.api.feeds_remove(c, feed), public=False)

    @app_commands.command(name="list", description="The feeds and their state")
    async def list_(self, interaction: Interaction) -> None:
        await self.r.answer(interaction, self.r.api.feeds_list, public=False)


def install(
    tree: app_commands.CommandTree[discord.Client], api: CommandApi, defer_after: float
) -> None:
    """Add both groups to the tree, and a handler so no interaction is left unanswered."""
    responder = Responder(api, defer_after)
    tree.add_command(BriefsGroup(responder))
    tree.add_command(FeedsGroup(responder))

    async def on_error(interaction: Interaction, error: app_commands.AppCommandError) -> None:
        log.warning("app command error: %r", error)
        if interaction.type is discord.InteractionType.autocomplete:
            return
        text = FAILED.text
        if isinstance(error, app_commands.TransformerError | app_commands.CommandSignatureMismatch):
            text = "That input was not understood. Check the options and try again."
        try:
            if interaction.response.is_done():
                await interaction.followup.send(
                    text, ephemeral=True, allowed_mentions=no_mentions()
                )
            else:
                await interaction.response.send_message(
                    text, ephemeral=True, allowed_mentions=no_mentions()
                )
        except discord.HTTPException:
            log.warning("could not report the error to the user")

    tree.on_error = on_error  # type: ignore[method-assign]
