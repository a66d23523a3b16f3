"""Fan-out: which channels get a brief.

The store writes a brief's outbox rows in the transaction that writes the brief (so a crash
leaves both or neither); this decides which subscriptions they are for. It runs inside that
transaction, on the subscriptions as the transaction sees them (ports.FanOut).
"""

from __future__ import annotations

from collections.abc import Sequence

from koreapage_bot.domain import Brief, Subscription


def recipients(brief: Brief, subscriptions: Sequence[Subscription]) -> list[Subscription]:
    """The subscriptions that get `brief` as a post of its own: those that want each brief
    (not digest-only) and whose filters let it through (issues, feeds, minimum relevance). A
    paused one is included: its rows wait, unclaimed, until it is resumed (then the recent
    ones go out and a stale backlog is skipped)."""
    return [s for s in subscriptions if s.per_brief and s.matches(brief)]


def row_kind(subscription: Subscription, story_in_channel: bool) -> str:
    """The kind of row a chosen subscription gets for a brief: "story" (update the story's
    message in the channel, or reply in its thread) when the channel already has a row of
    another report of the brief's story and did not ask for every report; "brief" (a post of
    its own) otherwise."""
    return "story" if story_in_channel and not subscription.every_report else "brief"
