"""What operators see, with the whole bot running as `koreapage-bot run` runs it (run_bot)
against a local feed server, the fake Discord and the fake Slack:

- `/metrics` after an end-to-end run shows the polls, posts, briefs, deliveries and commands
  that run produced, and what the database holds;
- notices in an admin channel on each platform: a feed that breaks, a channel paused by a 403
  (Discord) and by channel_not_found (Slack), a delivery that goes dead on each platform:
  one notice each, escaped for the platform, and not again the same day, even after a
  restart."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console

from koreapage_bot.bootstrap import Bot, open_bot, run_bot
from koreapage_bot.config import load_settings
from koreapage_bot.delivery.fanout import recipients
from koreapage_bot.domain import DeliveryState, FeedState, SubscriptionState
from koreapage_bot.ports import SubscriptionSpec
from tests.contract.discord_spec import validate_all
from tests.contract.slack_spec import assert_valid_post_message
from tests.e2e.test_both_platforms import (
    NEW,
    OLD,
    SECRET,
    SLACK_ADMIN,
    SLACK_CHANNEL,
    discord_command,
    slack_command,
    wait_until,
)
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.feed_server import FeedServer, StatusRoute
from tests.fakes.slack_server import FakeSlack
from tests.scrape import scrape


def bot_env(tmp_path: Path, discord: FakeDiscord, slack: FakeSlack) -> dict[str, str]:
    return {
        "KOREAPAGE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        "KOREAPAGE_HTTP_HOST": "127.0.0.1",
        "KOREAPAGE_HTTP_PORT": "0",
        "DISCORD_TOKEN": "fake-token",
        "DISCORD_API_BASE": discord.api_base,
        "DISCORD_GATEWAY_URL": discord.gateway_url,
        "DISCORD_GUILD_ID": str(discord.guild_id),
        "DISCORD_GUILD_READY_TIMEOUT": "0.05",
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack.api_url,
    }


@asynccontextmanager
async def running(config: Path, env: dict[str, str]) -> AsyncIterator[Bot]:
    """The bot running (run_bot) until the block ends; then stopped cleanly."""
    settings = load_settings(config, env)
    async with open_bot(settings, console=Console(file=io.StringIO())) as bot:
        stop = asyncio.Event()
        task = asyncio.create_task(run_bot(bot, stop))
        try:
            await wait_until(lambda: _started(bot, task))
            yield bot
        finally:
            stop.set()
            await asyncio.wait_for(task, timeout=30)


async def _started(bot: Bot, task: asyncio.Task[None]) -> bool:
    if task.done():
        task.result()
    return bot.http is not None and bot.http._port is not None


def check(predicate: Callable[[], Awaitable[bool] | bool]) -> Callable[[], Awaitable[bool]]:
    async def ask() -> bool:
        answer = predicate()
        return bool(await answer) if isinstance(answer, Awaitable) else bool(answer)

    return ask


# -- metrics ------------------------------------------------------------------------------------


async def test_metrics_after_an_end_to_end_run_show_what_the_run_did(tmp_path: Path) -> None:
    async with FeedServer() as feeds, FakeDiscord() as discord, FakeSlack() as slack:
        slack.add_channel(SLACK_CHANNEL, "alliance")
        slack.add_user(SLACK_ADMIN, "admin", admin=True)
        route = feeds.feed("/alliance.xml", [OLD])
        config = tmp_path / "koreapage.toml"
        config.write_text(
            "[poll]\ntick = 3600\n[analysis]\nfetch_full_text = false\n"
            f'[[feeds]]\nname = "Alliance Watch"\nurl = "{feeds.url("/alliance.xml")}"\n',
            encoding="utf-8",
        )
        async with running(config, bot_env(tmp_path, discord, slack)) as bot:
            assert bot.http is not None
            base = bot.http.base_url

            async def polls(n: int) -> bool:
                return (await scrape(base)).get("koreapage_polls_total") >= n

            await wait_until(lambda: polls(1))  # the first tick archived the feed
            assert "Subscribed" in await discord_command(discord, "subscribe")
            assert "Subscribed" in json.dumps(await slack_command(bot, slack, "subscribe"))

            async def poll_now() -> None:
                [feed] = await bot.store.feeds.all()
                await bot.store.feeds.set_next_poll(feed.id, datetime.now(UTC) - timedelta(1))
                bot.scheduler.wake_polls()

            route.set_items([NEW, OLD])
            await poll_now()
            channel = discord.channel_ids[0]
            await wait_until(check(lambda: bool(discord.messages.get(channel) and slack.posts())))
            await poll_now()  # nothing new since: a conditional GET answered 304
            await wait_until(lambda: polls(3))
            await discord_command(discord, "search", query="cost sharing")
            await slack_command(bot, slack, 'search "cost sharing"')
            page = await scrape(base)

    polls_total = "koreapage_polls_total"
    assert page.get(polls_total, {"outcome": "changed", "status": "200"}) == 2
    assert page.get(polls_total, {"outcome": "not_modified", "status": "304"}) == 1
    assert page.get(polls_total) == 3
    assert page.get("koreapage_fetch_seconds_count") == 3
    # The archived post and the new one; one brief (the new alliance post), analysed twice.
    assert page.get("koreapage_new_posts_total", {"brief": "false"}) == 1
    assert page.get("koreapage_new_posts_total", {"brief": "true"}) == 1
    assert page.get("koreapage_briefs_total") == 1
    assert page.get("koreapage_analysis_seconds_count") == 2
    # One delivery per platform, sent at the first attempt; none waiting.
    for platform in ("discord", "slack"):
        sent = {"platform": platform, "result": "sent"}
        assert page.get("koreapage_delivery_attempts_total", sent) == 1
        assert page.get("koreapage_delivery_attempts_total", {"platform": platform}) == 1
        state = {"platform": platform, "state": "sent"}
        assert page.get("koreapage_deliveries", state) == 1
        assert page.get("koreapage_deliveries", {"platform": platform}) == 1
        assert page.get("koreapage_outbox_depth", {"platform": platform}) == 0
        assert page.get("koreapage_outbox_oldest_due_seconds", {"platform": platform}) == 0
        # subscribe and search, on each platform.
        commands = "koreapage_commands_total"
        done = {"platform": platform, "command": "briefs subscribe", "outcome": "done"}
        assert page.get(commands, done) == 1
        found = {"platform": platform, "command": "briefs search", "outcome": "briefs"}
        assert page.get(commands, found) == 1
    assert page.get("koreapage_feeds", {"state": "active"}) == 1
    assert page.get("koreapage_rate_limited_total") == 0


# -- notices ------------------------------------------------------------------------------------

D_ADMIN, D_GONE, D_BAD = 710000000000000009, 710000000000000008, 710000000000000007
S_ADMIN, S_GONE, S_BAD = "C0OPS", "C0GONE", "C0BAD"
HOSTILE_NAME = "Down *Daily* @everyone <!channel> [x](https://evil.example)"


async def test_notices_tell_each_cause_once_on_both_platforms_even_after_a_restart(
    tmp_path: Path,
) -> None:
    async with FeedServer() as feeds, FakeDiscord() as discord, FakeSlack() as slack:
        for channel in (S_ADMIN, S_BAD):
            slack.add_channel(channel)  # S_GONE does not exist: channel_not_found
        discord.channel_errors[D_GONE] = (403, 50013, "Missing Permissions")
        feeds.feed("/alliance.xml", [NEW])  # archived at the first poll: a brief to send
        feeds.route("/down.xml", StatusRoute(500))
        config = tmp_path / "koreapage.toml"
        config.write_text(
            "[poll]\ntick = 3600\nbroken_after = 1\n[analysis]\nfetch_full_text = false\n"
            f'[notices]\ndiscord_channel = "{D_ADMIN}"\nslack_channel = "{S_ADMIN}"\n'
            f'[[feeds]]\nname = "Alliance Watch"\nurl = "{feeds.url("/alliance.xml")}"\n'
            f'[[feeds]]\nname = "{HOSTILE_NAME}"\nurl = "{feeds.url("/down.xml")}"\n',
            encoding="utf-8",
        )
        env = bot_env(tmp_path, discord, slack)

        def told() -> tuple[int, int]:
            return len(discord.messages.get(D_ADMIN, [])), len(slack.messages_in(S_ADMIN))

        async def told_at_least(n: int) -> bool:
            return min(told()) >= n

        async with running(config, env) as bot:
            store = bot.store
            # 1. A feed breaks at its first poll (broken_after = 1).
            await wait_until(lambda: told_at_least(1))
            [brief] = await store.briefs.latest(1)

            async def deliver_to(*channels: tuple[str, str]) -> list[int]:
                ids = []
                for platform, channel in channels:
                    spec = SubscriptionSpec(platform, channel, workspace=None)
                    sub, _ = await store.subscriptions.upsert(spec)
                    ids.append(sub.id)
                await store.outbox.enqueue([brief], recipients)
                bot.dispatcher.wake()
                return ids

            # 2. Two channels the bot cannot post to: both paused, each told.
            gone = await deliver_to(("discord", str(D_GONE)), ("slack", S_GONE))
            await wait_until(lambda: told_at_least(3))
            for sub_id in gone:
                sub = await store.subscriptions.get(sub_id)
                assert sub is not None and sub.state is SubscriptionState.PAUSED
            # 3. A post each platform refuses for good: dead at once, each told.
            messages = "/channels/{channel_id}/messages"
            discord.fail_next("POST", messages, status=400, code=50035, message="Invalid Form")
            slack.force_error("chat.postMessage", "invalid_blocks")
            await deliver_to(("discord", str(D_BAD)), ("slack", S_BAD))
            await wait_until(lambda: told_at_least(5))
            await bot.notifier.flush()
            assert told() == (5, 5)
            assert len(await store.outbox.all(DeliveryState.DEAD)) == 2

        discord_notices = [m["content"] for m in discord.messages[D_ADMIN]]
        slack_notices = slack.messages_in(S_ADMIN)
        # One notice per cause, the same on both platforms.
        for notices in (discord_notices, [m["text"] for m in slack_notices]):
            for words, times in (("feed is broken", 1), ("is paused", 2), ("is dead", 2)):
                assert sum(words in text for text in notices) == times, (words, notices)
        broken_discord = next(t for t in discord_notices if "feed is broken" in t)
        assert "HTTP 500" in broken_discord
        # Feed text is escaped for each platform: no mention, no markdown, no masked link.
        assert "@everyone" not in broken_discord and "@\u200beveryone" in broken_discord
        assert "\\*Daily\\*" in broken_discord and "\\[x\\]" in broken_discord
        assert "https\\://evil.example" in broken_discord
        broken_slack = json.dumps(
            next(m for m in slack_notices if "feed is broken" in m["text"]), ensure_ascii=False
        )
        assert "<!channel>" not in broken_slack and "&lt;!channel&gt;" in broken_slack
        assert "@\u200beveryone" in broken_slack
        reasons = " ".join(discord_notices).replace("\\", "")  # as Discord shows them
        assert "50013" in reasons and "channel_not_found" in reasons
        assert "invalid_blocks" in reasons and "Invalid Form" in reasons
        for post in slack.posts():
            assert_valid_post_message(post.params)
        validate_all(discord.requests, skip_if_absent=False)

        # The next start, the same day: every cause happens again, none is told again.
        feeds.feed("/down.xml", [OLD])  # the broken feed recovers...
        async with running(config, env) as bot:
            store = bot.store
            down = next(f for f in await store.feeds.all() if "down" in f.url)

            async def poll_down(state: FeedState) -> None:
                await store.feeds.set_next_poll(down.id, datetime.now(UTC) - timedelta(1))
                bot.scheduler.wake_polls()
                got = check(lambda: _feed_state(bot, down.id, state))
                await wait_until(got)

            await poll_down(FeedState.ACTIVE)
            feeds.route("/down.xml", StatusRoute(500))  # ...and breaks again
            await poll_down(FeedState.BROKEN)
            for sub_id in gone:  # resumed, and paused again at the first post
                await store.subscriptions.resume(sub_id)
            bot.dispatcher.wake()

            async def paused_again() -> bool:
                subs = [await store.subscriptions.get(i) for i in gone]
                return all(s is not None and s.state is SubscriptionState.PAUSED for s in subs)

            await wait_until(paused_again)
            discord.fail_next("POST", messages, status=400, code=50035, message="Invalid Form")
            slack.force_error("chat.postMessage", "invalid_blocks")
            for dead in await store.outbox.all(DeliveryState.DEAD):
                await store.outbox.retry(dead.id)
            bot.dispatcher.wake()

            async def dead_again() -> bool:
                dead = await store.outbox.all(DeliveryState.DEAD)
                return len(dead) == 2 and await _no_pending_send(bot)

            await wait_until(dead_again)
            await bot.notifier.flush()
            page = await scrape(bot.http.base_url)  # type: ignore[union-attr]
        assert told() == (5, 5)
        for platform in ("discord", "slack"):
            notices = "koreapage_notices_total"
            repeats = page.get(notices, {"platform": platform, "result": "repeat"})
            assert repeats == 5, (platform, repeats)  # the feed, two pauses, two deaths
            assert page.get(notices, {"platform": platform, "result": "sent"}) == 0


async def _feed_state(bot: Bot, feed_id: int, state: FeedState) -> bool:
    feed = await bot.store.feeds.get(feed_id)
    return feed is not None and feed.state is state and feed.last_polled_at is not None


async def _no_pending_send(bot: Bot) -> bool:
    rows = await bot.store.outbox.all()
    return not any(r.state is DeliveryState.SENDING for r in rows)
