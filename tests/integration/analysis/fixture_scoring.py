"""Scoring a labelled JSONL fixture written for the project (challenge and blind sets).

Each line: id, title, text, author (null unless a byline is visible), label_alliance
(true / false / "borderline"), key_issues (taxonomy ids), note. Borderline items are listed
but not scored for relevance or issues; every item is scored for its author.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from koreapage_bot.domain import Analysis, ArticleInput

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "analysis"


def load_items(path: Path) -> list[dict[str, object]]:
    with path.open(encoding="utf-8") as fh:
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
