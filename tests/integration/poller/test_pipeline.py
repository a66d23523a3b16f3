"""The continuous poll pipeline as `run` and `run --once` use it, on a real store and local feed
servers: a slow feed delays only itself, every due feed is polled, leases are short, renewed
and handed back, and two processes never poll one feed at once.

Waits are bounds on what the bot does in the background, never timing checks: the assertions
count the requests the feed servers saw.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console

from koreapage_bot.bootstrap import Bot, open_bot, prepare, run_bot, run_once
from koreapage_bot.cli.common import OPERATOR
from koreapage_bot.config import load_settings
from koreapage_bot.ingest.pipeline import LEASE_MARGIN_SECONDS, PollPipeline
from tests.fakes.feed_server import FeedServer, Item
from tests.fakes.hold import GrowingFeedRoute, HeldRoute

LEASE = timedelta(seconds=0.3)
FAST_POLLS = "[poll]\ninterval = 1\nmin_interval = 1\njitter = 0\ntick = 1\n"


def config_text(feeds: list[str], *, poll: str = FAST_POLLS, http: str = "") -> str:
    lines = [poll, "[http]", http, "[analysis]", "fetch_full_text = false", ""]
    for n, url in enumerate(feeds):
        lines += ["[[feeds]]", f'name = "feed {n}"', f'url = "{url}"', ""]
    return "\n".join(lines)


@asynccontextmanager
async def bot_with(tmp_path: Path, text: str) -> AsyncIterator[Bot]:
    config = tmp_path / "koreapage.toml"
    config.write_text(text, encoding="utf-8")
    env = {"KOREAPAGE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"}
    settings = load_settings(config, env)
    async with open_bot(settings, console=Console(file=io.StringIO()), chat=False) as bot:
        yield bot


@asynccontextmanager
async def running(bot: Bot) -> AsyncIterator[asyncio.Task[None]]:
    """`run` in the background (the real loop: scheduler, pipeline, dispatcher)."""
    stop = asyncio.Event()
    task = asyncio.create_task(run_bot(bot, stop))
    try:
        yield task
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def until(check: Callable[[], Awaitable[bool]], task: asyncio.Task[Any]) -> None:
    """Wait until `check()` holds (a bound of 20 s, not a timing check)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while not await check():
        if task.done():
            task.result()
        if loop.time() > deadline:
            raise AssertionError("the condition did not hold in time")
        await asyncio.sleep(0.02)


def slow_feed(server: FeedServer) -> HeldRoute:
    return server.route("/slow.xml", HeldRoute(GrowingFeedRoute("slow")))


async def test_a_slow_feed_delays_only_itself(tmp_path: Path) -> None:
    async with FeedServer() as far, FeedServer() as near:
        held = slow_feed(far)
        healthy = near.route("/news.xml", GrowingFeedRoute("news"))
        text = config_text([far.url("/slow.xml"), near.url("/news.xml")], http="total_timeout = 60")
        async with bot_with(tmp_path, text) as bot, running(bot) as task:

            async def healthy_polled_repeatedly() -> bool:
                return healthy.served >= 4

            await until(healthy_polled_repeatedly, task)
            # ... all while the slow feed's first and only request is still unanswered.
            assert held.arrived == 1 and held.answered == 0
            assert near.count("/news.xml") >= 4
            held.release()
        stored = await bot_store_titles(tmp_path)
        assert any(t.startswith("news 4:") for t in stored)  # each poll's new item was stored


async def bot_store_titles(tmp_path: Path) -> list[str]:
    from koreapage_bot.store.store import Store

    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    try:
        return [b.title for b in await store.briefs.latest(50)]
    finally:
        await store.close()


async def test_the_poll_lease_follows_the_fetch_timeout(tmp_path: Path) -> None:
    async with FeedServer() as server:
        held = slow_feed(server)
        text = config_text([server.url("/slow.xml")], http="total_timeout = 7")
        async with bot_with(tmp_path, text) as bot, running(bot):
            await held.wait_arrived()
            [feed] = await bot.store.feeds.all()
            lease = feed.next_poll_at - datetime.now(UTC)
            # Claimed a moment ago for the fetch's time limit plus the parse/analysis margin
            # (it was 10 minutes whatever the timeout: a crash silenced the feed that long).
            expected = timedelta(seconds=7 + LEASE_MARGIN_SECONDS)
            assert expected - timedelta(seconds=10) < lease <= expected
            held.release()


async def test_a_poll_cut_short_at_shutdown_hands_the_feed_back(tmp_path: Path) -> None:
    async with FeedServer() as server, FeedServer() as other:
        held = slow_feed(server)
        other.route("/next.xml", GrowingFeedRoute("next"))
        # One slot: the slow feed polls, the other is claimed and waits for the slot.
        urls = [server.url("/slow.xml"), other.url("/next.xml")]
        text = config_text(urls, poll="[poll]\nconcurrency = 1\n", http="total_timeout = 60")
        async with bot_with(tmp_path, text) as bot, running(bot):
            await held.wait_arrived()
            for claimed in await bot.store.feeds.all():
                assert claimed.next_poll_at > datetime.now(UTC)  # leased
            await bot.scheduler.stop(grace_seconds=0.1)  # shutdown; the poll is cancelled
            for after in await bot.store.feeds.all():
                assert after.next_poll_at <= datetime.now(UTC)  # due again at once
                assert not after.baselined and after.last_polled_at is None
            assert other.count("/next.xml") == 0
            held.release()


async def test_run_once_polls_every_due_feed(tmp_path: Path) -> None:
    # One feed at a time: the old pass took `concurrency × 8` feeds and left the rest.
    async with FeedServer() as server:
        paths = [f"/f{n}.xml" for n in range(11)]
        for n, path in enumerate(paths):
            server.feed(path, [Item(f"Story {n}", guid=f"s{n}", description="Talks.")])
        poll = "[poll]\nconcurrency = 1\n"
        async with bot_with(
            tmp_path, config_text([server.url(p) for p in paths], poll=poll)
        ) as bot:
            await run_once(bot)
            assert [server.count(p) for p in paths] == [1] * len(paths)
            assert all(f.baselined for f in await bot.store.feeds.all())


async def test_a_feed_leased_by_one_process_is_not_polled_by_another(tmp_path: Path) -> None:
    async with FeedServer() as server:
        held = slow_feed(server)
        server.feed("/other.xml", [Item("Allies talk", guid="o1", description="Talks.")])
        text = config_text([server.url("/slow.xml"), server.url("/other.xml")])
        async with bot_with(tmp_path, text) as first, running(first):
            await held.wait_arrived()
            # `run --once` beside the running bot: same database, its own pipeline.
            async with bot_with(tmp_path, text) as second:
                await second.store.feeds.set_next_poll(
                    (await second.store.feeds.by_url(server.url("/other.xml"))).id,  # type: ignore[union-attr]
                    datetime.now(UTC) - timedelta(seconds=1),
                )
                await run_once(second)
            assert held.arrived == 1  # the leased feed was left to its owner
            held.release()


async def test_a_long_poll_keeps_renewing_its_lease(tmp_path: Path) -> None:
    async with FeedServer() as server:
        held = slow_feed(server)
        async with bot_with(tmp_path, config_text([server.url("/slow.xml")])) as bot:
            # A lease far shorter than the poll: renewed while the poll runs, never lost.
            short = PollPipeline(
                bot.poller, bot.store.feeds, concurrency=2, per_host_limit=2, lease=LEASE
            )
            other = PollPipeline(
                bot.poller, bot.store.feeds, concurrency=2, per_host_limit=2, lease=LEASE
            )
            await prepare(bot)
            polling = asyncio.create_task(short.poll_due_now())
            await held.wait_arrived()
            [feed] = await bot.store.feeds.all()
            first_lease = feed.next_poll_at

            async def renewed() -> bool:
                [now] = await bot.store.feeds.all()
                return now.next_poll_at > first_lease + LEASE

            await until(renewed, polling)
            assert (await other.poll_due_now()).polled == 0
            assert held.arrived == 1
            held.release()
            stats = await asyncio.wait_for(polling, 15)
            assert stats.polled == 1 and stats.new_entries == 1


async def test_a_feed_added_from_a_command_is_polled_at_once(tmp_path: Path) -> None:
    async with FeedServer() as server:
        route = server.route("/news.xml", GrowingFeedRoute("news"))
        slow_idle = "[poll]\ntick = 600\n"  # nothing would look for new feeds for 10 minutes
        async with bot_with(tmp_path, config_text([], poll=slow_idle)) as bot, running(bot) as t:
            await asyncio.sleep(0.2)  # the loop found nothing to do and went idle
            reply = await bot.commands.feeds_add(OPERATOR, server.url("/news.xml"))
            assert reply.ok and route.served == 1  # the probe

            async def polled() -> bool:
                [feed] = await bot.store.feeds.all()
                return feed.baselined

            await until(polled, t)
            await asyncio.sleep(0.3)  # a second fetch, if one came, would be in by now
            # The probe's response was the first poll: one fetch.
            assert route.served == 1
            [feed] = await bot.store.feeds.all()
            assert feed.next_poll_at is not None and feed.next_poll_at > datetime.now(UTC)


async def test_a_feed_added_without_the_loop_is_polled_from_its_probe(tmp_path: Path) -> None:
    # `feeds add` / `poll URL` at the console: no loop runs; the probe's response is the
    # first poll, there and then.
    async with FeedServer() as server:
        route = server.route("/news.xml", GrowingFeedRoute("news"))
        async with bot_with(tmp_path, config_text([])) as bot:
            reply = await bot.commands.feeds_add(OPERATOR, server.url("/news.xml"))
            assert reply.ok
            [feed] = await bot.store.feeds.all()
            assert feed.baselined and feed.last_polled_at is not None
            assert route.served == 1
            assert (await bot.scheduler.pipeline.poll_due_now()).polled == 0


async def test_one_hosts_feeds_never_take_every_slot(tmp_path: Path) -> None:
    # One connection per host: a busy host's other feeds wait for it, and the free slots go
    # to feeds elsewhere instead of queueing behind that host.
    async with FeedServer() as busy, FeedServer() as other:
        held = HeldRoute(GrowingFeedRoute("busy"))
        for n in range(3):
            busy.route(f"/b{n}.xml", held)
        other.route("/o.xml", GrowingFeedRoute("other"))
        urls = [busy.url(f"/b{n}.xml") for n in range(3)] + [other.url("/o.xml")]
        poll = "[poll]\nconcurrency = 3\nper_host_limit = 1\n"
        async with bot_with(tmp_path, config_text(urls, poll=poll)) as bot:
            await prepare(bot)
            polling = asyncio.create_task(bot.scheduler.tick())
            await held.wait_arrived()

            async def other_polled() -> bool:
                return other.count("/o.xml") == 1

            await until(other_polled, polling)
            assert held.arrived == 1  # never two at once on the busy host
            held.release()
            await asyncio.wait_for(polling, 15)
            assert held.arrived == 3 and held.answered == 3
