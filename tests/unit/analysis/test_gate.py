"""The ingest path's relevance gate: a post the verdict rejects gets no summary, and nothing
else about its analysis changes (the verdict above all)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from koreapage_bot.analysis.lexicon import compile_lexicon
from koreapage_bot.analysis.pipeline import OfflineAnalyzer, analyze_sync
from koreapage_bot.analysis.taxonomy import load_taxonomy
from koreapage_bot.config import AnalysisConfig
from koreapage_bot.domain import ArticleInput

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "analysis"


def _articles() -> list[ArticleInput]:
    out: list[ArticleInput] = []
    for name in ("blind.jsonl", "challenge.jsonl"):
        for line in (FIXTURES / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                item = json.loads(line)
                out.append(
                    ArticleInput(
                        id=item["id"],
                        title=item.get("title") or "",
                        text=item.get("text") or "",
                        html=item.get("html"),
                        url=item.get("url"),
                    )
                )
    return out


def test_the_gate_changes_only_the_summary_of_rejected_posts() -> None:
    config = AnalysisConfig()
    lexicon = compile_lexicon(load_taxonomy(None))
    articles = _articles()
    assert len(articles) >= 100
    rejected = 0
    for article in articles:
        full = analyze_sync(article, config, lexicon).analysis
        gated = analyze_sync(article, config, lexicon, gate=True).analysis
        if full.relevant:
            assert gated == full, article.id
        else:
            rejected += 1
            assert full.summary  # it had one before the gate
            assert gated == replace(full, summary=""), article.id
    assert 10 <= rejected < len(articles)  # both kinds are in the fixtures


@pytest.mark.parametrize("gate", [False, True])
async def test_the_analyzer_gates_only_when_asked(gate: bool) -> None:
    text = "The Seoul Philharmonic opened its season with a Mahler symphony on Friday night."
    article = ArticleInput(id="c", title="Orchestra opens season", text=text)
    analysis = await OfflineAnalyzer(gate=gate).analyze(article)
    assert not analysis.relevant
    assert (analysis.summary == "") is gate
