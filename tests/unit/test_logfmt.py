"""JSON log lines: one object per line, the structured fields (`extra=`) as fields."""

from __future__ import annotations

import json
import logging
import sys

from koreapage_bot.logfmt import JsonFormatter, formatter


def record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord(
        "koreapage_bot.test", logging.WARNING, __file__, 1, message, args, None
    )
    made.__dict__.update(extra)
    return made


def test_a_record_is_one_json_object_with_its_ids() -> None:
    line = JsonFormatter().format(
        record(
            "delivery %d is dead: %s",
            7,
            "slack: invalid_blocks\nsecond line",
            event="delivery_dead",
            delivery_id=7,
            platform="slack",
            subscription_id=3,
            deliveries=(1, 2),
        )
    )
    assert "\n" not in line
    data = json.loads(line)
    assert data["message"] == "delivery 7 is dead: slack: invalid_blocks\nsecond line"
    assert data["level"] == "WARNING" and data["logger"] == "koreapage_bot.test"
    assert data["time"].endswith("+00:00")
    assert (data["event"], data["delivery_id"], data["platform"]) == ("delivery_dead", 7, "slack")
    assert data["subscription_id"] == 3 and data["deliveries"] == [1, 2]
    # Nothing of the record's own plumbing leaks into the object.
    assert not {"args", "msg", "levelno", "pathname", "exc_info"} & set(data)


def test_text_that_splits_lines_elsewhere_stays_on_one_line() -> None:
    line = JsonFormatter().format(record("피드 %s\u2028next\u2029", "한국어", feed_id=4))
    assert len(line.splitlines()) == 1  # str.splitlines breaks at U+2028 too
    assert json.loads(line)["message"] == "피드 한국어\u2028next\u2029"


def test_an_exception_is_a_field_and_odd_values_are_text() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        made = record("poll failed", feed_id=9, when=object())
        made.exc_info = sys.exc_info()
    data = json.loads(JsonFormatter().format(made))
    assert data["feed_id"] == 9 and "RuntimeError: boom" in data["exception"]
    assert data["when"].startswith("<object object")


def test_text_stays_the_default() -> None:
    assert not isinstance(formatter("text"), JsonFormatter)
    assert isinstance(formatter("json"), JsonFormatter)
