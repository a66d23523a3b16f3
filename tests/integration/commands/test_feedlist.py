"""Importing an OPML feed list through the command service, against the local feed server:
each feed probed like `feeds add`, repeats and followed feeds skipped, failures explained,
the report in the file's order."""

from __future__ import annotations

from koreapage_bot.commands.feedlist import Outcome, import_feeds
from koreapage_bot.commands.replies import Caller
from koreapage_bot.domain import FeedState
from koreapage_bot.opml import OpmlFeed, read_opml, write_opml
from tests.fakes.feed_server import (
    FeedServer,
    HtmlRoute,
    Item,
    SequenceRoute,
    SlowRoute,
    StatusRoute,
)
from tests.integration.commands.conftest import ALLIANCE, Harness

OPERATOR = Caller("console", None, "console", "operator", is_admin=True)


async def test_import_adds_skips_and_explains(harness: Harness, feed_server: FeedServer) -> None:
    a_feed = feed_server.feed("/a.xml")
    a_feed.set_body(ALLIANCE.read_bytes())
    # The first fetch of /a.xml (its own line) is slow, so the blog page that links to it
    # adds the feed first: the file's order must still decide its name.
    feed_server.route("/a.xml", SequenceRoute([SlowRoute(0.5, then=a_feed), a_feed]))
    feed_server.feed("/b.xml", [Item("Allies meet", guid="b-1")])
    feed_server.feed("/c.xml", [Item("Drills resume", guid="c-1")])
    feed_server.feed("/old.xml", [Item("Old news", guid="o-1")])
    feed_server.route("/blog/", HtmlRoute(feed_links=[("/a.xml", "application/rss+xml")]))
    feed_server.route("/gone.xml", StatusRoute(404))
    store = harness.store
    followed, _ = await store.feeds.add(feed_server.url("/c.xml"), "Drills")
    removed, _ = await store.feeds.add(feed_server.url("/old.xml"), "Old")
    await store.feeds.disable(removed.id, "removed by hand")
    listed = [
        OpmlFeed(feed_server.url("/a.xml"), "Alliance A"),
        OpmlFeed(feed_server.url("/b.xml"), "Alliance B"),
        OpmlFeed(feed_server.url("/a.xml"), "A again"),
        OpmlFeed(feed_server.url("/blog/"), "A's blog page"),
        OpmlFeed(feed_server.url("/c.xml"), "Drills"),
        OpmlFeed(feed_server.url("/gone.xml"), "Gone"),
        OpmlFeed("ftp://files.example/feed.xml", "FTP"),
        OpmlFeed(feed_server.url("/old.xml"), "Old, followed again"),
    ]
    report = await import_feeds(harness.service(), store, listed, OPERATOR)
    got = [(line.title, line.outcome, line.reason) for line in report.lines]
    a = await store.feeds.by_url(feed_server.url("/a.xml"))
    assert a is not None and a.name == "Alliance A"  # the list's title names the feed
    assert got[0] == ("Alliance A", Outcome.ADDED, None)
    assert got[1] == ("Alliance B", Outcome.ADDED, None)
    assert got[2] == ("A again", Outcome.SKIPPED, "repeats “Alliance A”")
    assert got[3][:2] == ("A's blog page", Outcome.SKIPPED)
    assert got[3][2] == f"the same feed as {feed_server.url('/a.xml')} (feed {a.id})"
    assert got[4] == ("Drills", Outcome.SKIPPED, f"already followed as feed {followed.id} (Drills)")
    assert got[5][1] is Outcome.FAILED and "404" in (got[5][2] or "")
    assert got[6][1] is Outcome.FAILED and "only http and https" in (got[6][2] or "")
    assert got[7] == ("Old, followed again", Outcome.ADDED, None)
    assert report.lines[7].feed_id == removed.id
    # Feeds already followed and repeats were not fetched again; each new one once.
    assert feed_server.count("/c.xml") == 0
    assert feed_server.count("/a.xml") == 2  # its own line, and found through the blog page
    assert feed_server.count("/b.xml") == 1
    json = report.to_json()
    assert [len(json[o]) for o in ("added", "skipped", "failed")] == [3, 3, 2]
    assert json["failed"][1]["url"] == "ftp://files.example/feed.xml"
    revived = await store.feeds.get(removed.id)
    assert revived is not None and revived.state is FeedState.ACTIVE


async def test_an_export_imported_into_an_empty_store_gives_the_same_feeds(
    harness: Harness, feed_server: FeedServer
) -> None:
    for n in range(5):
        feed_server.feed(f"/f{n}.xml", [Item(f"Item {n}", guid=f"g-{n}")])
    service = harness.service()
    for n in range(5):
        reply = await service.feeds_add(OPERATOR, feed_server.url(f"/f{n}.xml"), name=f"F & {n}")
        assert reply.ok, reply.text
    feeds = await harness.store.feeds.all()
    document = write_opml(feeds, title="export")
    # An empty store: every feed removed for good, then the export read back in.
    for feed in feeds:
        await harness.store.feeds.delete(feed.id)
    report = await import_feeds(service, harness.store, read_opml(document), OPERATOR)
    assert [line.outcome for line in report.lines] == [Outcome.ADDED] * 5
    again = await harness.store.feeds.all()
    # The same list (ids follow the order the probes finished in, a few run at once).
    assert sorted((f.url, f.name) for f in again) == sorted((f.url, f.name) for f in feeds)
