"""The command service as adapters see it, counting each command by name and the kind of its
reply (ports.Metrics.command). The names are a fixed set ("briefs latest", "feeds add"): never
what a user typed, so the count cannot grow without bound."""

from __future__ import annotations

from collections.abc import Awaitable, Sequence

from koreapage_bot.commands import grammar
from koreapage_bot.commands.api import CommandApi
from koreapage_bot.commands.replies import Caller, Reply
from koreapage_bot.domain import IssueTag
from koreapage_bot.ports import Metrics

# The grammar's command types, by the name operators see on the metrics page.
_NAMES: dict[type, str] = {
    grammar.Help: "help",
    grammar.Latest: "latest",
    grammar.Search: "search",
    grammar.Issue: "issue",
    grammar.Show: "show",
    grammar.Subscribe: "subscribe",
    grammar.Unsubscribe: "unsubscribe",
    grammar.Subscriptions: "subscriptions",
    grammar.Digest: "digest",
    grammar.FeedsAdd: "add",
    grammar.FeedsRemove: "remove",
    grammar.FeedsList: "list",
}


def command_name(group: str, text: str) -> str:
    """What a text command ("latest 5 usfk" in /briefs) is called: "briefs latest";
    "briefs" alone when it does not parse."""
    group = group if group in grammar.GROUPS else "other"
    try:
        command = grammar.parse(group, text)
    except ValueError:  # GrammarError too: the service answers with the usage
        return group
    name = _NAMES.get(type(command), type(command).__name__.lower())
    return f"{group} {name}"


class MeteredCommands:
    """`CommandApi` around another one, counting every call. Failures are counted and
    re-raised: the adapter answers them."""

    def __init__(self, api: CommandApi, metrics: Metrics) -> None:
        self._api = api
        self._metrics = metrics

    async def _count(self, caller: Caller, name: str, call: Awaitable[Reply]) -> Reply:
        try:
            reply = await call
        except Exception:
            self._metrics.command(caller.platform, name, "failed")
            raise
        self._metrics.command(caller.platform, name, reply.kind.value)
        return reply

    async def latest(self, caller: Caller, count: int = 5, issue: str | None = None) -> Reply:
        return await self._count(caller, "briefs latest", self._api.latest(caller, count, issue))

    async def search(self, caller: Caller, query: str) -> Reply:
        return await self._count(caller, "briefs search", self._api.search(caller, query))

    async def issue(self, caller: Caller, issue_id: str) -> Reply:
        return await self._count(caller, "briefs issue", self._api.issue(caller, issue_id))

    async def show(self, caller: Caller, brief_id: str) -> Reply:
        return await self._count(caller, "briefs show", self._api.show(caller, brief_id))

    async def subscriptions(self, caller: Caller) -> Reply:
        return await self._count(caller, "briefs subscriptions", self._api.subscriptions(caller))

    async def digest(self, caller: Caller) -> Reply:
        return await self._count(caller, "briefs digest", self._api.digest(caller))

    async def subscribe(
        self, caller: Caller, issues: Sequence[str] = (), *, every_report: bool | None = None
    ) -> Reply:
        call = self._api.subscribe(caller, issues, every_report=every_report)
        return await self._count(caller, "briefs subscribe", call)

    async def unsubscribe(self, caller: Caller) -> Reply:
        return await self._count(caller, "briefs unsubscribe", self._api.unsubscribe(caller))

    async def feeds_add(self, caller: Caller, url: str) -> Reply:
        return await self._count(caller, "feeds add", self._api.feeds_add(caller, url))

    async def feeds_remove(self, caller: Caller, feed: str) -> Reply:
        return await self._count(caller, "feeds remove", self._api.feeds_remove(caller, feed))

    async def feeds_list(self, caller: Caller) -> Reply:
        return await self._count(caller, "feeds list", self._api.feeds_list(caller))

    async def execute(self, caller: Caller, group: str, text: str) -> Reply:
        name = command_name(group, text)
        return await self._count(caller, name, self._api.execute(caller, group, text))

    def issue_choices(self, prefix: str = "") -> list[IssueTag]:
        return self._api.issue_choices(prefix)

    def usage(self, group: str, topic: str | None = None) -> Reply:
        return self._api.usage(group, topic)


def _conforms(metered: MeteredCommands) -> CommandApi:
    """Never called: mypy checks here that MeteredCommands is a CommandApi."""
    return metered
