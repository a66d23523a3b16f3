"""Scores the analysis stage on a blind set: articles written and labelled before the analyzer was
run on them, by someone who had not seen the challenge set (no ../shared texts either).

tests/fixtures/analysis/blind.jsonl holds 50 items in the styles real feeds carry (Yonhap and
Korea Herald wire copy, Korea Times and JoongAng opinion, 38 North / KEI / CSIS / Brookings /
RAND analysis with bios and "Read more" noise, NK News-style reports, Substack newsletters) with
less common phrasings of alliance issues ("host-nation support", "burden-sharing", "Section 232",
"MASGA", "Freedom Edge", "SM-3") and hard negatives (K-pop enlistment, defectors, party
plenums, history rows, markets, sports, US plants of Korean firms, the US-China trade war).
Items labelled "borderline" are not scored for relevance or issues.

Thresholds sit a small margin under what the analyzer reaches; run with `-s` to see the figures
and every confusion.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from koreapage_bot.analysis.authors import normalize_author
from koreapage_bot.analysis.pipeline import OfflineAnalyzer
from koreapage_bot.analysis.taxonomy import load_taxonomy
from koreapage_bot.domain import Analysis, ArticleInput

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "analysis" / "blind.jsonl"

# Reached: relevance F1 1.000, issue micro-F1 0.955 (tp/fp/fn 53/5/0), authors 50/50. Before the
# rule changes this set prompted (labels fixed first): 0.982, 0.929 (52/7/1), 45/50.
# One more relevance error, one more issue error or one author miss still pass; two fail.
MIN_RELEVANCE_F1 = 0.98
MIN_ISSUE_F1 = 0.94
MIN_AUTHOR_ACCURACY = 0.98


def load_items() -> list[dict[str, object]]:
    with FIXTURE.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def issues_of(item: dict[str, object]) -> set[str]:
    return set(cast(list[str], item["key_issues"]))


def f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


@dataclass
class Figures:
    rel: list[int] = field(default_factory=lambda: [0, 0, 0])  # tp, fp, fn
    issue: list[int] = field(default_factory=lambda: [0, 0, 0])
    authors_right: int = 0
    authors_total: int = 0
    confusions: list[str] = field(default_factory=list)

    @property
    def relevance_f1(self) -> float:
        return f1(*self.rel)

    @property
    def issue_f1(self) -> float:
        return f1(*self.issue)

    @property
    def author_accuracy(self) -> float:
        return self.authors_right / self.authors_total if self.authors_total else 1.0

    def report(self) -> str:
        return "\n".join(
            [
                f"relevance F1 {self.relevance_f1:.3f} (tp/fp/fn {self.rel})",
                f"issue micro-F1 {self.issue_f1:.3f} (tp/fp/fn {self.issue})",
                f"authors right {self.authors_right}/{self.authors_total}",
                *self.confusions,
            ]
        )


def article_of(item: dict[str, object]) -> ArticleInput:
    # No author is passed: finding it in the text is what is measured.
    return ArticleInput(id=str(item["id"]), title=str(item["title"] or ""), text=str(item["text"]))


def tally(items: list[dict[str, object]], results: list[Analysis]) -> Figures:
    fig = Figures()
    for it, a in zip(items, results, strict=True):
        label, tag = it["label_alliance"], f"{it['id']} ({a.relevance:.2f})"
        got = [k.id for k in a.key_issues]
        if label is True:
            if a.relevant:
                fig.rel[0] += 1
            else:
                fig.rel[2] += 1
                fig.confusions.append(f"missed {tag}: {it['title']}")
            gold = issues_of(it)
            fig.issue[0] += len(gold & set(got))
            fig.issue[1] += len(set(got) - gold)
            fig.issue[2] += len(gold - set(got))
            if gold != set(got):
                fig.confusions.append(
                    f"issues {it['id']}: got {got} extra {sorted(set(got) - gold)} "
                    f"missing {sorted(gold - set(got))}"
                )
        elif label is False and a.relevant:
            fig.rel[1] += 1
            fig.confusions.append(f"false alarm {tag}: {it['title']}")
        elif label == "borderline":
            fig.confusions.append(f"(borderline {tag}, relevant={a.relevant}, issues {got})")
        # A visible byline must be found exactly; none visible means none reported.
        fig.authors_total += 1
        if a.author == it["author"]:
            fig.authors_right += 1
        else:
            fig.confusions.append(f"author {it['id']}: want {it['author']!r} got {a.author!r}")
    return fig


def test_the_fixture_is_well_formed() -> None:
    items = load_items()
    ids = load_taxonomy(None).ids
    assert len(items) == 50
    assert len({it["id"] for it in items}) == len(items)
    for it in items:
        assert it["label_alliance"] in (True, False, "borderline"), it["id"]
        assert issues_of(it) <= set(ids), it["id"]
        assert it["text"] and it["title"] and it["note"], it["id"]
        assert it["author"] is None or isinstance(it["author"], str), it["id"]
        if it["label_alliance"] is True:
            assert it["key_issues"], it["id"]
        if it["label_alliance"] is False:
            assert not it["key_issues"], it["id"]
    labels = Counter(str(it["label_alliance"]) for it in items)
    assert labels["True"] >= 25 and labels["False"] >= 15 and labels["borderline"] >= 3
    covered = {i for it in items if it["label_alliance"] is True for i in issues_of(it)}
    assert covered >= set(ids), f"issues without a positive: {set(ids) - covered}"


async def test_blind_figures() -> None:
    items = load_items()
    async with OfflineAnalyzer() as analyzer:
        results = [await analyzer.analyze(article_of(it)) for it in items]
    fig = tally(items, results)
    print("\n" + fig.report())
    assert fig.relevance_f1 >= MIN_RELEVANCE_F1, fig.report()
    assert fig.issue_f1 >= MIN_ISSUE_F1, fig.report()
    assert fig.author_accuracy >= MIN_AUTHOR_ACCURACY, fig.report()


# --- the rules this set prompted, each on a text of its own --------------------------------


def _analyze(title: str, text: str) -> Analysis:
    return OfflineAnalyzer().analyze_now(ArticleInput(id="r", title=title, text=text))


def test_a_plural_in_ies_matches_its_term() -> None:
    a = _analyze(
        "Two Patriot batteries return to Osan",
        "Two Patriot batteries that the U.S. military sent away in the spring are back in South "
        "Korea, the allies said, closing a gap in air defense against North Korean missiles.",
    )
    assert "missile-defense" in [k.id for k in a.key_issues]


def test_a_match_report_names_rivals_not_allies() -> None:
    report = (
        "South Korea defeated the United States 3-1 in a baseball exhibition game on Sunday.\n"
        "The South Korean pitcher struck out nine as the U.S. lineup scored only in the fifth.\n"
        "Coach Ryu said South Korea would use the tournament to test young players, while the "
        "American coach praised the home crowd at the stadium."
    )
    assert not _analyze("South Korea beat U.S. in baseball exhibition", report).relevant


def test_a_party_named_once_at_the_end_is_a_bystander() -> None:
    text = (
        "Washington raised tariffs on Chinese steel and aluminum to 50 percent on Monday.\n"
        "U.S. officials said the tariffs would stay until Beijing cut its overcapacity, and "
        "the Commerce Department warned of further tariffs on Chinese solar panels.\n"
        "China vowed countermeasures against U.S. farm goods.\n"
        "Steelmakers in South Korea and Vietnam said they were watching closely."
    )
    assert not _analyze("US doubles tariffs on Chinese steel", text).relevant


def test_one_plain_mention_of_an_issue_is_passing() -> None:
    text = (
        "South Korea and the United States agreed on Friday to revise their nuclear energy "
        "pact so that Seoul can secure fuel for a nuclear-powered submarine.\n"
        "President Lee said the boats would track North Korean submarines and reduce the "
        "burden on U.S. forces in the region.\n"
        "Officials in Washington said the alliance would consult on safeguards."
    )
    a = _analyze("Allies agree to revise nuclear pact for Seoul's submarine plan", text)
    assert a.relevant and "usfk" not in [k.id for k in a.key_issues]
    b = _analyze("U.S. forces to shift as Seoul builds submarine", text)
    assert "usfk" in [k.id for k in b.key_issues]


def test_bylines_without_by() -> None:
    posted = "Posted on March 2, 2025 by Mina\nWe ate our way through Jeonju in two days."
    assert _analyze("Two days in Jeonju", posted).author == "Mina"
    newsletter = (
        "Alliance Notes\nThe week in US-Korea defense ties, with a look at the budget\n"
        "Jane Roe and Kim Min-su\nMar 3, 2025\n\nSeoul and Washington met on Monday."
    )
    assert _analyze("Budget week", newsletter).author == "Jane Roe and Kim Min-su"
    headline = "Allies Open Freedom Shield\nMarch 10, 2025\nSeoul and Washington began drills."
    assert _analyze("", headline).author is None


def test_an_organization_closing_the_story_is_not_its_author() -> None:
    text = (
        "The ruling party named its candidate for Busan mayor on Sunday.\n"
        "He promised new ferry routes and cheaper housing for young families.\n"
        "The People Power Party is expected to confirm its candidate next week."
    )
    a = _analyze("Ruling party picks Busan candidate", text)
    assert a.author is None and "confirm its candidate" in a.text


def test_capital_korean_bylines_keep_korean_case() -> None:
    assert normalize_author("BY LEE HYUN-JOO [lee@example.com]") == "Lee Hyun-joo"
    assert normalize_author("BY SON JI-HYOUNG") == "Son Ji-hyoung"
    assert normalize_author("BY ANDREW PARK-SULLIVAN") == "Andrew Park-Sullivan"
    assert normalize_author("BY MARY-ANNE SMITH") == "Mary-Anne Smith"
