"""Stories on Discord and Slack: the real dispatcher, store and publishers against the fake
Discord and the fake Slack. Three outlets report one story: one message per channel, updated
as the later reports come in ("Also reported by"); with every_report, a message per report;
with threads, replies in the story's thread; an update cut short by a killed process is
neither lost nor made twice."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from koreapage_bot.config import DeliveryConfig
from koreapage_bot.delivery.dispatcher import Dispatcher, delivery_key, target_for
from koreapage_bot.delivery.fanout import recipients, row_kind
from koreapage_bot.delivery.holder import Holder
from koreapage_bot.delivery.story import Plan, story_step
from koreapage_bot.domain import Analysis, Brief, DeliveryState, FeedEntry, KeyIssue
from koreapage_bot.ports import (
    NewPost,
    PostedMessage,
    Publisher,
    StoryPublisher,
    SubscriptionSpec,
)
from koreapage_bot.store.store import Store
from tests.contract.discord_spec import validate_all
from tests.contract.slack_spec import assert_valid_post_message
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.slack_server import FakeSlack
from tests.integration.delivery.platforms import discord_adapter, slack_publisher
from tests.integration.delivery.support import T0, Clock, claim_heads, subscribe

CONFIG = DeliveryConfig(publish_timeout_seconds=10.0)
SLACK = "C0ALLIANCE"
OUTLETS = ("Capital Wire", "Harbor Daily", "Seoul Ledger")


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        fake.add_channel(SLACK)
        yield fake


def behind_the_wall_clock() -> Clock:
    """The dispatcher's clock, an hour behind the real one: a row stamped with the real time
    would never be due, so a test that forgets to stamp rows with its clock fails every time
    instead of only when the machine is slow (see `report`). Not for a test that looks
    messages up: the fakes stamp messages with the real time, and a look-up searches the
    dispatcher's time window."""
    return Clock(datetime.now(UTC) - timedelta(hours=1))


async def report(store: Store, clock: Clock, outlet: str, n: int, story: int | None) -> Brief:
    """One outlet's report of the story (stored the way the bot stores it), written at the
    dispatcher's time. Stamped with the real time instead, its rows would be due only while
    the real time lagged the test's frozen clock (a second at most): under load the drain
    after the third report found nothing due and the message was edited once, not twice."""
    slug = outlet.lower().replace(" ", "-")
    feed, _ = await store.feeds.add(f"https://{slug}.example/rss", outlet)
    entry = FeedEntry(
        key=f"{slug}-{n}",
        url=f"https://{slug}.example/news/{n}",
        title=f"{outlet}: allies open a new round of cost-sharing talks",
        author=None,
        published=T0 + timedelta(minutes=20 * n),
        summary="",
        content=None,
    )
    analysis = Analysis(
        relevant=True,
        relevance=0.9,
        key_issues=(KeyIssue("cost-sharing", "Defense cost sharing", 0.9),),
        author=None,
        summary="Seoul and Washington opened a new round of talks on sharing the cost of troops.",
        why=("test",),
        text="Seoul and Washington opened a new round of talks.",
    )
    stored = await store.briefs.store_post(
        feed,
        NewPost(entry, analysis, f"h-{slug}-{n}", relevant=True),
        fan_out=recipients,
        row_kind=row_kind,
        story=story,
        now=clock.now,
    )
    assert stored.brief is not None
    return stored.brief


def dispatcher(store: Store, publishers: dict[str, Publisher], clock: Clock) -> Dispatcher:
    return Dispatcher(store, publishers, CONFIG, clock=clock)


def discord_fields(message: dict[str, Any]) -> dict[str, str]:
    return {f["name"]: f["value"] for f in message["embeds"][0].get("fields", [])}


def slack_text(blocks: Any) -> str:
    return json.dumps(blocks, ensure_ascii=False)


async def test_three_outlets_one_message_per_channel_updated_twice(
    sqlite_store: Store, slack: FakeSlack
) -> None:
    async with FakeDiscord() as fake, discord_adapter(fake) as adapter:
        store, clock = sqlite_store, behind_the_wall_clock()
        cid = fake.channel_ids[0]
        await subscribe(store, str(cid), platform="discord")
        await subscribe(store, SLACK, platform="slack")
        d = dispatcher(
            store, {"discord": adapter.publisher, "slack": slack_publisher(slack)}, clock
        )
        story: int | None = None
        for n, outlet in enumerate(OUTLETS):
            brief = await report(store, clock, outlet, n, story)
            story = brief.story_id
            await d.drain()

        # Discord: one message, made once and edited twice, the footer key kept.
        [message] = fake.channel_messages(cid)
        versions = fake.revisions[(cid, message["id"])]
        assert len(versions) == 3
        assert "Also reported by" not in json.dumps(versions[0])
        assert "Harbor Daily" in json.dumps(versions[1]) and "Seoul Ledger" not in json.dumps(
            versions[1]
        )
        also = discord_fields(message)["Also reported by"]
        assert "[Harbor Daily](https://harbor-daily.example/news/1)" in also
        assert "[Seoul Ledger](https://seoul-ledger.example/news/2)" in also
        assert message["embeds"][0]["title"].startswith("Capital Wire")
        assert message["embeds"][0]["footer"]["text"].endswith(" · kp-1")
        assert len(fake.calls("POST", "/channels/{channel_id}/messages")) == 1
        assert len(fake.calls("PATCH", "/channels/{channel_id}/messages/{message_id}")) == 2
        validate_all(fake.requests, skip_if_absent=False)

        # Slack: one post, updated twice with chat.update, its metadata kept.
        [post] = slack.messages_in(SLACK)
        assert len(slack.revisions[(SLACK, post["ts"])]) == 3
        final = slack_text(post["blocks"])
        assert "Also reported by" in final
        assert "<https://harbor-daily.example/news/1|Harbor Daily>" in final
        assert "<https://seoul-ledger.example/news/2|Seoul Ledger>" in final
        assert post["metadata"]["event_payload"]["delivery_key"] == "kp-2"
        assert len(slack.posts()) == 1
        updates = slack.calls_to("chat.update")
        assert len(updates) == 2 and all(u.ok for u in updates)
        for call in [*slack.posts(), *updates]:
            method = "chat.update" if call.method == "chat.update" else "chat.postMessage"
            params = {k: v for k, v in call.params.items() if k != "ts" or method == "chat.update"}
            assert_valid_post_message(params, method)

        rows = await store.outbox.all()
        assert {r.state for r in rows} == {DeliveryState.SENT}
        assert sorted(r.kind for r in rows) == [
            "brief",
            "brief",
            "story",
            "story",
            "story",
            "story",
        ]


async def test_with_every_report_each_report_is_a_message(
    sqlite_store: Store, slack: FakeSlack
) -> None:
    async with FakeDiscord() as fake, discord_adapter(fake) as adapter:
        store, clock = sqlite_store, behind_the_wall_clock()
        cid = fake.channel_ids[0]
        await store.subscriptions.upsert(
            SubscriptionSpec(platform="discord", channel=str(cid), options={"every_report": True})
        )
        await store.subscriptions.upsert(
            SubscriptionSpec(platform="slack", channel=SLACK, options={"every_report": True})
        )
        d = dispatcher(
            store, {"discord": adapter.publisher, "slack": slack_publisher(slack)}, clock
        )
        story: int | None = None
        for n, outlet in enumerate(OUTLETS):
            brief = await report(store, clock, outlet, n, story)
            story = brief.story_id
            await d.drain()
        assert len(fake.channel_messages(cid)) == 3
        assert len(slack.messages_in(SLACK)) == 3
        assert fake.calls("PATCH", "/channels/{channel_id}/messages/{message_id}") == []
        assert slack.calls_to("chat.update") == []


async def test_with_threads_later_reports_reply_in_the_storys_thread(
    sqlite_store: Store, slack: FakeSlack
) -> None:
    async with FakeDiscord() as fake, discord_adapter(fake) as adapter:
        store, clock = sqlite_store, behind_the_wall_clock()
        cid = fake.channel_ids[0]
        for platform, channel in (("discord", str(cid)), ("slack", SLACK)):
            await store.subscriptions.upsert(
                SubscriptionSpec(
                    platform=platform,
                    channel=channel,
                    workspace=str(fake.guild_id) if platform == "discord" else None,
                    options={"thread": True},
                )
            )
        d = dispatcher(
            store, {"discord": adapter.publisher, "slack": slack_publisher(slack)}, clock
        )
        story: int | None = None
        for n, outlet in enumerate(OUTLETS):
            brief = await report(store, clock, outlet, n, story)
            story = brief.story_id
            await d.drain()
        [message] = fake.channel_messages(cid)
        thread = int(message["id"])  # a thread has the id of the message it starts from
        replies = fake.channel_messages(thread)
        assert [r["embeds"][0]["title"].split(":")[0] for r in replies] == list(OUTLETS[1:])
        [post] = slack.messages_in(SLACK)
        threaded = slack.thread_replies[(SLACK, post["ts"])]
        assert len(threaded) == 2 and all(m["thread_ts"] == post["ts"] for m in threaded)
        assert {r.state for r in await store.outbox.all()} == {DeliveryState.SENT}
        validate_all(fake.requests, skip_if_absent=False)


# -- a process killed between an update and its record --------------------------------------


async def _a_process() -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(sys.executable, "-c", "import time; time.sleep(60)")


async def test_an_update_cut_short_by_kill_9_is_not_made_twice_and_nothing_is_lost(
    sqlite_store: Store, slack: FakeSlack
) -> None:
    """A process claimed the story rows of the second report, made the updates on Discord
    and Slack, and was killed with -9 before recording them. After the restart the rows are
    settled at once (their holder is gone) and sent again: Discord's message already shows
    the update (read first, not edited again); Slack's update is made again and changes
    nothing a reader sees. The third report then updates both as usual."""
    async with FakeDiscord() as fake, discord_adapter(fake) as adapter:
        store, clock = sqlite_store, Clock()
        cid = fake.channel_ids[0]
        await subscribe(store, str(cid), platform="discord")
        await subscribe(store, SLACK, platform="slack")
        publishers: dict[str, Publisher] = {
            "discord": adapter.publisher,
            "slack": slack_publisher(slack),
        }
        first = await report(store, clock, OUTLETS[0], 0, None)
        await dispatcher(store, publishers, clock).drain()
        await report(store, clock, OUTLETS[1], 1, first.story_id)

        process = await _a_process()
        holder = Holder.of_pid(process.pid)
        assert holder is not None
        claims = await claim_heads(store, clock.now, ["discord", "slack"], holder.id)
        assert sorted(c.delivery.kind for c in claims) == ["story", "story"]
        for claimed in claims:  # what the killed process did before dying
            publisher = publishers[claimed.subscription.platform]
            assert isinstance(publisher, StoryPublisher)
            context = await store.outbox.story_context(claimed.delivery.id)
            step = story_step(context, claimed.briefs[0], claimed.subscription, publisher)
            assert step.plan is Plan.EDIT and step.anchor is not None
            assert step.anchor.message_id is not None
            message = PostedMessage(step.anchor.message_id, delivery_key(step.anchor.id))
            await publisher.edit(target_for(claimed), message, step.view)
        process.kill()
        await process.wait()

        [message] = fake.channel_messages(cid)
        [post] = slack.messages_in(SLACK)
        discord_versions = fake.revisions[(cid, message["id"])]
        slack_versions = slack.revisions[(SLACK, post["ts"])]
        assert len(discord_versions) == len(slack_versions) == 2  # made, then updated once

        restarted = dispatcher(store, publishers, clock)
        assert (await restarted.recover()).retried == 2
        await restarted.drain()
        assert {r.state for r in await store.outbox.all()} == {DeliveryState.SENT}
        # Discord: read, found updated, not edited again.
        assert len(fake.revisions[(cid, message["id"])]) == 2
        assert len(fake.calls("PATCH", "/channels/{channel_id}/messages/{message_id}")) == 1
        assert len(fake.calls("GET", "/channels/{channel_id}/messages/{message_id}")) == 1
        # Slack: the same update again: what readers see did not change.
        versions = slack.revisions[(SLACK, post["ts"])]
        assert len(versions) == 3 and versions[2] == versions[1]
        assert slack_text(versions[2]["blocks"]).count("Harbor Daily") == 1

        # Nothing lost: the third report updates both again, each still one message.
        await report(store, clock, OUTLETS[2], 2, first.story_id)
        await restarted.drain()
        assert len(fake.channel_messages(cid)) == 1 and len(slack.messages_in(SLACK)) == 1
        assert "Seoul Ledger" in discord_fields(fake.channel_messages(cid)[0])["Also reported by"]
        assert "Seoul Ledger" in slack_text(slack.messages_in(SLACK)[0]["blocks"])
        assert {r.state for r in await store.outbox.all()} == {DeliveryState.SENT}


async def test_a_thread_reply_whose_answer_was_lost_is_looked_up_in_its_thread(
    sqlite_store: Store, slack: FakeSlack
) -> None:
    """The reply is made but its answer is lost; the retry looks in the story's thread (a
    reply is not in the channel's history) and finds it: one reply, not two."""
    async with FakeDiscord() as fake, discord_adapter(fake) as adapter:
        store, clock = sqlite_store, Clock()
        cid = fake.channel_ids[0]
        for platform, channel in (("discord", str(cid)), ("slack", SLACK)):
            await store.subscriptions.upsert(
                SubscriptionSpec(
                    platform=platform,
                    channel=channel,
                    workspace=str(fake.guild_id) if platform == "discord" else None,
                    options={"thread": True},
                )
            )
        d = dispatcher(
            store, {"discord": adapter.publisher, "slack": slack_publisher(slack)}, clock
        )
        first = await report(store, clock, OUTLETS[0], 0, None)
        await d.drain()
        [message] = fake.channel_messages(cid)
        [post] = slack.messages_in(SLACK)
        await report(store, clock, OUTLETS[1], 1, first.story_id)
        fake.lose_answers("drop", channel=int(message["id"]))
        slack.lose_answers("drop", channel=SLACK)
        await d.drain()
        assert len(fake.channel_messages(int(message["id"]))) == 1  # made, answer lost
        assert len(slack.thread_replies[(SLACK, post["ts"])]) == 1
        assert {r.state for r in await store.outbox.all() if r.kind == "story"} == {
            DeliveryState.PENDING
        }

        fake.expire_nonces()  # past Discord's nonce window: look first
        clock.advance(3600)
        await d.drain()
        assert {r.state for r in await store.outbox.all()} == {DeliveryState.SENT}
        assert len(fake.channel_messages(int(message["id"]))) == 1
        assert len(slack.thread_replies[(SLACK, post["ts"])]) == 1
        assert len(slack.calls_to("conversations.replies")) == 1
        assert fake.calls("GET", "/channels/{channel_id}/messages")[-1].params == {
            "channel_id": message["id"]
        }
