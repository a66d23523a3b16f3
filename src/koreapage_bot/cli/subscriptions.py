"""`subscriptions add|list|remove|resume` and `deliveries list|retry`."""

from __future__ import annotations

import re
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from koreapage_bot.cli.common import (
    OPERATOR,
    JsonOpt,
    RowId,
    bot_for_cli,
    deliveries_app,
    dump,
    dump_rows,
    fail,
    out,
    run_async,
    show_reply,
    subs_app,
)
from koreapage_bot.commands.service import Refused
from koreapage_bot.domain import DeliveryState
from koreapage_bot.ports import SubscriptionSpec

# -- subscriptions ---------------------------------------------------------------------------


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").replace(" ", ",").split(",") if v.strip())


@subs_app.command("add")
def subscriptions_add(
    target: Annotated[str, typer.Argument(metavar="PLATFORM:CHANNEL", help="e.g. discord:1234")],
    issues: Annotated[str | None, typer.Option("--issues", help="Issue ids, any of: a,b")] = None,
    feeds: Annotated[str | None, typer.Option("--feeds", help="Feed ids or names: a,b")] = None,
    min_relevance: Annotated[float, typer.Option("--min-relevance", min=0, max=1)] = 0.0,
    workspace: Annotated[str | None, typer.Option("--workspace", help="Guild / team id.")] = None,
    digest: Annotated[str | None, typer.Option("--digest", help="Daily digest at HH:MM.")] = None,
    tz: Annotated[str, typer.Option("--tz", help="Time zone of --digest.")] = "UTC",
    no_posts: Annotated[bool, typer.Option("--no-posts", help="Digest only.")] = False,
    thread: Annotated[
        bool,
        typer.Option(
            "--thread", help="A thread per brief (Discord); later reports of a story reply in it."
        ),
    ] = False,
    every_report: Annotated[
        bool,
        typer.Option("--every-report", help="A post per report, even of a story already posted."),
    ] = False,
    webhook: Annotated[
        bool,
        typer.Option(
            "--webhook", help="Discord: post through a channel webhook (needs DISCORD_WEBHOOKS=1)."
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Make a channel follow briefs (subscribing again updates its filters and resumes it)."""
    platform, _, channel = target.partition(":")
    if platform not in ("discord", "slack", "console") or not channel:
        raise fail("expected PLATFORM:CHANNEL with platform discord, slack or console")
    # Chat stores channel ids; a name here would make a second subscription for one channel.
    if platform == "discord" and not (channel.isascii() and channel.isdigit()):
        raise fail("a Discord channel is its id (digits): Developer Mode → Copy Channel ID")
    if platform == "slack" and not re.fullmatch(r"[CGD][A-Z0-9]{6,}", channel):
        raise fail("a Slack channel is its id (C…/G…), shown under the channel's name → About")

    async def main() -> Any:
        # The command service decides what is valid (issues, feeds, digest time and zone).
        async with bot_for_cli() as bot:
            try:
                return await bot.commands.set_subscription(
                    OPERATOR,
                    SubscriptionSpec(
                        platform=platform,
                        channel=channel,
                        workspace=workspace,
                        issues=_split(issues),
                        feeds=await bot.commands.feed_ids(_split(feeds)),
                        min_relevance=min_relevance,
                        created_by="cli",
                        per_brief=not no_posts,
                        digest_time=digest,
                        digest_tz=tz,
                        options={
                            k: True
                            for k, on in (
                                ("thread", thread),
                                ("webhook", webhook),
                                ("every_report", every_report),
                            )
                            if on
                        },
                    ),
                )
            except Refused as refused:
                show_reply(refused.reply)
                raise

    sub, created = run_async(main())
    if as_json:
        dump(_sub_json(sub))
    else:
        out.print(f"{'Created' if created else 'Updated'} subscription {sub.id} for {target}.")


def _sub_json(s: Any) -> dict[str, Any]:
    return {
        "id": s.id,
        "platform": s.platform,
        "workspace": s.workspace,
        "channel": s.channel,
        "issues": list(s.issues),
        "feeds": list(s.feeds),
        "min_relevance": s.min_relevance,
        "state": s.state.value,
        "paused_reason": s.paused_reason,
        "per_brief": s.per_brief,
        "digest_time": s.digest_time,
        "digest_tz": s.digest_tz,
        "created_by": s.created_by,
        "created_at": s.created_at.isoformat() if s.created_at else None,
    }


@subs_app.command("list")
def subscriptions_list(as_json: JsonOpt = False) -> None:
    """Every subscription and its state (paused ones say why)."""

    async def main() -> list[Any]:
        async with bot_for_cli() as bot:
            return await bot.store.subscriptions.all()

    subs = run_async(main())
    if as_json:
        dump_rows(_sub_json(s) for s in subs)
        return
    table = Table("id", "platform:channel", "issues", "feeds", "state", "digest")
    for s in subs:
        state = s.state.value + (f": {s.paused_reason}" if s.paused_reason else "")
        digest = f"{s.digest_time} {s.digest_tz}" if s.digest_time else "-"
        table.add_row(
            str(s.id),
            f"{s.platform}:{s.channel}",
            ", ".join(s.issues) or "all",
            ", ".join(map(str, s.feeds)) or "all",
            Text(state),
            digest,
        )
    out.print(table)


@subs_app.command("remove")
def subscriptions_remove(subscription_id: RowId) -> None:
    """Delete a subscription (its undelivered briefs are dropped with it)."""

    async def main() -> bool:
        async with bot_for_cli() as bot:
            return await bot.store.subscriptions.remove(subscription_id)

    if not run_async(main()):
        raise fail(f"no subscription {subscription_id}")
    out.print(f"Removed subscription {subscription_id}.")


@subs_app.command("resume")
def subscriptions_resume(subscription_id: RowId) -> None:
    """Resume a paused subscription (after fixing the channel's permissions)."""

    async def main() -> bool:
        async with bot_for_cli() as bot:
            return await bot.store.subscriptions.resume(subscription_id)

    if not run_async(main()):
        raise fail(f"no subscription {subscription_id}")
    out.print(f"Resumed subscription {subscription_id}; held deliveries go out on the next sweep.")


# -- deliveries ------------------------------------------------------------------------------


@deliveries_app.command("list")
def deliveries_list(
    state: Annotated[str | None, typer.Option("--state", help="pending|sending|sent|dead")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=1000)] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Outbox rows, newest first."""
    try:
        wanted = DeliveryState(state) if state else None
    except ValueError:
        raise fail(
            f"unknown state {state!r}; one of {', '.join(s.value for s in DeliveryState)}"
        ) from None

    async def main() -> list[Any]:
        async with bot_for_cli() as bot:
            return await bot.store.outbox.all(wanted, limit)

    rows = run_async(main())
    if as_json:
        dump_rows(
            {
                "id": d.id,
                "brief_id": d.brief_id,
                "subscription_id": d.subscription_id,
                "kind": d.kind,
                "state": d.state.value,
                "attempts": d.attempts,
                "next_attempt_at": d.next_attempt_at.isoformat(),
                "message_id": d.message_id,
                "last_error": d.last_error,
            }
            for d in rows
        )
        return
    table = Table("id", "brief", "subscription", "state", "attempts", "last error")
    for d in rows:
        table.add_row(
            str(d.id),
            str(d.brief_id or d.kind),
            str(d.subscription_id),
            d.state.value,
            str(d.attempts),
            Text(d.last_error or ""),
        )
    out.print(table)


@deliveries_app.command("retry")
def deliveries_retry(delivery_id: RowId) -> None:
    """Send a dead delivery again."""

    async def main() -> bool:
        async with bot_for_cli() as bot:
            return await bot.store.outbox.retry(delivery_id)

    if not run_async(main()):
        raise fail(f"delivery {delivery_id} is not dead (or does not exist)")
    out.print(f"Delivery {delivery_id} is queued again.")
