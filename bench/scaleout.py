"""Figures for several `koreapage-bot run` processes on one PostgreSQL database (issue 11):
real processes of the console script, the local feed server, the fake Discord and Slack.

    .venv/bin/python bench/scaleout.py [--only polls,deliveries,failover,chaos] [--kills 20]

(polls)      polls per second with 1, 2 and 3 processes on the local feed farm
             (bench/feed_farm.py in its own process: --farm-feeds feeds of 20 items, 50 ms
             latency, spread over loopback hosts): every feed's first poll, from the farm's
             first request to its last, and how many feeds were asked twice. Without
             ../shared (the farm's items) the in-process feed server, 300 feeds.
(deliveries) Discord deliveries per second with 1, 2 and 3 processes: 600 due (120 channels x
             5 briefs). Discord allows 50 requests a second per bot, not per process: the
             figure should stay near 50 whatever the count, and the most requests the fake saw
             in any 1.02 s window must not pass 50.
(failover)   the leader killed with -9: seconds until another process's /healthz says it leads.
             A feed whose poll hangs, its process killed with -9: seconds until another process
             polls it (one lease: the fetch's total_timeout, 10 s here, plus 60 s).
(chaos)      1,000 deliveries due (Discord and Slack) and a digest due a few minutes ago; one of
             three processes killed with -9 at random moments (every fourth kill: the leader)
             `--kills` times, restarted each time: lost, duplicated, left `sending`, digests.

Needs the local PostgreSQL (127.0.0.1:5432, trust; KOREAPAGE_TEST_PG as in the tests). Logs
go to the temporary directory printed at the start.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.fakes and tests...
sys.path.insert(0, str(Path(__file__).resolve().parent))  # for farmctl

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from tests.conftest import PG_ADMIN_URL
from tests.e2e.processes import (
    BotProcess,
    add_subscriptions,
    bot_env,
    delivery_rows,
    delivery_states,
    leaders,
    out_of_order,
    posted,
    until,
)
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.feed_server import FeedRoute, FeedServer, Item, SlowRoute
from tests.fakes.slack_server import FakeSlack
from tests.integration.delivery.support import a_brief, a_feed, max_in_window

from farmctl import Farm, FarmSkipped, feed_farm
from koreapage_bot.dates import utcnow
from koreapage_bot.store.store import Store

DB_NAME = "koreapage_bench_scaleout"
OLD = Item("Seoul weather: a mild spring", link="https://feeds.example.org/p/old", guid="old")


async def fresh_database() -> str:
    admin = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
            await conn.execute(text(f'CREATE DATABASE "{DB_NAME}"'))
    finally:
        await admin.dispose()
    return f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{DB_NAME}"


async def stop(processes: list[BotProcess]) -> None:
    await asyncio.gather(*(p.stop() for p in processes))


async def polls(workdir: Path, n: int) -> float:
    url = await fresh_database()
    store = await Store.open(url)
    async with FeedServer() as feeds, FakeDiscord() as discord, FakeSlack() as slack:
        paths = [f"/f{i}.xml" for i in range(300)]
        for path in paths:
            feeds.feed(path, [OLD])
        env = bot_env(
            workdir,
            url,
            discord,
            slack,
            feeds=[feeds.url(p) for p in paths],
            poll="concurrency = 16\nper_host_limit = 16\n",
        )
        processes = [BotProcess(workdir, env, f"polls-{n}-{i}") for i in range(n)]
        try:
            for p in processes:
                await p.start()

            async def done() -> bool:
                return all(feeds.count(p) >= 1 for p in paths)

            await until(done, 600, "every feed polled", alive=processes, every=0.2)
        finally:
            await stop(processes)
        await store.close()
        firsts = [feeds.requests(p)[0].at for p in paths]
        return len(paths) / (max(firsts) - min(firsts))


async def farm_polls(workdir: Path, farm: Farm, n: int, feeds: int) -> tuple[float, int]:
    """Polls per second of `n` processes on the out-of-process feed farm: every feed's first
    poll (a 200, parsed and baselined), from the farm's first request to its last. Also how
    many feeds were asked for more than once (another process's poll in the same interval)."""
    url = await fresh_database()
    farm.reset()
    async with FakeDiscord() as discord, FakeSlack() as slack:
        env = bot_env(
            workdir,
            url,
            discord,
            slack,
            feeds=farm.urls,
            poll="concurrency = 16\nper_host_limit = 4\n",
        )
        processes = [BotProcess(workdir, env, f"farm-polls-{n}-{i}") for i in range(n)]
        try:
            for p in processes:
                await p.start()

            async def done() -> bool:
                stats = await asyncio.to_thread(farm.stats)
                return int(stats["feeds_requested"]) >= feeds

            await until(done, 900, "every farm feed polled", alive=processes, every=0.5)
        finally:
            await stop(processes)
    stats = farm.stats()
    return feeds / (float(stats["last"]) - float(stats["first"])), int(
        stats["feeds_requested_more_than_once"]
    )


async def deliveries(workdir: Path, n: int) -> tuple[float, int, int]:
    url = await fresh_database()
    store = await Store.open(url)
    async with FakeDiscord() as discord, FakeSlack() as slack:
        channels = [str(780000000000000000 + i) for i in range(120)]
        await add_subscriptions(store, "discord", str(discord.guild_id), channels)
        feed = await a_feed(store)
        for b in range(5):
            await a_brief(store, feed, f"Alliance brief {b}")
        expected = 5 * len(channels)
        env = bot_env(workdir, url, discord, slack)
        processes = [BotProcess(workdir, env, f"deliveries-{n}-{i}") for i in range(n)]
        try:
            for p in processes:
                await p.start()

            async def sent() -> bool:
                return (await delivery_states(store))["sent"] == expected

            await until(sent, 600, "every delivery sent", alive=processes, every=0.2)
        finally:
            await stop(processes)
        await store.close()
        times = sorted(p.at for p in discord.posts)
        rate = (len(times) - 1) / (times[-1] - times[0])
        return rate, max_in_window(times, 1.02), len(discord.posts) - expected


async def failover(workdir: Path) -> tuple[float, float]:
    url = await fresh_database()
    store = await Store.open(url)
    async with FeedServer() as feeds, FakeDiscord() as discord, FakeSlack() as slack:
        feeds.route("/slow.xml", SlowRoute(delay=3600.0))
        env = bot_env(workdir, url, discord, slack, http="total_timeout = 10\n")
        processes = [BotProcess(workdir, env, f"failover-{i}") for i in range(3)]
        try:
            for p in processes:
                await p.start()
            await until(lambda: _one_leader(processes), 120, "a leader", alive=processes)
            (leader,) = await leaders(processes)
            leader.kill9()
            killed = time.monotonic()
            await leader.wait()
            rest = [p for p in processes if p is not leader]
            await until(lambda: _one_leader(rest), 60, "a new leader", alive=rest, every=0.05)
            leader_s = time.monotonic() - killed
            await stop(processes)

            # One process polls the feed (its fetch hangs), is killed; a second one, started
            # meanwhile, takes the feed when the lease runs out.
            owner, heir = BotProcess(workdir, env, "feed-owner"), BotProcess(workdir, env, "heir")
            processes = [owner, heir]
            await owner.start()
            await owner.http_port()
            await store.feeds.add(feeds.url("/slow.xml"), "Slow")

            async def asked(times: int) -> bool:
                return feeds.count("/slow.xml") >= times

            await until(lambda: asked(1), 60, "the slow feed polled", alive=[owner])
            await heir.start()
            await heir.http_port()
            owner.kill9()
            killed = time.monotonic()
            await owner.wait()
            await until(lambda: asked(2), 300, "the feed taken over", alive=[heir], every=0.1)
            feed_s = time.monotonic() - killed
        finally:
            await stop(processes)
        await store.close()
        return leader_s, feed_s


async def _one_leader(processes: list[BotProcess]) -> bool:
    return len(await leaders(processes)) == 1


async def chaos(workdir: Path, kills: int, seed: int) -> dict[str, object]:
    url = await fresh_database()
    store = await Store.open(url)
    rng = random.Random(seed)
    async with FeedServer() as feeds, FakeDiscord() as discord, FakeSlack() as slack:
        # Feeds polled all along (every 3 s, each answer 0.4 s late), so kills land during
        # polls too; none of them has anything new, so they add no deliveries.
        paths = [f"/chaos-{i}.xml" for i in range(20)]
        for path in paths:
            feeds.route(path, SlowRoute(delay=0.4, then=FeedRoute(items=[OLD])))
        discord_channels = [str(790000000000000000 + i) for i in range(180)]
        slack_channels = [f"C0CHAOS{i:03d}" for i in range(20)]
        for channel in [*slack_channels, "C0DIGEST"]:
            slack.add_channel(channel)
        now = utcnow()
        due = now - timedelta(minutes=3)
        await add_subscriptions(store, "discord", str(discord.guild_id), discord_channels)
        await add_subscriptions(store, "slack", slack.team_id, slack_channels)
        await add_subscriptions(
            store,
            "slack",
            slack.team_id,
            ["C0DIGEST"],
            per_brief=False,
            digest_time=f"{due:%H:%M}",
            last_digest_at=now - timedelta(days=1),
        )
        feed = await a_feed(store)
        for b in range(5):
            await a_brief(store, feed, f"Alliance brief {b}", now=due - timedelta(minutes=5))
        expected = 5 * (len(discord_channels) + len(slack_channels))
        env = bot_env(
            workdir,
            url,
            discord,
            slack,
            feeds=[feeds.url(p) for p in paths],
            poll_interval=3,
            http="total_timeout = 10\n",
        )
        processes = [BotProcess(workdir, env, f"chaos-{i}") for i in range(3)]
        polling_at_kill = 0
        in_flight_at_kill = 0
        done = 0
        started = time.monotonic()
        try:
            for p in processes:
                await p.start()
            while done < kills:
                await asyncio.sleep(rng.uniform(0.3, 1.5))
                victim = rng.choice(processes)
                if done % 4 == 3:
                    found = await leaders(processes)
                    victim = found[0] if found else victim
                victim.check_alive()
                polls_before = sum(feeds.count(p) for p in paths)
                victim.kill9()
                await victim.wait()
                states = await delivery_states(store)
                in_flight_at_kill += states["sending"]
                # A poll asked for less than 0.4 s before the kill was still waiting for its
                # answer (any process's; the victim's share of them is about a third).
                recent = [
                    r for p in paths for r in feeds.requests(p) if r.at > time.monotonic() - 0.4
                ]
                polling_at_kill += bool(recent) and polls_before > 0
                done += 1
                await victim.start()
            due_left = (await delivery_states(store))["pending"]

            async def settled() -> bool:
                states = await delivery_states(store)
                return states == Counter({"sent": expected + 1})

            await until(settled, 900, "every delivery settled", alive=processes, every=0.5)
        finally:
            await stop(processes)
        elapsed = time.monotonic() - started
        rows = await delivery_rows(store)
        states = await delivery_states(store)
        await store.close()
        messages = posted(discord, slack)
        per_key = Counter((platform, key) for platform, _, key in messages)
        settled = sum(
            line.count('"event": "in_doubt_settled"') + line.count("were in flight in a stopped")
            for p in processes
            for line in p.log().splitlines()
        )
        gaps = [b.at - a.at for p in paths for a, b in itertools.pairwise(feeds.requests(p))]
        return {
            "kills": done,
            "deliveries": len(rows),
            "pending when the last kill came": due_left,
            "lost": sum(1 for k, (platform, *_) in rows.items() if per_key[platform, k] == 0),
            "duplicated": sum(n - 1 for n in per_key.values() if n > 1),
            "left sending": states["sending"],
            "out of order": out_of_order(messages),
            "digest rows": sum(1 for *_, kind in rows.values() if kind == "digest"),
            "digest messages": sum(1 for _, channel, _ in messages if channel == "C0DIGEST"),
            "kills with rows in `sending` (summed)": in_flight_at_kill,
            "kills while a poll was waiting for its answer": polling_at_kill,
            "in-doubt settlements logged": settled,
            "polls": len(gaps) + len(paths),
            "polls closer than 2.5 s to the feed's previous one": sum(g < 2.5 for g in gaps),
            "seconds": round(elapsed, 1),
        }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default="polls,deliveries,failover,chaos")
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--farm-feeds", type=int, default=400)
    args = parser.parse_args()
    only = set(args.only.split(","))
    workdir = Path(tempfile.mkdtemp(prefix="koreapage-scaleout-"))
    print(f"logs in {workdir}")
    if "polls" in only:
        try:
            with feed_farm(workdir, "--feeds", str(args.farm_feeds), "--latency", "0.05") as farm:
                for n in (1, 2, 3):
                    rate, twice = await farm_polls(workdir, farm, n, args.farm_feeds)
                    print(
                        f"polls/s on the feed farm ({args.farm_feeds} feeds, 50 ms latency) "
                        f"with {n} process(es): {rate:.1f} (feeds asked twice: {twice})",
                        flush=True,
                    )
        except FarmSkipped as exc:
            print(f"feed farm skipped ({exc}); the in-process feed server instead")
            for n in (1, 2, 3):
                print(f"polls/s with {n} process(es): {await polls(workdir, n):.1f}", flush=True)
    if "deliveries" in only:
        for n in (1, 2, 3):
            rate, peak, extra = await deliveries(workdir, n)
            print(
                f"Discord deliveries/s with {n} process(es): {rate:.1f} "
                f"(most in any 1.02 s: {peak}; duplicates: {extra})",
                flush=True,
            )
    if "failover" in only:
        leader_s, feed_s = await failover(workdir)
        print(f"leader failover: {leader_s:.2f} s", flush=True)
        print(f"leased feed failover: {feed_s:.1f} s (lease = total_timeout 10 s + 60 s)")
    if "chaos" in only:
        figures = await chaos(workdir, args.kills, args.seed)
        print("chaos: " + ", ".join(f"{k} {v}" for k, v in figures.items()), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
