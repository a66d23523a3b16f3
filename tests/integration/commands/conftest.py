"""A command service on a real store, fed by the real poller and analyser."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from koreapage_bot.analysis.taxonomy import Taxonomy, load_taxonomy
from koreapage_bot.bootstrap import build_analyzer, fetcher, issue_tags
from koreapage_bot.commands.feedprobe import make_prober
from koreapage_bot.commands.replies import Caller
from koreapage_bot.commands.service import CommandService
from koreapage_bot.config import Settings, parse_settings
from koreapage_bot.domain import Brief, Feed
from koreapage_bot.ingest.fetch import FeedFetcher
from koreapage_bot.ingest.poller import Poller
from koreapage_bot.store.store import Store
from tests.fakes.feed_server import FeedServer

FEEDS = Path(__file__).resolve().parents[2] / "fixtures" / "feeds"
ALLIANCE = FEEDS / "alliance.xml"
NEW_ITEM = FEEDS / "alliance_new_item.xml"


def alliance_with_new_item() -> bytes:
    """alliance.xml with one more (newest) item spliced in before the first one."""
    body = ALLIANCE.read_bytes()
    item = NEW_ITEM.read_bytes()
    item = item[item.index(b"<item>") :]
    return body.replace(b"<item>", item + b"\n<item>", 1)


def admin(channel: str = "C-ALLIANCE", user: str = "U-ADMIN", **kw: object) -> Caller:
    return Caller("slack", "T-1", channel, user, is_admin=True, **kw)  # type: ignore[arg-type]


def member(channel: str = "C-ALLIANCE", user: str = "U-MEMBER") -> Caller:
    return Caller("slack", "T-1", channel, user, is_admin=False)


@dataclass
class Harness:
    store: Store
    settings: Settings
    taxonomy: Taxonomy
    poller: Poller
    untrusted_public: FeedFetcher  # the SSRF guard on: loopback and private refused
    untrusted_private: FeedFetcher  # allow_private_feeds = true
    tmp_path: Path
    changed: list[str] = field(default_factory=list)

    def service(
        self, *, allow_private: bool = False, allowlist: Sequence[str] = ()
    ) -> CommandService:
        return CommandService(
            self.store,
            issue_tags(self.taxonomy),
            prober=make_prober(
                self.untrusted_private if allow_private else self.untrusted_public,
                allow_private=allow_private,
            ),
            operator_prober=make_prober(self.untrusted_private, allow_private=True),
            admin_allowlist=allowlist,
            on_subscriptions_changed=lambda: self.changed.append("changed"),
        )

    async def ingest(self, body: bytes, name: str = "alliance.xml") -> tuple[Feed, list[Brief]]:
        """Write `body` as a local feed file and poll it through the real poller."""
        path = self.tmp_path / name
        path.write_bytes(body)
        url = path.as_uri()
        feed = await self.store.feeds.by_url(url)
        if feed is None:
            feed, _ = await self.store.feeds.add(url, "Peninsula Alliance Monitor")
        report = await self.poller.poll(feed)
        assert report.error is None, report.error
        fresh = await self.store.feeds.get(feed.id)
        assert fresh is not None
        return fresh, report.briefs


@pytest.fixture
async def harness(store: Store, tmp_path: Path) -> AsyncIterator[Harness]:
    settings = parse_settings(
        {"analysis": {"fetch_full_text": False}, "poll": {"broken_after": 1}},
        {},
        "<test>",
        None,
    )
    taxonomy = load_taxonomy(settings.analysis.issues_file)
    async with (
        fetcher(settings, allow_private=True) as trusted,
        fetcher(settings, allow_private=False) as public,
        fetcher(settings, allow_private=True) as private,
    ):
        poller = Poller(
            store,
            build_analyzer(settings, taxonomy),
            settings.poll,
            trusted=trusted,
            untrusted=public,
            analysis=settings.analysis,
        )
        yield Harness(store, settings, taxonomy, poller, public, private, tmp_path)


@pytest.fixture
async def feed_server() -> AsyncIterator[FeedServer]:
    async with FeedServer() as server:
        yield server
