"""The story matcher on the labelled real reports of ../shared (skips when it is absent).

Figures are printed by bench/eval_stories.py; these guard them, and that the shipped model is
what fitting on the development part gives (the weights are learnt, not typed in).
"""

from __future__ import annotations

import pytest

from koreapage_bot.stories.model import MODELS
from tests.conftest import shared_path
from tests.integration.stories.evaluation import (
    Item,
    Labels,
    evaluate,
    fit_weights,
    load_labels,
    load_real,
    load_reports,
)

pytestmark = pytest.mark.shared


@pytest.fixture(scope="module")
def labelled() -> tuple[Labels, list[Item], list[Item]]:
    shared_path("eval-dev", "articles-2.jsonl")
    shared_path("feeds")
    labels = load_labels()
    return labels, load_real(labels), load_reports()


def test_held_out_pairs(labelled: tuple[Labels, list[Item], list[Item]]) -> None:
    """Measured once the model was refitted with the headline-case, outlet-suffix and
    time-zone fixes of the features: precision 0.786 (11 of 14 joined pairs right) and recall
    0.846 (11 of 13), under the 0.95 / 0.90 aimed at (see the README, "Stories"). This part was
    inspected before, so it is no longer blind; the v2 set (bench/eval_stories_v2.py) is."""
    labels, real, _ = labelled
    held = [i for i in real if i.held_out]
    figures = evaluate(held, MODELS, labels)
    assert figures.tp + figures.fn == 13
    assert figures.precision >= 0.78
    assert figures.recall >= 0.84


def test_development_pairs(labelled: tuple[Labels, list[Item], list[Item]]) -> None:
    labels, real, reports = labelled
    dev = [i for i in real if not i.held_out] + reports
    figures = evaluate(dev, MODELS, labels)
    assert figures.precision >= 0.96
    assert figures.recall >= 0.94


def test_the_shipped_weights_are_the_fitted_ones(
    labelled: tuple[Labels, list[Item], list[Item]],
) -> None:
    labels, real, reports = labelled
    same, cross = fit_weights([i for i in real if not i.held_out] + reports, labels)
    assert same.weights == pytest.approx(MODELS.same.weights, abs=1e-3)
    assert same.bias == pytest.approx(MODELS.same.bias, abs=1e-3)
    assert cross.weights == pytest.approx(MODELS.cross.weights, abs=1e-3)
    assert cross.bias == pytest.approx(MODELS.cross.bias, abs=1e-3)
