"""Several `koreapage-bot run` processes on one PostgreSQL database and the chat platforms'
rules that are per bot or per request, not per process: a Discord global 429 seen by one
process holds the others; Slack's HTTP requests may reach any process and each runs once;
Socket Mode opens one connection per process and each envelope is handled once."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from koreapage_bot.store.store import Store
from tests.conftest import _reset_pg
from tests.e2e.processes import (
    BotProcess,
    add_subscriptions,
    bot_env,
    delivery_states,
    until,
)
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.slack_server import FakeSlack, signed_slash_command
from tests.integration.delivery.support import a_brief, a_feed

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(240)]

SECRET = "test-signing-secret"
ADMIN = "U0ADMIN01"
BLOCK = 8.0  # seconds of the global 429


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


async def test_a_global_429_seen_by_one_process_holds_the_other(
    tmp_path: Path, pg_store: Store, pg_database: str
) -> None:
    """Two processes, each behind its own fake Discord (so only one of them gets the 429):
    once the first is told "global rate limit, retry after 8 s", the second, with work
    waiting, posts nothing until the block ends; then everything goes out once."""
    store = pg_store
    async with FakeDiscord() as limited, FakeDiscord() as free, FakeSlack() as slack:
        channels = [str(750000000000000000 + i) for i in range(30)]
        await add_subscriptions(store, "discord", str(free.guild_id), channels)
        one = BotProcess(tmp_path, bot_env(tmp_path, pg_database, limited, slack), "limited")
        two = BotProcess(tmp_path, bot_env(tmp_path, pg_database, free, slack), "free")
        processes = [one, two]
        try:
            for p in processes:
                await p.start()
            for p in processes:
                await p.http_port()
            await asyncio.sleep(5.0)  # both have joined the shared rate (SHARE_JOIN_WAIT)
            limited.block_globally(BLOCK, timed=True)
            feed = await a_feed(store)
            for n in range(6):
                await a_brief(store, feed, f"Alliance brief {n}")
            expected = 6 * len(channels)

            async def refused() -> bool:
                return any(r.status == 429 for r in limited.requests)

            await until(refused, 60, "the global 429", alive=processes, every=0.02)
            seen = time.monotonic()
            # Whatever the second process had already taken off the shared budget may still
            # go; after a moment for the NOTIFY to arrive it must hold.
            await asyncio.sleep(1.0)
            before = len(free.posts)
            pending_then = (await delivery_states(store))["pending"]
            await asyncio.sleep(max(0.5, BLOCK - 2.0 - (time.monotonic() - seen)))
            during = len(free.posts) - before

            async def all_sent() -> bool:
                return (await delivery_states(store))["sent"] == expected

            await until(all_sent, 120, "every delivery sent", alive=processes)
            codes = await stop_all(processes)
        finally:
            await stop_all(processes)
        assert pending_then > 0  # the free process had work it did not do
        assert during == 0
        keys = Counter(p.nonce for fake in (limited, free) for p in fake.posts)
        assert len(keys) == expected and set(keys.values()) == {1}
        assert codes == [0, 0]


async def test_slack_http_requests_reach_either_process_and_each_runs_once(
    tmp_path: Path, pg_store: Store, pg_database: str
) -> None:
    """Behind any balancer: each signed slash command goes to one process, and the same
    request sent again (a retry) to the other one is refused there: the replay record is in
    PostgreSQL, not in a process."""
    store = pg_store
    async with FakeDiscord() as discord, FakeSlack() as slack:
        slack.add_user(ADMIN, "admin", admin=True)
        channels = [f"C0HTTP{i:03d}" for i in range(8)]
        for channel in channels:
            slack.add_channel(channel)
        env = bot_env(tmp_path, pg_database, discord, slack, extra={"SLACK_SIGNING_SECRET": SECRET})
        processes = [BotProcess(tmp_path, env, f"http-{i}") for i in range(2)]
        statuses: list[tuple[int, int]] = []
        try:
            for p in processes:
                await p.start()
            ports = [await p.http_port() for p in processes]
            # /slack/events is mounted once the Slack adapter has started, after the server
            # listens: a request before that gets a 404.
            for p in processes:
                await p.logged("slack adapter started")
            async with aiohttp.ClientSession() as http:
                for i, channel in enumerate(channels):
                    body, headers = signed_slash_command(
                        SECRET,
                        "/briefs",
                        "subscribe usfk",
                        user_id=ADMIN,
                        response_url=slack.new_response_url(),
                        channel_id=channel,
                        team_id=slack.team_id,
                    )
                    first, second = ports[i % 2], ports[(i + 1) % 2]
                    pair = []
                    for port in (first, second):
                        url = f"http://127.0.0.1:{port}/slack/events"
                        async with http.post(url, data=body.encode(), headers=headers) as resp:
                            pair.append(resp.status)
                    statuses.append((pair[0], pair[1]))
            await slack.wait_until(lambda: len(slack.responses) >= len(channels), timeout=60)
            await asyncio.sleep(1.0)  # a second answer, if any, would come now
            subscribed = [await store.subscriptions.for_channel("slack", c) for c in channels]
            codes = await stop_all(processes)
        finally:
            await stop_all(processes)
        assert statuses == [(200, 401)] * len(channels)
        assert all(s is not None and s.issues == ("usfk",) for s in subscribed)
        assert Counter(r.key for r in slack.responses) == Counter(
            {r.key: 1 for r in slack.responses}
        )
        assert len(slack.responses) == len(channels)
        assert codes == [0, 0]


async def test_socket_mode_one_connection_per_process_and_each_envelope_once(
    tmp_path: Path, pg_store: Store, pg_database: str
) -> None:
    """Slack sends each envelope down one of the app's connections (the fake does the same:
    one queue, whichever connection takes it): two processes, two connections, and every
    command is acknowledged and answered once."""
    store = pg_store
    async with FakeDiscord() as discord, FakeSlack() as slack:
        slack.add_user(ADMIN, "admin", admin=True)
        channels = [f"C0SOCK{i:03d}" for i in range(8)]
        for channel in channels:
            slack.add_channel(channel)
        env = bot_env(
            tmp_path, pg_database, discord, slack, extra={"SLACK_APP_TOKEN": slack.app_token}
        )
        processes = [BotProcess(tmp_path, env, f"socket-{i}") for i in range(2)]
        try:
            for p in processes:
                await p.start()
            for p in processes:
                await p.http_port()
            await slack.wait_until(lambda: slack.socket_connections >= 2, timeout=60)
            envelopes = [
                slack.deliver_slash_command(
                    "/briefs", "subscribe usfk", user_id=ADMIN, channel_id=channel
                )[0]
                for channel in channels
            ]
            await slack.wait_until(lambda: len(slack.responses) >= len(channels), timeout=60)
            await asyncio.sleep(1.0)
            subscribed = [await store.subscriptions.for_channel("slack", c) for c in channels]
            connections = slack.socket_connections
            codes = await stop_all(processes)
        finally:
            await stop_all(processes)
        assert connections == 2
        acked = Counter(a.envelope_id for a in slack.acks)
        assert all(acked[e] == 1 for e in envelopes)
        assert len(slack.responses) == len(channels)
        assert all(s is not None and s.issues == ("usfk",) for s in subscribed)
        assert codes == [0, 0]
