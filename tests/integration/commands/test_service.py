"""The command service on a real store (SQLite and PostgreSQL), with briefs written by the real
poller and analyser from tests/fixtures/feeds, and feeds added from a local feed server."""

from __future__ import annotations

import pytest

from koreapage_bot.bootstrap import issue_tags
from koreapage_bot.commands import grammar
from koreapage_bot.commands.feedprobe import make_prober
from koreapage_bot.commands.grammar import LATEST_MAX
from koreapage_bot.commands.replies import Caller, ReplyKind
from koreapage_bot.commands.service import CommandService, Refused
from koreapage_bot.delivery.digests import Digests
from koreapage_bot.domain import FeedState, SubscriptionState
from koreapage_bot.ports import SubscriptionSpec
from tests.fakes.feed_server import FeedServer, HtmlRoute, StatusRoute
from tests.integration.commands.conftest import (
    ALLIANCE,
    Harness,
    admin,
    alliance_with_new_item,
    member,
)

SMA = "Washington and Seoul open a new round of defense cost sharing talks"
GSOMIA = "Seoul and Tokyo keep GSOMIA alive as trilateral intelligence sharing with the US deepens"
NCG = "Allies agree to add nuclear scenarios to spring drills as USFK reviews its posture"


def titles(reply: object) -> list[str]:
    return [b.title for b in reply.briefs]  # type: ignore[attr-defined]


async def seeded(h: Harness) -> None:
    _, briefs = await h.ingest(ALLIANCE.read_bytes())
    # The analyser keeps the two alliance items and drops the K-pop and kimchi ones.
    assert sorted(b.title for b in briefs) == sorted([SMA, GSOMIA])


# -- latest / issue ----------------------------------------------------------------------------


async def test_latest_newest_first_with_count_and_issue(harness: Harness) -> None:
    service = harness.service()
    empty = await service.latest(member())
    assert empty.kind is ReplyKind.EMPTY and "No briefs" in empty.text

    await seeded(harness)
    reply = await service.latest(member())
    assert reply.kind is ReplyKind.BRIEFS and reply.public
    assert titles(reply) == [GSOMIA, SMA]  # by published date, newest first

    one = await service.latest(member(), 1)
    assert titles(one) == [GSOMIA]
    assert titles(await service.latest(member(), LATEST_MAX)) == [GSOMIA, SMA]

    usfk = await service.latest(member(), 5, "USFK")  # ids are case-insensitive
    assert usfk.kind is ReplyKind.BRIEFS and titles(usfk) == [SMA]
    assert "USFK troop presence" in usfk.text
    # A valid issue with no briefs is empty, not an error.
    opcon = await service.latest(member(), 5, "opcon")
    assert opcon.kind is ReplyKind.EMPTY


async def test_latest_count_bounds(harness: Harness) -> None:
    service = harness.service()
    for bad in (0, -3, LATEST_MAX + 1):
        reply = await service.latest(member(), bad)
        assert reply.kind is ReplyKind.USAGE, bad
        assert f"between 1 and {LATEST_MAX}" in reply.text
        assert reply.details == (grammar.usage_line("briefs", "latest"),)


async def test_the_cli_may_list_more_than_chat(harness: Harness) -> None:
    service = harness.service()
    over = LATEST_MAX + 15
    for refused in (service.latest_stories(over), service.matching_stories("alliance", over)):
        with pytest.raises(Refused):
            await refused  # chat: ten at most
    # The CLI passes its own ceiling (grammar.CLI_MAX).
    assert await service.latest_stories(over, most=grammar.CLI_MAX) == []
    assert await service.matching_stories("alliance", over, most=grammar.CLI_MAX) == []
    with pytest.raises(Refused):
        await service.latest_stories(grammar.CLI_MAX + 1, most=grammar.CLI_MAX)


async def test_unknown_issue_lists_valid_ids(harness: Harness) -> None:
    service = harness.service()
    valid = {t.id for t in harness.taxonomy.issues}
    for reply in (
        await service.latest(member(), 5, "kpop"),
        await service.issue(member(), "kpop"),
    ):
        assert reply.kind is ReplyKind.ERROR and not reply.ok
        assert "kpop" in reply.text
        for issue_id in valid:
            assert issue_id in reply.text
        assert {d.split(" ")[0] for d in reply.details} == valid


async def test_issue(harness: Harness) -> None:
    await seeded(harness)
    service = harness.service()
    reply = await service.issue(member(), "gsomia")
    assert reply.kind is ReplyKind.BRIEFS and titles(reply) == [GSOMIA]
    assert reply.briefs[0].key_issues[0].id == "gsomia"
    blank = await service.issue(member(), "  ")
    assert blank.kind is ReplyKind.USAGE
    assert blank.details == (grammar.usage_line("briefs", "issue"),)


# -- search ------------------------------------------------------------------------------------


async def test_search_best_match_first(harness: Harness) -> None:
    await seeded(harness)
    await harness.ingest(alliance_with_new_item())
    service = harness.service()

    reply = await service.search(member(), "cost sharing")
    assert reply.kind is ReplyKind.BRIEFS and reply.public
    assert titles(reply)[0] == SMA
    assert "best first" in reply.text

    # All three briefs name both capitals; only the cost-sharing one has both in its title, so
    # it ranks first although it is the oldest (ranking, not recency).
    reply = await service.search(member(), "Washington Seoul")
    assert len(reply.briefs) == 3 and titles(reply)[0] == SMA
    # Two briefs touch USFK; the newest names it in its title and ranks first although it was
    # stored last (ranking, not insertion order).
    assert titles(await service.search(member(), "USFK")) == [NCG, SMA]
    assert titles(await service.search(member(), "nuclear umbrella")) == [NCG]
    # Each result carries its date for the reply.
    assert all(b.published is not None for b in reply.briefs)


async def test_search_empty_and_blank(harness: Harness) -> None:
    await seeded(harness)
    service = harness.service()
    none = await service.search(member(), "typhoon")
    assert none.kind is ReplyKind.EMPTY and none.ok
    assert "No briefs match" in none.text and "typhoon" in none.text
    # The hard negatives were not briefed, so they are not searchable as briefs either.
    assert (await service.search(member(), "kimchi cabbage")).kind is ReplyKind.EMPTY
    for blank in ("", "   "):
        reply = await service.search(member(), blank)
        assert reply.kind is ReplyKind.USAGE
        assert reply.details == (grammar.usage_line("briefs", "search"),)


# -- show --------------------------------------------------------------------------------------


async def test_show(harness: Harness) -> None:
    await seeded(harness)
    service = harness.service()
    sma = (await service.search(member(), "Humphreys")).briefs[0]
    reply = await service.show(member(), f"#{sma.brief_id}")
    assert reply.kind is ReplyKind.BRIEF and reply.public
    (view,) = reply.briefs
    assert view.title == SMA and view.author == "Min-ji Park"
    assert view.url == "https://alliance-monitor.example/2026/03/sma-talks-open"
    assert view.published is not None and view.published.date().isoformat() == "2026-03-10"
    assert "Special Measures Agreement" in view.summary
    assert {k.id for k in view.key_issues} >= {"cost-sharing", "usfk"}

    for bad in ("abc", "", "1.5", "-2"):
        usage = await service.show(member(), bad)
        assert usage.kind is ReplyKind.USAGE, bad
        assert usage.details == (grammar.usage_line("briefs", "show"),)
    missing = await service.show(member(), "9999")
    assert missing.kind is ReplyKind.EMPTY and "9999" in missing.text
    # Beyond the id column's range (PostgreSQL INTEGER) a number is not an id: it must not
    # reach the database, which would refuse it as a query argument, nor int() when it has
    # more digits than Python converts (4300); the reply quotes only the start of it.
    for huge in ("2147483648", "99999999999999999999", "9" * 5000):
        reply = await service.show(member(), huge)
        assert reply.kind is ReplyKind.USAGE and len(reply.text) < 200
    # "²" is a digit to str.isdigit() but not a number to int().
    assert (await service.show(member(), "²")).kind is ReplyKind.USAGE


# -- subscriptions and digest ------------------------------------------------------------------


async def test_subscribe_needs_an_admin_or_the_allowlist(harness: Harness) -> None:
    service = harness.service(allowlist=["U-TRUSTED"])
    refused = await service.subscribe(member(), ["usfk"])
    assert refused.kind is ReplyKind.ERROR and "admin" in refused.text
    assert await harness.store.subscriptions.for_channel("slack", "C-ALLIANCE") is None
    assert harness.changed == []

    allowed = await service.subscribe(member(user="U-TRUSTED"), ["usfk"])
    assert allowed.kind is ReplyKind.DONE and allowed.text.startswith("Subscribed")
    sub = await harness.store.subscriptions.for_channel("slack", "C-ALLIANCE")
    assert sub is not None and sub.issues == ("usfk",) and sub.created_by == "U-TRUSTED"
    assert sub.workspace == "T-1"
    assert harness.changed == ["changed"]  # digests are re-synced

    other = await service.subscribe(admin(channel="C-OTHER"), [])
    assert other.kind is ReplyKind.DONE and "every alliance brief" in other.text
    (line,) = other.subscriptions
    assert line.channel == "C-OTHER" and line.issues == () and line.state == "active"


async def test_resubscribe_updates_filters_and_resumes(harness: Harness) -> None:
    service = harness.service()
    first = await service.subscribe(admin(), ["gsomia"])
    sub_id = first.subscriptions[0].id
    await harness.store.subscriptions.pause(sub_id, "missing permission: Send Messages")

    again = await service.subscribe(admin(), ["USFK", "gsomia", "usfk"])
    assert again.kind is ReplyKind.DONE and again.text.startswith("Updated")
    (line,) = again.subscriptions
    assert line.id == sub_id  # one subscription per channel
    assert line.issues == ("usfk", "gsomia")
    assert line.state == "active" and line.paused_reason is None
    stored = await harness.store.subscriptions.get(sub_id)
    assert stored is not None and stored.state is SubscriptionState.ACTIVE
    assert len(await harness.store.subscriptions.all()) == 1


async def test_resubscribing_from_chat_keeps_what_chat_cannot_express(harness: Harness) -> None:
    service = harness.service()
    await service.subscribe(admin(), ["gsomia"], digest_time="08:00", digest_tz="Asia/Seoul")
    sub = await harness.store.subscriptions.for_channel("slack", "C-ALLIANCE")
    assert sub is not None
    # Filters set from the CLI, which chat has no words for.
    await harness.store.subscriptions.upsert(
        SubscriptionSpec(
            "slack",
            "C-ALLIANCE",
            workspace="T-1",
            issues=sub.issues,
            feeds=(7,),
            min_relevance=0.8,
            digest_time="08:00",
            digest_tz="Asia/Seoul",
        )
    )
    again = await service.subscribe(admin(), ["usfk"])
    assert again.kind is ReplyKind.DONE
    kept = await harness.store.subscriptions.for_channel("slack", "C-ALLIANCE")
    assert kept is not None and kept.issues == ("usfk",)
    assert (kept.digest_time, kept.digest_tz) == ("08:00", "Asia/Seoul")
    assert kept.feeds == (7,) and kept.min_relevance == 0.8
    changed = await service.subscribe(admin(), ["usfk"], digest_time="18:30")
    assert changed.subscriptions[0].digest_time == "18:30"


async def test_subscribe_unknown_issue_is_refused(harness: Harness) -> None:
    service = harness.service()
    reply = await service.subscribe(admin(), ["usfk", "bts"])
    assert reply.kind is ReplyKind.ERROR and "bts" in reply.text and "usfk" in reply.text
    assert "cost-sharing" in reply.text  # the valid ids are listed
    assert await harness.store.subscriptions.all() == []


async def test_subscriptions_shows_this_channel_and_paused_reason(harness: Harness) -> None:
    service = harness.service()
    none = await service.subscriptions(member())
    assert none.kind is ReplyKind.EMPTY and "subscribe" in none.text

    await service.subscribe(admin(), ["cost-sharing"])
    await service.subscribe(admin(channel="C-OTHER"), ["gsomia"])
    reply = await service.subscriptions(member())
    assert reply.kind is ReplyKind.SUBSCRIPTIONS
    (line,) = reply.subscriptions
    assert line.channel == "C-ALLIANCE" and line.issues == ("cost-sharing",)
    assert line.state == "active" and "paused" not in reply.text

    # Same channel id on another platform is another channel.
    discord = Caller("discord", "G-1", "C-ALLIANCE", "U-MEMBER")
    assert (await service.subscriptions(discord)).kind is ReplyKind.EMPTY

    reason = "the bot was removed from the channel"
    await harness.store.subscriptions.pause(line.id, reason)
    paused = await service.subscriptions(member())
    (line,) = paused.subscriptions
    assert line.state == "paused" and line.paused_reason == reason
    assert reason in paused.text and "subscribe" in paused.text


async def test_digest_is_since_the_last_digest_for_this_channel(harness: Harness) -> None:
    service = harness.service()
    assert (await service.digest(member())).kind is ReplyKind.EMPTY  # no subscription

    await seeded(harness)  # archived before anyone subscribed
    await service.subscribe(admin(), [])
    await service.subscribe(admin(channel="C-GSOMIA"), ["gsomia"])
    nothing = await service.digest(member())
    assert nothing.kind is ReplyKind.EMPTY and "since the last digest" in nothing.text

    await harness.ingest(alliance_with_new_item())
    reply = await service.digest(member())
    assert reply.kind is ReplyKind.BRIEFS and titles(reply) == [NCG]
    # The other channel only follows GSOMIA, which the new brief is not about.
    assert (await service.digest(member(channel="C-GSOMIA"))).kind is ReplyKind.EMPTY

    # Once the scheduled digest has gone out for this channel, the command says nothing new.
    sub = await harness.store.subscriptions.for_channel("slack", "C-ALLIANCE")
    assert sub is not None
    digests = Digests(harness.store)
    assert await digests.queue(sub.id) is not None
    assert (await service.digest(member())).kind is ReplyKind.EMPTY


async def test_unsubscribe(harness: Harness) -> None:
    service = harness.service()
    assert (await service.unsubscribe(admin())).kind is ReplyKind.EMPTY
    await service.subscribe(admin(), ["usfk"])
    harness.changed.clear()

    refused = await service.unsubscribe(member())
    assert refused.kind is ReplyKind.ERROR and "admin" in refused.text
    assert await harness.store.subscriptions.for_channel("slack", "C-ALLIANCE") is not None

    done = await service.unsubscribe(admin())
    assert done.kind is ReplyKind.DONE
    assert await harness.store.subscriptions.for_channel("slack", "C-ALLIANCE") is None
    assert harness.changed == ["changed"]


# -- feeds -------------------------------------------------------------------------------------


async def test_feeds_add_refuses_non_admins(harness: Harness, feed_server: FeedServer) -> None:
    feed_server.feed("/alliance.xml").set_body(ALLIANCE.read_bytes())
    service = harness.service(allow_private=True)
    reply = await service.feeds_add(member(), feed_server.url("/alliance.xml"))
    assert reply.kind is ReplyKind.ERROR and "admin" in reply.text
    assert feed_server.total_requests == 0
    assert await harness.store.feeds.all() == []


async def test_feeds_add_refuses_loopback_when_private_is_not_allowed(
    harness: Harness, feed_server: FeedServer
) -> None:
    feed_server.feed("/alliance.xml").set_body(ALLIANCE.read_bytes())
    service = harness.service(allow_private=False)
    for url in (
        feed_server.url("/alliance.xml"),  # 127.0.0.1
        feed_server.url("/alliance.xml").replace("127.0.0.1", "localhost"),
        "http://10.1.2.3/feed.xml",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/feed.xml",
    ):
        reply = await service.feeds_add(admin(), url)
        assert reply.kind is ReplyKind.ERROR, url
        assert reply.text.startswith("Feed not added:"), reply.text
        assert any(w in reply.text for w in ("loopback", "private", "metadata")), reply.text
    assert feed_server.total_requests == 0  # refused before any connection
    assert await harness.store.feeds.all() == []


async def test_feeds_add_accepts_a_served_feed_when_private_is_allowed(
    harness: Harness, feed_server: FeedServer
) -> None:
    feed_server.feed("/alliance.xml").set_body(ALLIANCE.read_bytes())
    url = feed_server.url("/alliance.xml")
    service = harness.service(allow_private=True)
    reply = await service.feeds_add(admin(user="U-1"), url)
    assert reply.kind is ReplyKind.DONE, reply.text
    assert "“Peninsula Alliance Monitor” with 4 items" in reply.text
    assert feed_server.count("/alliance.xml") == 1  # fetched once before accepting
    (line,) = reply.feeds
    assert line.url == url and line.name == "Peninsula Alliance Monitor"
    stored = await harness.store.feeds.get(line.id)
    assert stored is not None and stored.added_by == "slack:T-1:U-1"
    assert stored.state is FeedState.ACTIVE and not stored.baselined

    again = await service.feeds_add(admin(), url)
    assert again.kind is ReplyKind.DONE and "Already following" in again.text
    assert len(await harness.store.feeds.all()) == 1


async def test_the_operator_at_the_console_may_add_a_private_feed(
    harness: Harness, feed_server: FeedServer
) -> None:
    feed_server.feed("/alliance.xml").set_body(ALLIANCE.read_bytes())
    url = feed_server.url("/alliance.xml")
    service = harness.service(allow_private=False)  # chat may not ...
    assert (await service.feeds_add(admin(), url)).kind is ReplyKind.ERROR
    operator = Caller("console", None, "console", "operator", is_admin=True)
    reply = await service.feeds_add(operator, url, name="LAN mirror")  # ... the operator may
    assert reply.kind is ReplyKind.DONE, reply.text
    stored = await harness.store.feeds.by_url(url)
    assert stored is not None and stored.added_by is None and stored.name == "LAN mirror"


async def test_feeds_add_discovers_the_feed_of_a_page(
    harness: Harness, feed_server: FeedServer
) -> None:
    feed_server.feed("/feeds/alliance.xml").set_body(ALLIANCE.read_bytes())
    feed_server.route(
        "/blog/",
        HtmlRoute(feed_links=[("/feeds/alliance.xml", "application/rss+xml")]),
    )
    service = harness.service(allow_private=True)
    reply = await service.feeds_add(admin(), feed_server.url("/blog/"))
    assert reply.kind is ReplyKind.DONE, reply.text
    assert "4 items" in reply.text
    assert reply.feeds[0].url == feed_server.url("/feeds/alliance.xml")  # the feed, not the page


async def test_feeds_add_of_a_page_listing_thousands_of_feeds_tries_only_a_few(
    harness: Harness, feed_server: FeedServer
) -> None:
    # A page advertising 2,000 feeds on other hosts, and its own feed last: the own site's
    # feed is tried first and the other hosts are never asked.
    elsewhere = feed_server.url("/").replace("127.0.0.1", "localhost")
    links = [(f"{elsewhere}spam/{n}.xml", "application/rss+xml") for n in range(1999)]
    feed_server.feed("/blog/feed/").set_body(ALLIANCE.read_bytes())
    feed_server.route(
        "/blog/", HtmlRoute(feed_links=[*links, ("/blog/feed/", "application/rss+xml")])
    )
    service = harness.service(allow_private=True)
    reply = await service.feeds_add(admin(), feed_server.url("/blog/"))
    assert reply.kind is ReplyKind.DONE, reply.text
    assert reply.feeds[0].url == feed_server.url("/blog/feed/")
    assert feed_server.total_requests == 2  # the page, then its own feed

    # 2,000 links that all fail: a handful are tried, then a clear refusal.
    feed_server.reset()
    broken = [(f"/missing/{n}.xml", "application/atom+xml") for n in range(2000)]
    feed_server.route("/hub/", HtmlRoute(feed_links=broken))
    refused = await service.feeds_add(admin(), feed_server.url("/hub/"))
    assert refused.kind is ReplyKind.ERROR
    assert "links to 2000 feeds, but the 5 best could not be read" in refused.text
    assert feed_server.total_requests == 6  # the page and its five best candidates
    assert len(refused.text) < 2000  # not a list of two thousand URLs


async def test_feeds_add_refuses_a_page_without_a_feed(
    harness: Harness, feed_server: FeedServer
) -> None:
    feed_server.route("/about", HtmlRoute())
    feed_server.route("/gone.xml", StatusRoute(404))
    service = harness.service(allow_private=True)
    page = await service.feeds_add(admin(), feed_server.url("/about"))
    assert page.kind is ReplyKind.ERROR
    assert "is not a feed and the page links to no RSS/Atom feed" in page.text
    missing = await service.feeds_add(admin(), feed_server.url("/gone.xml"))
    assert missing.kind is ReplyKind.ERROR and "cannot fetch" in missing.text
    assert "404" in missing.text
    assert await harness.store.feeds.all() == []


async def test_feeds_add_refuses_credentials_and_other_schemes(
    harness: Harness, feed_server: FeedServer
) -> None:
    feed_server.feed("/alliance.xml").set_body(ALLIANCE.read_bytes())
    service = harness.service(allow_private=True)
    with_credentials = feed_server.url("/alliance.xml").replace("http://", "http://ann:pw@")
    reply = await service.feeds_add(admin(), with_credentials)
    assert reply.kind is ReplyKind.ERROR and "credentials" in reply.text
    for url in ("ftp://127.0.0.1/alliance.xml", "file:///etc/passwd", "gopher://x/1"):
        reply = await service.feeds_add(admin(), url)
        assert reply.kind is ReplyKind.ERROR and "only http and https" in reply.text, url
    blank = await service.feeds_add(admin(), "  ")
    assert blank.kind is ReplyKind.USAGE
    assert feed_server.total_requests == 0
    assert await harness.store.feeds.all() == []


async def test_feeds_remove_and_list(harness: Harness, feed_server: FeedServer) -> None:
    service = harness.service(allow_private=True)
    none = await service.feeds_list(member())
    assert none.kind is ReplyKind.EMPTY and "feeds add" in none.text

    feed, _ = await harness.ingest(ALLIANCE.read_bytes())
    feed_server.route("/down.xml", StatusRoute(500))
    down, _ = await harness.store.feeds.add(feed_server.url("/down.xml"), "Down Feed")
    report = await harness.poller.poll(down)  # broken_after = 1 in the harness
    assert report.error

    listing = await service.feeds_list(member())  # everyone may look
    assert listing.kind is ReplyKind.FEEDS
    assert listing.text == "2 feeds, 1 broken (see the last error)"
    by_name = {f.name: f for f in listing.feeds}
    down_line = by_name["Down Feed"]
    assert down_line.state == "broken" and "500" in (down_line.last_error or "")
    ok = by_name["Peninsula Alliance Monitor"]
    assert ok.state == "active" and ok.last_error is None
    assert ok.next_poll_at is not None and ok.last_polled_at is not None

    refused = await service.feeds_remove(member(), str(feed.id))
    assert refused.kind is ReplyKind.ERROR and "admin" in refused.text
    unknown = await service.feeds_remove(admin(), "4040")
    assert unknown.kind is ReplyKind.ERROR and "feeds list" in unknown.text
    assert (await service.feeds_remove(admin(), " ")).kind is ReplyKind.USAGE

    # The feed is the operator's (added outside chat): a server admin may not remove it ...
    theirs = await service.feeds_remove(admin(), str(feed.id))
    assert theirs.kind is ReplyKind.ERROR and "operator" in theirs.text
    # ... someone on the operator's allowlist may.
    trusted = harness.service(allow_private=True, allowlist=["U-OPS"])
    done = await trusted.feeds_remove(admin(user="U-OPS"), str(feed.id))
    assert done.kind is ReplyKind.DONE and "searchable" in done.text
    stored = await harness.store.feeds.get(feed.id)
    assert stored is not None and stored.state is FeedState.DISABLED
    assert [f.name for f in (await service.feeds_list(member())).feeds] == ["Down Feed"]
    # Its briefs stay searchable; removing it again is an error.
    assert titles(await service.search(member(), "GSOMIA")) == [GSOMIA]
    assert (await service.feeds_remove(admin(), str(feed.id))).kind is ReplyKind.ERROR
    for odd in ("2147483648", "99999999999999999999", "²", "9" * 5000):
        assert (await service.feeds_remove(admin(), odd)).kind is ReplyKind.ERROR, odd
    # By name works too.
    by_name_reply = await trusted.feeds_remove(admin(user="U-OPS"), "down feed")
    assert by_name_reply.kind is ReplyKind.DONE


async def test_issue_choices_and_usage(harness: Harness) -> None:
    service = harness.service()
    assert len(service.issue_choices()) == len(harness.taxonomy.issues)
    assert [t.id for t in service.issue_choices("gso")] == ["gsomia"]
    # Ids and labels that start with the prefix come before those that only contain it.
    by_label = [t.id for t in service.issue_choices("nuclear")]
    assert "extended-deterrence" in by_label
    assert service.issue_choices("zzz") == []
    usage = service.usage("feeds")
    assert usage.kind is ReplyKind.USAGE and "/feeds add <url>" in usage.text


async def test_latest_blank_issue_means_any(harness: Harness) -> None:
    await seeded(harness)
    reply = await harness.service().latest(member(), 5, "  ")
    assert reply.kind is ReplyKind.BRIEFS and len(reply.briefs) == 2


# -- the text grammar --------------------------------------------------------------------------


async def test_execute_text_commands(harness: Harness) -> None:
    await seeded(harness)
    await harness.ingest(alliance_with_new_item())
    service = harness.service()

    latest = await service.execute(member(), "briefs", "latest 5 usfk")
    assert latest.kind is ReplyKind.BRIEFS
    assert titles(latest) == [NCG, SMA]  # both touch USFK, newest first

    search = await service.execute(member(), "briefs", 'search "cost sharing"')
    assert search.kind is ReplyKind.BRIEFS and titles(search)[0] == SMA

    refused = await service.execute(member(), "briefs", "subscribe gsomia usfk")
    assert refused.kind is ReplyKind.ERROR
    sub = await service.execute(admin(), "briefs", "subscribe gsomia usfk")
    assert sub.kind is ReplyKind.DONE
    assert sub.subscriptions[0].issues == ("gsomia", "usfk")
    subs = await service.execute(member(), "briefs", "subscriptions")
    assert subs.subscriptions[0].issues == ("gsomia", "usfk")

    show = await service.execute(member(), "briefs", f"show #{search.briefs[0].brief_id}")
    assert show.kind is ReplyKind.BRIEF and show.briefs[0].title == SMA
    listing = await service.execute(member(), "feeds", "list")
    assert listing.kind is ReplyKind.FEEDS
    helped = await service.execute(member(), "briefs", "help")
    assert helped.kind is ReplyKind.USAGE and "/briefs latest" in helped.text
    # Help on one command is that command's usage, not the whole list.
    topic = await service.execute(member(), "briefs", "help search")
    assert topic.kind is ReplyKind.USAGE
    assert topic.text.startswith("/briefs search") and "/briefs latest" not in topic.text
    assert (await service.execute(member(), "feeds", "help rm")).text.startswith("/feeds remove")


async def test_execute_malformed_gets_a_usage_line(harness: Harness) -> None:
    service = harness.service()
    for group, text, usage in (
        ("briefs", "latest 5 6", "/briefs latest [n] [issue]"),
        ("briefs", "latest 99", "/briefs latest [n] [issue]"),
        ("briefs", "search", "/briefs search"),
        ("briefs", "show", "/briefs show <brief id>"),
        ("briefs", "subscribe --loud", "/briefs subscribe"),
        ("feeds", "add", "/feeds add <url>"),
        ("briefs", "lates", "/briefs latest"),  # unknown command: the group's usage
    ):
        reply = await service.execute(member(), group, text)
        assert reply.kind is ReplyKind.USAGE and not reply.ok, text
        assert reply.text, text
        assert any(d.startswith("Usage: ") and usage in d for d in reply.details), reply
    unknown_issue = await service.execute(member(), "briefs", "latest 3 kpop")
    assert unknown_issue.kind is ReplyKind.ERROR and "gsomia" in unknown_issue.text


async def test_servers_manage_their_own_chat_feeds_within_a_cap(
    harness: Harness, feed_server: FeedServer
) -> None:
    for n in range(3):
        feed_server.feed(f"/f{n}.xml").set_body(ALLIANCE.read_bytes())
    service = CommandService(
        harness.store,
        issue_tags(harness.taxonomy),
        prober=make_prober(harness.untrusted_private, allow_private=True),
        max_chat_feeds=2,
    )
    ours = [await service.feeds_add(admin(), feed_server.url(f"/f{n}.xml")) for n in range(3)]
    assert [r.kind for r in ours] == [ReplyKind.DONE, ReplyKind.DONE, ReplyKind.ERROR]
    assert "most the bot's operator allows" in ours[2].text
    other_server = Caller("slack", "T-2", "C-X", "U-OTHER", is_admin=True)
    assert (await service.feeds_add(other_server, feed_server.url("/f2.xml"))).ok  # own cap
    first_id = str(ours[0].feeds[0].id)
    refused = await service.feeds_remove(other_server, first_id)
    assert refused.kind is ReplyKind.ERROR and "another server" in refused.text
    assert (await service.feeds_remove(admin(user="U-SOMEONE-ELSE"), first_id)).ok
