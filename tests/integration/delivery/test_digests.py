"""Daily digests: one outbox row of the briefs since the last digest, sent by the dispatcher."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

from rich.console import Console

from koreapage_bot.adapters.console import ConsolePublisher
from koreapage_bot.config import DeliveryConfig
from koreapage_bot.dates import utcnow
from koreapage_bot.delivery.digests import Digests
from koreapage_bot.delivery.dispatcher import Dispatcher
from koreapage_bot.domain import DeliveryState
from koreapage_bot.store.store import Store
from tests.integration.delivery.support import Clock, FakePlatform, a_brief, a_feed, subscribe


async def test_queue_collects_matching_briefs_since_the_mark_once(sqlite_store: Store) -> None:
    store = sqlite_store
    start = utcnow() - timedelta(hours=2)
    sub = await subscribe(
        store, "ch-digest", issues=["usfk"], per_brief=False, digest_time="08:00", now=start
    )
    feed = await a_feed(store)
    at = [start + timedelta(minutes=m) for m in range(1, 6)]
    first, queued = await a_brief(store, feed, "USFK drawdown rumours", now=at[0])
    assert queued == 0  # digest-only: no per-brief row
    await a_brief(store, feed, "GSOMIA extended", issues=["gsomia"], now=at[1])  # filtered out
    second, _ = await a_brief(
        store, feed, "USFK and cost sharing", issues=["cost-sharing", "usfk"], now=at[2]
    )
    pings: list[None] = []
    digests = Digests(store, on_deliveries=lambda: pings.append(None))

    delivery_id = await digests.queue(sub.id)

    assert delivery_id is not None
    assert len(pings) == 1
    rows = await store.outbox.all()
    assert [(r.id, r.kind, r.brief_id, r.state) for r in rows] == [
        (delivery_id, "digest", None, DeliveryState.PENDING)
    ]
    [queued] = await store.outbox.load([delivery_id])
    assert [b.id for b in queued.briefs] == [first.id, second.id]
    moved = await store.subscriptions.get(sub.id)
    assert moved is not None
    assert moved.last_digest_at == at[2]  # the newest brief collected, not "now"

    assert await digests.queue(sub.id) is None  # nothing new: nothing written
    assert len(await store.outbox.all()) == 1
    assert len(pings) == 1

    third, _ = await a_brief(store, feed, "USFK base relocation", now=at[3])
    again = await digests.queue(sub.id)
    assert again is not None
    [queued] = await store.outbox.load([again])
    assert [b.id for b in queued.briefs] == [third.id]


async def test_dispatcher_sends_a_digest_with_publish_digest(sqlite_store: Store) -> None:
    store = sqlite_store
    start = utcnow() - timedelta(hours=1)
    sub = await subscribe(store, "ch-digest", per_brief=False, digest_time="08:00", now=start)
    feed = await a_feed(store)
    titles = ["Alliance summit", "Tariff talks", "Joint drills"]
    for i, title in enumerate(titles):
        await a_brief(store, feed, title, now=start + timedelta(minutes=i + 1))
    delivery_id = await Digests(store).queue(sub.id)
    assert delivery_id is not None
    platform = FakePlatform()

    stats = await Dispatcher(store, {"fake": platform}, DeliveryConfig(), clock=Clock()).drain()

    assert stats.sent == 1
    [call] = platform.calls
    assert call.digest_title == "Daily digest: 3 new briefs"
    assert [v.title for v in call.views] == titles
    assert call.target.delivery_id == delivery_id
    row = await store.outbox.get(delivery_id)
    assert row is not None
    assert (row.state, row.message_id) == (DeliveryState.SENT, "msg-1")


async def test_console_prints_a_digest(sqlite_store: Store) -> None:
    store = sqlite_store
    start = utcnow() - timedelta(hours=1)
    sub = await subscribe(
        store, "console", platform="console", per_brief=False, digest_time="07:30", now=start
    )
    feed = await a_feed(store)
    for i, title in enumerate(["Alliance summit", "Tariff talks"]):
        await a_brief(store, feed, title, now=start + timedelta(minutes=i + 1))
    await Digests(store).queue(sub.id)
    out = StringIO()
    publisher = ConsolePublisher(Console(file=out, width=100))

    stats = await Dispatcher(store, {"console": publisher}, DeliveryConfig(), clock=Clock()).drain()

    assert stats.sent == 1
    text = out.getvalue()
    assert "Daily digest: 2 new briefs" in text
    assert text.index("Alliance summit") < text.index("Tariff talks")


async def test_a_digest_with_more_briefs_than_fit_says_how_many_were_left_out(
    sqlite_store: Store,
) -> None:
    from koreapage_bot.delivery.digests import DIGEST_MAX_BRIEFS

    store = sqlite_store
    start = utcnow() - timedelta(hours=2)
    sub = await subscribe(store, "ch-busy", per_brief=False, digest_time="08:00", now=start)
    feed = await a_feed(store)
    total = DIGEST_MAX_BRIEFS + 5
    for i in range(total):
        await a_brief(store, feed, f"Alliance note {i}", now=start + timedelta(minutes=i + 1))
    delivery_id = await Digests(store).queue(sub.id)
    assert delivery_id is not None
    [claimed] = await store.outbox.load([delivery_id])
    assert len(claimed.briefs) == DIGEST_MAX_BRIEFS
    assert claimed.briefs[-1].title == f"Alliance note {total - 1}"  # the newest are kept
    assert f"of {total} new briefs" in claimed.payload["title"]
    assert await Digests(store).queue(sub.id) is None  # the mark moved
