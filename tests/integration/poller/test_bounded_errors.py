"""Errors are bounded and clean wherever they are stored or shown: a page listing thousands of
feed links polled as a feed, huge platform errors on deliveries and subscriptions, and rows
written (unbounded) before the bound existed."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import update

from koreapage_bot.adapters.discord.render import render_reply
from koreapage_bot.adapters.slack.render import reply_message
from koreapage_bot.commands.replies import Caller
from koreapage_bot.error_text import ERROR_MAX, bounded_error
from koreapage_bot.ports import SubscriptionSpec
from koreapage_bot.store import tables as t
from tests.fakes.feed_server import FeedServer, HtmlRoute
from tests.integration.poller.test_poller import bot_for, poll_all

CALLER = Caller("slack", "T1", "C0ALLIANCE", "U1")
# Terminal escapes, a bidi override and NULs, as a broken server might send them; and a lone
# surrogate (undecodable bytes read with surrogateescape), which no database can store.
NOISE = "\x1b[2J\x00\u202eevil\r\n\t"
SURROGATE = "\udcff"


def clean(text: str | None) -> bool:
    return text is not None and all(ch == " " or unicodedata.category(ch)[0] != "C" for ch in text)


async def test_a_poll_error_listing_thousands_of_links_is_stored_short(tmp_path: Path) -> None:
    links = [
        (f"https://feeds.example/{n:05d}/feed.xml?x={'a' * 400}", "application/rss+xml")
        for n in range(3000)
    ]
    async with FeedServer() as server:
        server.route("/page", HtmlRoute(feed_links=links))
        async with bot_for(tmp_path, server.url("/page")) as (bot, _):
            [report] = await poll_all(bot)
            [feed] = await bot.store.feeds.all()
            listing = await bot.commands.feeds_list(CALLER)

    assert report.error is not None and len(report.error) <= ERROR_MAX
    assert feed.last_error is not None and 100 < len(feed.last_error) <= ERROR_MAX
    assert feed.last_error.startswith("not a feed:") and feed.last_error.endswith("…")
    (line,) = listing.feeds
    assert line.last_error == feed.last_error
    discord = render_reply(listing).content
    assert discord is not None and len(discord) < 1000
    assert len(str(reply_message(listing)["blocks"])) < 1500


async def test_stored_and_displayed_errors_are_bounded_and_clean(tmp_path: Path) -> None:
    old = ("HTTP 500: " + NOISE + "x" * 100) * 8000  # ~900,000 characters
    huge = old + SURROGATE
    now = datetime.now(UTC)
    async with bot_for(tmp_path) as (bot, _):
        store = bot.store
        feed, _ = await store.feeds.add("https://feeds.example/a.xml", "A", now=now)
        sub, _ = await store.subscriptions.upsert(
            SubscriptionSpec(platform="slack", channel="C0ALLIANCE")
        )
        pause = await store.subscriptions.pause(sub.id, huge)
        assert pause
        await store.feeds.disable(feed.id, huge)
        stored_feed = await store.feeds.get(feed.id)
        stored_sub = await store.subscriptions.get(sub.id)

        digest = await store.outbox.add_digest(sub.id, [], now, now)
        assert digest is None  # no briefs: nothing queued; queue one row by hand below
        async with store.engine.begin() as conn:
            result = await conn.execute(
                t.deliveries.insert().values(
                    subscription_id=sub.id,
                    brief_id=None,
                    kind="digest",
                    payload={"briefs": [], "title": "x"},
                    state="pending",
                    attempts=0,
                    rate_limited=0,
                    next_attempt_at=now,
                    created_at=now,
                    updated_at=now,
                )
            )
            delivery_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        errors: list[str | None] = []
        for write in (
            lambda: store.outbox.reschedule(delivery_id, now, huge, rate_limited=False),
            lambda: store.outbox.release(delivery_id, now, huge),
            lambda: store.outbox.mark_dead(delivery_id, huge, now),
        ):
            await write()
            row = await store.outbox.get(delivery_id)
            assert row is not None
            errors.append(row.last_error)

        # A row written before errors were bounded is read back bounded.
        async with store.engine.begin() as conn:
            await conn.execute(
                update(t.feeds).where(t.feeds.c.id == feed.id).values(last_error=old)
            )
            await conn.execute(
                update(t.deliveries).where(t.deliveries.c.id == delivery_id).values(last_error=old)
            )
        old_feed = await store.feeds.get(feed.id)
        old_delivery = await store.outbox.get(delivery_id)
        listed = await bot.commands.subscriptions(CALLER)

    texts = [
        stored_feed and stored_feed.last_error,
        stored_sub and stored_sub.paused_reason,
        *errors,
        old_feed and old_feed.last_error,
        old_delivery and old_delivery.last_error,
        listed.subscriptions[0].paused_reason,
    ]
    for text in texts:
        assert text is not None and len(text) <= ERROR_MAX, (text or "")[:80]
        assert clean(text), repr(text[:80])
        assert text.startswith("HTTP 500:") and text.endswith("…")
    assert len(listed.text) <= 2 * ERROR_MAX


def test_bounded_error_reads_anything() -> None:
    assert bounded_error(None) is None
    assert bounded_error("  \x00\n ") is None
    assert bounded_error(b"HTTP 502 \xff\xfe\x00<html>") == "HTTP 502 \ufffd\ufffd <html>"
    assert bounded_error(ValueError("bad\nthing")) == "ValueError: bad thing"
    assert bounded_error("short") == "short"
    cut = bounded_error("word " * 1000, limit=20)
    assert cut is not None and len(cut) <= 20 and cut.endswith("…")
    assert bounded_error("a" * 10_000_000) == "a" * (ERROR_MAX - 1) + "…"
    assert bounded_error(timedelta(seconds=1)) == "0:00:01"
