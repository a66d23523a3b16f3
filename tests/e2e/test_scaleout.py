"""Three `koreapage-bot run` processes on one PostgreSQL database, against the local feed
server, the fake Discord and the fake Slack: work is shared, never doubled, and survives
`kill -9` of any process (the leader included) at any moment.

The full chaos run (20+ kills, 1,000 deliveries) and the figures are in bench/scaleout.py; the
one here is its small version."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from koreapage_bot.dates import utcnow
from koreapage_bot.store.store import Store
from tests.conftest import _reset_pg
from tests.e2e.processes import (
    BotProcess,
    add_subscriptions,
    alliance_item,
    bot_env,
    delivery_rows,
    delivery_states,
    leaders,
    out_of_order,
    posted,
    until,
)
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.feed_server import FeedServer, Item
from tests.fakes.slack_server import FakeSlack
from tests.integration.delivery.support import a_brief, a_feed

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(300)]

OLD = Item("Seoul weather: a mild spring", link="https://feeds.example.org/p/old", guid="old")
POLL_INTERVAL = 4  # seconds: a few rounds in a short test


@pytest.fixture
async def pg_store(pg_database: str) -> AsyncIterator[Store]:
    await _reset_pg(pg_database)
    store = await Store.open(pg_database)
    try:
        yield store
    finally:
        await store.close()


async def stop_all(processes: list[BotProcess]) -> list[int | None]:
    return list(await asyncio.gather(*(p.stop() for p in processes)))


async def test_three_processes_share_polls_and_deliveries_and_one_leads(
    tmp_path: Path, pg_store: Store, pg_database: str
) -> None:
    """Each new alliance post becomes exactly one message per subscribed channel, in order;
    no feed is polled twice within its interval; one process leads, and when it is killed
    another takes the lock."""
    store = pg_store
    async with FeedServer() as feeds, FakeDiscord() as discord, FakeSlack() as slack:
        paths = [f"/feed-{i}.xml" for i in range(6)]
        routes = [feeds.feed(path, [OLD]) for path in paths]
        discord_channels = [str(760000000000000000 + i) for i in range(6)]
        slack_channels = [f"C0SCALE{i:03d}" for i in range(3)]
        for channel in slack_channels:
            slack.add_channel(channel)
        await add_subscriptions(store, "discord", str(discord.guild_id), discord_channels)
        await add_subscriptions(store, "slack", slack.team_id, slack_channels)
        env = bot_env(
            tmp_path,
            pg_database,
            discord,
            slack,
            feeds=[feeds.url(p) for p in paths],
            poll_interval=POLL_INTERVAL,
        )
        processes = [BotProcess(tmp_path, env, f"bot-{i}") for i in range(3)]
        try:
            for p in processes:
                await p.start()

            async def baselined() -> bool:
                found = await store.feeds.all()
                return len(found) == len(paths) and all(f.baselined for f in found)

            await until(baselined, 90, "every feed baselined", alive=processes)
            for i, route in enumerate(routes):
                route.set_items([alliance_item(i), OLD])
            channels = len(discord_channels) + len(slack_channels)
            expected = len(paths) * channels

            async def all_sent() -> bool:
                return (await delivery_states(store)) == Counter({"sent": expected})

            await until(all_sent, 120, f"{expected} deliveries sent", alive=processes)

            async def polled_thrice() -> bool:
                return all(feeds.count(p) >= 3 for p in paths)

            await until(polled_thrice, 60, "three polls of every feed", alive=processes)
            health = [await p.health() for p in processes]
            in_charge = await leaders(processes)

            # The leader dies; another process holds the lock within seconds (the poll
            # below is generous; bench/scaleout.py measures it).
            assert len(in_charge) == 1
            in_charge[0].kill9()
            await in_charge[0].wait()
            rest = [p for p in processes if p is not in_charge[0]]

            async def new_leader() -> bool:
                return len(await leaders(rest)) == 1

            await until(new_leader, 30, "a new leader", alive=rest)
            codes = await stop_all(rest)
        finally:
            await stop_all(processes)

        messages = posted(discord, slack)
        per_key = Counter(messages)
        assert len(messages) == expected, "a message lost or doubled"
        assert set(per_key.values()) == {1}
        keys = await delivery_rows(store)
        assert {key for _, _, key in messages} == set(keys)
        assert out_of_order(messages) == 0
        # Each feed: one poll per interval, whichever process made it.
        for path in paths:
            times = [r.at for r in feeds.requests(path)]
            gaps = [b - a for a, b in itertools.pairwise(times)]
            assert min(gaps) > POLL_INTERVAL - 0.5, (path, gaps)
        assert all(h["checks"]["database"]["ok"] for h in health)
        assert sorted(h["role"]["leader"] for h in health) == [False, False, True]
        assert all(h["discord_shards"]["ids"] == [0] for h in health)
        assert codes == [0, 0]


async def test_kill_9_at_random_moments_loses_and_doubles_nothing(
    tmp_path: Path, pg_store: Store, pg_database: str
) -> None:
    """Three processes deliver a backlog (Discord and Slack, plus a digest due a few minutes
    ago) while one of them, chosen at random (the leader too), is killed with -9 at random
    moments and restarted. At the end every delivery is sent once, none is left `sending`,
    and the digest went out once."""
    store = pg_store
    rng = random.Random(11)
    async with FakeDiscord() as discord, FakeSlack() as slack:
        discord_channels = [str(770000000000000000 + i) for i in range(30)]
        slack_channels = [f"C0CHAOS{i:03d}" for i in range(6)]
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
        for n in range(4):
            await a_brief(store, feed, f"Alliance brief {n}", now=due - timedelta(minutes=5))
        expected = 4 * (len(discord_channels) + len(slack_channels))
        env = bot_env(tmp_path, pg_database, discord, slack)
        processes = [BotProcess(tmp_path, env, f"bot-{i}") for i in range(3)]
        kills = 0
        try:
            for p in processes:
                await p.start()

            async def settled() -> bool:
                states = await delivery_states(store)
                return states == Counter({"sent": expected + 1})

            while kills < 6 and not await settled():
                await asyncio.sleep(rng.uniform(0.5, 2.0))
                victim = rng.choice(processes)
                victim.check_alive()
                victim.kill9()
                await victim.wait()
                kills += 1
                await victim.start()
            await until(settled, 180, "every delivery sent", alive=processes)
            for p in processes:  # a SIGTERM before its handlers are installed kills it
                await p.http_port()
            codes = await stop_all(processes)
        finally:
            await stop_all(processes)

        rows = await delivery_rows(store)
        messages = posted(discord, slack)
        per_key = Counter((platform, key) for platform, _, key in messages)
        lost = [k for k, (platform, *_) in rows.items() if per_key[platform, k] == 0]
        doubled = {k: n for k, n in per_key.items() if n > 1}
        assert lost == [] and doubled == {}
        assert len(messages) == expected + 1
        assert out_of_order(messages) == 0
        digests = [k for k, (*_, kind) in rows.items() if kind == "digest"]
        assert len(digests) == 1
        assert [key for _, channel, key in messages if channel == "C0DIGEST"] == digests
        assert codes == [0, 0, 0]
        assert kills >= 1
