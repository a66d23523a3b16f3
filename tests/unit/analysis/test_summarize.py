from typing import Any

import pytest

from koreapage_bot.analysis.pipeline import OfflineAnalyzer
from koreapage_bot.analysis.text import split_sentences
from koreapage_bot.domain import ArticleInput
from tests.unit.analysis.fixtures import articles

ANALYZER = OfflineAnalyzer()


@pytest.mark.parametrize("art", articles(), ids=lambda a: a["id"])
def test_summary_shape(art: dict[str, Any]) -> None:
    summary = ANALYZER.analyze_now(
        ArticleInput(id=art["id"], title=art["title"], text=art["text"])
    ).summary
    assert 0 < len(summary) <= 600
    sentences = split_sentences(summary)
    assert 1 <= len(sentences) <= 3
    assert len(set(sentences)) == len(sentences)
    for s in sentences:  # extractive: every sentence comes from the text
        assert s in " ".join(art["text"].split())


def test_near_duplicates_and_noise_are_never_selected() -> None:
    text = (
        "Skip to content\n"
        "The United States and South Korea agreed on Friday to extend their troop cost deal.\n"
        "The United States and South Korea agreed on Friday to extend the troop cost deal.\n"
        "Negotiators said Seoul will pay 8 percent more next year for U.S. forces.\n"
        "Photo courtesy of the Defense Ministry. Officials shake hands in Seoul.\n"
        "Share this article on Facebook\n"
        "Subscribe to our newsletter for more alliance news every week from our Seoul bureau.\n"
        "The National Assembly must still approve the agreement before it takes effect.\n"
        "Leave a Comment\n"
        "This is the best analysis of the troop cost deal that I have read this year, thanks."
    )
    result = ANALYZER.analyze_now(ArticleInput(id="n", title="Allies extend cost deal", text=text))
    s = result.summary
    assert s.count("agreed on Friday") == 1
    for noise in ("Skip", "Photo", "Share", "Subscribe", "Comment", "best analysis"):
        assert noise not in s
    assert 2 <= len(split_sentences(s)) <= 3


def test_summary_respects_the_character_budget() -> None:
    long_sentences = "\n".join(
        f"Officials from South Korea and the United States held meeting number {n} on troop "
        "costs in Seoul, and said they discussed the details of the agreement at great length "
        "with negotiators from both governments over several days."
        for n in range(10)
    )
    result = ANALYZER.analyze_now(ArticleInput(id="l", title="Talks", text=long_sentences))
    assert 0 < len(result.summary) <= 600


# --- issue 9: summaries that hold up on real page forms (texts written for the project) ---


def _summary(title: str, text: str) -> str:
    return ANALYZER.analyze_now(ArticleInput(id="s", title=title, text=text)).summary


def test_the_headline_s_central_fact_comes_first() -> None:
    text = (
        "Seoul's defense ministry released its annual survey of public opinion on Thursday.\n"
        "The survey, conducted by a private pollster for the ministry, reached 1,500 adults.\n"
        "Sixty-two percent of respondents said the alliance with the United States should "
        "continue after unification, up from 55 percent a year earlier.\n"
        "Support for keeping U.S. troops in South Korea was highest among people in their 60s.\n"
        "The ministry said it would use the results in planning its outreach next year."
    )
    s = _summary("Poll: 62% want alliance with US to outlast unification", text)
    assert s.startswith("Sixty-two percent"), s


def test_a_news_lead_that_words_the_headline_differently_is_still_the_anchor() -> None:
    # The lead states the fact in its own words; a later background sentence repeats more of
    # the headline's words but is not the news.
    text = (
        "South Korea and the United States have postponed their summer combined drills "
        "by a month to ease the strain of a heat wave on troops, the Joint Chiefs of Staff "
        "said on Monday.\n"
        "Summer drills of the allies were also postponed in 2018 and in 2019, during "
        "diplomacy with the North.\n"
        "The field training will now run through late September, a JCS officer said.\n"
        "Computer-simulated command post exercises go ahead as planned next week."
    )
    s = _summary("Allies postpone summer drills", text)
    assert s.startswith("South Korea and the United States have postponed"), s


def test_a_sentence_that_leans_on_the_one_before_is_not_picked_alone() -> None:
    text = (
        "The United States and South Korea opened a new round of talks on the cost of "
        "stationing U.S. troops on Tuesday in Honolulu.\n"
        "Washington wants Seoul to pay far more than the 1.5 trillion won it paid last year.\n"
        "The talks drew protesters in Seoul, where civic groups rallied outside the embassy.\n"
        "However, negotiators on both sides said a deal was within reach before the deadline, "
        "according to officials familiar with the talks.\n"
        "The graph below shows how much Seoul has paid toward U.S. troop costs since 1991."
    )
    s = _summary("Allies open new round of troop-cost talks", text)
    assert "However" not in s and "graph below" not in s, s


def test_it_standing_for_a_thing_named_earlier_leans_on_that_sentence() -> None:
    # "It will be deployed …" means the system named two sentences up; "It is unclear
    # whether …" stands for nothing and stands alone.
    text = (
        "North Korea's army said on Monday it would respond physically to the allies' plan to "
        "deploy the THAAD missile-defense system in the South.\n"
        "The statement called the battery a tool of U.S. domination and threatened its site.\n"
        "It will be deployed to U.S. Forces Korea to protect allied troops, Seoul and "
        "Washington said on Friday, and will be operational by the end of the year.\n"
        "It is unclear whether the North has the means to strike the battery, analysts said "
        "after the statement was released."
    )
    s = _summary("North Korea threatens response to THAAD deployment", text)
    assert "It will be deployed" not in s, s
    assert "It is unclear whether" in s, s


def test_an_analysis_summary_carries_its_argument() -> None:
    text = (
        "Washington and Seoul have spent the year arguing over how much South Korea should pay "
        "for the U.S. troops stationed on the peninsula.\n"
        "The U.S. side asked for a fivefold increase, to about $5 billion a year.\n"
        "South Korean negotiators walked out twice, and public support for the alliance fell "
        "to its lowest level in a decade.\n"
        "Beijing and Pyongyang have both welcomed the rift, which weakens deterrence.\n"
        "South Korean negotiators said the U.S. demand for troop costs ignored what Seoul "
        "already pays for U.S. troops, and the troop-cost talks stalled again in March.\n"
        "The numbers matter less than what the dispute does to trust between the allies.\n"
        "Washington should abandon the demand: a partnership worth keeping is worth more than "
        "any payment."
    )
    s = _summary("Opinion: Drop the troop-cost demand before it breaks the alliance", text)
    assert "Washington should abandon the demand" in s, s


def test_a_korean_column_summary_carries_its_argument_not_a_reported_view() -> None:
    # "-야 한다" with any verb is the column's own argument; "중단해야 한다는 목소리" is a
    # view it reports.
    text = (
        "미국이 한국에 방위비 분담금을 대폭 올리라고 요구하고 있다. 정부는 이번 주 워싱턴에서 "
        "협상을 재개한다.\n"
        "이번 요구액은 지난해의 다섯 배에 달한다. 국회 일각에서는 협상을 중단해야 한다는 "
        "목소리도 나온다.\n"
        "그러나 주한미군은 한국 안보의 핵심 축이다. 북한의 핵 위협이 커지는 지금 동맹의 균열은 "
        "적에게 기회를 준다.\n"
        "정부는 합리적인 인상 폭을 제시하고 다년 협정을 통해 동맹의 안정성을 지켜야 한다."
    )
    a = ANALYZER.analyze_now(
        ArticleInput(id="k", title="[시론] 방위비 협상, 동맹의 가치부터 따져야", text=text)
    )
    assert "동맹의 안정성을 지켜야 한다" in a.summary, a.summary
    assert "목소리도 나온다" not in a.summary, a.summary


def test_an_official_statement_summary_names_the_parties_and_commitments() -> None:
    text = (
        "Joint Statement of the 57th Security Consultative Meeting\n"
        "The Secretary of Defense of the United States and the Minister of National Defense of "
        "the Republic of Korea held the 57th Security Consultative Meeting in Seoul on Nov. 4.\n"
        "The two ministers reviewed the security environment on the Korean Peninsula and in "
        "the region.\n"
        "The Secretary reaffirmed the U.S. commitment to extended deterrence, using the full "
        "range of U.S. capabilities, including nuclear.\n"
        "The Minister and the Secretary agreed to continue the conditions-based transition of "
        "wartime operational control.\n"
        "Both sides committed to keep U.S. Forces Korea at its current level.\n"
        "The ministers expressed appreciation for the hospitality of the host."
    )
    s = _summary("Joint Statement of the 57th Security Consultative Meeting", text)
    assert "Secretary of Defense of the United States" in s, s
    assert "reaffirmed" in s and ("agreed" in s or "committed" in s), s
    assert "hospitality" not in s


def test_a_korean_post_is_summarised_in_korean() -> None:
    text = (
        "(서울=연합뉴스) 홍길동 기자 = 한미 양국이 내년도 방위비 분담금 협상을 다음 달 시작한다."
        "외교부는 2일 이같이 밝혔다.\n"
        "미국은 주한미군 주둔 비용의 대폭 인상을 요구할 것으로 보인다.\n"
        "정부는 합리적 수준의 분담을 추구하겠다는 입장이다.\n"
        "이에 대해 전문가들은 협상이 길어질 수 있다고 전망했다."
    )
    a = ANALYZER.analyze_now(ArticleInput(id="k", title="한미 방위비 협상 내달 시작", text=text))
    assert a.language == "ko" and a.summary.startswith("한미 양국이 내년도 방위비 분담금 협상")
    assert "홍길동" not in a.summary and "연합뉴스" not in a.summary
    assert not any(s.startswith(("이에", "이같이")) for s in split_sentences(a.summary)[1:])


def test_captions_datelines_and_boilerplate_never_reach_the_summary() -> None:
    text = (
        "SEOUL, March 3 (Yonhap) -- South Korea and the United States began their annual "
        "Freedom Shield exercise on Monday, the Joint Chiefs of Staff said.\n"
        "Soldiers of both armies take part in a river-crossing drill in Yeoju on March 3, 2025. "
        "(Yonhap)\n"
        "The 11-day exercise includes more field training than last year, officials said.\n"
        "North Korea has condemned the drills as a rehearsal for invasion.\n"
        "Become a member to support independent reporting on the Korean Peninsula.\n"
        "(END)"
    )
    s = _summary("Allies begin Freedom Shield exercise", text)
    assert s.startswith("South Korea and the United States began"), s
    for noise in ("SEOUL", "Yonhap", "river-crossing", "member", "END"):
        assert noise not in s, s
