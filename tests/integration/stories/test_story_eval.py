"""The story matcher on the labelled real reports of ../shared (skips when it is absent).

Figures are printed by bench/eval_stories.py; these guard them, and that the shipped model is
what fitting gives (the weights are learnt, not typed in): the development part of ../shared
plus the committed training pairs of the second labelled set's tuning part. Where that set
(../stories-eval, outside the project) is present, the committed pairs are also checked
against its texts.
"""

from __future__ import annotations

import pytest

from koreapage_bot.stories.model import MODELS
from tests.conftest import shared_path
from tests.integration.stories.evaluation import (
    EXTERNAL,
    Item,
    Labels,
    evaluate,
    fit_rows,
    load_labels,
    load_real,
    load_reports,
    load_rows,
    load_v2,
    merged,
    pair_rows,
)

pytestmark = pytest.mark.shared


@pytest.fixture(scope="module")
def labelled() -> tuple[Labels, list[Item], list[Item]]:
    shared_path("eval-dev", "articles-2.jsonl")
    shared_path("feeds")
    labels = load_labels()
    return labels, load_real(labels), load_reports()


def test_held_out_pairs(labelled: tuple[Labels, list[Item], list[Item]]) -> None:
    """Measured once the model was refitted with the update-marker, event-day and outlet-
    template features: precision 0.857 (12 of 14 joined pairs right) and recall 0.923 (12 of
    13), under the 0.95 / 0.90 aimed at (see the README, "Stories"). This part was inspected
    before, so it is no longer blind; the v2 set (bench/eval_stories_v2.py) is."""
    labels, real, _ = labelled
    held = [i for i in real if i.held_out]
    figures = evaluate(held, MODELS, labels)
    assert figures.tp + figures.fn == 13
    assert figures.precision >= 0.85
    assert figures.recall >= 0.92


def test_development_pairs(labelled: tuple[Labels, list[Item], list[Item]]) -> None:
    labels, real, reports = labelled
    _, excluded = load_rows()
    dev = [i for i in real if not i.held_out and i.key not in excluded] + reports
    figures = evaluate(dev, MODELS, labels)
    assert figures.precision >= 0.96
    assert figures.recall >= 0.94


def test_the_shipped_weights_are_the_fitted_ones(
    labelled: tuple[Labels, list[Item], list[Item]],
) -> None:
    labels, real, reports = labelled
    v2_rows, excluded = load_rows()
    dev = [i for i in real if not i.held_out and i.key not in excluded] + reports
    same, cross = fit_rows(pair_rows(dev, labels) + v2_rows)
    assert same.weights == pytest.approx(MODELS.same.weights, abs=1e-3)
    assert same.bias == pytest.approx(MODELS.same.bias, abs=1e-3)
    assert cross.weights == pytest.approx(MODELS.cross.weights, abs=1e-3)
    assert cross.bias == pytest.approx(MODELS.cross.bias, abs=1e-3)


def test_the_committed_v2_pairs_are_those_of_its_texts(
    labelled: tuple[Labels, list[Item], list[Item]],
) -> None:
    if not (EXTERNAL / "items.jsonl").is_file():
        pytest.skip(
            f"{EXTERNAL} is absent (it is kept outside the project): the committed v2 "
            "training pairs cannot be checked against their texts here"
        )
    labels, _, _ = labelled
    items, v2_labels = load_v2()
    fresh = pair_rows([i for i in items if not i.held_out], merged(labels, v2_labels))
    committed, excluded = load_rows()
    assert excluded == {i.key for i in items if i.key.startswith("eval-dev:")}
    assert len(fresh) == len(committed)
    for (x, y, c), (cx, cy, cc) in zip(fresh, committed, strict=True):
        assert (y, c) == (cy, cc)
        assert x == pytest.approx(cx, abs=1e-5)
