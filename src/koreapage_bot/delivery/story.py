"""What a story row does (the dispatcher sends it): a later report of a story that a channel
already has.

- The channel has the story's message and the publisher can update messages (StoryPublisher):
  `EDIT` it to list every report ("Also reported by: Korea Herald, Yonhap"). The edit carries
  the whole state, so making it twice (a retry after a lost answer or a crash) changes
  nothing: it is never looked up first.
- ... and the channel chose threads (`thread` option): `REPLY` with the new report in the
  story's thread, a post like any other (sent once: nonce / metadata, looked up in the thread).
- No message to update (the first report's post failed, or the publisher cannot edit, like
  the console): `POST` the new report as a message of its own, listing the earlier ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from koreapage_bot.domain import Brief, Delivery, Subscription
from koreapage_bot.ports import BriefView, Publisher, StoryContext, StoryPublisher


class Plan(StrEnum):
    EDIT = "edit"
    REPLY = "reply"
    POST = "post"


@dataclass(frozen=True, slots=True)
class StoryStep:
    plan: Plan
    view: BriefView
    anchor: Delivery | None  # the row that made the story's message (EDIT, REPLY)


def story_step(
    context: StoryContext | None,
    brief: Brief,
    subscription: Subscription,
    publisher: Publisher,
) -> StoryStep:
    """What to send for a story row of `brief` (`context`: as the store read it at claim)."""
    if context is None:
        return StoryStep(Plan.POST, BriefView.of(brief), None)
    anchor, first = context.anchor, context.first
    if (
        anchor is None
        or first is None
        or anchor.message_id is None
        or not isinstance(publisher, StoryPublisher)
    ):
        return StoryStep(Plan.POST, BriefView.of(context.brief, context.reports), None)
    if subscription.options.get("thread"):
        return StoryStep(Plan.REPLY, BriefView.of(context.brief), anchor)
    return StoryStep(Plan.EDIT, BriefView.of(first, context.reports), anchor)


def digest_views(briefs: Sequence[Brief]) -> list[BriefView]:
    """A digest's briefs, one entry per story: its first brief in the digest, with the
    digest's other reports of the story as "Also reported by"."""
    stories: dict[int, list[Brief]] = {}
    for brief in briefs:
        key = brief.story_id if brief.story_id is not None else -brief.id
        stories.setdefault(key, []).append(brief)
    return [BriefView.of(group[0], group) for group in stories.values()]
