"""Rendering helpers: cutting at word boundaries, flattening HTML, and defusing feed text."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from koreapage_bot.delivery.view import (
    collapse_whitespace,
    format_date,
    issue_labels,
    truncate,
)
from koreapage_bot.domain import IssueTag

# --- truncate ------------------------------------------------------------------------------------

SENTENCE = "Seoul and Washington agreed on a new special measures agreement for cost sharing"


def test_truncate_leaves_short_text_alone() -> None:
    assert truncate("short text", 100) == "short text"
    assert truncate("exactly ten", 11) == "exactly ten"


@pytest.mark.parametrize("value", [None, ""])
def test_truncate_empty(value: str | None) -> None:
    assert truncate(value, 10) == ""


def test_truncate_cuts_at_a_word_boundary() -> None:
    out = truncate(SENTENCE, 30)
    assert out == "Seoul and Washington agreed…"
    assert len(out) <= 30
    assert SENTENCE.startswith(out[:-1])


@pytest.mark.parametrize("limit", range(1, len(SENTENCE) + 2))
def test_truncate_never_exceeds_and_never_splits_words(limit: int) -> None:
    out = truncate(SENTENCE, limit)
    assert len(out) <= limit
    if len(SENTENCE) <= limit:
        assert out == SENTENCE
        return
    body = out.removesuffix("…")
    words = SENTENCE.split()
    if limit > len(words[0]) + 1:
        # Every word kept is a whole word of the original, in order.
        assert body.split() == words[: len(body.split())]
        assert out.endswith("…")


def test_truncate_hard_cuts_a_single_long_word() -> None:
    word = "Pneumonoultramicroscopicsilicovolcanoconiosis"
    out = truncate(word, 12)
    assert out == word[:11] + "…"
    assert len(out) == 12
    # A long first word followed by others is still cut only because it alone is too long.
    assert truncate(word + " tail", 12) == word[:11] + "…"


def test_truncate_custom_ellipsis_counts_towards_the_limit() -> None:
    out = truncate(SENTENCE, 25, ellipsis="...")
    assert out == "Seoul and Washington..."
    assert len(out) <= 25
    assert truncate(SENTENCE, 25, ellipsis="") == "Seoul and Washington"


def test_truncate_limit_smaller_than_the_ellipsis() -> None:
    assert truncate(SENTENCE, 2, ellipsis="...") == "Se"
    assert truncate(SENTENCE, 1) == "S"
    assert truncate(SENTENCE, 0) == ""
    assert truncate(SENTENCE, -5) == ""


def test_truncate_drops_dangling_punctuation_before_the_ellipsis() -> None:
    assert truncate("Alliance, in brief: what changed today", 12) == "Alliance…"
    assert truncate("Alliance, in brief: what changed today", 13) == "Alliance, in…"
    assert truncate("Talks (on the SMA) resume", 11) == "Talks (on…"
    assert truncate("Talks - and more", 8) == "Talks…"
    assert truncate("Hello, world and more", 9) == "Hello…"


def test_truncate_collapse_option() -> None:
    messy = "  The   alliance\n\n\tholds  "
    assert truncate(messy, 100, collapse=True) == "The alliance holds"
    assert truncate(messy, 100) == messy
    assert truncate("a\n\nb c d e f g", 6, collapse=True) == "a b c…"


def test_truncate_unicode() -> None:
    korean = "한미 동맹 방위비 분담금 협상이 타결되었다"
    out = truncate(korean, 12)
    assert out == "한미 동맹 방위비…"
    assert len(out) <= 12
    # No spaces (CJK run): hard cut, never splitting a base letter from its accent.
    accented = "e\u0301" * 10
    out = truncate(accented, 6)
    assert len(out) <= 6
    assert not out.removesuffix("…").endswith("e")
    # A ZWJ emoji sequence is not split in the middle.
    family = "👨\u200d👩\u200d👧" * 5
    cut = truncate(family, 5).removesuffix("…")
    assert not cut.endswith("\u200d")


def test_collapse_whitespace() -> None:
    assert collapse_whitespace(" a\u00a0 b\n") == "a b"
    assert collapse_whitespace(None) == ""


# --- dates and labels ----------------------------------------------------------------------------


def test_format_date() -> None:
    assert format_date(datetime(2026, 11, 28, 9, 30)) == "2026-11-28"
    assert format_date(date(2026, 1, 2)) == "2026-01-02"
    assert format_date(None) == ""
    kst = ZoneInfo("Asia/Seoul")
    early_kst = datetime(2026, 11, 29, 8, 0, tzinfo=kst)
    assert format_date(early_kst) == "2026-11-29"  # the source's own date by default
    assert format_date(early_kst, tz=UTC) == "2026-11-28"
    minus5 = timezone(timedelta(hours=-5))
    assert format_date(datetime(2026, 11, 28, 23, 0, tzinfo=minus5), tz=kst) == "2026-11-29"
    # A naive datetime is not shifted.
    assert format_date(datetime(2026, 11, 28, 23, 0), tz=kst) == "2026-11-28"


def test_issue_labels() -> None:
    tags = [IssueTag("usfk", "USFK"), IssueTag("sma", "Cost sharing"), IssueTag("usfk", "USFK")]
    assert issue_labels(tags) == "USFK, Cost sharing"
    assert issue_labels(tags, sep=" · ") == "USFK · Cost sharing"
    assert issue_labels(["GSOMIA", " ", "  Extended   deterrence "]) == (
        "GSOMIA, Extended deterrence"
    )
    assert issue_labels([]) == ""
    assert issue_labels(None) == ""


def test_language_label_names_a_non_english_post_and_nothing_else() -> None:
    from koreapage_bot.delivery.view import language_label

    assert language_label("ko") == "Korean (한국어)"
    assert language_label("KO") == "Korean (한국어)"
    assert language_label("en") == language_label("en-GB") == language_label(None) == ""
    assert language_label("ja") == "ja"  # a code the bot has no name for, shown as it is
    assert language_label("<@everyone>") == ""  # a stored value is not trusted
