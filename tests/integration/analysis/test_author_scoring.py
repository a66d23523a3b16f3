"""How the evaluation reads a labelled author (evaluation.labelled_author): one convention for
every set, so the same byline form is never scored right in one set and invented in another."""

from __future__ import annotations

import pytest

from tests.integration.analysis.evaluation import Item, labelled_author

_TEXT = "The allies met on Monday and agreed to meet again."


@pytest.mark.parametrize(
    ("author", "credit", "expected"),
    [
        pytest.param(
            "Ann Lee, Tom Park",
            "(Additional reporting by Ann Lee in Seoul and Tom Park at the UN))",
            None,
            id="additional-only-is-no-author",
        ),
        pytest.param(
            "Sam Cho, Bo Kim",
            "(Additional reporting by Bo Kim in Tokyo; Writing by Sam Cho; Editing by Pat Moore)",
            "Sam Cho",
            id="the-writer-stays",
        ),
        pytest.param(
            "Ann Lee and Tom Park",
            "(Reporting by Ann Lee and Tom Park; Editing by Pat Moore)",
            "Ann Lee and Tom Park",
            id="reporters-untouched",
        ),
        pytest.param(None, "(Additional reporting by Bo Kim)", None, id="no-label"),
    ],
)
def test_additional_reporters_are_not_the_labelled_author(
    author: str | None, credit: str, expected: str | None
) -> None:
    item = Item("set.jsonl", 0, {"id": "x", "text": f"{_TEXT}\n{credit}", "author": author})
    assert labelled_author(item) == expected
