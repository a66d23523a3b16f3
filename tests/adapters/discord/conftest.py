"""Fixtures: the fake Discord, and the adapter logged into it.

`api` is a small in-test CommandApi: it answers queries from a list of briefs and hands every
change (subscribe, feeds add/remove) to the real CommandService on the in-memory store, so who
may change what is decided where the bot decides it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

import pytest

from koreapage_bot.adapters.discord.client import DiscordAdapter
from koreapage_bot.commands.replies import Caller, Reply, ReplyKind, SubscriptionLine
from koreapage_bot.commands.service import CommandService, FeedProbe
from koreapage_bot.config import DiscordConfig, discord_config
from koreapage_bot.domain import IssueTag
from koreapage_bot.ports import BriefView
from koreapage_bot.store.memory import MemoryStore
from tests.fakes.discord_server import FakeDiscord

ISSUES = (
    IssueTag("usfk", "US Forces Korea"),
    IssueTag("cost-sharing", "Defense cost sharing"),
    IssueTag("extended-deterrence", "Extended deterrence"),
    IssueTag("trade", "Trade and tariffs"),
)


def make_view(n: int, *, summary: str | None = None, title: str | None = None) -> BriefView:
    return BriefView(
        brief_id=n,
        title=title or f"Seoul and Washington talk troop costs, round {n}",
        url=f"https://news.example.org/alliance/{n}",
        author="Kim Minji",
        source="Example Alliance Review",
        published=datetime(2025, 3, n % 28 + 1, 9, 30, tzinfo=UTC),
        summary=summary
        or "Negotiators met again over the share South Korea pays for US troops stationed there.",
        key_issues=(ISSUES[1], ISSUES[0]),
        relevance=0.9,
    )


async def _probe(url: str) -> FeedProbe:
    """A feed check that needs no network: every URL is a feed with three items."""
    return FeedProbe(url=url, title="Example feed", items=3)


class InTestApi:
    """CommandApi over an in-memory list; records every call with its Caller."""

    def __init__(self, views: Sequence[BriefView]) -> None:
        self.views = list(views)
        self.calls: list[tuple[str, Caller, tuple[object, ...]]] = []
        self.subscribed: dict[str, tuple[str, ...]] = {}
        self.delay = 0.0  # seconds each answer takes (forces the deferred path)
        self.service = CommandService(MemoryStore(), ISSUES, prober=_probe)

    async def _note(self, name: str, caller: Caller, *args: object) -> None:
        self.calls.append((name, caller, args))
        if self.delay:
            await asyncio.sleep(self.delay)

    def _briefs(self, text: str, views: Sequence[BriefView]) -> Reply:
        if not views:
            return Reply(ReplyKind.EMPTY, "No briefs found. Try another word or issue.")
        return Reply(ReplyKind.BRIEFS, text, briefs=tuple(views))

    async def latest(self, caller: Caller, count: int = 5, issue: str | None = None) -> Reply:
        await self._note("latest", caller, count, issue)
        views = [v for v in self.views if not issue or issue in {t.id for t in v.key_issues}]
        return self._briefs(f"Latest {min(count, len(views))} briefs", views[:count])

    async def search(self, caller: Caller, query: str) -> Reply:
        await self._note("search", caller, query)
        q = query.lower()
        found = [v for v in self.views if q in v.title.lower() or q in v.summary.lower()]
        return self._briefs(f"Briefs matching “{query}”", found[:5])

    async def issue(self, caller: Caller, issue_id: str) -> Reply:
        return await self.latest(caller, 5, issue_id)

    async def show(self, caller: Caller, brief_id: str) -> Reply:
        await self._note("show", caller, brief_id)
        for v in self.views:
            if str(v.brief_id) == brief_id:
                return Reply(ReplyKind.BRIEF, v.title, briefs=(v,))
        return Reply(ReplyKind.ERROR, f"No brief {brief_id}. Use /briefs latest to find ids.")

    async def subscriptions(self, caller: Caller) -> Reply:
        await self._note("subscriptions", caller)
        issues = self.subscribed.get(caller.channel)
        if issues is None:
            return Reply(ReplyKind.EMPTY, "This channel has no subscription.")
        line = SubscriptionLine(1, caller.channel, issues, (), "active", None, None, "UTC", True)
        return Reply(ReplyKind.SUBSCRIPTIONS, "Subscriptions here:", subscriptions=(line,))

    async def digest(self, caller: Caller) -> Reply:
        await self._note("digest", caller)
        return self._briefs("Today's digest", self.views[:10])

    async def subscribe(
        self, caller: Caller, issues: Sequence[str] = (), *, every_report: bool | None = None
    ) -> Reply:
        await self._note("subscribe", caller, tuple(issues))
        reply = await self.service.subscribe(caller, issues, every_report=every_report)
        if reply.kind is ReplyKind.DONE:
            self.subscribed[caller.channel] = reply.subscriptions[0].issues
        return reply

    async def unsubscribe(self, caller: Caller) -> Reply:
        await self._note("unsubscribe", caller)
        reply = await self.service.unsubscribe(caller)
        if reply.kind is ReplyKind.DONE:
            self.subscribed.pop(caller.channel, None)
        return reply

    async def feeds_add(self, caller: Caller, url: str) -> Reply:
        await self._note("feeds_add", caller, url)
        return await self.service.feeds_add(caller, url)

    async def feeds_remove(self, caller: Caller, feed: str) -> Reply:
        await self._note("feeds_remove", caller, feed)
        return await self.service.feeds_remove(caller, feed)

    async def feeds_list(self, caller: Caller) -> Reply:
        await self._note("feeds_list", caller)
        return Reply(ReplyKind.EMPTY, "No feeds yet.")

    async def execute(self, caller: Caller, group: str, text: str) -> Reply:
        return Reply(ReplyKind.USAGE, "Use the slash commands.")

    def issue_choices(self, prefix: str = "") -> list[IssueTag]:
        p = prefix.lower()
        return [t for t in ISSUES if t.id.startswith(p) or t.label.lower().startswith(p)]

    def usage(self, group: str, topic: str | None = None) -> Reply:
        return Reply(ReplyKind.USAGE, f"/{group} …")


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as server:
        yield server


@pytest.fixture
def api() -> InTestApi:
    return InTestApi([make_view(n) for n in range(1, 8)])


def settings_for(fake: FakeDiscord, **overrides: object) -> DiscordConfig:
    env = {
        "DISCORD_TOKEN": "fake-token",
        "DISCORD_API_BASE": fake.api_base,
        "DISCORD_GATEWAY_URL": fake.gateway_url,
        "DISCORD_GUILD_ID": str(fake.guild_id),
        "DISCORD_START_TIMEOUT": "20",
        "DISCORD_GUILD_READY_TIMEOUT": "0.05",
    }
    settings = discord_config(env)
    if overrides:
        from dataclasses import replace

        settings = replace(settings, **overrides)  # type: ignore[arg-type]
    return settings


@pytest.fixture
async def adapter(fake: FakeDiscord, api: InTestApi) -> AsyncIterator[DiscordAdapter]:
    bot = DiscordAdapter(settings_for(fake), api)
    await bot.start()
    try:
        yield bot
    finally:
        await bot.close()


def check_bodies(fake: FakeDiscord) -> int:
    """Every body the bot sent, validated against the Discord spec (when ../shared is there)."""
    from tests.contract.discord_spec import validate_all

    return validate_all(fake.requests, skip_if_absent=False)
