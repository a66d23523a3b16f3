"""Scoring the analysis stage on ../shared/eval-dev/articles.jsonl (no texts are copied here).

The human key-issue labels are free text; LABEL_TO_ISSUE maps them to taxonomy ids. Labels
that name non-alliance topics (K-pop, food, inter-Korean relations, ...) map to None and are
ignored. Several labels may map to one id ("US-North Korea diplomacy" and "North Korea threat"
both to `north-korea`); the item's gold set is the set of mapped ids.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from koreapage_bot.analysis.pipeline import OfflineAnalyzer
from koreapage_bot.domain import Analysis, ArticleInput

REPO = Path(__file__).resolve().parents[3]
SHARED = (REPO / ".." / "shared").resolve()
DEVSET = SHARED / "eval-dev" / "articles.jsonl"
EXAMPLE = SHARED / "examples" / "korea-page-post.txt"

LABEL_TO_ISSUE: dict[str, str | None] = {
    "defense cost sharing / SMA": "cost-sharing",
    "GSOMIA": "gsomia",
    "USFK troop presence": "usfk",
    "KORUS FTA": "trade",
    "THAAD": "missile-defense",
    "OPCON transfer": "opcon",
    "extended deterrence / nuclear umbrella": "extended-deterrence",
    "South Korean nuclear armament debate": "extended-deterrence",
    "joint military exercises": "exercises",
    "Japan-Korea relations in the trilateral": "japan-trilateral",
    "China's role": "china",
    "North Korea threat": "north-korea",
    "US-North Korea diplomacy": "north-korea",
    "North Korea denuclearization": "north-korea",
}


def gold_issues(labels: list[str]) -> set[str]:
    return {i for i in (LABEL_TO_ISSUE.get(x) for x in labels) if i}


@dataclass
class Scored:
    item: dict[str, object]
    analysis: Analysis


@dataclass
class Figures:
    relevance_tp: int
    relevance_fp: int
    relevance_fn: int
    issue_tp: int
    issue_fp: int
    issue_fn: int
    bylines_found: int
    bylines_total: int
    invented_authors: list[tuple[str, str]]
    relevance_errors: list[str]
    issue_errors: list[str]
    author_errors: list[str]

    @staticmethod
    def f1(tp: int, fp: int, fn: int) -> float:
        return 2 * tp / (2 * tp + fp + fn) if tp else 0.0

    @property
    def relevance_f1(self) -> float:
        return self.f1(self.relevance_tp, self.relevance_fp, self.relevance_fn)

    @property
    def issue_f1(self) -> float:
        return self.f1(self.issue_tp, self.issue_fp, self.issue_fn)


def load_items() -> list[dict[str, object]]:
    with DEVSET.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def article_of(item: dict[str, object]) -> ArticleInput:
    # The author is withheld: finding it is part of what is measured.
    return ArticleInput(
        id=str(item["id"]),
        title=str(item.get("title") or ""),
        text=str(item["text"]),
        url=str(item["url"]) if item.get("url") else None,
    )


def held_out(index: int) -> bool:
    """The fixed split of bench/eval_analysis.py: line i (0-based) is held out when i % 5 == 4."""
    return index % 5 == 4


HIDDEN = "(a held-out item)"


async def score(analyzer: OfflineAnalyzer | None = None) -> tuple[Figures, list[Scored]]:
    """Figures over the whole file. Error notes name development items only: a held-out
    item's error is counted and noted as HIDDEN, without its id, title, issues or output, so a
    failing test never shows what the held-out part holds."""
    analyzer = analyzer or OfflineAnalyzer()
    scored = [Scored(it, await analyzer.analyze(article_of(it))) for it in load_items()]
    fig = Figures(0, 0, 0, 0, 0, 0, 0, 0, [], [], [], [])
    for index, s in enumerate(scored):
        it, a = s.item, s.analysis
        hidden = held_out(index)
        label = it["label_alliance"]
        tag = HIDDEN if hidden else f"{it['id']} ({a.relevance:.2f}): {it.get('title')}"
        if label is True and a.relevant:
            fig.relevance_tp += 1
        elif label is True:
            fig.relevance_fn += 1
            fig.relevance_errors.append(f"missed {tag}")
        elif label is False and a.relevant:
            fig.relevance_fp += 1
            fig.relevance_errors.append(f"false alarm {tag}")
        if label is True:
            gold = gold_issues(list(it["key_issues"]))  # type: ignore[arg-type]
            got = {k.id for k in a.key_issues}
            fig.issue_tp += len(gold & got)
            fig.issue_fp += len(got - gold)
            fig.issue_fn += len(gold - got)
            if gold != got:
                fig.issue_errors.append(
                    f"{HIDDEN}: key issues differ"
                    if hidden
                    else f"{it['id']}: extra {sorted(got - gold)} missing {sorted(gold - got)}"
                )
        want = it.get("author")
        if want:
            fig.bylines_total += 1
            if a.author == want:
                fig.bylines_found += 1
            else:
                fig.author_errors.append(
                    f"{HIDDEN}: author missed"
                    if hidden
                    else f"{it['id']}: want {want!r} got {a.author!r}"
                )
        elif a.author:
            fig.invented_authors.append(
                (HIDDEN, "an invented author") if hidden else (str(it["id"]), a.author)
            )
    return fig, scored
