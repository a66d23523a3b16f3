"""Stories: the briefs that report one event (briefs.story_id), read for the matcher's window
and for showing a story's reports."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from koreapage_bot.domain import Brief
from koreapage_bot.ports import StoryMember
from koreapage_bot.store import tables as t
from koreapage_bot.store.rows import BRIEF_COLUMNS, brief_from_row

# The part of a post's text the matcher reads (stories.features.LEAD_CHARS, with room).
LEAD_CHARS = 1500


class StoryRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def window(self, since: datetime, after_id: int = 0) -> list[StoryMember]:
        b, p = t.briefs, t.posts
        query = (
            select(*BRIEF_COLUMNS, func.substr(p.c.text, 1, LEAD_CHARS).label("lead"))
            .select_from(b.join(p, p.c.id == b.c.post_id))
            .where(b.c.sort_at >= since, b.c.id > after_id)
            .order_by(b.c.id)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [StoryMember(brief_from_row(r), r["lead"] or "") for r in rows]

    async def reports(self, story_ids: Sequence[int]) -> dict[int, list[Brief]]:
        found: dict[int, list[Brief]] = defaultdict(list)
        wanted = sorted(set(story_ids))
        if not wanted:
            return {}
        b = t.briefs
        async with self._engine.connect() as conn:
            for start in range(0, len(wanted), 500):
                query = (
                    select(*BRIEF_COLUMNS)
                    .where(b.c.story_id.in_(wanted[start : start + 500]))
                    .order_by(b.c.sort_at, b.c.id)
                )
                for row in (await conn.execute(query)).mappings():
                    brief = brief_from_row(row)
                    assert brief.story_id is not None
                    found[brief.story_id].append(brief)
        return dict(found)
