"""Malformed entry links, end to end: a served feed whose entry links carry a space, a `)` or
a `javascript:` scheme, the whole bot (poller, store, dispatcher, real discord.py) and the fake
Discord, which refuses a malformed embed URL with 400 as Discord does.

Every brief still reaches the channel (with a well-formed link, or without one), no delivery
dies, and `/briefs latest` and `/briefs search` answer with the briefs, also for briefs stored
with a bad link before links were checked at ingest."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from sqlalchemy import update

from koreapage_bot.adapters.discord.client import DiscordAdapter
from koreapage_bot.bootstrap import open_bot, run_once
from koreapage_bot.domain import DeliveryState
from koreapage_bot.ports import SubscriptionSpec
from koreapage_bot.store import tables as t
from tests.contract.discord_spec import validate_all
from tests.e2e.hostile import ask, deliver_all, settings_for
from tests.e2e.support import OLD, new_alliance_item
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.feed_server import FeedServer, Item

MESSAGES = "/channels/{channel_id}/messages"


def _item(n: int, link: str) -> Item:
    base = new_alliance_item()
    return Item(
        f"{base.title} (part {n})",
        link=link,
        guid=f"hostile-link-{n}",
        published=datetime(2026, 5, 2, 9, n, tzinfo=UTC),
        author="Jane Doe",
        description=base.description,
    )


SPACE = _item(1, "https://feeds.example.org/p/cost sharing deal")
PAREN = _item(2, "https://feeds.example.org/p/deal)[x](https://evil.example")
SCRIPT = _item(3, "javascript:alert(document.cookie)")


async def test_malformed_entry_links_never_break_delivery(tmp_path: Path) -> None:
    async with FeedServer() as feeds, FakeDiscord() as fake:
        channel = fake.channel_ids[0]
        route = feeds.feed("/alliance.xml", [OLD])
        settings = settings_for(tmp_path, fake, feeds.url("/alliance.xml"))
        async with open_bot(settings, console=Console(file=io.StringIO())) as bot:
            await bot.store.subscriptions.upsert(
                SubscriptionSpec(platform="discord", channel=str(channel))
            )
            await run_once(bot)  # the baseline
            route.set_items([SPACE, PAREN, SCRIPT, OLD])
            await deliver_all(bot)
            deliveries = await bot.store.outbox.all()
            stored = {b.title: b.url for b in await bot.store.briefs.latest(10)}

        assert [d.state for d in deliveries] == [DeliveryState.SENT] * 3, deliveries
        sent = fake.calls("POST", MESSAGES)
        assert [c.status for c in sent] == [200, 200, 200]
        embeds = {m["embeds"][0]["title"]: m["embeds"][0] for m in fake.messages[channel]}
        assert embeds[SPACE.title]["url"] == "https://feeds.example.org/p/cost%20sharing%20deal"
        assert " " not in embeds[PAREN.title]["url"]
        assert "url" not in embeds[SCRIPT.title]  # no usable link: shown without one
        # Stored as checked links, so every later reader gets them right too.
        assert stored[SPACE.title] == "https://feeds.example.org/p/cost%20sharing%20deal"
        assert stored[SCRIPT.title] is None
        validate_all(fake.requests, skip_if_absent=False)


async def test_briefs_stored_with_bad_links_still_answer_latest_and_search(
    tmp_path: Path,
) -> None:
    async with FeedServer() as feeds, FakeDiscord() as fake:
        route = feeds.feed("/alliance.xml", [OLD])
        settings = settings_for(tmp_path, fake, feeds.url("/alliance.xml"))
        async with open_bot(settings, console=Console(file=io.StringIO())) as bot:
            await run_once(bot)
            route.set_items([SPACE, PAREN, SCRIPT, OLD])
            await deliver_all(bot)
            # Rows written before links were checked at ingest keep whatever the feed said.
            raw = {
                SPACE.title: SPACE.link,
                PAREN.title: PAREN.link,
                SCRIPT.title: SCRIPT.link,
            }
            async with bot.store.engine.begin() as conn:
                for title, link in raw.items():
                    await conn.execute(
                        update(t.briefs).where(t.briefs.c.title == title).values(url=link)
                    )
            (adapter,) = bot.adapters
            assert isinstance(adapter, DiscordAdapter)
            await adapter.start()
            try:
                latest = await ask(fake, name="briefs", subcommand="latest", options={"count": 5})
                search = await ask(
                    fake, name="briefs", subcommand="search", options={"query": "cost sharing"}
                )
                one = await bot.store.briefs.latest(10)
                show_id = next(b.id for b in one if b.title == SPACE.title)
                shown = await ask(
                    fake, name="briefs", subcommand="show", options={"id": str(show_id)}
                )
            finally:
                await adapter.close()

        for answer in (latest, search):
            titles = {e["title"] for e in answer["embeds"]}
            assert {SPACE.title, PAREN.title, SCRIPT.title} <= titles
            for embed in answer["embeds"]:
                assert " " not in embed.get("url", "")
                assert not embed.get("url", "https:").startswith("javascript")
        assert shown["embeds"][0]["url"] == "https://feeds.example.org/p/cost%20sharing%20deal"
        validate_all(fake.requests, skip_if_absent=False)
