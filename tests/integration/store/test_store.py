"""The store's repositories on SQLite and on the local PostgreSQL (same tests, both backends)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from koreapage_bot.delivery.fanout import recipients
from koreapage_bot.domain import (
    Analysis,
    DeliveryState,
    FeedEntry,
    FeedState,
    KeyIssue,
    SubscriptionState,
)
from koreapage_bot.ports import EntryAlreadyStored, FeedPollUpdate, NewPost, SubscriptionSpec
from koreapage_bot.store.store import Store
from tests.fixtures.stories import COST_SHARING, EXERCISES, GSOMIA, KPOP, Story

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def analysis_for(story: Story, relevance: float | None = None) -> Analysis:
    issues = tuple(
        KeyIssue(i, i.replace("-", " ").title(), 1.0 - n / 10) for n, i in enumerate(story.issues)
    )
    return Analysis(
        relevant=story.alliance,
        relevance=relevance if relevance is not None else (0.9 if story.alliance else 0.05),
        key_issues=issues,
        author=story.author,
        summary=story.paragraphs[0],
        why=("test",),
        text=story.text,
    )


def entry_for(story: Story, published: datetime | None = NOW) -> FeedEntry:
    return FeedEntry(
        key=f"id:{story.slug}",
        url=f"https://alliance.example/{story.slug}",
        title=story.title,
        author=story.author,
        published=published,
        summary=story.paragraphs[0],
        content=story.html,
    )


async def put(store: Store, feed_id: int, story: Story, *, deliver: bool = True, **kw: object):
    feed = await store.feeds.get(feed_id)
    assert feed is not None
    return await store.briefs.store_post(
        feed,
        NewPost(entry_for(story, **kw), analysis_for(story), f"hash-{story.slug}", story.alliance),  # type: ignore[arg-type]
        fan_out=recipients if deliver else None,
        now=NOW,
    )


async def test_feeds_add_is_idempotent_and_found_by_id_url_or_name(store: Store) -> None:
    feed, created = await store.feeds.add("https://a.example/feed", "Alliance Watch", now=NOW)
    again, created_again = await store.feeds.add("https://a.example/feed", "Other", now=NOW)
    assert created and not created_again and again.id == feed.id
    assert (await store.feeds.find(str(feed.id))) == feed
    assert (await store.feeds.find("https://a.example/feed")) == feed
    assert (await store.feeds.find("alliance watch")) == feed
    assert await store.feeds.find("nope") is None


async def test_a_claim_leases_feeds_so_a_second_process_cannot_take_them(store: Store) -> None:
    due, _ = await store.feeds.add("https://a.example/1", "one", now=NOW)
    later, _ = await store.feeds.add("https://a.example/2", "two", now=NOW + timedelta(hours=1))
    seen = await store.feeds.due(NOW, 10)
    assert [f.id for f in seen] == [due.id]
    claimed = await store.feeds.claim(seen, NOW, timedelta(minutes=10))
    assert [f.id for f in claimed] == [due.id]
    assert await store.feeds.due(NOW, 10) == []
    # A second process that read the feed before the claim loses the race.
    assert await store.feeds.claim(seen, NOW, timedelta(minutes=10)) == []
    # Its lease over (10 minutes), it is due again, ahead of the feed due in an hour.
    ids = [f.id for f in await store.feeds.due(NOW + timedelta(hours=1), 10)]
    assert ids == [due.id, later.id]
    # The lease is moved only by whoever holds it.
    held = NOW + timedelta(minutes=10)
    assert not await store.feeds.move_claim(due.id, NOW, NOW + timedelta(hours=2))
    assert await store.feeds.move_claim(due.id, held, NOW)
    assert [f.id for f in await store.feeds.due(NOW, 10)] == [due.id]


async def test_poll_update_stores_validators_verbatim_and_follows_a_permanent_redirect(
    store: Store,
) -> None:
    feed, _ = await store.feeds.add("https://old.example/feed", "moved", now=NOW)
    change = FeedPollUpdate(
        next_poll_at=NOW + timedelta(minutes=30),
        state=FeedState.ACTIVE,
        consecutive_failures=0,
        last_error=None,
        etag='W/"abc-123"',
        last_modified="Mon, 02 Mar 2026 07:00:00 GMT",
        content_hash="f" * 64,
        new_url="https://new.example/feed",
        title="Moved feed",
        baselined=True,
    )
    await store.feeds.apply_poll(feed.id, change, NOW)
    got = await store.feeds.get(feed.id)
    assert got is not None
    assert got.url == "https://new.example/feed"
    assert got.etag == 'W/"abc-123"' and got.last_modified == "Mon, 02 Mar 2026 07:00:00 GMT"
    assert got.next_poll_at == NOW + timedelta(minutes=30) and got.last_polled_at == NOW
    assert got.baselined and got.title == "Moved feed"


async def test_redirect_onto_a_url_we_already_follow_keeps_the_old_row(store: Store) -> None:
    a, _ = await store.feeds.add("https://a.example/feed", "a", now=NOW)
    await store.feeds.add("https://b.example/feed", "b", now=NOW)
    change = FeedPollUpdate(
        next_poll_at=NOW,
        state=FeedState.ACTIVE,
        consecutive_failures=0,
        last_error=None,
        etag=None,
        last_modified=None,
        content_hash=None,
        new_url="https://b.example/feed",
    )
    await store.feeds.apply_poll(a.id, change, NOW)
    got = await store.feeds.get(a.id)
    assert got is not None and got.url == "https://a.example/feed"
    assert got.last_error and "already" in got.last_error


async def test_disabled_feed_is_not_claimed_and_re_adding_revives_it(store: Store) -> None:
    feed, _ = await store.feeds.add("https://a.example/feed", "a", now=NOW)
    await store.feeds.disable(feed.id, "gone")
    assert await store.feeds.due(NOW + timedelta(days=1), 10) == []
    assert await store.feeds.claim([feed], NOW, timedelta(0)) == []
    revived, created = await store.feeds.add("https://a.example/feed", "a", now=NOW)
    assert created and revived.state is FeedState.ACTIVE and revived.last_error is None


async def test_a_relevant_post_writes_brief_issues_and_matching_deliveries_at_once(
    store: Store,
) -> None:
    feed, _ = await store.feeds.add("https://a.example/feed", "Alliance Watch", now=NOW)
    gsomia_sub, _ = await store.subscriptions.upsert(
        SubscriptionSpec("slack", "C-GSOMIA", issues=("gsomia",)), NOW
    )
    all_sub, _ = await store.subscriptions.upsert(SubscriptionSpec("discord", "123"), NOW)
    picky, _ = await store.subscriptions.upsert(
        SubscriptionSpec("discord", "456", min_relevance=0.95), NOW
    )
    stored = await put(store, feed.id, COST_SHARING)
    assert stored.brief is not None and stored.deliveries == 1  # only the catch-all channel
    assert [t.id for t in stored.brief.key_issues] == ["cost-sharing", "usfk"]
    stored2 = await put(store, feed.id, GSOMIA)
    assert stored2.deliveries == 2
    rows = await store.outbox.all()
    assert {(d.subscription_id, d.brief_id) for d in rows} == {
        (all_sub.id, stored.brief.id),
        (all_sub.id, stored2.brief.id),  # type: ignore[union-attr]
        (gsomia_sub.id, stored2.brief.id),  # type: ignore[union-attr]
    }
    assert all(d.state is DeliveryState.PENDING for d in rows)
    assert picky.id not in {d.subscription_id for d in rows}


async def test_irrelevant_posts_are_kept_but_get_no_brief(store: Store) -> None:
    feed, _ = await store.feeds.add("https://a.example/feed", "a", now=NOW)
    await store.subscriptions.upsert(SubscriptionSpec("discord", "1"), NOW)
    stored = await put(store, feed.id, KPOP)
    assert stored.brief is None and stored.deliveries == 0
    assert await store.briefs.known_entries(feed.id, ["id:idol-begins-military-service"])


async def test_baseline_posts_are_archived_without_deliveries(store: Store) -> None:
    feed, _ = await store.feeds.add("https://a.example/feed", "a", now=NOW)
    await store.subscriptions.upsert(SubscriptionSpec("discord", "1"), NOW)
    stored = await put(store, feed.id, COST_SHARING, deliver=False)
    assert stored.brief is not None and stored.deliveries == 0
    assert await store.outbox.all() == []
    assert [b.id for b in await store.briefs.search("cost sharing")] == [stored.brief.id]


async def test_same_entry_key_cannot_be_stored_twice(store: Store) -> None:
    feed, _ = await store.feeds.add("https://a.example/feed", "a", now=NOW)
    await put(store, feed.id, COST_SHARING)
    with pytest.raises(EntryAlreadyStored):
        await put(store, feed.id, COST_SHARING)
    assert await store.briefs.count() == 1  # the failed transaction left nothing behind


async def test_search_ranks_title_matches_first_and_handles_user_syntax(store: Store) -> None:
    feed, _ = await store.feeds.add("https://a.example/feed", "Alliance Watch", now=NOW)
    cost = (await put(store, feed.id, COST_SHARING)).brief
    gsomia = (await put(store, feed.id, GSOMIA)).brief
    drills = (await put(store, feed.id, EXERCISES)).brief
    assert cost and gsomia and drills
    found = await store.briefs.search("GSOMIA")
    assert found[0].id == gsomia.id
    assert (await store.briefs.search('"cost sharing"'))[0].id == cost.id
    # "Seoul" is in every story; the title word decides the order.
    assert (await store.briefs.search("exercises Seoul"))[0].id == drills.id
    # all words first; when nothing has all of them, any word.
    assert [b.id for b in await store.briefs.search("gsomia zzzunknownword")] == [gsomia.id]
    assert await store.briefs.search('"unbalanced quote AND (') is not None
    assert gsomia.id in [b.id for b in await store.briefs.search("Seoul’s GSOMIA")]
    assert await store.briefs.search("   ") == []
    assert await store.briefs.search("nothingmatcheshere") == []
    assert cost.id not in [b.id for b in await store.briefs.search("alliance -sharing")]


async def test_latest_orders_by_published_and_filters_by_issue(store: Store) -> None:
    feed, _ = await store.feeds.add("https://a.example/feed", "a", now=NOW)
    old = (await put(store, feed.id, GSOMIA, published=NOW - timedelta(days=2))).brief
    new = (await put(store, feed.id, COST_SHARING, published=NOW - timedelta(hours=1))).brief
    assert old and new
    assert [b.id for b in await store.briefs.latest(5)] == [new.id, old.id]
    assert [b.id for b in await store.briefs.latest(5, issue="gsomia")] == [old.id]
    assert await store.briefs.latest(5, issue="opcon") == []
    assert [b.id for b in await store.briefs.latest(1)] == [new.id]


async def test_subscription_upsert_updates_filters_and_resumes(store: Store) -> None:
    sub, created = await store.subscriptions.upsert(
        SubscriptionSpec("discord", "42", workspace="g1", issues=("usfk",), created_by="u1"), NOW
    )
    assert created and sub.issues == ("usfk",) and sub.created_by == "u1"
    await store.subscriptions.pause(sub.id, "403 Missing Permissions")
    paused = await store.subscriptions.get(sub.id)
    assert paused and paused.state is SubscriptionState.PAUSED
    assert paused.paused_reason == "403 Missing Permissions"
    again, created = await store.subscriptions.upsert(
        SubscriptionSpec("discord", "42", workspace="g1", issues=("gsomia", "opcon")), NOW
    )
    assert not created and again.id == sub.id
    assert again.issues == ("gsomia", "opcon") and again.state is SubscriptionState.ACTIVE
    assert again.created_by == "u1"  # who created it does not change
    assert len(await store.subscriptions.all()) == 1
    assert await store.subscriptions.remove(sub.id)
    assert await store.subscriptions.all() == []


async def test_meta_upserts(store: Store) -> None:
    assert await store.get_meta("commands-hash") is None
    await store.set_meta("commands-hash", "a")
    await store.set_meta("commands-hash", "b")
    assert await store.get_meta("commands-hash") == "b"


async def test_removing_a_feed_row_cascades_to_its_posts_and_briefs(sql_store: Store) -> None:
    store = sql_store  # the schema's cascades
    feed, _ = await store.feeds.add("https://a.example/feed", "a", now=NOW)
    await put(store, feed.id, COST_SHARING)
    assert await store.feeds.delete(feed.id)
    assert await store.briefs.count() == 0
    assert await store.briefs.search("cost") == []


async def test_naive_datetimes_are_refused() -> None:
    from koreapage_bot.store.tables import UtcDateTime

    with pytest.raises(ValueError, match="naive"):
        UtcDateTime().process_bind_param(datetime(2026, 1, 1), dialect=None)  # type: ignore[arg-type]


async def test_a_paused_channel_keeps_its_queue_and_skips_a_stale_backlog_on_resume(
    store: Store,
) -> None:
    feed, _ = await store.feeds.add("https://a.example/feed", "a", now=NOW)
    sub, _ = await store.subscriptions.upsert(SubscriptionSpec("discord", "1"), NOW)
    await store.subscriptions.pause(sub.id, "403 Missing Permissions")
    old = await put(store, feed.id, GSOMIA)  # queued at NOW, while paused
    assert old.deliveries == 1
    assert await store.outbox.due_ids(NOW + timedelta(days=5), 10, ["discord"]) == []
    later = NOW + timedelta(days=3)
    recent = await store.briefs.store_post(
        (await store.feeds.get(feed.id)),  # type: ignore[arg-type]
        NewPost(entry_for(COST_SHARING), analysis_for(COST_SHARING), "h2", True),
        fan_out=recipients,
        now=later,
    )
    assert await store.subscriptions.resume(sub.id, now=later + timedelta(hours=1))
    states = {d.brief_id: d.state for d in await store.outbox.all()}
    assert states[old.brief.id] is DeliveryState.SKIPPED  # type: ignore[union-attr]
    assert states[recent.brief.id] is DeliveryState.PENDING  # type: ignore[union-attr]
    due = await store.outbox.load(
        await store.outbox.due_ids(later + timedelta(hours=1), 10, ["discord"])
    )
    assert [c.delivery.brief_id for c in due] == [recent.brief.id]  # type: ignore[union-attr]


async def test_store_post_keeps_only_a_well_formed_link(store: Store) -> None:
    feed, _ = await store.feeds.add("https://a.example/feed", "Alliance Watch", now=NOW)
    for n, (raw, kept) in enumerate(
        [
            ("https://alliance.example/cost sharing", "https://alliance.example/cost%20sharing"),
            ("javascript:alert(1)", None),
        ]
    ):
        entry = replace(entry_for(COST_SHARING), key=f"id:link-{n}", url=raw)
        stored = await store.briefs.store_post(
            feed, NewPost(entry, analysis_for(COST_SHARING), f"h{n}", True), now=NOW
        )
        assert stored.brief is not None and stored.brief.url == kept
        again = await store.briefs.get(stored.brief.id)
        assert again is not None and again.url == kept


async def test_a_brief_keeps_the_post_s_language(store: Store) -> None:
    from dataclasses import replace

    feed, _ = await store.feeds.add("https://a.example/ko", "Seoul Desk", now=NOW)
    analysis = replace(analysis_for(COST_SHARING), language="ko")
    stored = await store.briefs.store_post(
        feed,
        NewPost(entry_for(COST_SHARING), analysis, "hash-ko", True),
        now=NOW,
    )
    assert stored.brief is not None and stored.brief.language == "ko"
    again = await store.briefs.get(stored.brief.id)
    assert again is not None and again.language == "ko"
    assert again.to_json()["language"] == "ko"
