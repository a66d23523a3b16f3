"""Regression guard on the development part of ../shared/eval-dev/articles-2.jsonl (skips when
../shared is absent). It runs the same evaluation as bench/eval_analysis.py, through the
`analyze` JSONL path, on the development items only: the held-out part (every fifth line) is
never loaded here.

Thresholds sit a little under the figures reached (issue 9, second round; English: relevance
F1 1.000 (8/0/0), key-issue micro-F1 0.872 (17/1/4), authors 21/21; Korean: 1.000 (12/0/0),
0.793 (23/7/5), 11/11; English authors 19/19 since "additional reporting" credits are not
the labelled author: evaluation.labelled_author; no invented author, no error line, no
posted summary with a dateline, caption, boilerplate, fragment or dangling opener), so one
more error passes and a rule change that costs two items fails. The first round's figures
were 0.941 / 0.821 and 0.889 / 0.780.
Third round: the English key-issue floor is 0.82, as a rule taken from a blind set of real
excerpts (a strong term named once, deep in the post, is a mention in passing) drops one
dev item's label that follows the opposite convention (b2-004: a commander named once in
a closing paragraph, labelled a troop-presence story).
"""

from __future__ import annotations

import pytest

from tests.conftest import shared_path
from tests.integration.analysis.evaluation import Figures, load, merge, run, tally

pytestmark = pytest.mark.shared

MIN = {
    "en": {"relevance": 0.94, "issues": 0.82, "authors": 0.95},
    "ko": {"relevance": 0.95, "issues": 0.78, "authors": 0.90},
}


NEVER_IN_A_SUMMARY = ("dateline", "caption", "boilerplate", "fragment", "dangling", "over_600")


def _report(fig: Figures, errors: list[str]) -> str:
    return (
        f"relevance F1 {fig.relevance_f1:.3f} {fig.rel}, issues F1 {fig.issue_f1:.3f} "
        f"{fig.issue}, authors {fig.authors_right}/{fig.authors_total}, invented {fig.invented}\n"
        + "\n".join(errors)
    )


@pytest.mark.timeout(300)
async def test_articles_2_development_part() -> None:
    shared = shared_path("eval-dev", "articles-2.jsonl").parents[1]
    items = [it for it in load(shared, ("dev",)) if it.file == "articles-2.jsonl"]
    assert items and all(it.part == "dev" for it in items)
    errors: list[str] = []
    groups = tally(items, await run(items), errors)
    for lang, floors in MIN.items():
        fig = merge(v for k, v in groups.items() if k[1] == lang)
        report = _report(fig, errors)
        assert fig.errors_out == 0, report
        assert fig.relevance_f1 >= floors["relevance"], report
        assert fig.issue_f1 >= floors["issues"], report
        assert fig.author_accuracy >= floors["authors"], report
        assert fig.invented == 0, report
        # No posted brief's summary has a dateline, caption, boilerplate, fragment or a
        # dangling opener (evaluation.summary_checks).
        faults = {k: fig.summary_flags.get(k, 0) for k in NEVER_IN_A_SUMMARY}
        assert not any(faults.values()), f"{faults}\n{report}"
