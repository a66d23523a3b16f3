"""Key-issue rules for error patterns seen on real excerpts outside the project (issue 9,
fourth round): a plan dated this year is not a look back, an institution's name does not take
a sentence from the issue it is about, a strong term is not halved, a context issue named only
as the threat an alliance matter answers, GSOMIA and the trilateral, paraphrases of issues.

Every text is written for the project, in its own words; each test names the rule it holds.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from koreapage_bot.analysis.pipeline import OfflineAnalyzer
from koreapage_bot.domain import Analysis, ArticleInput

ANALYZER = OfflineAnalyzer()


def _analyze(title: str, text: str, published: datetime | None = None) -> Analysis:
    return ANALYZER.analyze_now(ArticleInput(id="p", title=title, text=text, published=published))


def _issues(a: Analysis) -> list[str]:
    return [k.id for k in a.key_issues]


# --- a year that is the post's own year is a plan, not the past --------------------------------

_NCG_PLAN = (
    "한미 양국 국방부가 핵협의그룹 운영 지침 문서에 서명했다고 국방부가 밝혔다.\n"
    "문서에는 핵협의그룹의 목표와 구성, 회의 주기가 담겼다.\n"
    "양국은 확장억제 실행력을 높이는 방안도 논의했다.\n"
    "국방부 관계자는 서명식이 워싱턴에서 열렸다고 설명했다.\n"
    "한미는 지난해 말 회의에서 2024년 8월 을지 자유의 방패 연습에 "
    "핵 운용 시나리오를 넣기로 합의했다."
)


def test_a_drill_planned_for_the_post_s_own_year_is_a_key_issue() -> None:
    a = _analyze("한미, 핵협의그룹 지침 서명", _NCG_PLAN, datetime(2024, 2, 14, tzinfo=UTC))
    assert "exercises" in _issues(a), a.why


def test_a_drill_of_an_earlier_year_stays_background() -> None:
    a = _analyze("한미, 핵협의그룹 지침 서명", _NCG_PLAN, datetime(2026, 2, 14, tzinfo=UTC))
    assert "exercises" not in _issues(a), _issues(a)


# --- the institution's name does not take the sentence; a strong term keeps its credit ---------


def test_cost_of_stationing_troops_in_a_troop_cut_story_is_cost_sharing() -> None:
    text = (
        "The Pentagon has drawn up options to cut the U.S. troops in South Korea, a newspaper "
        "reported on Friday.\n"
        "No decision has been made on reducing the 28,500 U.S. forces stationed there, "
        "officials said.\n"
        "The review covers U.S. Forces Korea as part of a worldwide look at deployments.\n"
        "Separately, Seoul and Washington have yet to agree how much South Korea will "
        "contribute to the cost of stationing American troops on the peninsula."
    )
    a = _analyze("Pentagon drafts options to cut troops in Korea", text)
    assert "usfk" in _issues(a) and "cost-sharing" in _issues(a), _issues(a)


def test_a_strong_term_beside_another_issue_in_one_sentence_is_kept() -> None:
    text = (
        "한미 양국이 관세와 대미 투자를 담은 통상 협상 결과 문서를 공개했다.\n"
        "문서에는 자동차 관세를 15%로 낮추는 내용이 담겼다.\n"
        "대미 투자 규모와 방식도 명시됐다.\n"
        "반도체 관세는 추후 협의하기로 했다.\n"
        "주한미군의 지속적 주둔과 임기 내 전시작전통제권 환수 추진 원칙도 문서에서 재확인됐다."
    )
    a = _analyze("한미 통상·안보 문서 공개", text)
    assert "opcon" in _issues(a), _issues(a)


# --- a context issue named only as the threat is the scene -------------------------------------


def test_north_korea_named_only_as_the_threat_is_not_a_key_issue_ko() -> None:
    text = (
        "한미 양국이 방위비 분담금 협상을 최종 타결했다고 외교부가 밝혔다.\n"
        "외교부는 전날까지 진행된 협상에서 총액에 합의했다고 설명했다.\n"
        "미측은 큰 폭의 인상을 요구했으나 우리 측은 국회 비준 부담을 들어 낮은 금액을 제시했다.\n"
        "다만 우리 측은 북한의 위협 등 안보 상황 변화를 감안해 미측 요구를 일부 받아들였다."
    )
    a = _analyze("한미 방위비 분담금 협상 타결", text)
    assert "cost-sharing" in _issues(a), a.why
    assert "north-korea" not in _issues(a), _issues(a)


def test_north_korea_named_only_as_the_threat_is_not_a_key_issue_en() -> None:
    text = (
        "Seoul and Washington will open a new round of talks on the Special Measures "
        "Agreement next month, the foreign ministry said.\n"
        "The current cost-sharing deal expires at the end of the year.\n"
        "Officials declined to say how large an increase Washington seeks.\n"
        "Trump has long said South Korea should pay more for the American troops stationed "
        "there to help defend against North Korea."
    )
    a = _analyze("Allies to resume cost-sharing talks", text)
    assert "cost-sharing" in _issues(a), a.why
    assert "north-korea" not in _issues(a), _issues(a)


def test_north_korea_as_the_subject_of_a_sentence_is_still_a_key_issue() -> None:
    text = (
        "South Korea and the United States began their Freedom Shield exercise on Monday.\n"
        "The drills will run for 11 days, the Joint Chiefs of Staff said.\n"
        "Officials said the allies would add more field training this year.\n"
        "North Korea fired two ballistic missiles into the sea hours after the drills began."
    )
    assert "north-korea" in _issues(_analyze("Allies begin Freedom Shield drills", text))


# --- GSOMIA carries the trilateral; paraphrases of issues ----------------------------------------


def test_a_gsomia_post_naming_japan_is_about_the_trilateral() -> None:
    text = (
        "South Korea said on Thursday it will end the General Security of Military Information "
        "Agreement with Japan, drawing protest from Tokyo and Washington.\n"
        "The decision follows a quarrel between Seoul and Tokyo over export controls.\n"
        "The U.S. State Department said it was disappointed by Seoul's choice."
    )
    a = _analyze("Seoul to end GSOMIA", text)
    assert {"gsomia", "japan-trilateral"} <= set(_issues(a)), _issues(a)


@pytest.mark.parametrize(
    ("title", "text", "issue"),
    [
        (
            "Seoul keeps intelligence pact",
            "South Korea says it will keep a military intelligence-sharing agreement with "
            "Japan after a strong U.S. push to save it.\n"
            "Seoul had said in August it would let the deal lapse.",
            "gsomia",
        ),
        (
            "Pledge to consult",
            "We, the leaders of Japan, the Republic of Korea, and the United States, commit our "
            "governments to consult trilaterally on regional threats.\n"
            "Japan, the Republic of Korea, and the United States will share information and "
            "align their messages.",
            "japan-trilateral",
        ),
        (
            "Trump seeks one trade and defense deal with Seoul",
            "Trump wants a single package with South Korea covering both trade and defense "
            "matters, officials said.\n"
            "Seoul's negotiators worry the U.S. troops' upkeep will be tied to trade concessions.",
            "trade",
        ),
        (
            "Fact sheet on summit",
            "The White House said the two leaders agreed on tariffs on Korean cars.\n"
            "Trump welcomed Seoul's pledge of comprehensive support for USFK worth $33 billion.",
            "usfk",
        ),
        (
            "팩트시트 공개",
            "백악관이 한미 정상회담 팩트시트를 공개했다.\n"
            "자동차 관세는 15%로 낮추기로 했다.\n"
            "대미 투자 규모도 명시됐다.\n"
            "트럼프 대통령은 주한미군에 대한 330억 달러 규모의 포괄적 지원을 환영했다고 밝혔다.",
            "usfk",
        ),
        (
            "한미 국방장관 회담",
            "한미 국방장관은 북한의 핵 위협에 대응하는 맞춤형 억제전략을 승인했다.\n"
            "양국은 다음 회의를 서울에서 열기로 했다.",
            "extended-deterrence",
        ),
    ],
)
def test_paraphrases_name_their_issue(title: str, text: str, issue: str) -> None:
    assert issue in _issues(_analyze(title, text))


def test_korus_as_the_pair_s_abbreviation_is_not_trade() -> None:
    text = (
        "The transfer of wartime operational control matters for the future of the alliance "
        "of the Republic of Korea and the United States (KORUS).\n"
        "Seoul and Washington agreed on the conditions for the OPCON transfer in 2014."
    )
    a = _analyze("Understanding the OPCON transfer", text)
    assert "opcon" in _issues(a) and "trade" not in _issues(a), _issues(a)
