"""The composition root: builds the store, services, scheduler and the adapters that the
environment enables, and owns their lifetimes. Nothing else constructs these."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

from koreapage_bot.analysis.taxonomy import Taxonomy, TaxonomyError, load_taxonomy
from koreapage_bot.commands.service import CommandService, FeedProbe
from koreapage_bot.config import ConfigError, Settings, SlackMode
from koreapage_bot.cpu import CpuPool
from koreapage_bot.domain import Feed, IssueTag

# The rest is imported where it is used: a CLI command that only reads the store
# (`open_queries`) never loads the analysis, the fetchers, the scheduler or the chat SDKs.
if TYPE_CHECKING:
    from rich.console import Console

    from koreapage_bot.analysis.pipeline import OfflineAnalyzer
    from koreapage_bot.commands.api import CommandApi
    from koreapage_bot.delivery.digests import Digests
    from koreapage_bot.delivery.dispatcher import Dispatcher
    from koreapage_bot.delivery.notices import Notifier
    from koreapage_bot.delivery.ratelimit import RateBudget
    from koreapage_bot.ingest.fetch import FeedFetcher
    from koreapage_bot.ingest.pipeline import PollPipeline
    from koreapage_bot.ingest.poller import Poller
    from koreapage_bot.metrics import PrometheusMetrics
    from koreapage_bot.ports import Publisher, ReplayGuard
    from koreapage_bot.scheduler import BotScheduler
    from koreapage_bot.store.coordination import LocalCoordination, PgCoordination
    from koreapage_bot.store.store import Store
    from koreapage_bot.stories.window import StoryWindow

log = logging.getLogger(__name__)


class ChatAdapter(Protocol):
    @property
    def platform(self) -> str: ...
    @property
    def publisher(self) -> Publisher: ...

    async def start(self) -> None: ...
    async def close(self) -> None: ...


def _local_coordination() -> LocalCoordination:
    from koreapage_bot.store.coordination import LocalCoordination

    return LocalCoordination()


@dataclass
class Bot:
    settings: Settings
    store: Store
    taxonomy: Taxonomy
    analyzer: OfflineAnalyzer
    poller: Poller
    commands: CommandService
    dispatcher: Dispatcher
    scheduler: BotScheduler
    digests: Digests
    console: Console
    metrics: PrometheusMetrics
    notifier: Notifier
    adapters: list[ChatAdapter] = field(default_factory=list)
    http: Any = None  # koreapage_bot.http.HttpServer when serving
    # The other processes on this database: who leads, wake-ups (store/coordination.py).
    coordination: LocalCoordination | PgCoordination = field(default_factory=_local_coordination)


def fetcher(
    settings: Settings,
    *,
    allow_private: bool,
    private_hosts: tuple[str, ...] = (),
    host_slots: dict[str, asyncio.Semaphore] | None = None,
) -> FeedFetcher:
    """A fetcher with the configured timeouts and limits, at one trust level."""
    from koreapage_bot.ingest.fetch import FeedFetcher

    return FeedFetcher(
        settings.http,
        per_host_limit=settings.poll.per_host_limit,
        concurrency=max(settings.poll.concurrency * 2, 4),
        allow_private=allow_private,
        private_hosts=private_hosts,
        host_slots=host_slots,
    )


def build_analyzer(
    settings: Settings, taxonomy: Taxonomy, cpu: CpuPool | None = None, *, gate: bool = False
) -> OfflineAnalyzer:
    """`gate`: the ingest path's analyzer, which summarises only relevant posts (the
    `analyze` command summarises everything it is given)."""
    from koreapage_bot.analysis.pipeline import OfflineAnalyzer

    return OfflineAnalyzer(settings.analysis, taxonomy, cpu, gate=gate)


def cpu_pool(settings: Settings, taxonomy: Taxonomy) -> CpuPool:
    """Worker processes for parsing and analysis, set up with this config's taxonomy. They
    start only when the work is parallel (cpu.py)."""
    from koreapage_bot.workers import init_analysis

    return CpuPool(
        settings.poll.workers, initializer=init_analysis, initargs=(settings.analysis, taxonomy)
    )


def story_window(store: Store, settings: Settings) -> StoryWindow | None:
    """The story matcher's window, or None when stories are off (every brief its own)."""
    from koreapage_bot.stories.window import StoryWindow

    if not settings.stories.enabled:
        return None
    return StoryWindow(store, window=timedelta(hours=settings.stories.window_hours))


def issue_tags(taxonomy: Taxonomy) -> list[IssueTag]:
    return [IssueTag(i.id, i.label) for i in taxonomy.issues]


@contextlib.asynccontextmanager
async def open_bot(
    settings: Settings, *, console: Console | None = None, chat: bool = True
) -> AsyncIterator[Bot]:
    """Everything wired and ready, nothing running yet. `chat=False` leaves Discord and Slack
    out (CLI commands that only read or change the store)."""
    from rich.console import Console

    from koreapage_bot.adapters.console import CONSOLE_PLATFORM, ConsolePublisher
    from koreapage_bot.commands.feedprobe import make_prober
    from koreapage_bot.commands.metered import MeteredCommands
    from koreapage_bot.dates import utcnow
    from koreapage_bot.delivery.digests import Digests
    from koreapage_bot.delivery.dispatcher import Dispatcher
    from koreapage_bot.delivery.holder import Holder, is_alive
    from koreapage_bot.delivery.notices import Notifier
    from koreapage_bot.delivery.ratelimit import SharedPace, discord_budget, slack_budget
    from koreapage_bot.ingest.pipeline import PollPipeline, poll_lease
    from koreapage_bot.ingest.poller import Poller
    from koreapage_bot.metrics import PrometheusMetrics
    from koreapage_bot.scheduler import BotScheduler
    from koreapage_bot.store.coordination import coordination_for
    from koreapage_bot.store.rates import SharedRates, wake_topic

    console = console or Console()
    try:
        taxonomy = load_taxonomy(settings.analysis.issues_file)
    except TaxonomyError as exc:  # a typo in issues.toml: the message names file and key
        raise ConfigError(str(exc)) from None
    store = await open_store(settings.database_url)
    coordination = coordination_for(store.engine)
    several = store.engine.dialect.name == "postgresql"  # processes may share the database

    def leads() -> bool:
        return coordination.is_leader

    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(store.close)
        cpu = cpu_pool(settings, taxonomy)
        stack.push_async_callback(cpu.aclose)
        analyzer = await stack.enter_async_context(
            build_analyzer(settings, taxonomy, cpu, gate=True)
        )
        # One set of per-host slots for every fetcher: politeness counts connections to a
        # host, whichever trust level or purpose they serve.
        host_slots: dict[str, asyncio.Semaphore] = {}
        trusted = await stack.enter_async_context(
            fetcher(settings, allow_private=True, host_slots=host_slots)
        )
        untrusted = await stack.enter_async_context(
            fetcher(
                settings,
                allow_private=settings.delivery.allow_private_feeds,
                host_slots=host_slots,
            )
        )
        # Article pages (entry links) are never fetched with a feed's trust: only public
        # addresses, plus the intranet hosts the operator named.
        pages = await stack.enter_async_context(
            fetcher(
                settings,
                allow_private=False,
                private_hosts=settings.analysis.article_private_hosts,
                host_slots=host_slots,
            )
        )
        wake: list[Callable[[], None]] = []

        def on_deliveries() -> None:
            for hook in wake:
                hook()

        # One registry per bot: nothing is counted in a global, two bots in a process apart.
        metrics = PrometheusMetrics()
        # Filled in once the chat adapters exist; the notifier reads them at each batch.
        publishers: dict[str, Publisher] = {CONSOLE_PLATFORM: ConsolePublisher(console)}
        budgets: dict[str, RateBudget] = {}
        notifier = Notifier(
            store.notices,
            settings.notices.channels(),
            publishers,
            budgets,
            metrics,
            timeout=settings.delivery.publish_timeout_seconds,
        )
        # Before the store closes: a notice in flight still records itself.
        stack.push_async_callback(notifier.close)

        poller = Poller(
            store,
            analyzer,
            settings.poll,
            trusted=trusted,
            untrusted=untrusted,
            pages=pages,
            analysis=settings.analysis,
            on_deliveries=on_deliveries,
            metrics=metrics,
            notices=notifier,
            stories=story_window(store, settings),
            cpu=cpu,
        )
        pipeline = PollPipeline(
            poller,
            store.feeds,
            concurrency=settings.poll.concurrency,
            per_host_limit=settings.poll.per_host_limit,
            lease=poll_lease(settings.http.total_timeout),
            idle_seconds=settings.poll.tick_seconds,
        )
        scheduler = BotScheduler(pipeline)
        digests = Digests(store, scheduler, on_deliveries, leads=leads)
        scheduler.attach_digests(digests)
        commands = CommandService(
            store,
            issue_tags(taxonomy),
            prober=make_prober(untrusted, allow_private=settings.delivery.allow_private_feeds),
            operator_prober=make_prober(trusted, allow_private=True),
            admin_allowlist=settings.delivery.admin_allowlist,
            on_subscriptions_changed=scheduler.resync_digests,
            on_feed_added=scheduler.wake_polls,
            first_poll=lambda feed, probe: _first_poll(pipeline, feed, probe),
            max_chat_feeds=settings.delivery.max_chat_feeds,
        )
        adapters: list[ChatAdapter] = []
        http = None
        if chat:
            # Adapters get the service through a counter of commands by name and outcome.
            metered = MeteredCommands(commands, metrics)
            http, adapters = _chat_adapters(settings, metered, store.replays)
            if http is not None:
                http.mount("/metrics", metrics.handler(store.stats.stats), ("GET", "HEAD"))
            if http is not None and settings.web.enabled:
                from koreapage_bot.web import mount_web

                mount_web(http, store, taxonomy.issues, settings.web)
            for adapter in adapters:
                publishers[adapter.platform] = adapter.publisher
            # One budget per platform, so one platform's pace never slows the other.
            if "discord" in publishers:
                # discord.py paces per route itself; the core keeps fan-out under the global
                # 50 req/s so a burst of deliveries never earns 429s (or a ban).
                # 50 req/s per bot, not per process: with PostgreSQL every process takes
                # its share (the rate over the live processes), and a global 429 seen by
                # one holds them all.
                pace = None
                if several:
                    pace = SharedPace(
                        SharedRates(store.engine),
                        "discord",
                        50.0,
                        holder=Holder.current().id,
                        liveness=is_alive,
                        now=utcnow,
                    )
                    stack.push_async_callback(pace.close)
                    coordination.on_wake(wake_topic(pace.name), pace.wake)
                budgets["discord"] = discord_budget(shared=pace)
                _tell_global_limits(adapters, budgets["discord"])
            if "slack" in publishers:
                # About one post a second per channel, and a workspace-wide ceiling.
                budgets["slack"] = slack_budget()
        dispatcher = Dispatcher(
            store,
            publishers,
            settings.delivery,
            budgets,
            concurrency=settings.delivery.max_in_flight,
            metrics=metrics,
            notices=notifier,
            leads=leads,
        )
        wake.append(dispatcher.wake)
        # Rows written by another process wake this one's dispatcher and poll loop at once.
        coordination.on_wake("deliveries", dispatcher.wake)
        coordination.on_wake("feeds", scheduler.wake_polls)
        coordination.on_leadership(lambda _leading: scheduler.resync_digests())
        yield Bot(
            settings=settings,
            store=store,
            taxonomy=taxonomy,
            analyzer=analyzer,
            poller=poller,
            commands=commands,
            dispatcher=dispatcher,
            scheduler=scheduler,
            digests=digests,
            console=console,
            metrics=metrics,
            notifier=notifier,
            adapters=adapters,
            http=http,
            coordination=coordination,
        )


async def _first_poll(pipeline: PollPipeline, feed: Feed, probe: FeedProbe) -> None:
    """A feed just added is polled from its probe's response: fetched once, not twice."""
    if probe.fetched is not None:
        await pipeline.first_poll(feed, probe.fetched, probe.parsed)


@dataclass
class Queries:
    """The store and the command service alone (`open_queries`)."""

    settings: Settings
    store: Store
    commands: CommandService


@contextlib.asynccontextmanager
async def open_queries(settings: Settings) -> AsyncIterator[Queries]:
    """The store and the command service, nothing else: for CLI commands that read or
    change rows (`briefs …`, `feeds list`). No analysis, fetchers, scheduler or chat SDK is
    built or imported, so they start in a fraction of a second. Adding feeds needs
    `open_bot` (the probe and the first poll)."""
    try:
        taxonomy = load_taxonomy(settings.analysis.issues_file)
    except TaxonomyError as exc:
        raise ConfigError(str(exc)) from None
    store = await open_store(settings.database_url)
    try:
        yield Queries(
            settings,
            store,
            CommandService(
                store,
                issue_tags(taxonomy),
                admin_allowlist=settings.delivery.admin_allowlist,
                max_chat_feeds=settings.delivery.max_chat_feeds,
            ),
        )
    finally:
        await store.close()


def _tell_global_limits(adapters: list[ChatAdapter], budget: RateBudget) -> None:
    """Every global 429 the Discord client sees (also those discord.py waits out by itself)
    holds the budget, and through it every process that shares it."""
    for adapter in adapters:
        watch = getattr(adapter.publisher, "global_limit", None)
        if watch is not None and hasattr(watch, "on_global"):

            def hold(seconds: float) -> None:
                budget.penalize(None, seconds, is_global=True)

            watch.on_global = hold


def _serve_health(bot: Bot) -> None:
    """/healthz: the database reachable, this process's role and its Discord shards."""
    http = bot.http
    if http is None:
        return
    http.add_health_check("database", bot.store.ping)
    coordination = bot.coordination

    def role() -> dict[str, object]:
        return {
            "leader": coordination.is_leader,
            "how": coordination.role_detail,
        }

    http.set_info("role", role)
    for adapter in bot.adapters:
        shards = getattr(adapter, "shards", None)
        if callable(shards):
            http.set_info("discord_shards", shards)


async def open_store(url: str) -> Store:
    """The store at KOREAPAGE_DATABASE_URL, or a ConfigError saying why it cannot be used (no
    server there, a name that does not resolve, a bad port, a directory that cannot be
    written, a file that is not a database)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import DBAPIError, SQLAlchemyError

    from koreapage_bot.store.store import Store

    try:
        return await Store.open(url)
    except (OSError, ValueError, ArithmeticError, SQLAlchemyError) as exc:
        reason = _first_line(exc.orig or exc if isinstance(exc, DBAPIError) else exc)
        with contextlib.suppress(Exception):
            password = make_url(url).password
            if password:
                reason = reason.replace(str(password), "***")
        scheme = url.split("://", 1)[0]
        raise ConfigError(
            f"KOREAPAGE_DATABASE_URL ({scheme}://…): cannot open the database: {reason}"
        ) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{text[0]} ({type(exc).__name__})" if text else type(exc).__name__


def _chat_adapters(
    settings: Settings, commands: CommandApi, replays: ReplayGuard
) -> tuple[Any, list[ChatAdapter]]:
    """The adapters whose tokens are set. Imported lazily: the SDKs load only when used."""
    adapters: list[ChatAdapter] = []
    http = None
    if settings.discord is not None:
        from koreapage_bot.adapters.discord.client import DiscordAdapter

        adapters.append(DiscordAdapter(settings.discord, commands))
    slack = settings.slack
    needs_http = settings.server.requested or settings.web.enabled
    if needs_http or (slack is not None and slack.mode is SlackMode.HTTP):
        from koreapage_bot.http import HttpServer

        http = HttpServer(settings.server)
    if slack is not None:
        from koreapage_bot.adapters.slack.app import SlackAdapter

        adapters.append(SlackAdapter(slack, commands, http, replays=replays))
    return http, adapters


async def prepare(bot: Bot) -> None:
    """Start-of-run housekeeping: config feeds in the store, the console subscription."""
    from koreapage_bot.adapters.console import CONSOLE_PLATFORM
    from koreapage_bot.ingest.moves import sync_config_feeds
    from koreapage_bot.ports import SubscriptionSpec

    added = await sync_config_feeds(
        bot.store, [(f.url, f.name, f.interval_seconds) for f in bot.settings.feeds]
    )
    if added:
        log.info("added %d feeds from %s", added, bot.settings.config_path or "the default config")
    running = {adapter.platform for adapter in bot.adapters}
    for platform in bot.settings.notices.channels():
        if platform not in running:
            log.warning(
                "notices.%s_channel is set, but the %s adapter is not running (no token): "
                "no notices there",
                platform,
                platform.capitalize(),
            )
    console_sub = await bot.store.subscriptions.for_channel(
        CONSOLE_PLATFORM, bot.settings.delivery.console_channel
    )
    if not bot.adapters:
        # The embedded default: with no chat token, new briefs are printed to the terminal.
        if console_sub is None:
            await bot.store.subscriptions.upsert(
                SubscriptionSpec(
                    platform=CONSOLE_PLATFORM,
                    channel=bot.settings.delivery.console_channel,
                    created_by="operator",
                )
            )
    elif console_sub is not None and console_sub.created_by == "operator":
        # Chat adapters are on: the automatic console subscription goes (it would only
        # queue briefs nobody reads); it comes back when the bot runs without chat again.
        await bot.store.subscriptions.remove(console_sub.id)


async def run_bot(bot: Bot, stop: asyncio.Event) -> None:
    """Run until `stop` is set: adapters, scheduler and dispatcher in this one event loop."""
    await prepare(bot)
    started: list[ChatAdapter] = []
    dispatcher_task: asyncio.Task[None] | None = None
    try:
        await bot.coordination.start()
        _serve_health(bot)
        if bot.http is not None:
            try:
                await bot.http.start()
            except (OSError, ValueError) as exc:  # a host this machine lacks, a port in use
                where = f"{bot.http.settings.host}:{bot.http.settings.port}"
                hint = " or set [web] enabled = false" if bot.settings.web.enabled else ""
                raise ConfigError(
                    f"KOREAPAGE_HTTP_HOST / KOREAPAGE_HTTP_PORT: cannot serve HTTP on {where}: "
                    f"{getattr(exc, 'strerror', None) or exc}. Set KOREAPAGE_HTTP_PORT (and "
                    f"KOREAPAGE_HTTP_HOST) to a free address{hint}."
                ) from None
            log.info("HTTP server on port %s (/healthz)", bot.http.port)
            if bot.settings.web.enabled:
                log.info("web archive at %s/ (feeds under /feeds/)", bot.http.base_url)
        for adapter in bot.adapters:
            await adapter.start()
            started.append(adapter)
            log.info("%s adapter started", adapter.platform)
        await bot.digests.sync()
        bot.scheduler.start()
        dispatcher_task = asyncio.create_task(bot.dispatcher.run(stop), name="dispatcher")
        if not bot.adapters:
            log.info("no DISCORD_TOKEN or SLACK_BOT_TOKEN: new briefs are printed here")
        stop_wait = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait(
            {dispatcher_task, stop_wait}, return_when=asyncio.FIRST_COMPLETED
        )
        stop_wait.cancel()
        if dispatcher_task in done:
            dispatcher_task.result()  # it only ends early by raising
    finally:
        stop.set()
        await bot.scheduler.stop()
        if dispatcher_task is not None:
            # Sends in flight finish (each is bounded by the publish timeout); a send cut
            # short here is settled at the next start like any row in doubt.
            grace = bot.settings.delivery.publish_timeout_seconds + 5
            try:
                await asyncio.wait_for(dispatcher_task, timeout=grace)
            except TimeoutError:
                log.warning("deliveries still in flight after %.0f s; leaving them in doubt", grace)
            except asyncio.CancelledError:
                pass
        # Notices reported by the last sends go out before the adapters close.
        await bot.notifier.close(grace=5.0)
        for adapter in reversed(started):
            try:
                await adapter.close()
            except Exception:
                log.exception("closing the %s adapter failed", adapter.platform)
        if bot.http is not None:
            await bot.http.close()
        await bot.coordination.close()


async def run_once(bot: Bot) -> None:
    """Poll every feed that is due, deliver what is due, and return (`run --once`)."""
    await prepare(bot)
    started: list[ChatAdapter] = []
    try:
        for adapter in bot.adapters:
            await adapter.start()
            started.append(adapter)
        await bot.dispatcher.recover()
        await bot.scheduler.tick()
        await bot.dispatcher.drain()
        await bot.notifier.flush()
    finally:
        await bot.notifier.close(grace=5.0)
        await bot.dispatcher.close()
        for adapter in reversed(started):
            await adapter.close()


def install_signal_handlers(stop: asyncio.Event) -> None:
    """SIGINT/SIGTERM ask for a clean stop (no half-written state, exit code 0)."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
