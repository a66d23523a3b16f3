"""The command line: `koreapage-bot run`, `poll`, `analyze`, and the feeds / briefs /
subscriptions / deliveries groups. Every command that prints data takes `--json`."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
import os
import re
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, TextIO, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from koreapage_bot.adapters.console import CONSOLE_PLATFORM, brief_panel, render_reply
from koreapage_bot.bootstrap import Bot, install_signal_handlers, open_bot, run_bot, run_once
from koreapage_bot.commands.replies import Caller, Reply
from koreapage_bot.commands.service import MAX_ROW_ID, find_feed
from koreapage_bot.config import ConfigError, Settings, load_settings, validate_timezone
from koreapage_bot.domain import Brief, DeliveryState, Feed, FeedState
from koreapage_bot.ports import BriefView
from koreapage_bot.store.subscriptions import SubscriptionSpec

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
async def bot_for_cli(chat: bool = False) -> AsyncIterator[Bot]:
    try:
        async with open_bot(settings(), console=out, chat=chat) as bot:
            yield bot
    except ConfigError as exc:
        raise fail(f"configuration error: {exc}", 2) from None


def setup_logging(verbose: bool = False) -> None:
    level = os.environ.get("KOREAPAGE_LOG_LEVEL", "DEBUG" if verbose else "INFO").upper()
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("apscheduler", "aiosqlite", "discord.gateway", "discord.client", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))


def dump(data: Any) -> None:
    out.print_json(json.dumps(data, ensure_ascii=False, default=str))


def print_briefs(briefs: list[Brief], as_json: bool, empty: str) -> None:
    if as_json:
        dump([b.to_json() for b in briefs])
        return
    if not briefs:
        out.print(empty)
    for brief in briefs:
        out.print(brief_panel(BriefView.of(brief)))


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


# -- run -------------------------------------------------------------------------------------


@app.command()
def run(
    once: Annotated[
        bool, typer.Option("--once", help="Poll due feeds once, deliver, exit.")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Run the bot: poll feeds, write briefs, deliver them (console, Discord, Slack)."""
    setup_logging(verbose)
    config = settings()
    log = logging.getLogger("koreapage_bot")
    log.info(
        "starting: %d feeds from %s, database %s",
        len(config.feeds),
        config.config_path or "the packaged default config",
        config.database_url.split("://")[0],
    )

    async def main() -> None:
        async with open_bot(config, console=out) as bot:
            if once:
                await run_once(bot)
                return
            stop = asyncio.Event()
            install_signal_handlers(stop)
            await run_bot(bot, stop)
        log.info("stopped cleanly")

    try:
        asyncio.run(main())
    except ConfigError as exc:
        raise fail(f"configuration error: {exc}", 2) from None
    except KeyboardInterrupt:  # a second Ctrl-C during shutdown
        pass


# -- poll ------------------------------------------------------------------------------------


def _feed_url(target: str) -> str:
    if target.startswith(("http://", "https://", "file://")):
        return target
    path = Path(target).expanduser()
    if not path.is_file():
        raise fail(f"{target}: not an http(s) URL and no such file")
    return path.resolve().as_uri()


@app.command()
def poll(
    targets: Annotated[list[str], typer.Argument(metavar="FEED_URL_OR_PATH...")],
    as_json: JsonOpt = False,
) -> None:
    """Add each feed if new, poll it once now, and print the briefs it created. Exits 1 when
    a feed could not be added or polled (the others are still polled and printed)."""
    failed: list[str] = []

    async def main() -> list[Brief]:
        created: list[Brief] = []
        async with bot_for_cli() as bot:
            for target in targets:
                url = _feed_url(target)
                feed = await bot.store.feeds.by_url(url)
                if feed is None and url.startswith("file:"):
                    feed, _ = await bot.store.feeds.add(url, Path(url).name)
                elif feed is None:
                    # A new URL is added as `feeds add` does: fetched once, and a page's
                    # RSS/Atom link discovered; a URL with no feed is a clear error.
                    reply = await bot.commands.feeds_add(OPERATOR, url)
                    if not reply.ok or not reply.feeds:
                        err.print(Text(f"{url}: {reply.text}", style="red"))
                        failed.append(url)
                        continue
                    feed = await bot.store.feeds.get(reply.feeds[0].id)
                    assert feed is not None
                with progress_bar(not as_json) as progress:
                    report = await bot.poller.poll(feed, progress)
                if report.error:
                    err.print(Text(f"{url}: {report.error}", style="yellow"))
                    failed.append(url)
                created.extend(report.briefs)
            await bot.dispatcher.drain()
        return created

    print_briefs(run_async(main()), as_json, "No new briefs.")
    if failed:
        raise typer.Exit(1)


# -- analyze ---------------------------------------------------------------------------------


@app.command()
def analyze(
    source: Annotated[
        str, typer.Argument(metavar="[FILE|-]", help="JSON lines; - for stdin.")
    ] = "-",
) -> None:
    """Analyse JSON-lines articles offline: relevance, key issues, author, summary."""
    from koreapage_bot.analysis.jsonl import analyze_jsonl
    from koreapage_bot.analysis.taxonomy import load_taxonomy
    from koreapage_bot.bootstrap import build_analyzer

    config = settings()
    analyzer = build_analyzer(config, load_taxonomy(config.analysis.issues_file))

    if source != "-" and not Path(source).is_file():
        raise fail(f"{source}: no such file")

    async def main(stream: TextIO) -> None:
        # Lines are read as they come, so `tail -f archive.jsonl | … analyze -` works.
        async with analyzer:
            async for line in analyze_jsonl(stream, analyzer):
                sys.stdout.write(line + "\n")
                sys.stdout.flush()

    if source == "-":
        run_async(main(sys.stdin))
        return
    with open(source, encoding="utf-8") as stream:
        run_async(main(stream))


# -- feeds -----------------------------------------------------------------------------------


@feeds_app.command("add")
def feeds_add(
    url: str,
    name: Annotated[str | None, typer.Option("--name", help="A display name.")] = None,
) -> None:
    """Follow a feed (a page URL works too: its feed link is discovered). Feeds you add here
    are trusted: unlike feeds added from chat, they may live on a private network."""

    async def main() -> Reply:
        async with bot_for_cli() as bot:
            return await bot.commands.feeds_add(OPERATOR, url, name=name)

    show_reply(run_async(main()))


@feeds_app.command("list")
def feeds_list(as_json: JsonOpt = False) -> None:
    """The feeds, with state, last error and next poll time."""

    async def main() -> list[Feed]:
        async with bot_for_cli() as bot:
            return await bot.store.feeds.all()

    feeds = run_async(main())
    if as_json:
        dump([feed_json(f) for f in feeds])
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
        async with bot_for_cli() as bot:
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
            found = await find_feed(bot.store, feed)
            if found is None:
                raise fail(f"no feed {feed!r}; `koreapage-bot feeds list` shows them")
            briefs = await bot.store.briefs.latest(latest, feed_id=found.id)
            return await bot.store.outbox.backfill(list(reversed(briefs)))

    queued = run_async(main())
    out.print(f"Queued {queued} deliveries; a running bot sends them (or `run --once`).")


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
    thread: Annotated[bool, typer.Option("--thread", help="Discord: a thread per brief.")] = False,
    webhook: Annotated[
        bool,
        typer.Option(
            "--webhook", help="Discord: post through a channel webhook (needs DISCORD_WEBHOOKS=1)."
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Make a channel follow briefs (subscribing again updates its filters and resumes it)."""
    from koreapage_bot.commands.grammar import GrammarError, parse

    platform, _, channel = target.partition(":")
    if platform not in ("discord", "slack", "console") or not channel:
        raise fail("expected PLATFORM:CHANNEL with platform discord, slack or console")
    # Chat stores channel ids; a name here would make a second subscription for one channel.
    if platform == "discord" and not (channel.isascii() and channel.isdigit()):
        raise fail("a Discord channel is its id (digits): Developer Mode → Copy Channel ID")
    if platform == "slack" and not re.fullmatch(r"[CGD][A-Z0-9]{6,}", channel):
        raise fail("a Slack channel is its id (C…/G…), shown under the channel's name → About")
    if digest:
        try:
            parse("briefs", f"subscribe --digest {digest} {tz}")
        except GrammarError as exc:
            raise fail(f"--digest/--tz: {exc.message}") from None
    try:
        # An unknown zone would only fail later, in the digest job (for every subscription).
        validate_timezone(tz)
    except ConfigError as exc:
        raise fail(f"--tz: {exc}") from None

    async def main() -> Any:
        async with bot_for_cli() as bot:
            valid = {i.id for i in bot.taxonomy.issues}
            wanted = _split(issues)
            unknown = [i for i in wanted if i not in valid]
            if unknown:
                raise fail(f"unknown issue ids {unknown}; valid: {', '.join(sorted(valid))}")
            feed_ids: list[int] = []
            for ref in _split(feeds):
                found = await find_feed(bot.store, ref)
                if found is None:
                    raise fail(f"no feed {ref!r}")
                feed_ids.append(found.id)
            sub, created = await bot.store.subscriptions.upsert(
                SubscriptionSpec(
                    platform=platform,
                    channel=channel,
                    workspace=workspace,
                    issues=wanted,
                    feeds=tuple(feed_ids),
                    min_relevance=min_relevance,
                    created_by="cli",
                    per_brief=not no_posts,
                    digest_time=digest,
                    digest_tz=tz,
                    options={k: True for k, on in (("thread", thread), ("webhook", webhook)) if on},
                )
            )
            return sub, created

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
        dump([_sub_json(s) for s in subs])
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
        dump(
            [
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
            ]
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


# -- discord ---------------------------------------------------------------------------------


def application_id_from_token(token: str) -> str | None:
    """A bot token's first part is the bot user's id in base64, which is the application id."""
    head = token.split(".", 1)[0]
    try:
        value = base64.b64decode(head + "=" * (-len(head) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return value if value.isdigit() else None


@discord_app.command("invite-url")
def discord_invite_url(
    application_id: Annotated[
        str | None, typer.Option("--application-id", envvar="DISCORD_APPLICATION_ID")
    ] = None,
) -> None:
    """Print the OAuth2 URL that adds the bot to a server with exactly the permissions it uses."""
    from koreapage_bot.adapters.discord.invite import invite_url
    from koreapage_bot.adapters.discord.settings import DiscordSettings

    discord_settings = DiscordSettings.from_env(os.environ)
    app_id = application_id or application_id_from_token(discord_settings.token)
    if not app_id:
        raise fail("set DISCORD_APPLICATION_ID (or DISCORD_TOKEN) or pass --application-id")
    out.print(
        invite_url(
            app_id,
            threads=discord_settings.allow_threads,
            webhooks=discord_settings.allow_webhooks,
        ),
        soft_wrap=True,
    )


def main() -> None:
    app()
