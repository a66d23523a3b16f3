"""The summary checker of the evaluation (evaluation.summary_checks) catches each fault it
counts, and passes a clean summary: its counts in bench/eval_analysis.py mean something."""

from __future__ import annotations

import pytest

from tests.integration.analysis.evaluation import SUMMARY_FLAGS, summary_checks

TITLE = "Allies agree to extend troop cost deal"
SOURCE = (
    "SEOUL, March 3 (Yonhap) -- South Korea and the United States agreed on Friday to extend "
    "their troop cost deal by a year. Seoul will pay 5 percent more in 2026. The talks were "
    "held in Honolulu. However, lawmakers must still approve the extension. It will be "
    "signed next week."
)
CLEAN = (
    "South Korea and the United States agreed on Friday to extend their troop cost deal by a "
    "year. Seoul will pay 5 percent more in 2026."
)


def test_a_clean_summary_has_no_fault() -> None:
    flags = summary_checks(TITLE, CLEAN, SOURCE)
    assert not any(flags.values()), flags


@pytest.mark.parametrize(
    ("summary", "flag"),
    [
        (
            "SEOUL, March 3 (Yonhap) -- South Korea and the United States agreed to extend "
            "their troop cost deal.",
            "dateline",
        ),
        (
            "WASHINGTON U.S. and South Korean negotiators agreed to extend the troop cost deal.",
            "dateline",
        ),
        (
            "Seoul, March 3 (Yonhap) -- South Korea and the United States agreed to extend "
            "their troop cost deal.",
            "dateline",
        ),
        ("【서울=한빛통신】 한미 양국이 방위비 분담 협정을 1년 연장하기로 합의했다.", "dateline"),
        (
            "(세종=연합뉴스) 홍길동 기자 = 한미 양국이 방위비 분담 협정을 1년 연장하기로 합의했다.",
            "dateline",
        ),
        (CLEAN + " Negotiators shake hands after the talks in Honolulu. (Yonhap)", "caption"),
        (CLEAN + " This file photo shows U.S. troops at a base in Pyeongtaek.", "caption"),
        (CLEAN + " Gen. Ahn, left, and Gen. Cole shake hands in Seoul.", "caption"),
        (CLEAN + " Negotiators meet in Honolulu, Hawaii, March 3, 2025.", "caption"),
        (
            "한미 양국이 방위비 협정 연장에 합의했다. "
            "사진=국방부 제공 협상 대표들이 악수하고 있다.",
            "caption",
        ),
        (CLEAN + " All rights reserved. This material may not be published.", "boilerplate"),
        (CLEAN + " 무단 전재 및 재배포 금지.", "boilerplate"),
        (CLEAN + " Seoul will pay more", "fragment"),
        (CLEAN + " in Honolulu, officials said.", "fragment"),
        (
            "정부는 후속 협상에 들어갈 계획이다.❾ 노동법 개정안 통과올해 국회는 개정안을 처리했다.",
            "fragment",
        ),
        ("However, lawmakers must still approve the extension of the troop cost deal.", "dangling"),
        (CLEAN + " It will be signed next week.", "dangling"),
        ("The talks were held in Honolulu. Seoul will pay 5 percent more in 2026.", "off_title"),
        (
            "Seoul will pay 5 percent more in 2026. South Korea and the "
            "United States agreed on Friday to extend their troop cost deal by a year.",
            "weak_anchor",
        ),
        (
            CLEAN + " " + "The allies also discussed other matters of mutual interest. " * 12,
            "over_600",
        ),
    ],
)
def test_each_fault_is_flagged(summary: str, flag: str) -> None:
    assert flag in SUMMARY_FLAGS
    flags = summary_checks(TITLE, summary, SOURCE)
    assert flags[flag], (flag, flags)


def test_a_connective_that_follows_its_sentence_in_the_text_is_not_dangling() -> None:
    summary = (
        "The talks were held in Honolulu. However, lawmakers must still approve the extension."
    )
    assert not summary_checks(TITLE, summary, SOURCE)["dangling"]


def test_an_it_that_stands_for_nothing_is_not_dangling() -> None:
    summary = CLEAN + " It is unclear whether lawmakers will approve the extension."
    assert not summary_checks(TITLE, summary, SOURCE)["dangling"]
