"""What the story matcher reads from a brief: terms, names, numbers, dates."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from koreapage_bot.stories.features import (
    StoryText,
    concepts_of,
    dates_of,
    event_title,
    features,
    headline_case,
    names_of,
    numbers_of,
    terms_of,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$700 billion", {"7e+11"}),
        ("7,000억 달러를 돌파했다", {"7e+11"}),
        ("1조5천200억원", {"1.52e+12"}),
        ("주한미군 2만8천500명", {"2.85e+04"}),
        ("28,500 American troops", {"2.85e+04"}),
        ("rose 12.4 percent, or 12.4%", {"12.4%"}),
        ("in 2026, on the 5 of them", set()),  # years and small counts say little
        ("the second round of talks on the 13th Special Measures Agreement", {"#2", "#13"}),
        ("제13차 방위비분담특별협정 2차 협상", {"#13", "#2"}),
    ],
)
def test_numbers_read_the_same_in_both_languages(text: str, expected: set[str]) -> None:
    assert numbers_of(text) == expected


def test_dates_resolve_against_the_publication_date() -> None:
    published = datetime(2025, 12, 30, 3, tzinfo=UTC)  # a Tuesday
    assert dates_of("said Monday", published) == {"2025-12-29"}
    assert dates_of("브런슨 사령관은 29일", published) == {"2025-12-29"}
    assert dates_of("on Dec. 29", published) == {"2025-12-29"}
    assert dates_of("12월 15일자로", published) == {"2025-12-15"}
    # A day of the month still to come is last month's; a month far ahead, last year's.
    assert dates_of("31일", published) == set()  # November has no 31st
    assert dates_of("on March 3", published) == {"2025-03-03"}


def test_korean_terms_are_bigrams_of_each_word_without_its_particle() -> None:
    assert terms_of("주한미군을") == ["주한", "한미", "미군"]
    assert terms_of("launches launched launching") == ["launch"] * 3


def test_names_in_both_languages_meet_in_one_concept() -> None:
    english = concepts_of("Gen. Xavier Brunson, commander of U.S. Forces Korea, in Pyeongtaek")
    korean = concepts_of("브런슨 주한미군사령관은 평택에서")
    assert {"p:brunson", "o:usfk", "g:pyeongtaek"} <= english & korean


def test_capitalised_words_are_names_but_not_at_a_sentence_start() -> None:
    found = names_of("The FDI inflows fell. Analysts at the RBI said Menendez was in Delhi.")
    assert {"fdi", "rbi", "menendez", "delhi"} <= found
    assert "analyst" not in found and "the" not in found


def test_a_bare_day_one_ahead_is_the_reporters_own_day() -> None:
    # A Seoul report of the 28th, stamped 17:00 UTC on the 27th, says "28일": that is the
    # 28th (its own day), not November's.
    published = datetime(2025, 12, 27, 17, tzinfo=UTC)
    assert dates_of("28일 새벽 항구에서 화재가 났다", published) == {"2025-12-28"}
    assert dates_of("26일 발표했다", published) == {"2025-12-26"}


def test_an_aggregators_outlet_suffix_is_not_part_of_the_event() -> None:
    assert event_title("Storm Floods Harbor Town, Mayor Says - Coastal Times") == (
        "Storm Floods Harbor Town, Mayor Says"
    )
    assert (
        event_title("Dam opens gates after heavy rain – Wire") == "Dam opens gates after heavy rain"
    )
    assert event_title("Short - Name") == "Short - Name"  # too little left: kept whole
    assert event_title("Budget vote set for Friday") == "Budget vote set for Friday"


def test_a_headline_case_title_gives_no_names() -> None:
    title = "Storm Floods Harbor Town, At Least Two Dead"
    assert headline_case(title)
    assert not headline_case("Storm floods harbor town in Norland, two dead")
    item = StoryText(
        title=title,
        summary="",
        text="A storm flooded the port of Velmar on Monday, officials in Norland said.",
        language="en",
        at=datetime(2026, 2, 2, tzinfo=UTC),
    )
    names = features(item).names
    assert {"velmar", "norland"} <= names
    assert not names & {"least", "dead", "town", "harbor"}


def test_time_zone_abbreviations_are_not_names() -> None:
    assert "est" not in names_of("The vote closes at 10 p.m. EST (0300 GMT) in Velmar.")


def test_special_counsel_reads_the_same_in_both_languages() -> None:
    assert "t:special-counsel" in concepts_of("The special counsel wrapped up its probe")
    assert "t:special-counsel" in concepts_of("특검팀이 수사를 마쳤다")


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        (
            "대만 동쪽해역 규모 7.0 지진…TSMC 정상작동(종합2보)",
            "대만 동쪽해역 규모 7.0 지진...TSMC 정상작동",
        ),
        ("[속보] 특검, 전 대표 부부 기소", "특검, 전 대표 부부 기소"),
        ("[뉴욕증시-1보] 연휴 분위기 속 약보합 마감", "연휴 분위기 속 약보합 마감"),
        (
            "(LEAD) Command says the boundary is under its authority",
            "Command says the boundary is under its authority",
        ),
        (
            "(2nd LD) N. Korea fires ballistic missile into East Sea",
            "N. Korea fires ballistic missile into East Sea",
        ),
        ("UPDATE 2-Oil climbs as supply worries grow", "Oil climbs as supply worries grow"),
        ("Governor (R) says one (1) thing happened", "Governor (R) says one (1) thing happened"),
    ],
)
def test_a_wires_update_marker_is_not_part_of_the_title(title: str, expected: str) -> None:
    """A flash, its fuller version and its second update carry different markers; the
    markers would make a flash unlike its update and every update of one wire alike."""
    assert event_title(title) == expected


def test_background_days_do_not_count_as_the_events_day() -> None:
    """A report that recalls an older day ("indicted on Dec. 3") does not name another day
    for its event than a report naming only today."""
    at = datetime(2025, 12, 28, 5, 0, tzinfo=UTC)
    recap = features(
        StoryText(
            title="Probe wraps up",
            summary="The team indicted her on Dec. 3 and began its work on July 2.",
            text="",
            language="en",
            at=at,
        )
    )
    today = features(
        StoryText(
            title="Probe ends today",
            summary="The special counsel ends its work on Dec. 28.",
            text="",
            language="en",
            at=at,
        )
    )
    assert recap.dates == {"2025-12-03", "2025-07-02"}
    assert recap.event_days == frozenset()
    assert {d.isoformat() for d in today.event_days} == {"2025-12-28"}
