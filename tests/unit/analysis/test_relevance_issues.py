from typing import Any

import pytest

from koreapage_bot.analysis.pipeline import OfflineAnalyzer
from koreapage_bot.domain import ArticleInput
from tests.unit.analysis.fixtures import articles

ARTICLES = articles()
ANALYZER = OfflineAnalyzer()


def _analyze(art: dict[str, Any]) -> Any:
    return ANALYZER.analyze_now(ArticleInput(id=art["id"], title=art["title"], text=art["text"]))


@pytest.mark.parametrize("art", [a for a in ARTICLES if a["label"]], ids=lambda a: a["id"])
def test_alliance_posts_are_relevant_with_their_issues(art: dict[str, Any]) -> None:
    result = _analyze(art)
    assert result.relevant, result.why
    got = [k.id for k in result.key_issues]
    assert set(art["issues"]) <= set(got), got
    if "first" in art:
        assert got[0] == art["first"], got
    assert not set(art.get("absent", [])) & set(got), got
    assert result.why


@pytest.mark.parametrize("art", [a for a in ARTICLES if not a["label"]], ids=lambda a: a["id"])
def test_hard_negatives_stay_out(art: dict[str, Any]) -> None:
    result = _analyze(art)
    assert not result.relevant, result.why
    assert 0.0 <= result.relevance < 0.5


def test_title_words_count_more_than_a_mention_deep_in_the_text() -> None:
    body = " ".join(
        f"Local news item {n} about festivals, markets and weather in the city." for n in range(12)
    )
    deep = body + " Separately, South Korea and the United States discussed troop costs."
    titled = ArticleInput(id="t", title="South Korea, U.S. discuss troop costs", text=deep)
    untitled = ArticleInput(id="u", title="City news roundup", text=deep)
    assert ANALYZER.analyze_now(titled).relevance > ANALYZER.analyze_now(untitled).relevance
    assert not ANALYZER.analyze_now(untitled).relevant


def test_a_passing_mention_is_not_a_key_issue() -> None:
    art = next(a for a in ARTICLES if a["id"] == "pos-long-exercises")
    issues = [k.id for k in _analyze(art).key_issues]
    assert "missile-defense" not in issues  # one "THAAD" near the end of a long article
    assert issues[0] == "exercises"


def test_threshold_is_configurable() -> None:
    from koreapage_bot.config import AnalysisConfig

    art = next(a for a in ARTICLES if a["id"] == "neg-economy")
    strict = OfflineAnalyzer(AnalysisConfig(threshold=0.99))
    lax = OfflineAnalyzer(AnalysisConfig(threshold=0.01))
    article = ArticleInput(id="e", title=art["title"], text=art["text"])
    assert not strict.analyze_now(article).relevant
    assert lax.analyze_now(article).relevant


def test_user_terms_extend_the_taxonomy(tmp_path: Any) -> None:
    from koreapage_bot.analysis.taxonomy import load_taxonomy

    path = tmp_path / "issues.toml"
    path.write_text(
        '[[issue]]\nid = "shipbuilding"\nlabel = "Shipbuilding"\n'
        'description = "Naval shipbuilding and repair."\n'
        'strong_terms = ["MASGA"]\nterms = ["shipbuilding", "shipyard", "shipyards"]\n'
    )
    analyzer = OfflineAnalyzer(taxonomy=load_taxonomy(path))
    result = analyzer.analyze_now(
        ArticleInput(
            id="s",
            title="Seoul pitches MASGA shipbuilding plan to Washington",
            text=(
                "South Korea offered to invest in U.S. shipyards under the MASGA plan.\n"
                "American officials said Korean shipbuilding could help the U.S. Navy."
            ),
        )
    )
    assert result.relevant
    assert [k.id for k in result.key_issues] == ["shipbuilding"]
