"""The poller end to end on a real store and a local feed server: baseline, new posts, no
reposts, politeness state, and the console as the first delivery channel."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console

from koreapage_bot.bootstrap import Bot, open_bot, prepare
from koreapage_bot.config import load_settings
from koreapage_bot.domain import Analysis, ArticleInput, DeliveryState, FeedEntry, FeedState
from koreapage_bot.ingest.fetch import FeedFetcher
from koreapage_bot.ingest.moves import sync_config_feeds
from koreapage_bot.ingest.poller import Poller
from koreapage_bot.ports import NewPost
from tests.fakes.feed_server import (
    FeedServer,
    HtmlRoute,
    Item,
    RawRoute,
    RedirectRoute,
    StatusRoute,
)
from tests.fixtures.stories import COST_SHARING, EXERCISES, FOOD, GSOMIA, KPOP, Story

DAY = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def item(story: Story, n: int, *, full: bool = True) -> Item:
    return Item(
        story.title,
        link=f"https://alliance.example/{story.slug}",
        guid=f"urn:story:{story.slug}",
        published=DAY + timedelta(hours=n),
        author=story.author,
        description=story.paragraphs[0],
        content_html=story.html if full else None,
    )


@asynccontextmanager
async def bot_for(
    tmp_path: Path, feed_url: str | None = None, *, analysis: str = "", **extra: str
) -> AsyncIterator[tuple[Bot, io.StringIO]]:
    lines = ["[analysis]", "fetch_full_text = true", "min_excerpt_chars = 400", analysis, ""]
    if feed_url:
        lines += ["[[feeds]]", 'name = "Alliance Watch"', f'url = "{feed_url}"']
    config = tmp_path / "koreapage.toml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = {"KOREAPAGE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}", **extra}
    screen = io.StringIO()
    async with open_bot(load_settings(config, env), console=Console(file=screen, width=120)) as bot:
        await prepare(bot)
        yield bot, screen


async def poll_all(bot: Bot):
    feeds = await bot.store.feeds.all(include_disabled=False)
    return [await bot.poller.poll(f) for f in feeds]


async def test_first_fetch_archives_then_only_new_posts_are_delivered(tmp_path: Path) -> None:
    async with FeedServer() as server:
        route = server.feed("/feed.xml", [item(COST_SHARING, 1), item(KPOP, 2)])
        async with bot_for(tmp_path, server.url("/feed.xml")) as (bot, screen):
            [first] = await poll_all(bot)
            assert first.baseline and first.new_entries == 2
            assert [b.title for b in first.briefs] == [COST_SHARING.title]  # archived, searchable
            assert first.deliveries == 0
            assert (await bot.dispatcher.drain()).sent == 0
            assert [b.title for b in await bot.store.briefs.search("cost sharing")] == [
                COST_SHARING.title
            ]

            route.set_items([item(GSOMIA, 3), item(FOOD, 4), item(COST_SHARING, 1), item(KPOP, 2)])
            [second] = await poll_all(bot)
            assert not second.baseline and second.new_entries == 2
            assert [b.title for b in second.briefs] == [GSOMIA.title]
            assert second.deliveries == 1  # the console subscription
            stats = await bot.dispatcher.drain()
            assert stats.sent == 1
            printed = screen.getvalue()
            assert GSOMIA.title in printed and "Daniel Cho" in printed
            assert FOOD.title not in printed and COST_SHARING.title not in printed


async def test_reordered_dropped_and_re_added_items_are_never_reposted(tmp_path: Path) -> None:
    async with FeedServer() as server:
        route = server.feed("/feed.xml", [item(COST_SHARING, 1), item(GSOMIA, 2)])
        async with bot_for(tmp_path, server.url("/feed.xml")) as (bot, _):
            await poll_all(bot)
            route.set_items([item(GSOMIA, 2)])  # the old one drops off the feed
            await poll_all(bot)
            route.set_items([item(GSOMIA, 2), item(COST_SHARING, 1)])  # ... and comes back
            [report] = await poll_all(bot)
            assert report.new_entries == 0 and report.deliveries == 0
            # An edited post is recorded as an update, not a new brief.
            edited = Item(
                **{
                    **item(GSOMIA, 2).__dict__,
                    "content_html": GSOMIA.html + "<p>Update: talks continue.</p>",
                }
            )
            route.set_items([edited, item(COST_SHARING, 1)])
            [report] = await poll_all(bot)
            assert report.new_entries == 0 and report.updated_entries == 1
            assert report.deliveries == 0
            assert await bot.store.briefs.count() == 2


async def test_conditional_get_304_costs_no_parsing_and_keeps_validators(tmp_path: Path) -> None:
    async with FeedServer() as server:
        route = server.feed("/feed.xml", [item(COST_SHARING, 1)])
        async with bot_for(tmp_path, server.url("/feed.xml")) as (bot, _):
            await poll_all(bot)
            [feed] = await bot.store.feeds.all()
            assert feed.etag == route.etag and feed.last_modified == route.last_modified
            [report] = await poll_all(bot)
            assert report.outcome == "not_modified"
            sent = server.requests("/feed.xml")[-1].headers
            assert sent["If-None-Match"] == route.etag
            assert sent["If-Modified-Since"] == route.last_modified
            assert "koreapage-bot" in sent["User-Agent"] and "http" in sent["User-Agent"]
            [after] = await bot.store.feeds.all()
            assert after.next_poll_at and after.next_poll_at > datetime.now(UTC) + timedelta(
                minutes=14
            )


async def test_failures_back_off_mark_broken_and_410_disables(tmp_path: Path) -> None:
    async with FeedServer() as server:
        server.route("/busy.xml", StatusRoute(429, retry_after="7200"))
        server.route("/gone.xml", StatusRoute(410))
        async with bot_for(tmp_path) as (bot, _):
            busy, _ = await bot.store.feeds.add(server.url("/busy.xml"), "busy")
            gone, _ = await bot.store.feeds.add(server.url("/gone.xml"), "gone")
            await bot.poller.poll(busy)
            await bot.poller.poll(gone)
            busy_after = await bot.store.feeds.get(busy.id)
            gone_after = await bot.store.feeds.get(gone.id)
            assert busy_after and gone_after
            assert busy_after.next_poll_at and busy_after.next_poll_at >= datetime.now(
                UTC
            ) + timedelta(seconds=7100)
            assert busy_after.consecutive_failures == 1 and "429" in (busy_after.last_error or "")
            assert gone_after.state is FeedState.DISABLED
            # Many failures in a row: broken, with the last error visible.
            server.route("/busy.xml", StatusRoute(503))
            current = busy_after
            for _ in range(bot.settings.poll.broken_after):
                await bot.poller.poll(current)
                refreshed = await bot.store.feeds.get(busy.id)
                assert refreshed
                current = refreshed
            assert current.state is FeedState.BROKEN and "503" in (current.last_error or "")


async def test_permanent_redirect_moves_the_feed_and_the_config_does_not_re_add_it(
    tmp_path: Path,
) -> None:
    async with FeedServer() as server:
        server.feed("/new.xml", [item(COST_SHARING, 1)])
        server.route("/old.xml", RedirectRoute("/new.xml", status=301))
        async with bot_for(tmp_path, server.url("/old.xml")) as (bot, _):
            await poll_all(bot)
            [feed] = await bot.store.feeds.all()
            assert feed.url == server.url("/new.xml")
            assert await sync_config_feeds(bot.store, [(server.url("/old.xml"), "x", None)]) == 0
            assert len(await bot.store.feeds.all()) == 1


async def test_unreachable_feed_is_logged_and_the_rest_keep_working(tmp_path: Path, caplog) -> None:
    async with FeedServer() as server:
        server.feed("/feed.xml", [item(EXERCISES, 1)])
        async with bot_for(tmp_path, server.url("/feed.xml")) as (bot, _):
            dead, _ = await bot.store.feeds.add("http://127.0.0.1:9/nothing-listens-here", "dead")
            reports = (await bot.scheduler.pipeline.poll_due_now()).reports
            by_feed = {r.feed_id: r for r in reports}
            assert by_feed[dead.id].outcome == "failed"
            assert any(r.new_entries == 1 for r in reports)
            failed = [r for r in caplog.records if getattr(r, "event", None) == "poll_failed"]
            assert [r.feed_id for r in failed] == [dead.id]


async def test_an_excerpt_only_item_gets_its_page_fetched_for_the_full_text(tmp_path: Path) -> None:
    async with FeedServer() as server:
        route = server.feed("/feed.xml", [item(EXERCISES, 1)])
        page = (
            "<html><head><title>x</title><meta name='author' content='Grace Yoon'></head><body>"
            "<nav>Skip to content</nav><article><h1>"
            + COST_SHARING.title
            + "</h1>"
            + COST_SHARING.html
            + "</article><footer>Leave a Comment</footer></body></html>"
        )
        server.route("/articles/cost", HtmlRoute(page))
        # The page is on loopback: allowed by name (entry links are guarded by default).
        allowed = 'article_private_hosts = ["127.0.0.1"]'
        async with bot_for(tmp_path, server.url("/feed.xml"), analysis=allowed) as (bot, _):
            await poll_all(bot)  # baseline
            excerpt = Item(
                COST_SHARING.title,
                link=server.url("/articles/cost"),
                guid="urn:cost-excerpt",
                published=DAY + timedelta(days=1),
                description="Talks on the troop cost deal ended without agreement.",
            )
            route.set_items([excerpt, item(EXERCISES, 1)])
            [report] = await poll_all(bot)
            assert server.count("/articles/cost") == 1
            [brief] = report.briefs
            assert "cost-sharing" in [t.id for t in brief.key_issues]
            assert "Skip to content" not in brief.summary and "Leave a Comment" not in brief.summary
            assert report.deliveries == 1


async def test_article_pages_of_an_operator_feed_stay_off_the_private_network(
    tmp_path: Path,
) -> None:
    """The feed is the operator's (trusted, on loopback); its entry links are the feed
    author's: a link into the private network is not fetched unless the host is allowed."""
    secret = "The intranet page lists the internal budget memo."
    async with FeedServer() as server, FeedServer() as intranet:
        intranet.route("/memo", RawRoute(f"<html><body><p>{secret}</p></body></html>".encode()))
        excerpt = Item(
            COST_SHARING.title,
            link=intranet.url("/memo"),
            guid="urn:cost-excerpt",
            published=DAY + timedelta(days=1),
            description=COST_SHARING.paragraphs[0],
        )
        for allowed, fetched in (("", 0), ('article_private_hosts = ["127.0.0.1"]', 1)):
            route = server.feed("/feed.xml", [item(EXERCISES, 1)])
            intranet.reset()
            path = tmp_path / str(fetched)
            path.mkdir()
            async with bot_for(path, server.url("/feed.xml"), analysis=allowed) as (bot, _):
                await poll_all(bot)  # baseline
                route.set_items([excerpt, item(EXERCISES, 1)])
                [report] = await poll_all(bot)
                assert intranet.count("/memo") == fetched
                assert report.new_entries == 1 and report.error is None
                [brief] = report.briefs
                if not fetched:  # the brief is made from the feed's own text
                    assert "Negotiators from the United States" in brief.summary
                    assert secret not in brief.summary


async def test_delivered_once_even_when_polled_again_before_dispatch(tmp_path: Path) -> None:
    async with FeedServer() as server:
        route = server.feed("/feed.xml", [item(KPOP, 1)])
        async with bot_for(tmp_path, server.url("/feed.xml")) as (bot, screen):
            await poll_all(bot)
            route.set_items([item(GSOMIA, 2), item(KPOP, 1)])
            await poll_all(bot)
            route.set_items([item(GSOMIA, 2), item(KPOP, 1)])
            route.set_body(route.body + b"\n")  # same items, a different body: parsed again
            await poll_all(bot)
            await bot.dispatcher.drain()
            assert screen.getvalue().count(GSOMIA.title) == 1
            sent = await bot.store.outbox.all(DeliveryState.SENT)
            assert len(sent) == 1


async def test_a_guid_shared_for_one_poll_does_not_turn_an_old_post_into_a_new_one(
    tmp_path: Path,
) -> None:
    async with FeedServer() as server:
        route = server.feed("/feed.xml", [item(COST_SHARING, 1)])
        async with bot_for(tmp_path, server.url("/feed.xml")) as (bot, _):
            await poll_all(bot)  # baseline
            # A CMS glitch: a new post goes out carrying the old post's guid.
            glitch = Item(
                GSOMIA.title,
                link="https://alliance.example/new",
                guid=f"urn:story:{COST_SHARING.slug}",
                published=DAY + timedelta(hours=5),
                description=GSOMIA.paragraphs[0],
                content_html=GSOMIA.html,
            )
            route.set_items([glitch, item(COST_SHARING, 1)])
            [report] = await poll_all(bot)
            assert report.new_entries == 1 and [b.title for b in report.briefs] == [GSOMIA.title]
            assert report.deliveries == 1
            route.set_items([item(COST_SHARING, 1)])  # the glitch is fixed
            [report] = await poll_all(bot)
            assert report.new_entries == 0


async def test_a_site_moving_to_https_does_not_repost_link_keyed_items(tmp_path: Path) -> None:
    def no_guid(story: Story, n: int, scheme: str) -> Item:
        return Item(
            story.title,
            link=f"{scheme}://alliance.example/{story.slug}",
            published=DAY + timedelta(hours=n),
            description=story.paragraphs[0],
            content_html=story.html,
        )

    async with FeedServer() as server:
        route = server.feed("/feed.xml", [no_guid(COST_SHARING, 1, "http")])
        async with bot_for(tmp_path, server.url("/feed.xml")) as (bot, _):
            await poll_all(bot)
            route.set_items([no_guid(GSOMIA, 2, "https"), no_guid(COST_SHARING, 1, "https")])
            [report] = await poll_all(bot)
            assert [b.title for b in report.briefs] == [GSOMIA.title]
            assert report.new_entries == 1


async def test_a_feed_removed_and_added_again_is_baselined_again(tmp_path: Path) -> None:
    async with FeedServer() as server:
        route = server.feed("/feed.xml", [item(COST_SHARING, 1)])
        async with bot_for(tmp_path, server.url("/feed.xml")) as (bot, _):
            await poll_all(bot)
            [feed] = await bot.store.feeds.all()
            await bot.store.feeds.disable(feed.id, "removed by an admin")
            route.set_items([item(GSOMIA, 2), item(EXERCISES, 3), item(COST_SHARING, 1)])
            again, created = await bot.store.feeds.add(feed.url, feed.name)
            assert created and not again.baselined
            [report] = await poll_all(bot)
            assert report.baseline and report.new_entries == 2 and report.deliveries == 0


async def test_an_entry_stored_meanwhile_by_another_poller_is_not_a_failure(
    tmp_path: Path,
) -> None:
    async with FeedServer() as server:
        route = server.feed("/feed.xml", [item(COST_SHARING, 1)])
        async with bot_for(tmp_path, server.url("/feed.xml")) as (bot, _):
            await poll_all(bot)
            route.set_items([item(GSOMIA, 2), item(COST_SHARING, 1)])
            [feed] = await bot.store.feeds.all()
            store = bot.store

            class RacingAnalyzer:
                """While this poller analyses, another process (a CLI `poll`) stores the
                same entry."""

                async def analyze(self, article: ArticleInput) -> Analysis:
                    result = await bot.analyzer.analyze(article)
                    entry = FeedEntry(article.id, article.url, article.title, None, None, "", None)
                    await store.briefs.store_post(
                        feed, NewPost(entry, result, "h", result.relevant)
                    )
                    return result

            async with FeedFetcher(allow_private=True) as fetcher:
                poller = Poller(store, RacingAnalyzer(), bot.settings.poll, trusted=fetcher)
                report = await poller.poll(feed)
            assert report.outcome == "changed" and report.error is None
            assert report.new_entries == 0
            after = await store.feeds.get(feed.id)
            assert after is not None and after.consecutive_failures == 0
