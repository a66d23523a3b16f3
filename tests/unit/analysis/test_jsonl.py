import json
import logging

import pytest

from koreapage_bot.analysis.jsonl import analyze_jsonl
from koreapage_bot.analysis.pipeline import OfflineAnalyzer

GOOD = json.dumps(
    {
        "id": "g1",
        "title": "U.S., South Korea begin talks on troop cost deal",
        "text": (
            "By Jane Roe\nSouth Korea and the United States opened talks on a new Special "
            "Measures Agreement.\nSeoul pays about $1 billion a year toward the cost of U.S. "
            "troops.\nThe talks resume next month."
        ),
        "url": "https://example.org/a",
        "published": "2024-05-01T09:00:00Z",
    }
)
FOOD = json.dumps({"id": 7, "title": "Grilled pork in Seoul", "text": "We ate well in Seoul."})


async def _run(lines: list[str]) -> list[dict[str, object]]:
    return [json.loads(out) async for out in analyze_jsonl(lines, OfflineAnalyzer())]


async def test_output_contract() -> None:
    (out,) = await _run([GOOD])
    assert set(out) == {
        "id", "relevant", "relevance", "key_issues", "author", "summary", "why", "language"
    }  # fmt: skip
    assert out["language"] == "en"
    assert out["id"] == "g1" and out["relevant"] is True and out["author"] == "Jane Roe"
    assert {"id": "cost-sharing", "label": "Defense cost sharing (SMA)"} in out["key_issues"]  # type: ignore[operator]
    assert isinstance(out["why"], list) and out["why"]


async def test_malformed_lines_yield_errors_and_processing_continues() -> None:
    lines = [
        "{not json",
        json.dumps({"title": "no id", "text": "x"}),
        json.dumps({"id": "x2", "title": "no body"}),
        json.dumps({"id": "x3", "text": "x", "author": 5}),
        "[1, 2]",
        "",
        GOOD,
        FOOD,
    ]
    out = await _run(lines)
    assert [o.get("line") for o in out[:5]] == [1, 2, 3, 4, 5]
    assert all("error" in o for o in out[:5])
    assert out[2]["id"] == "x2" and "text" in str(out[2]["error"])
    assert out[5]["id"] == "g1" and "error" not in out[5]
    assert out[6]["id"] == "7" and out[6]["relevant"] is False


@pytest.mark.parametrize(
    ("published", "warned"),
    [
        ("2019-09", False),
        ("2019", False),
        ("2019.09.17", False),
        ("2019년 9월 17일", False),
        ("Tue, 17 Sep 2019 08:00:00 GMT+9", False),
        ("yesterday", True),
        ("2019-13-45", True),
        (20190917, True),
    ],
)
async def test_a_date_never_costs_the_article(
    published: object, warned: bool, caplog: pytest.LogCaptureFixture
) -> None:
    line = json.loads(GOOD)
    line["published"] = published
    with caplog.at_level(logging.WARNING):
        (out,) = await _run([json.dumps(line)])
    assert "error" not in out and out["relevant"] is True and out["summary"]
    assert ("warnings" in out) is warned
    if warned:
        assert "published" in str(out["warnings"]) and "published" in caplog.text


async def test_accepts_async_iterables() -> None:
    async def gen():  # type: ignore[no-untyped-def]
        yield GOOD

    out = [json.loads(o) async for o in analyze_jsonl(gen(), OfflineAnalyzer())]
    assert out[0]["id"] == "g1"
