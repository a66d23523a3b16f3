"""Stories in the core, on the in-memory store: the command service lists one line per story;
subscribe --every-report; the dispatcher's story rows (update, post when there is nothing to
update, a publisher that cannot update); digests group by story."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from koreapage_bot.commands.replies import Caller, ReplyKind
from koreapage_bot.commands.service import CommandService
from koreapage_bot.config import DeliveryConfig
from koreapage_bot.delivery.digests import Digests
from koreapage_bot.delivery.dispatcher import Dispatcher
from koreapage_bot.delivery.fanout import recipients, row_kind
from koreapage_bot.delivery.story import digest_views
from koreapage_bot.domain import Analysis, Brief, FeedEntry, IssueTag, KeyIssue
from koreapage_bot.ports import (
    BriefView,
    DeliveryTarget,
    NewPost,
    PostedMessage,
    PublishOutcome,
    Sent,
    SubscriptionSpec,
)
from koreapage_bot.store.memory import MemoryStore
from tests.integration.delivery.support import T0, Clock, FakePlatform

ADMIN = Caller("slack", "T-1", "C-ONE", "U-ADMIN", is_admin=True)


async def report(
    store: MemoryStore, outlet: str, n: int, story: int | None, title: str = "Allies meet"
) -> Brief:
    feed, _ = await store.feeds.add(f"https://{outlet.lower()}.example/rss", outlet)
    entry = FeedEntry(
        key=f"{outlet}-{n}",
        url=f"https://{outlet.lower()}.example/{n}",
        title=f"{title} ({outlet})",
        author=None,
        published=T0 + timedelta(minutes=n),
        summary="",
        content=None,
    )
    analysis = Analysis(
        relevant=True,
        relevance=0.9,
        key_issues=(KeyIssue("usfk", "USFK", 0.9),),
        author=None,
        summary=f"{title}: a summary of the meeting of the allies.",
        why=("test",),
        text=f"{title}.",
    )
    stored = await store.briefs.store_post(
        feed,
        NewPost(entry, analysis, f"h-{outlet}-{n}", relevant=True),
        fan_out=recipients,
        row_kind=row_kind,
        story=story,
    )
    assert stored.brief is not None
    return stored.brief


def service(store: MemoryStore) -> CommandService:
    return CommandService(store, [IssueTag("usfk", "USFK")])


async def test_latest_and_search_show_one_line_per_story_with_its_sources() -> None:
    store = MemoryStore()
    first = await report(store, "Herald", 1, None)
    await report(store, "Yonhap", 2, first.story_id)
    lone = await report(store, "Times", 3, None, title="Drills resume")
    reply = await service(store).latest(ADMIN, 5)
    assert reply.kind is ReplyKind.BRIEFS
    assert reply.text == "Latest 2 stories (3 reports)"
    assert [v.brief_id for v in reply.briefs] == [lone.id, first.id]  # newest story first
    story = reply.briefs[1]
    assert [(s.source, s.url) for s in story.also] == [("Yonhap", "https://yonhap.example/2")]
    found = await service(store).search(ADMIN, "allies meet")
    assert [v.story_id for v in found.briefs] == [first.story_id]
    assert found.text.startswith("1 story (2 reports) matching")
    groups = await service(store).latest_stories(5)
    assert groups[1].to_json()["story_id"] == first.story_id
    sources = groups[1].to_json()["sources"]
    assert isinstance(sources, list) and [s["source"] for s in sources] == ["Herald", "Yonhap"]


async def test_show_names_every_report_of_the_story() -> None:
    store = MemoryStore()
    first = await report(store, "Herald", 1, None)
    second = await report(store, "Yonhap", 2, first.story_id)
    reply = await service(store).show(ADMIN, str(second.id))
    assert reply.text == f"Brief {second.id}, one of 2 reports of this story"
    assert [s.source for s in reply.briefs[0].also] == ["Herald"]


async def test_subscribe_every_report_and_back_to_one_message_per_story() -> None:
    store = MemoryStore()
    commands = service(store)
    reply = await commands.execute(ADMIN, "briefs", "subscribe usfk --every-report")
    assert reply.kind is ReplyKind.DONE and "every report of a story is posted" in reply.text
    sub = await store.subscriptions.for_channel("slack", "C-ONE")
    assert sub is not None and sub.every_report and sub.issues == ("usfk",)
    await commands.execute(ADMIN, "briefs", "subscribe usfk")  # unchanged when not given
    sub = await store.subscriptions.for_channel("slack", "C-ONE")
    assert sub is not None and sub.every_report
    reply = await commands.execute(ADMIN, "briefs", "subscribe usfk --per-story")
    assert "later reports of a story update its message" in reply.text
    sub = await store.subscriptions.for_channel("slack", "C-ONE")
    assert sub is not None and not sub.every_report


@dataclass
class Updating(FakePlatform):
    """A platform that can update messages (StoryPublisher)."""

    edits: list[tuple[str, BriefView]] = field(default_factory=list)

    async def edit(
        self, target: DeliveryTarget, message: PostedMessage, view: BriefView
    ) -> PublishOutcome:
        self.edits.append((message.message_id, view))
        return Sent(message.message_id)

    async def reply(
        self, target: DeliveryTarget, message: PostedMessage, view: BriefView
    ) -> PublishOutcome:
        raise AssertionError("no channel here chose threads")


async def test_a_later_report_updates_the_storys_message_with_every_source() -> None:
    store = MemoryStore()
    await store.subscriptions.upsert(SubscriptionSpec(platform="fake", channel="ch"))
    platform = Updating()
    d = Dispatcher(store, {"fake": platform}, DeliveryConfig(), clock=Clock())
    first = await report(store, "Herald", 1, None)
    await d.drain()
    await report(store, "Yonhap", 2, first.story_id)
    await report(store, "Times", 3, first.story_id)
    await d.drain()
    assert [c.views[0].brief_id for c in platform.delivered] == [first.id]
    message = platform.messages["kp-1"]
    assert [m for m, _ in platform.edits] == [message, message]
    assert [s.source for s in platform.edits[-1][1].also] == ["Yonhap", "Times"]
    assert platform.edits[-1][1].brief_id == first.id  # the message still shows the first


async def test_with_no_message_to_update_a_later_report_is_posted_and_updated_after() -> None:
    """The first report's post failed for good: the second is posted, listing the first,
    and the third updates that post."""
    store = MemoryStore()
    await store.subscriptions.upsert(SubscriptionSpec(platform="fake", channel="ch"))
    platform = Updating()
    d = Dispatcher(store, {"fake": platform}, DeliveryConfig(), clock=Clock())
    first = await report(store, "Herald", 1, None)
    (row,) = await store.outbox.all()
    await store.outbox.mark_dead(row.id, "gone", T0)
    second = await report(store, "Yonhap", 2, first.story_id)
    await d.drain()
    [posted] = platform.delivered
    assert posted.views[0].brief_id == second.id
    assert [s.source for s in posted.views[0].also] == ["Herald"]
    await report(store, "Times", 3, first.story_id)
    await d.drain()
    assert [m for m, _ in platform.edits] == [platform.messages["kp-2"]]


async def test_a_platform_that_cannot_update_gets_the_later_report_as_a_post() -> None:
    store = MemoryStore()
    await store.subscriptions.upsert(SubscriptionSpec(platform="fake", channel="ch"))
    platform = FakePlatform()
    d = Dispatcher(store, {"fake": platform}, DeliveryConfig(), clock=Clock())
    first = await report(store, "Herald", 1, None)
    second = await report(store, "Yonhap", 2, first.story_id)
    await d.drain()
    assert [c.views[0].brief_id for c in platform.delivered] == [first.id, second.id]
    assert [s.source for s in platform.delivered[1].views[0].also] == ["Herald"]


async def test_a_digest_lists_one_entry_per_story() -> None:
    store = MemoryStore()
    sub, _ = await store.subscriptions.upsert(
        SubscriptionSpec(platform="fake", channel="ch", per_brief=False, digest_time="08:00"),
        now=T0 - timedelta(days=1),
    )
    first = await report(store, "Herald", 1, None)
    second = await report(store, "Yonhap", 2, first.story_id)
    lone = await report(store, "Times", 3, None, title="Drills resume")
    views = digest_views([first, second, lone])
    assert [v.brief_id for v in views] == [first.id, lone.id]
    assert [s.brief_id for s in views[0].also] == [second.id]
    delivery_id = await Digests(store).queue(sub.id)
    assert delivery_id is not None
    (claimed,) = await store.outbox.load([delivery_id])
    assert claimed.payload["title"] == "Daily digest: 2 stories from 3 new briefs"
