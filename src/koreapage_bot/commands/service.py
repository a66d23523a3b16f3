"""The one command service behind every slash command (Discord, Slack, console).

Adapters parse options (or pass text through the shared grammar) and render the `Reply`; all
decisions — who may change what, what a query returns, what an error says — are made here.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from koreapage_bot.commands import grammar
from koreapage_bot.commands.replies import (
    Caller,
    FeedLine,
    Reply,
    ReplyKind,
    SubscriptionLine,
)
from koreapage_bot.config import ConfigError, validate_timezone
from koreapage_bot.domain import Brief, Feed, FeedState, IssueTag, ParsedFeed, Subscription
from koreapage_bot.ports import MAX_ROW_ID, BriefView, Storage, SubscriptionSpec, parse_row_id

if TYPE_CHECKING:
    from koreapage_bot.ingest.fetch import FetchResult

log = logging.getLogger(__name__)

row_id = parse_row_id  # `ref` as a row id in range, else None (never int() of a huge number)


@dataclass(frozen=True, slots=True)
class FeedProbe:
    """What fetching a candidate feed once found."""

    url: str  # the feed URL to store (after discovery / permanent redirects)
    title: str | None
    items: int
    # The response read and what it held: a new feed's first poll, so it is fetched once.
    fetched: FetchResult | None = None
    parsed: ParsedFeed | None = None


class FeedRefused(Exception):
    """The feed cannot be added; the message is shown to the user as is."""


class Refused(Exception):
    """The service turns a request down; `reply` (usage or error) says why. The query methods
    that answer plain values (for the CLI) raise it; the chat methods answer the reply."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.text)
        self.reply = reply


# Fetches a URL once (with the SSRF guard) and says what feed it found, or raises FeedRefused.
FeedProber = Callable[[str], Awaitable[FeedProbe]]
# Polls a feed just added from the probe's response (stored, baselined, next poll set).
FirstPoll = Callable[[Feed, FeedProbe], Awaitable[None]]


def subscription_line(s: Subscription) -> SubscriptionLine:
    return SubscriptionLine(
        id=s.id,
        channel=s.channel,
        issues=s.issues,
        feeds=s.feeds,
        state=s.state.value,
        paused_reason=s.paused_reason,
        digest_time=s.digest_time,
        digest_tz=s.digest_tz,
        per_brief=s.per_brief,
    )


def feed_line(f: Feed) -> FeedLine:
    return FeedLine(
        id=f.id,
        name=f.name,
        url=f.url,
        state=f.state.value,
        last_error=f.last_error,
        next_poll_at=f.next_poll_at if f.state is not FeedState.DISABLED else None,
        last_polled_at=f.last_polled_at,
    )


def workspace_prefix(caller: Caller) -> str:
    """The `added_by` prefix of every feed added from the caller's server or workspace."""
    return f"{caller.platform}:{caller.workspace or '-'}:"


def added_by(caller: Caller) -> str:
    return workspace_prefix(caller) + caller.user_id


def _issue_id(issue: str | None) -> str | None:
    """An issue as typed, normalised; an empty option means "any issue"."""
    return (issue or "").strip().lower() or None


@dataclass(frozen=True, slots=True)
class StoryGroup:
    """One line of a list: a story, shown as one of its briefs, with all its reports."""

    brief: Brief  # the one shown: the story's first report (latest), the best match (search)
    reports: tuple[Brief, ...]  # every report of the story, oldest first, `brief` among them

    @property
    def view(self) -> BriefView:
        return BriefView.of(self.brief, self.reports)

    def to_json(self) -> dict[str, object]:
        """The shown brief's JSON, with its story's id and every report as a source."""
        return {
            **self.brief.to_json(),
            "sources": [
                {
                    "brief_id": b.id,
                    "source": b.source,
                    "title": b.title,
                    "url": b.url,
                    "published": b.published.isoformat() if b.published else None,
                    "language": b.language,
                }
                for b in self.reports
            ],
        }


def _story_key(brief: Brief) -> int:
    """A brief's story, or (stored without one) the brief alone."""
    return brief.story_id if brief.story_id is not None else -brief.id


def _story_views(groups: Sequence[StoryGroup]) -> tuple[BriefView, ...]:
    return tuple(g.view for g in groups)


def _list_heading(groups: Sequence[StoryGroup]) -> tuple[int, str]:
    """How many lines, and what they are: "briefs", or "stories (N reports)" when any line
    stands for several reports."""
    reports = sum(len(g.reports) for g in groups)
    if reports == len(groups):
        return len(groups), "brief" if len(groups) == 1 else "briefs"
    noun = "story" if len(groups) == 1 else "stories"
    return len(groups), f"{noun} ({reports} reports)"


class CommandService:
    """Implements `CommandApi` on the store."""

    def __init__(
        self,
        store: Storage,
        issues: Sequence[IssueTag],
        *,
        prober: FeedProber | None = None,
        operator_prober: FeedProber | None = None,
        admin_allowlist: Sequence[str] = (),
        on_subscriptions_changed: Callable[[], None] | None = None,
        on_feed_added: Callable[[], None] | None = None,
        first_poll: FirstPoll | None = None,
        max_chat_feeds: int = 25,
    ) -> None:
        self._store = store
        self._issues = {t.id: t for t in issues}
        self._prober = prober
        self._operator_prober = operator_prober
        self._allowlist = frozenset(admin_allowlist)
        self._changed = on_subscriptions_changed
        self._feed_added = on_feed_added
        self._first_poll = first_poll
        self._max_chat_feeds = max_chat_feeds

    # -- helpers -------------------------------------------------------------------------

    def _may_change(self, caller: Caller) -> bool:
        return caller.is_admin or caller.user_id in self._allowlist

    def _refuse(self, what: str) -> Reply:
        return Reply(
            ReplyKind.ERROR,
            f"Only an admin of this server or workspace can {what}. "
            "Ask one, or ask the bot's operator to add you to the allowlist.",
        )

    def _unknown_issue(self, issue_id: str) -> Reply:
        valid = ", ".join(sorted(self._issues))
        return Reply(
            ReplyKind.ERROR,
            f"Unknown issue `{issue_id}`. Valid issue ids: {valid}.",
            details=tuple(f"{t.id} — {t.label}" for t in self._issues.values()),
        )

    def _label(self, issue_id: str) -> str:
        tag = self._issues.get(issue_id)
        return tag.label if tag else issue_id

    def issue_choices(self, prefix: str = "") -> list[IssueTag]:
        """Issues whose id or label contains `prefix` (ids first), for autocomplete."""
        p = prefix.strip().lower()
        tags = list(self._issues.values())
        if not p:
            return tags
        starts = [t for t in tags if t.id.startswith(p) or t.label.lower().startswith(p)]
        contains = [t for t in tags if t not in starts and (p in t.id or p in t.label.lower())]
        return starts + contains

    def usage(self, group: str, topic: str | None = None) -> Reply:
        """The group's commands, or one command's usage (`help search`)."""
        if topic is not None and topic in grammar.commands(group):
            return Reply(ReplyKind.USAGE, grammar.topic_usage(group, topic))
        return Reply(ReplyKind.USAGE, grammar.usage(group))

    # -- queries -------------------------------------------------------------------------

    async def latest_briefs(
        self, count: int, issue: str | None = None, *, most: int = grammar.LATEST_MAX
    ) -> list[Brief]:
        """The newest `count` briefs, optionally on one issue; Refused for a count out of range
        (1 to `most`: chat shows 10, the CLI lists up to `grammar.CLI_MAX`) or an unknown
        issue."""
        if not grammar.LATEST_MIN <= count <= most:
            raise Refused(
                Reply(
                    ReplyKind.USAGE,
                    f"Count must be between {grammar.LATEST_MIN} and {most}.",
                    details=(grammar.usage_line("briefs", "latest"),),
                )
            )
        issue = _issue_id(issue)
        if issue is not None and issue not in self._issues:
            raise Refused(self._unknown_issue(issue))
        return await self._store.briefs.latest(count, issue=issue)

    async def matching_briefs(
        self, query: str, limit: int = grammar.BRIEFS_MAX, *, most: int = grammar.BRIEFS_MAX
    ) -> list[Brief]:
        """Full-text search, best first; Refused for an empty query or a limit out of range
        (1 to `most`)."""
        if not query.strip():
            raise Refused(
                Reply(
                    ReplyKind.USAGE,
                    "Search for what?",
                    details=(grammar.usage_line("briefs", "search"),),
                )
            )
        if not 1 <= limit <= most:
            raise Refused(Reply(ReplyKind.USAGE, f"Show between 1 and {most} briefs."))
        return await self._store.briefs.search(query.strip(), limit=limit)

    async def _grouped(
        self, briefs: Sequence[Brief], wanted: int, *, first: bool
    ) -> list[StoryGroup]:
        """`briefs` (in the order shown) one line per story, at most `wanted` lines; the line
        shows the story's first report among `briefs` when `first`, else the first met."""
        order: list[Brief] = []
        seen: dict[int, list[Brief]] = {}
        for brief in briefs:
            key = _story_key(brief)
            if key in seen:
                seen[key].append(brief)
                continue
            if len(order) >= wanted:
                continue
            seen[key] = [brief]
            order.append(brief)
        ids = [b.story_id for b in order if b.story_id is not None]
        reports = await self._store.stories.reports(ids) if ids else {}
        groups = []
        for brief in order:
            key = _story_key(brief)
            members = tuple(reports.get(key, [])) or (brief,)
            shown = brief
            if first:
                listed = {b.id for b in seen[key]}
                shown = next((m for m in members if m.id in listed), brief)
            groups.append(StoryGroup(shown, members))
        return groups

    async def latest_stories(
        self, count: int, issue: str | None = None, *, most: int = grammar.LATEST_MAX
    ) -> list[StoryGroup]:
        """The newest `count` stories (optionally on one issue), newest report first, each as
        its first report with all its reports; Refused as `latest_briefs`."""
        briefs = await self.latest_briefs(count, issue, most=most)
        issue = _issue_id(issue)
        # A story with several reports takes several briefs: read on until `count` stories
        # (a few pages at most).
        exhausted = len(briefs) < count
        for _ in range(4):
            if exhausted or len({_story_key(b) for b in briefs}) >= count:
                break
            more = await self._store.briefs.latest(count * 2, issue=issue, offset=len(briefs))
            exhausted = len(more) < count * 2
            briefs.extend(more)
        return await self._grouped(briefs, count, first=True)

    async def matching_stories(
        self, query: str, limit: int = grammar.BRIEFS_MAX, *, most: int = grammar.BRIEFS_MAX
    ) -> list[StoryGroup]:
        """Search, one line per story: the best-matching report, with all of its story's."""
        if not 1 <= limit <= most:
            raise Refused(Reply(ReplyKind.USAGE, f"Show between 1 and {most} briefs."))
        page = max(limit, grammar.BRIEFS_MAX)
        found = await self.matching_briefs(query, page, most=max(page, most))
        if len(found) == page:
            # Several reports of one story take several briefs: read one more page.
            found.extend(
                await self._store.briefs.search(query.strip(), limit=page * 2, offset=len(found))
            )
        return await self._grouped(found, limit, first=False)

    async def story_of(self, brief: Brief) -> StoryGroup:
        """`brief` with every report of its story."""
        if brief.story_id is None:
            return StoryGroup(brief, (brief,))
        reports = await self._store.stories.reports([brief.story_id])
        return StoryGroup(brief, tuple(reports.get(brief.story_id, [])) or (brief,))

    async def latest(self, caller: Caller, count: int = 5, issue: str | None = None) -> Reply:
        try:
            groups = await self.latest_stories(count, issue)
        except Refused as refused:
            return refused.reply
        issue = _issue_id(issue)
        scope = f" on {self._label(issue)}" if issue else ""
        if not groups:
            return Reply(ReplyKind.EMPTY, f"No briefs{scope} yet.")
        n, noun = _list_heading(groups)
        return Reply(ReplyKind.BRIEFS, f"Latest {n} {noun}{scope}", _story_views(groups))

    async def search(self, caller: Caller, query: str) -> Reply:
        query = query.strip()
        try:
            if not query:
                await self.matching_briefs(query)  # refuses with the usage
            groups = await self.matching_stories(query)
        except Refused as refused:
            return refused.reply
        if not groups:
            return Reply(ReplyKind.EMPTY, f"No briefs match “{query}”.")
        n, noun = _list_heading(groups)
        return Reply(
            ReplyKind.BRIEFS,
            f"{n} {noun} matching “{query}”, best first",
            _story_views(groups),
        )

    async def issue(self, caller: Caller, issue_id: str) -> Reply:
        issue_id = issue_id.strip().lower()
        if not issue_id:
            return Reply(
                ReplyKind.USAGE, "Which issue?", details=(grammar.usage_line("briefs", "issue"),)
            )
        return await self.latest(caller, 5, issue_id)

    async def show(self, caller: Caller, brief_id: str) -> Reply:
        ref = brief_id.strip().lstrip("#")
        number = row_id(ref)
        if number is None:
            return Reply(
                ReplyKind.USAGE,
                f"`{grammar.clip(brief_id)}` is not a brief id: a whole number from 1 to "
                f"{MAX_ROW_ID}, shown in each brief's footer.",
                details=(grammar.usage_line("briefs", "show"),),
            )
        brief = await self._store.briefs.get(number)
        if brief is None:
            return Reply(ReplyKind.EMPTY, f"There is no brief {ref}.")
        group = await self.story_of(brief)
        text = f"Brief {brief.id}"
        if len(group.reports) > 1:
            text += f", one of {len(group.reports)} reports of this story"
        return Reply(ReplyKind.BRIEF, text, (group.view,))

    async def subscriptions(self, caller: Caller) -> Reply:
        sub = await self._store.subscriptions.for_channel(caller.platform, caller.channel)
        if sub is None:
            return Reply(
                ReplyKind.EMPTY,
                "This channel has no subscription. An admin can start one with "
                "`subscribe [issues…]`.",
            )
        text = "This channel's subscription"
        if sub.paused_reason:
            text += (
                f" is paused: {sub.paused_reason}. Fix it, then run `subscribe` again to resume."
            )
        return Reply(ReplyKind.SUBSCRIPTIONS, text, subscriptions=(subscription_line(sub),))

    async def digest(self, caller: Caller) -> Reply:
        sub = await self._store.subscriptions.for_channel(caller.platform, caller.channel)
        if sub is None:
            return Reply(
                ReplyKind.EMPTY,
                "This channel has no subscription, so it has no digest. Try `latest` instead.",
            )
        briefs = await self._store.briefs.for_subscription_since(
            sub, sub.last_digest_at, limit=grammar.BRIEFS_MAX
        )
        if not briefs:
            return Reply(ReplyKind.EMPTY, "Nothing new since the last digest.")
        groups = await self._grouped(list(reversed(briefs)), len(briefs), first=True)
        n, noun = _list_heading(groups)
        return Reply(ReplyKind.BRIEFS, f"{n} {noun} since the last digest", _story_views(groups))

    # -- changes -------------------------------------------------------------------------

    async def feed_ids(self, refs: Sequence[str]) -> tuple[int, ...]:
        """The feeds these ids, URLs or names name; Refused for one that names none."""
        ids: list[int] = []
        for ref in refs:
            found = await self._store.feeds.find(ref)
            if found is None:
                raise Refused(
                    Reply(
                        ReplyKind.ERROR,
                        f"No feed `{grammar.clip(ref)}`. `feeds list` shows the ids.",
                    )
                )
            ids.append(found.id)
        return tuple(ids)

    async def set_subscription(
        self, caller: Caller, spec: SubscriptionSpec
    ) -> tuple[Subscription, bool]:
        """Subscribe a channel, or update (and resume) its subscription. Returns it and whether
        it is new. Refused for a caller who may not change it, an unknown issue, a digest time
        that is not HH:MM, an unknown time zone, or no posts and no digest."""
        if not self._may_change(caller):
            raise Refused(self._refuse("change this channel's subscription"))
        issues = tuple(dict.fromkeys(i for i in map(_issue_id, spec.issues) if i))
        for issue_id in issues:
            if issue_id not in self._issues:
                raise Refused(self._unknown_issue(issue_id))
        if not spec.per_brief and spec.digest_time is None:
            raise Refused(
                Reply(
                    ReplyKind.USAGE,
                    "`--no-posts` needs `--digest HH:MM`, or the channel would get nothing.",
                    details=(grammar.usage_line("briefs", "subscribe"),),
                )
            )
        digest_time = spec.digest_time
        if digest_time is not None:
            digest_time = grammar.time_of_day(digest_time)
            if digest_time is None:
                raise Refused(
                    Reply(
                        ReplyKind.USAGE,
                        "A digest needs a time of day as HH:MM (24 h).",
                        details=(grammar.usage_line("briefs", "subscribe"),),
                    )
                )
        try:
            # An unknown zone would only fail later, in the digest job.
            validate_timezone(spec.digest_tz)
        except ConfigError:
            raise Refused(
                Reply(
                    ReplyKind.USAGE,
                    f"Cannot schedule a digest: unknown time zone {grammar.clip(spec.digest_tz)!r} "
                    "(use Area/City, e.g. Asia/Seoul).",
                )
            ) from None
        sub, created = await self._store.subscriptions.upsert(
            replace(spec, issues=issues, digest_time=digest_time)
        )
        if self._changed is not None:
            self._changed()
        return sub, created

    async def subscribe(
        self,
        caller: Caller,
        issues: Sequence[str] = (),
        *,
        digest_time: str | None = None,
        digest_tz: str | None = None,
        per_brief: bool = True,
        every_report: bool | None = None,
    ) -> Reply:
        existing = await self._store.subscriptions.for_channel(caller.platform, caller.channel)
        options = dict(existing.options) if existing else {}
        if every_report is not None:
            options.pop("every_report", None)
            if every_report:
                options["every_report"] = True
        if existing is not None and digest_time is None and per_brief:
            # Chat can set issues and a digest; what it does not mention stays as it was
            # (a digest, feed filters or a minimum relevance set from the CLI).
            digest_time, digest_tz = existing.digest_time, existing.digest_tz
            per_brief = existing.per_brief
        try:
            sub, created = await self.set_subscription(
                caller,
                SubscriptionSpec(
                    platform=caller.platform,
                    channel=caller.channel,
                    workspace=caller.workspace,
                    issues=tuple(issues),
                    feeds=existing.feeds if existing else (),
                    min_relevance=existing.min_relevance if existing else 0.0,
                    created_by=caller.user_id,
                    per_brief=per_brief,
                    digest_time=digest_time,
                    digest_tz=digest_tz or "UTC",
                    options=options,
                ),
            )
        except Refused as refused:
            return refused.reply
        wanted = sub.issues
        what = ", ".join(self._label(i) for i in wanted) if wanted else "every alliance brief"
        verb = "Subscribed" if created else "Updated the subscription"
        text = f"{verb}: this channel gets {what}"
        if sub.digest_time:
            text += f", with a daily digest at {sub.digest_time} {sub.digest_tz}"
            if not sub.per_brief:
                text += " (digest only)"
        if sub.per_brief:
            text += (
                "; every report of a story is posted"
                if sub.every_report
                else "; later reports of a story update its message"
            )
        return Reply(ReplyKind.DONE, text + ".", subscriptions=(subscription_line(sub),))

    async def unsubscribe(self, caller: Caller) -> Reply:
        if not self._may_change(caller):
            return self._refuse("change this channel's subscription")
        sub = await self._store.subscriptions.for_channel(caller.platform, caller.channel)
        if sub is None:
            return Reply(ReplyKind.EMPTY, "This channel has no subscription.")
        await self._store.subscriptions.remove(sub.id)
        if self._changed is not None:
            self._changed()
        return Reply(ReplyKind.DONE, "Unsubscribed: this channel gets no more briefs.")

    async def feeds_add(
        self,
        caller: Caller,
        url: str,
        *,
        name: str | None = None,
        first_poll: FirstPoll | None = None,
    ) -> Reply:
        """Probe `url` and follow the feed found. A new feed's first poll is the probe's
        response (`first_poll`, else the service's): the feed is fetched once, not twice."""
        if not self._may_change(caller):
            return self._refuse("add feeds")
        url = url.strip()
        if not url:
            return Reply(
                ReplyKind.USAGE, "Add which feed?", details=(grammar.usage_line("feeds", "add"),)
            )
        # The operator at the console is trusted (a feed on the LAN is fine); chat is not.
        operator = caller.platform == "console" and self._operator_prober is not None
        if not operator and caller.user_id not in self._allowlist:
            added = await self._store.feeds.count_added_by(workspace_prefix(caller))
            if added >= self._max_chat_feeds:
                return Reply(
                    ReplyKind.ERROR,
                    f"This server already follows {added} feeds added from chat, the most the "
                    "bot's operator allows. Remove one first (`feeds remove <id>`).",
                )
        prober = self._operator_prober if operator else self._prober
        if prober is None:
            return Reply(ReplyKind.ERROR, "Adding feeds is not available here.")
        try:
            probe = await prober(url)
        except FeedRefused as exc:
            return Reply(ReplyKind.ERROR, f"Feed not added: {exc}")
        title = probe.title or url
        feed, created = await self._store.feeds.add(
            probe.url,
            (name or title)[:200],
            added_by=None if operator else added_by(caller),
        )
        first_poll = first_poll or self._first_poll
        if created and first_poll is not None and probe.fetched is not None:
            await first_poll(feed, probe)
        elif created and self._feed_added is not None:
            self._feed_added()  # polled (baselined) now, not at the next idle check
        found = f"“{title}” with {probe.items} item{'s' if probe.items != 1 else ''}"
        if not created:
            return Reply(
                ReplyKind.DONE,
                f"Already following feed {feed.id} ({feed.name}); it has {found} now.",
                feeds=(feed_line(feed),),
            )
        return Reply(
            ReplyKind.DONE,
            f"Added feed {feed.id}: {found}. Its current posts are archived (searchable); "
            "channels get the posts that appear from now on.",
            feeds=(feed_line(feed),),
        )

    async def feeds_remove(self, caller: Caller, feed: str) -> Reply:
        if not self._may_change(caller):
            return self._refuse("remove feeds")
        # Feeds are shared by every server and workspace the bot serves: an admin may remove
        # the feeds their own server added; the operator's (config, shell) and other
        # servers' feeds need the operator or a user on the bot's allowlist.
        if not feed.strip():
            return Reply(
                ReplyKind.USAGE,
                "Remove which feed?",
                details=(grammar.usage_line("feeds", "remove"),),
            )
        found = await self._store.feeds.find(feed)
        if found is None or found.state is FeedState.DISABLED:
            return Reply(
                ReplyKind.ERROR, f"No feed `{grammar.clip(feed)}`. `feeds list` shows the ids."
            )
        trusted = caller.platform == "console" or caller.user_id in self._allowlist
        if not trusted and not (found.added_by or "").startswith(workspace_prefix(caller)):
            return Reply(
                ReplyKind.ERROR,
                f"Feed {found.id} ({found.name}) was added by the bot's operator or from "
                "another server, so it is not yours to remove. Ask the operator, or someone "
                "on the bot's allowlist.",
            )
        await self._store.feeds.disable(found.id, f"removed by {added_by(caller)}")
        return Reply(
            ReplyKind.DONE,
            f"Stopped following feed {found.id} ({found.name}). Its briefs stay searchable.",
        )

    async def feeds_list(self, caller: Caller) -> Reply:
        feeds = await self._store.feeds.all(include_disabled=False)
        if not feeds:
            return Reply(
                ReplyKind.EMPTY, "No feeds yet. An admin can add one with `feeds add <url>`."
            )
        broken = sum(1 for f in feeds if f.state is FeedState.BROKEN)
        text = f"{len(feeds)} feed{'s' if len(feeds) != 1 else ''}"
        if broken:
            text += f", {broken} broken (see the last error)"
        return Reply(ReplyKind.FEEDS, text, feeds=tuple(feed_line(f) for f in feeds))

    # -- the text grammar ----------------------------------------------------------------

    async def execute(self, caller: Caller, group: str, text: str) -> Reply:
        try:
            command = grammar.parse(group, text)
        except grammar.GrammarError as exc:
            return Reply(ReplyKind.USAGE, exc.message, details=(f"Usage: {exc.usage}",))
        except ValueError as exc:
            return Reply(ReplyKind.USAGE, str(exc))
        match command:
            case grammar.Help(group=g, topic=topic):
                return self.usage(g, topic)
            case grammar.Latest(count=count, issue=issue):
                return await self.latest(caller, count, issue)
            case grammar.Search(query=query):
                return await self.search(caller, query)
            case grammar.Issue(issue_id=issue_id):
                return await self.issue(caller, issue_id)
            case grammar.Show(brief_id=brief_id):
                return await self.show(caller, brief_id)
            case grammar.Subscribe():
                return await self.subscribe(
                    caller,
                    command.issues,
                    digest_time=command.digest_time,
                    digest_tz=command.digest_tz,
                    per_brief=command.per_brief,
                    every_report=command.every_report,
                )
            case grammar.Unsubscribe():
                return await self.unsubscribe(caller)
            case grammar.Subscriptions():
                return await self.subscriptions(caller)
            case grammar.Digest():
                return await self.digest(caller)
            case grammar.FeedsAdd(url=url):
                return await self.feeds_add(caller, url)
            case grammar.FeedsRemove(feed=feed):
                return await self.feeds_remove(caller, feed)
            case grammar.FeedsList():
                return await self.feeds_list(caller)
        return self.usage(group)  # pragma: no cover - every command is matched above
