"""The metrics page: what the core counts through ports.Metrics, what the store says at scrape
time, one registry per bot (nothing global), and the commands counted by name and outcome."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import aiohttp
import prometheus_client

from koreapage_bot.commands.metered import MeteredCommands, command_name
from koreapage_bot.commands.replies import Caller
from koreapage_bot.commands.service import CommandService
from koreapage_bot.config import ServerConfig
from koreapage_bot.domain import IssueTag
from koreapage_bot.http import HttpServer
from koreapage_bot.metrics import PrometheusMetrics
from koreapage_bot.ports import StoreStats
from koreapage_bot.store.memory import MemoryStore
from tests.scrape import Samples, scrape

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


async def fixed_stats(now: datetime) -> StoreStats:
    return StoreStats(
        feeds={"active": 7, "broken": 1},
        deliveries={("slack", "pending"): 3, ("slack", "sent"): 40, ("discord", "dead"): 2},
        oldest_due={"slack": now - timedelta(seconds=90)},
    )


async def test_counts_and_store_gauges_render_in_the_text_format() -> None:
    metrics = PrometheusMetrics(process=False)
    metrics.poll("changed", 200, 0.3)
    metrics.poll("not_modified", 304, 0.05)
    metrics.poll("failed", None, 10.0)
    metrics.new_post(brief=True)
    metrics.new_post(brief=False)
    metrics.analysis(0.02)
    metrics.delivery("slack", "sent")
    metrics.delivery("slack", "rate_limited")
    metrics.rate_limited("slack", platform_wide=True)
    metrics.rate_limit_wait("slack", 1.5)
    metrics.command("discord", "briefs latest", "briefs")
    body, content_type = await metrics.render(fixed_stats)
    assert content_type.startswith("text/plain")
    page = Samples(body.decode())
    assert page.get("koreapage_polls_total", {"outcome": "changed", "status": "200"}) == 1
    assert page.get("koreapage_polls_total", {"outcome": "failed", "status": "none"}) == 1
    assert page.get("koreapage_polls_total") == 3
    # A poll with no response has no fetch time to report.
    assert page.get("koreapage_fetch_seconds_count") == 2
    assert page.get("koreapage_new_posts_total") == 2
    assert page.get("koreapage_briefs_total") == 1
    assert page.get("koreapage_analysis_seconds_count") == 1
    assert page.get("koreapage_delivery_attempts_total", {"result": "sent"}) == 1
    assert page.get("koreapage_rate_limited_total", {"scope": "platform"}) == 1
    assert page.get("koreapage_rate_limit_wait_seconds_total", {"platform": "slack"}) == 1.5
    assert (
        page.get("koreapage_commands_total", {"command": "briefs latest", "outcome": "briefs"}) == 1
    )
    # Read from the store at scrape time: every state is shown, zeros included.
    assert page.get("koreapage_feeds", {"state": "active"}) == 7
    assert page.get("koreapage_feeds", {"state": "disabled"}) == 0
    assert page.get("koreapage_deliveries", {"platform": "slack", "state": "sent"}) == 40
    assert page.get("koreapage_deliveries", {"platform": "discord", "state": "pending"}) == 0
    assert page.get("koreapage_outbox_depth", {"platform": "slack"}) == 3
    assert page.get("koreapage_outbox_depth", {"platform": "discord"}) == 0
    oldest = page.get("koreapage_outbox_oldest_due_seconds", {"platform": "slack"})
    assert 89 <= oldest <= 120
    assert page.get("koreapage_outbox_oldest_due_seconds", {"platform": "discord"}) == 0


async def test_each_bot_has_its_own_registry_and_the_global_one_is_untouched() -> None:
    before = set(prometheus_client.REGISTRY._names_to_collectors)
    one, two = PrometheusMetrics(), PrometheusMetrics()
    one.new_post(brief=True)
    page_one = Samples((await one.render(fixed_stats))[0].decode())
    page_two = Samples((await two.render(fixed_stats))[0].decode())
    assert page_one.get("koreapage_briefs_total") == 1
    assert page_two.get("koreapage_briefs_total") == 0
    assert set(prometheus_client.REGISTRY._names_to_collectors) == before
    assert "process_cpu_seconds_total" in page_one.names()


async def test_the_page_on_the_bots_http_server_reads_the_store_at_each_scrape() -> None:
    store = MemoryStore()
    metrics = PrometheusMetrics(process=False)
    server = HttpServer(ServerConfig(port=0))
    server.mount("/metrics", metrics.handler(store.stats.stats), ("GET", "HEAD"))
    async with server:
        empty = await scrape(server.base_url)
        assert empty.get("koreapage_feeds") == 0
        await store.feeds.add("https://news.example/feed.xml", "News")
        assert (await scrape(server.base_url)).get("koreapage_feeds", {"state": "active"}) == 1
        async with aiohttp.ClientSession() as http:
            async with http.head(server.base_url + "/metrics") as resp:
                assert resp.status == 200
            async with http.post(server.base_url + "/metrics") as resp:
                assert resp.status == 405
            # A scraper that asks for OpenMetrics gets it.
            accept = {"Accept": "application/openmetrics-text; version=1.0.0"}
            async with http.get(server.base_url + "/metrics", headers=accept) as resp:
                assert resp.headers["Content-Type"].startswith("application/openmetrics-text")
                assert (await resp.text()).rstrip().endswith("# EOF")


def test_text_commands_are_named_from_a_fixed_set() -> None:
    assert command_name("briefs", "latest 5 usfk") == "briefs latest"
    assert command_name("briefs", 'search "cost sharing"') == "briefs search"
    assert command_name("feeds", "add https://x.example/feed") == "feeds add"
    assert command_name("briefs", "help") == "briefs help"
    # Whatever a user types, the name is one of a few: never the text itself.
    assert command_name("briefs", "frobnicate <@everyone>") == "briefs"
    assert command_name("../etc", "latest") == "other"


async def test_commands_are_counted_by_platform_name_and_outcome() -> None:
    store = MemoryStore()
    metrics = PrometheusMetrics(process=False)
    api = MeteredCommands(CommandService(store, [IssueTag("usfk", "USFK")]), metrics)
    member = Caller("slack", "T1", "C1", "U1")
    await api.execute(member, "briefs", "latest 3")
    await api.execute(member, "briefs", "subscribe")  # not an admin: refused
    await api.execute(member, "briefs", "frobnicate")
    await api.latest(Caller("discord", "G1", "1", "2"), 5)
    page = Samples((await metrics.render(store.stats.stats))[0].decode())
    count = "koreapage_commands_total"
    assert page.get(count, {"platform": "slack", "command": "briefs latest"}) == 1
    assert page.get(count, {"command": "briefs latest", "outcome": "empty"}) == 2
    assert page.get(count, {"command": "briefs subscribe", "outcome": "error"}) == 1
    assert page.get(count, {"platform": "slack", "command": "briefs", "outcome": "usage"}) == 1
    assert page.get(count, {"platform": "discord"}) == 1
