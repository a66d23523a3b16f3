"""Dates as feeds and pages write them (koreapage_bot.dates): read, or None, never an error."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from koreapage_bot.dates import parse_date


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # ISO 8601, full and reduced precision
        ("2019-09-17T08:30:00+09:00", datetime(2019, 9, 16, 23, 30, tzinfo=UTC)),
        ("2019-09-17 08:30:00 +0900", datetime(2019, 9, 16, 23, 30, tzinfo=UTC)),
        ("2019-09-17", datetime(2019, 9, 17, tzinfo=UTC)),
        ("2019-09", datetime(2019, 9, 1, tzinfo=UTC)),
        ("2019", datetime(2019, 1, 1, tzinfo=UTC)),
        # RFC 822 / 2822 with the zones feeds really use
        ("Tue, 17 Sep 2019 08:30:00 KST", datetime(2019, 9, 16, 23, 30, tzinfo=UTC)),
        ("Tue, 17 Sep 2019 08:30:00 +09:00", datetime(2019, 9, 16, 23, 30, tzinfo=UTC)),
        ("Tue, 17 Sep 2019 08:30:00 GMT+9", datetime(2019, 9, 16, 23, 30, tzinfo=UTC)),
        ("Tue, 17 Sep 2019 08:30:00 UTC+09:00", datetime(2019, 9, 16, 23, 30, tzinfo=UTC)),
        ("Tue, 17 Sep 2019 10:30:00 CEST", datetime(2019, 9, 17, 8, 30, tzinfo=UTC)),
        ("Tue, 17 Sep 2019 08:30 EDT", datetime(2019, 9, 17, 12, 30, tzinfo=UTC)),
        ("Tue, 17 Sep 2019", datetime(2019, 9, 17, tzinfo=UTC)),
        ("Ter, 17 Set 2019 08:30:00 -0300", datetime(2019, 9, 17, 11, 30, tzinfo=UTC)),
        # slashed and dotted, as Korean sites print them
        ("2019/9/17 14:33:00", datetime(2019, 9, 17, 14, 33, tzinfo=UTC)),
        ("2019.09.17", datetime(2019, 9, 17, tzinfo=UTC)),
        ("2019. 9. 17.", datetime(2019, 9, 17, tzinfo=UTC)),
        ("2019.09.17 15:20 KST", datetime(2019, 9, 17, 6, 20, tzinfo=UTC)),
        ("입력 2019.09.17 오후 3:20", datetime(2019, 9, 17, 15, 20, tzinfo=UTC)),
        # Korean dates are Korean time
        ("2019년 9월 17일", datetime(2019, 9, 16, 15, 0, tzinfo=UTC)),
        ("2019년 9월 17일 오후 3시 20분", datetime(2019, 9, 17, 6, 20, tzinfo=UTC)),
        ("2019년 9월", datetime(2019, 8, 31, 15, 0, tzinfo=UTC)),
        # month names
        ("Sept. 17, 2019", datetime(2019, 9, 17, tzinfo=UTC)),
        ("Updated: September 17, 2019 at 3:20 p.m.", datetime(2019, 9, 17, 15, 20, tzinfo=UTC)),
        ("17 September 2019", datetime(2019, 9, 17, tzinfo=UTC)),
        # unreadable: None, never an exception
        ("yesterday", None),
        ("", None),
        ("2019-13-45", None),
        ("2019.02.30", None),
        ("Someday, 99 Foo 20x9", None),
    ],
)
def test_parse_date(text: str, expected: datetime | None) -> None:
    assert parse_date(text) == expected
