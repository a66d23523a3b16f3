"""The console adapter's brief panel: what a terminal reader sees."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from rich.console import Console

from koreapage_bot.adapters.console import brief_panel
from koreapage_bot.domain import IssueTag
from koreapage_bot.ports import BriefView


def _shown(view: BriefView) -> str:
    out = io.StringIO()
    Console(file=out, width=120, color_system=None).print(brief_panel(view))
    return out.getvalue()


def _view(language: str) -> BriefView:
    return BriefView(
        brief_id=5,
        title="주한미군 감축 논의",
        url="https://news.example.org/5",
        author="홍길동",
        source="Example Daily",
        published=datetime(2026, 1, 2, tzinfo=UTC),
        summary="한미 양국이 주한미군 감축 문제를 논의했다.",
        key_issues=(IssueTag("usfk", "USFK troop presence"),),
        relevance=0.9,
        language=language,
    )


def test_a_korean_brief_names_its_language_and_an_english_one_does_not() -> None:
    assert "brief 5 · relevance 0.90 · Korean (한국어)" in _shown(_view("ko"))
    english = _shown(_view("en"))
    assert "brief 5 · relevance 0.90" in english and "Korean" not in english
