"""Stories in the store (memory, SQLite, PostgreSQL): a brief joins a story or starts one, in the
transaction that stores it; later reports of a story a channel has become story rows; the
window and a story's reports read back; a story row's context names the story's message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from koreapage_bot.delivery.fanout import recipients, row_kind
from koreapage_bot.domain import Analysis, DeliveryState, FeedEntry, KeyIssue
from koreapage_bot.ports import NewPost, StoredPost, SubscriptionSpec

NOW = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


def post(key: str, title: str, *, issues: tuple[str, ...] = ("usfk",)) -> NewPost:
    entry = FeedEntry(
        key=key,
        url=f"https://news.example/{key}",
        title=title,
        author=None,
        published=NOW - timedelta(hours=1),
        summary="",
        content=None,
    )
    analysis = Analysis(
        relevant=True,
        relevance=0.8,
        key_issues=tuple(KeyIssue(i, i.upper(), 0.9) for i in issues),
        author=None,
        summary=f"{title}, in a sentence.",
        why=("test",),
        text=f"{title}. The body of the report, which the matcher reads the start of.",
    )
    return NewPost(entry, analysis, f"h-{key}", relevant=True)


async def store_one(
    store: Any, feed_name: str, key: str, *, story: int | None = None, **kw: Any
) -> StoredPost:
    feed, _ = await store.feeds.add(f"https://{feed_name}.example/rss", feed_name)
    return await store.briefs.store_post(  # type: ignore[no-any-return]
        feed,
        post(key, f"Report {key}", **kw),
        fan_out=recipients,
        row_kind=row_kind,
        story=story,
        now=NOW,
    )


async def subscribe(store: Any, channel: str, **options: object) -> int:
    sub, _ = await store.subscriptions.upsert(
        SubscriptionSpec(platform="fake", channel=channel, options=dict(options) or None)
    )
    return int(sub.id)


async def test_a_brief_starts_a_story_and_a_later_one_joins_it(store: Any) -> None:
    first = await store_one(store, "herald", "a")
    assert first.brief is not None and first.brief.story_id is not None
    second = await store_one(store, "yonhap", "b", story=first.brief.story_id)
    assert second.brief is not None and second.brief.story_id == first.brief.story_id
    other = await store_one(store, "times", "c")
    assert other.brief is not None and other.brief.story_id not in (None, first.brief.story_id)
    # The story survives reading back (and a restart: it is in the store).
    again = await store.briefs.get(second.brief.id)
    assert again.story_id == first.brief.story_id
    reports = await store.stories.reports([first.brief.story_id, other.brief.story_id])
    assert [b.id for b in reports[first.brief.story_id]] == [first.brief.id, second.brief.id]
    assert [b.id for b in reports[other.brief.story_id]] == [other.brief.id]


async def test_joining_a_story_that_is_not_there_starts_one(store: Any) -> None:
    stored = await store_one(store, "herald", "a", story=999)
    assert stored.brief is not None and stored.brief.story_id not in (None, 999)


async def test_later_reports_are_story_rows_where_the_channel_has_the_story(store: Any) -> None:
    edits = await subscribe(store, "C-edits")
    every = await subscribe(store, "C-every", every_report=True)
    first = await store_one(store, "herald", "a")
    assert first.brief is not None and first.deliveries == 2
    second = await store_one(store, "yonhap", "b", story=first.brief.story_id)
    assert second.deliveries == 2
    rows = {(r.subscription_id, r.brief_id): r for r in await store.outbox.all()}
    assert rows[(edits, first.brief.id)].kind == "brief"
    assert rows[(every, first.brief.id)].kind == "brief"
    assert second.brief is not None
    assert rows[(edits, second.brief.id)].kind == "story"
    assert rows[(every, second.brief.id)].kind == "brief"  # --every-report: a post per report


async def test_a_channel_that_did_not_get_the_first_report_gets_a_post(store: Any) -> None:
    """The first report was not about this channel's issue; the later one is: nothing to
    update there, so it is a post of its own."""
    gsomia = await subscribe(store, "C-gsomia")
    await store.subscriptions.upsert(
        SubscriptionSpec(platform="fake", channel="C-gsomia", issues=("gsomia",))
    )
    first = await store_one(store, "herald", "a", issues=("usfk",))
    assert first.brief is not None and first.deliveries == 0
    second = await store_one(store, "yonhap", "b", story=first.brief.story_id, issues=("gsomia",))
    (row,) = await store.outbox.all()
    assert row.subscription_id == gsomia and row.kind == "brief" and second.deliveries == 1


async def test_the_window_reads_briefs_since_a_time_and_after_an_id(store: Any) -> None:
    a = await store_one(store, "herald", "a")
    b = await store_one(store, "yonhap", "b")
    assert a.brief is not None and b.brief is not None
    members = await store.stories.window(NOW - timedelta(hours=72))
    assert [m.brief.id for m in members] == [a.brief.id, b.brief.id]
    assert members[0].text.startswith("Report a. The body")
    newer = await store.stories.window(NOW - timedelta(hours=72), after_id=a.brief.id)
    assert [m.brief.id for m in newer] == [b.brief.id]
    assert await store.stories.window(NOW) == []  # both were published an hour before


async def test_a_story_rows_context_names_the_storys_message_in_its_channel(store: Any) -> None:
    channel = await subscribe(store, "C-one")
    first = await store_one(store, "herald", "a")
    second = await store_one(store, "yonhap", "b", story=first.brief.story_id)  # type: ignore[union-attr]
    rows = sorted(await store.outbox.all(), key=lambda r: r.id)
    lead, update = rows
    assert update.kind == "story"
    before = await store.outbox.story_context(update.id)
    assert before is not None and before.anchor is None  # the first post is not sent yet
    await store.outbox.mark_sent(lead.id, "msg-1", NOW)
    context = await store.outbox.story_context(update.id)
    assert context is not None and context.anchor is not None
    assert context.anchor.id == lead.id and context.anchor.message_id == "msg-1"
    assert context.first is not None and context.first.id == first.brief.id  # type: ignore[union-attr]
    assert context.brief.id == second.brief.id  # type: ignore[union-attr]
    assert [b.id for b in context.reports] == [first.brief.id, second.brief.id]  # type: ignore[union-attr]
    assert context.anchor.subscription_id == channel
    assert await store.outbox.story_context(lead.id) is None  # not a story row
    assert lead.state is DeliveryState.PENDING  # as listed before it was sent
