"""Fixtures for the Slack adapter: the fake Slack, the bot's HTTP server, a running adapter.

`LocalCommandApi` is a small CommandApi over an in-memory list, parsed with the real shared
grammar. It exists only so the adapter can be exercised before the real CommandService lands;
the e2e tier runs the adapter on the real service and store.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import aiohttp
import pytest

from koreapage_bot.adapters.slack.app import SlackAdapter
from koreapage_bot.commands import grammar
from koreapage_bot.commands.replies import Caller, Reply, ReplyKind
from koreapage_bot.commands.service import CommandService
from koreapage_bot.config import ServerConfig, slack_config
from koreapage_bot.domain import IssueTag
from koreapage_bot.http import HttpServer
from koreapage_bot.ports import BriefView
from koreapage_bot.store.memory import MemoryStore
from tests.fakes.slack_server import FakeSlack, signed_slash_command

SIGNING_SECRET = "test-signing-secret-8c1d"
ADMIN = "U0ADMIN01"
OWNER = "U0OWNER01"
MEMBER = "U0MEMBER1"
CHANNEL = "C0GENERAL"

GSOMIA = IssueTag("gsomia", "GSOMIA")
USFK = IssueTag("usfk", "USFK")


def make_view(brief_id: int = 1, **overrides: object) -> BriefView:
    values: dict[str, object] = {
        "brief_id": brief_id,
        "title": "Seoul and Washington extend the intelligence-sharing pact",
        "url": f"https://news.example.org/posts/{brief_id}",
        "author": "Min-ji Park",
        "source": "Example Korea Review",
        "published": datetime(2026, 5, 4, 9, 30, tzinfo=UTC),
        "summary": "Officials agreed to keep the GSOMIA arrangement in force for another year.",
        "key_issues": (GSOMIA, USFK),
        "relevance": 0.82,
    }
    values.update(overrides)
    return BriefView(**values)  # type: ignore[arg-type]


@dataclass
class LocalCommandApi:
    """Answers queries from `briefs`; a subscribe goes to the real CommandService on the
    in-memory store, which decides who may change a channel's subscription."""

    briefs: list[BriefView] = field(default_factory=list)
    executed: list[tuple[Caller, str, str]] = field(default_factory=list)
    subscribed: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    service: CommandService = field(
        default_factory=lambda: CommandService(MemoryStore(), (GSOMIA, USFK))
    )

    async def execute(self, caller: Caller, group: str, text: str) -> Reply:
        self.executed.append((caller, group, text))
        try:
            command = grammar.parse(group, text)
        except grammar.GrammarError as exc:
            return Reply(ReplyKind.USAGE, exc.message, details=(exc.usage,))
        if isinstance(command, grammar.Latest):
            return await self.latest(caller, command.count, command.issue)
        if isinstance(command, grammar.Search):
            return await self.search(caller, command.text)
        if isinstance(command, grammar.Subscribe):
            return await self.subscribe(caller, command.issues)
        if isinstance(command, grammar.Help):
            return self.usage(group)
        return Reply(ReplyKind.ERROR, f"`{command.name}` is not available in this test API")

    async def latest(self, caller: Caller, count: int = 5, issue: str | None = None) -> Reply:
        found = [b for b in self.briefs if issue is None or issue in {t.id for t in b.key_issues}]
        return self._list(found[:count], "Latest briefs")

    async def search(self, caller: Caller, query: str) -> Reply:
        words = query.lower().split()
        found = [
            b for b in self.briefs if all(w in f"{b.title} {b.summary}".lower() for w in words)
        ]
        return self._list(found, f"Briefs matching “{query}”")

    async def subscribe(
        self, caller: Caller, issues: Sequence[str] = (), *, every_report: bool | None = None
    ) -> Reply:
        reply = await self.service.subscribe(caller, issues, every_report=every_report)
        if reply.kind is ReplyKind.DONE:
            self.subscribed.append((caller.channel, tuple(issues)))
        return reply

    def usage(self, group: str, topic: str | None = None) -> Reply:
        return Reply(ReplyKind.USAGE, f"/{group} commands", details=(grammar.usage(group),))

    def _list(self, found: list[BriefView], title: str) -> Reply:
        if not found:
            return Reply(ReplyKind.EMPTY, "No briefs found.")
        return Reply(ReplyKind.BRIEFS, title, briefs=tuple(found))

    # The rest of CommandApi is not reached through Slack's text commands in these tests.
    async def issue(self, caller: Caller, issue_id: str) -> Reply:
        return await self.latest(caller, 5, issue_id)

    async def show(self, caller: Caller, brief_id: str) -> Reply:
        found = [b for b in self.briefs if str(b.brief_id) == brief_id]
        return Reply(ReplyKind.BRIEF, "Brief", briefs=tuple(found[:1]))

    async def subscriptions(self, caller: Caller) -> Reply:
        return Reply(ReplyKind.SUBSCRIPTIONS, "Subscriptions")

    async def digest(self, caller: Caller) -> Reply:
        return self._list(self.briefs, "Digest")

    async def unsubscribe(self, caller: Caller) -> Reply:
        return Reply(ReplyKind.DONE, "Unsubscribed.")

    async def feeds_add(self, caller: Caller, url: str) -> Reply:
        return Reply(ReplyKind.DONE, "Added.")

    async def feeds_remove(self, caller: Caller, feed: str) -> Reply:
        return Reply(ReplyKind.DONE, "Removed.")

    async def feeds_list(self, caller: Caller) -> Reply:
        return Reply(ReplyKind.FEEDS, "Feeds")

    def issue_choices(self, prefix: str = "") -> list[IssueTag]:
        return [t for t in (GSOMIA, USFK) if t.id.startswith(prefix)]


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        fake.add_user(ADMIN, "ada", admin=True)
        fake.add_user(OWNER, "olu", owner=True)
        fake.add_user(MEMBER, "mel")
        fake.add_channel(CHANNEL, "general")
        yield fake


@pytest.fixture
def command_api() -> LocalCommandApi:
    return LocalCommandApi(
        briefs=[
            make_view(1),
            make_view(
                2,
                title="USFK posture review & the cost-sharing <talks>",
                summary="Negotiators met on troop costs; <!channel> should not ping anyone.",
                key_issues=(USFK,),
            ),
        ]
    )


@pytest.fixture
async def http_server() -> AsyncIterator[HttpServer]:
    async with HttpServer(ServerConfig(host="127.0.0.1", port=0)) as server:
        yield server


@pytest.fixture
async def http_adapter(
    fake_slack: FakeSlack, command_api: LocalCommandApi, http_server: HttpServer
) -> AsyncIterator[SlackAdapter]:
    settings = slack_config(
        {
            "SLACK_BOT_TOKEN": fake_slack.bot_token,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": fake_slack.api_url,
        }
    )
    adapter = SlackAdapter(settings, command_api, http_server)
    await adapter.start()
    try:
        yield adapter
    finally:
        await adapter.close()


@dataclass
class SlashClient:
    """Sends slash commands to the bot's /slack/events the way Slack does."""

    url: str
    fake: FakeSlack
    secret: str = SIGNING_SECRET

    async def send(
        self,
        command: str,
        text: str,
        *,
        user_id: str,
        timestamp: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, str, str]:
        """Returns (status, body, response_url)."""
        response_url = self.fake.new_response_url()
        body, signed = signed_slash_command(
            self.secret,
            command,
            text,
            user_id=user_id,
            response_url=response_url,
            channel_id=CHANNEL,
            team_id=self.fake.team_id,
            timestamp=timestamp,
        )
        if headers is not None:
            signed = headers
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.url, data=body.encode(), headers=signed) as resp,
        ):
            return resp.status, await resp.text(), response_url


@pytest.fixture
def slash(
    http_server: HttpServer, fake_slack: FakeSlack, http_adapter: SlackAdapter
) -> SlashClient:
    return SlashClient(f"{http_server.base_url}/slack/events", fake_slack)
