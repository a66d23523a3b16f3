from typing import Any

import pytest

from koreapage_bot.analysis.pipeline import OfflineAnalyzer
from koreapage_bot.analysis.text import split_sentences
from koreapage_bot.domain import ArticleInput
from tests.unit.analysis.fixtures import articles

ANALYZER = OfflineAnalyzer()


@pytest.mark.parametrize("art", articles(), ids=lambda a: a["id"])
def test_summary_shape(art: dict[str, Any]) -> None:
    summary = ANALYZER.analyze_now(
        ArticleInput(id=art["id"], title=art["title"], text=art["text"])
    ).summary
    assert 0 < len(summary) <= 600
    sentences = split_sentences(summary)
    assert 1 <= len(sentences) <= 3
    assert len(set(sentences)) == len(sentences)
    for s in sentences:  # extractive: every sentence comes from the text
        assert s in " ".join(art["text"].split())


def test_near_duplicates_and_noise_are_never_selected() -> None:
    text = (
        "Skip to content\n"
        "The United States and South Korea agreed on Friday to extend their troop cost deal.\n"
        "The United States and South Korea agreed on Friday to extend the troop cost deal.\n"
        "Negotiators said Seoul will pay 8 percent more next year for U.S. forces.\n"
        "Photo courtesy of the Defense Ministry. Officials shake hands in Seoul.\n"
        "Share this article on Facebook\n"
        "Subscribe to our newsletter for more alliance news every week from our Seoul bureau.\n"
        "The National Assembly must still approve the agreement before it takes effect.\n"
        "Leave a Comment\n"
        "This is the best analysis of the troop cost deal that I have read this year, thanks."
    )
    result = ANALYZER.analyze_now(ArticleInput(id="n", title="Allies extend cost deal", text=text))
    s = result.summary
    assert s.count("agreed on Friday") == 1
    for noise in ("Skip", "Photo", "Share", "Subscribe", "Comment", "best analysis"):
        assert noise not in s
    assert 2 <= len(split_sentences(s)) <= 3


def test_summary_respects_the_character_budget() -> None:
    long_sentences = "\n".join(
        f"Officials from South Korea and the United States held meeting number {n} on troop "
        "costs in Seoul, and said they discussed the details of the agreement at great length "
        "with negotiators from both governments over several days."
        for n in range(10)
    )
    result = ANALYZER.analyze_now(ArticleInput(id="l", title="Talks", text=long_sentences))
    assert 0 < len(result.summary) <= 600
