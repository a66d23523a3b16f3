"""Relevance and key-issue rules for error patterns seen on real articles outside the project
(issue 9, third round): trade told as a market story, alliance terms used about other
alliances, a passing mention of a strong term, the troops or the command named without the
issue, background context words, Korean vocabulary, split terms.

Every text is written for the project, in its own words; each test names the rule it holds.
"""

from __future__ import annotations

import pytest

from koreapage_bot.analysis.pipeline import OfflineAnalyzer
from koreapage_bot.domain import Analysis, ArticleInput

ANALYZER = OfflineAnalyzer()


def _analyze(title: str, text: str) -> Analysis:
    return ANALYZER.analyze_now(ArticleInput(id="p", title=title, text=text))


def _issues(a: Analysis) -> list[str]:
    return [k.id for k in a.key_issues]


# --- the troops or the command named is not the issue ----------------------------------------


def test_us_troops_named_in_a_drill_story_are_not_the_troop_presence_issue() -> None:
    text = (
        "South Korean and U.S. troops staged a combined river-crossing drill in Yeoncheon on "
        "Tuesday, the army said.\n"
        "About 500 troops and 40 armored vehicles took part in the combined exercise, which "
        "tested bridging units.\n"
        "The United States keeps about 28,500 troops in South Korea.\n"
        "The American forces stationed in Korea hold such drills with the South twice a year."
    )
    a = _analyze("Allies stage river-crossing drill", text)
    assert a.relevant and "exercises" in _issues(a), a.why
    assert "usfk" not in _issues(a), _issues(a)


def test_troops_with_what_happens_to_them_are_the_troop_presence_issue() -> None:
    text = (
        "Washington is weighing a cut of about 4,500 of the U.S. troops in South Korea, "
        "officials said, and moving some of them to Guam.\n"
        "South Korea's defense ministry said the troop reduction had not been discussed with "
        "Seoul."
    )
    assert "usfk" in _issues(_analyze("U.S. weighs troop cut in Korea", text))


def test_the_combined_command_running_a_drill_is_not_the_opcon_issue() -> None:
    text = (
        "The Combined Forces Command began the Freedom Shield exercise on Monday, with South "
        "Korean and U.S. troops training together for 11 days.\n"
        "Drills run by the CFC will include more field training than last year.\n"
        "Seoul and Washington said the exercise was defensive."
    )
    a = _analyze("Allied command opens spring exercise", text)
    assert a.relevant and "exercises" in _issues(a), a.why
    assert "opcon" not in _issues(a) and "usfk" not in _issues(a), _issues(a)


def test_the_combined_command_and_its_transfer_are_the_opcon_issue() -> None:
    text = (
        "Seoul and Washington agreed to hand wartime operational control to a Korean general "
        "once the Combined Forces Command is reorganised, officials said."
    )
    assert "opcon" in _issues(_analyze("Allies set terms for command transfer", text))


# --- one mention in passing is not a key issue; one in the headline is -------------------------


def test_a_strong_term_recalled_in_passing_is_not_a_key_issue() -> None:
    text = (
        "South Korea and the United States opened talks on a new Special Measures Agreement in "
        "Seoul on Tuesday.\n"
        "Washington wants Seoul to pay more toward the cost of stationing U.S. troops.\n"
        "Seoul's negotiator said the current deal already covers most labor costs.\n"
        "The two sides will meet again next month in Honolulu.\n"
        "The talks are the first since the two allies settled their quarrel over THAAD in 2017."
    )
    a = _analyze("Allies open talks on cost sharing", text)
    assert a.relevant and "cost-sharing" in _issues(a), a.why
    assert "missile-defense" not in _issues(a), _issues(a)


def test_an_issue_named_once_in_the_headline_of_a_long_post_is_a_key_issue() -> None:
    body = " ".join(
        [
            "Defense officials of South Korea and the United States met at the Pentagon on "
            "Thursday for two days of talks.",
            "The delegations reviewed plans for the coming year and discussed space and cyber "
            "cooperation.",
            "Officials gave few details and called the talks productive.",
        ]
        * 12
    )
    a = _analyze("Allies discuss the nuclear umbrella at Pentagon talks", body)
    assert a.relevant and "extended-deterrence" in _issues(a), a.why


# --- another ally's alliance terms are that ally's ------------------------------------------


def test_alliance_terms_in_a_sentence_about_another_ally_are_that_ally_s() -> None:
    text = (
        "Japan agreed to raise its host-nation support for the American troops based in the "
        "country by a tenth over five years.\n"
        "The commander of U.S. Forces Japan welcomed the deal, which funds new barracks on "
        "Okinawa.\n"
        "Host-nation support for Japan covers utilities and the wages of Japanese base "
        "workers.\n"
        "The deal comes as Washington seeks a similar increase from South Korea."
    )
    a = _analyze("Tokyo agrees to pay more for American bases", text)
    assert "cost-sharing" not in _issues(a) and "usfk" not in _issues(a), _issues(a)


# --- (a) trade counts only when told as part of the security relationship --------------------

MARKET_STORIES = [
    (
        "Won slides as U.S. tariff threat weighs on exporters",
        "The South Korean won fell to its weakest level in a month on Tuesday after Washington "
        "said it would raise tariffs on Korean cars.\n"
        "Seoul's trade ministry said it would hold talks with the U.S. trade representative "
        "next week to seek an exemption.\n"
        "Analysts said the reciprocal tariff could cut South Korea's exports to the United "
        "States by five percent.\n"
        "The Kospi dropped 2 percent, led by carmakers and steelmakers.\n"
        "The two countries agreed in 2018 to revise the KORUS FTA.",
    ),
    (
        "원/달러 환율 급등…미국 관세 우려",
        "원/달러 환율이 미국의 자동차 관세 인상 우려로 급등했다.\n"
        "정부는 미국과 통상 협상을 이어가고 있으며 다음 주 워싱턴에서 협의할 예정이다.\n"
        "한미 관세 협상 결과에 따라 수출 기업의 부담이 달라질 전망이다.\n"
        "코스피는 2% 하락했다.",
    ),
]


@pytest.mark.parametrize(("title", "text"), MARKET_STORIES, ids=["en", "ko"])
def test_a_tariff_or_currency_story_is_a_market_story_not_the_alliance(
    title: str, text: str
) -> None:
    a = _analyze(title, text)
    assert not a.relevant, a.why
    assert "market story" in a.why[0], a.why


def test_trade_told_within_the_security_relationship_is_the_alliance() -> None:
    text = (
        "South Korea and the United States agreed to settle their tariff dispute as part of a "
        "wider package that also covers Seoul's contribution to the upkeep of U.S. Forces "
        "Korea.\n"
        "Officials said the alliance needed the trade deal settled before the summit.\n"
        "Seoul will raise its payment under the Special Measures Agreement."
    )
    a = _analyze("Allies fold tariff deal into security package", text)
    assert a.relevant and {"trade", "cost-sharing"} <= set(_issues(a)), a.why


def test_the_korus_agreement_as_the_subject_is_the_alliance() -> None:
    text = (
        "Seoul and Washington opened a special session of the KORUS joint committee on "
        "Monday to discuss amending the trade pact.\n"
        "The USTR wants better market access for American cars; Seoul said any change to "
        "KORUS must be balanced."
    )
    a = _analyze("Allies open talks on amending KORUS", text)
    assert a.relevant and "trade" in _issues(a), a.why


# --- (b) alliance terms used outside the Korea context ---------------------------------------


def test_opcon_in_us_army_doctrine_is_not_the_alliance() -> None:
    text = (
        "The U.S. Army's new field manual spells out when a brigade is under OPCON or TACON of "
        "a division.\n"
        "Under operational control, the gaining commander may task-organize the unit, the "
        "manual says.\n"
        "The manual, published at Fort Leavenworth, also covers administrative control.\n"
        "Officers said the change draws on lessons from exercises in Europe and the Pacific."
    )
    a = _analyze("Army field manual revises command relationships", text)
    assert not a.relevant, a.why


def test_nato_burden_sharing_is_not_the_alliance() -> None:
    text = (
        "Washington renewed its call for fairer burden-sharing at the NATO summit, pressing "
        "European allies to spend 5 percent of GDP on defense.\n"
        "Germany and France said they would raise their budgets.\n"
        "The U.S. ambassador to NATO said burden sharing was the most pressing question for "
        "the alliance.\n"
        "Leaders of Japan and South Korea, invited as partners, attended a session on Ukraine."
    )
    a = _analyze("U.S. presses NATO on burden-sharing", text)
    assert not a.relevant, a.why


def test_us_japan_host_nation_support_and_us_forces_japan_are_not_the_alliance() -> None:
    text = (
        "Japan agreed to raise its host-nation support for the American troops based in the "
        "country by a tenth over five years.\n"
        "The commander of U.S. Forces Japan welcomed the deal, which funds new barracks on "
        "Okinawa.\n"
        "Host-nation support will cover utilities and the wages of Japanese base workers.\n"
        "The deal comes as Washington seeks a similar increase from South Korea."
    )
    a = _analyze("Tokyo agrees to pay more for American bases", text)
    assert not a.relevant, a.why


# --- (c) a Japan cost comparison that names USFK in passing ----------------------------------


def test_a_japan_cost_story_naming_usfk_in_a_comparison_is_not_the_alliance() -> None:
    text = (
        "일본 정부가 주일미군 주둔경비 부담액을 향후 5년간 1조엔 규모로 늘리기로 미국 정부와 "
        "합의했다.\n"
        "이번 합의로 기지 노동자 인건비와 광열비, 훈련장 이전 비용이 늘어난다.\n"
        "일본 방위성은 오키나와 기지 정비 비용도 포함됐다고 설명했다.\n"
        "이는 한국이 주한미군 주둔을 위해 부담하는 연간 1조 4천억원보다 많은 수준이다.\n"
        "일본 야당은 증액 규모가 지나치다고 비판했다."
    )
    a = _analyze("일본, 주일미군 주둔경비 부담 5년간 1조엔으로 증액", text)
    assert not a.relevant, a.why
    assert "usfk" not in _issues(a), _issues(a)


def test_a_long_japan_cost_story_naming_usfk_once_is_not_the_alliance() -> None:
    filler = " The ministry gave no further details. Lawmakers will debate the plan next week."
    text = "\n".join(
        p + filler * 3
        for p in (
            "Japan will raise the money it spends on American bases on its soil by a fifth "
            "over five years, under a deal signed in Tokyo on Friday.",
            "The funds cover utilities, wages of Japanese base workers and the relocation of "
            "training grounds.",
            "By comparison, South Korea pays about $1 billion a year toward the upkeep of U.S. "
            "Forces Korea.",
            "Opposition lawmakers in Tokyo said the increase was too large.",
        )
    )
    a = _analyze("Japan to pay more toward U.S. bases", text)
    assert not a.relevant, a.why
    assert not {"usfk", "cost-sharing"} & set(_issues(a)), _issues(a)


# --- (d) sports and entertainment; (e) captions and credits ----------------------------------


@pytest.mark.parametrize(
    ("title", "text"),
    [
        (
            "Korea edges USA 5-4 in tournament opener",
            "Korea beat the USA 5-4 on Sunday in the opening game of the tournament.\n"
            "The Korean starter struck out seven American batters over six innings.\n"
            "The U.S. manager said his team would bounce back against Japan on Monday.",
        ),
        (
            "한국, 미국 꺾고 결승 진출",
            "한국 야구 대표팀이 미국을 5-4로 꺾고 결승에 진출했다.\n"
            "선발 투수는 6이닝 동안 삼진 7개를 잡았다.\n대표팀은 일본과 우승을 다툰다.",
        ),
        (
            "Girl group adds US tour dates after Seoul run",
            "The girl group will add five US tour dates after selling out three nights in "
            "Seoul, its agency said.\nThe group plays New York and Los Angeles in August.\n"
            "Tickets for the American leg go on sale next week.",
        ),
    ],
    ids=["baseball-en", "baseball-ko", "k-pop-tour"],
)
def test_sports_and_entertainment_naming_korea_and_the_us_are_not_the_alliance(
    title: str, text: str
) -> None:
    assert not _analyze(title, text).relevant


@pytest.mark.parametrize(
    ("title", "text"),
    [
        (
            "Lee meets Japanese premier in Osaka",
            "President Lee met Japan's prime minister in Osaka on Saturday to discuss seafood "
            "imports and visas.\n"
            "U.S. and South Korean soldiers take part in a combined exercise in Pocheon in "
            "March. [Photo: Reuters]\n"
            "The two leaders agreed to resume shuttle diplomacy.\n"
            "They also discussed tourism and youth exchanges.",
        ),
        (
            "이재명 대통령, 일본 총리와 정상회담",
            "이재명 대통령이 오사카에서 일본 총리와 정상회담을 열고 셔틀외교 복원에 합의했다.\n"
            "▲ 주한미군 장병들이 경기 평택 캠프 험프리스에서 훈련하고 있다. [사진=연합뉴스]\n"
            "두 정상은 관광과 청년 교류 확대도 논의했다.",
        ),
        (
            "Seoul hosts climate forum",
            "Seoul hosted a regional climate forum on Monday with delegates from 20 countries.\n"
            "The forum discussed carbon markets and the phase-out of coal.\n"
            "Photo courtesy of U.S. Forces Korea / Yonhap\n"
            "The next forum will be held in Jakarta.",
        ),
    ],
    ids=["caption-en", "caption-ko", "credit"],
)
def test_captions_and_photo_credits_are_not_evidence(title: str, text: str) -> None:
    assert not _analyze(title, text).relevant


# --- context issues: one tied to the alliance matter counts in an excerpt ---------------------


def test_a_context_issue_tied_to_the_alliance_matter_in_an_excerpt_is_kept() -> None:
    text = (
        "South Korea and the United States opened talks on a new Special Measures Agreement in "
        "Seoul on Tuesday.\n"
        "Seoul's negotiator said the U.S. troop presence paid for under the deal deters North "
        "Korea."
    )
    assert "north-korea" in _issues(_analyze("Allies open talks on cost sharing", text))


# --- Korean vocabulary -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("term", "issue"),
    [("확장억지", "extended-deterrence"), ("확장억지 강화", "extended-deterrence")],
)
def test_korean_variants_name_their_issue(term: str, issue: str) -> None:
    text = (
        f"한국과 미국은 {term} 문제를 논의했다고 정부가 밝혔다. "
        f"양국은 {term}에 대해 다음 달 추가 협의를 하기로 했다."
    )
    assert issue in _issues(_analyze(f"한미, {term} 논의", text))
