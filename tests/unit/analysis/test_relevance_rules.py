"""Relevance and key-issue rules for long texts, other alliances and Korean posts (issue 9).

Every text is written for the project; each test names the rule it holds.
"""

from __future__ import annotations

import pytest

from koreapage_bot.analysis.pipeline import OfflineAnalyzer
from koreapage_bot.domain import Analysis, ArticleInput

ANALYZER = OfflineAnalyzer()


def _analyze(title: str, text: str) -> Analysis:
    return ANALYZER.analyze_now(ArticleInput(id="r", title=title, text=text))


def _issues(a: Analysis) -> list[str]:
    return [k.id for k in a.key_issues]


# --- the alliance must be Korea's ------------------------------------------------------------

US_JAPAN = (
    "Tokyo and Washington agreed on Tuesday to deepen the U.S.-Japan alliance, with U.S. Forces "
    "Japan upgrading its headquarters into a joint force command.\n"
    "Japan's host-nation support for the American troops in Japan will rise by 10 percent "
    "over five years, officials said.\n"
    "The U.S. ambassador said the alliance with Japan was stronger than ever, and a Japanese "
    "minister said South Korea had been briefed on the plan.\n"
    "The two governments will also review the stationing of Marines on Okinawa."
)


def test_the_us_japan_alliance_is_not_the_us_rok_alliance() -> None:
    a = _analyze("U.S., Japan upgrade their alliance command", US_JAPAN)
    assert not a.relevant, a.why
    assert "usfk" not in _issues(a) and "cost-sharing" not in _issues(a)


def test_korus_names_the_alliance_or_the_trade_deal() -> None:
    alliance = _analyze(
        "",
        "The KORUS alliance has kept the peace for seventy years, the USFK commander said as "
        "Seoul and Washington marked the anniversary of their treaty.",
    )
    assert "trade" not in _issues(alliance)
    deal = _analyze(
        "Allies review the KORUS FTA",
        "Seoul and Washington reviewed the KORUS FTA on Monday as U.S. tariffs on Korean steel "
        "rose, and linked the talks to the cost of keeping U.S. troops in South Korea.",
    )
    assert "trade" in _issues(deal)


# --- captions, credits, entertainment and sports are not evidence ----------------------------


def test_a_photo_caption_is_not_evidence() -> None:
    text = (
        "Chinese Premier Li Qiang and Japanese Prime Minister Ishiba will meet in Tokyo next "
        "week to discuss seafood imports and travel rules.\n"
        "The U.S. Forces Korea commander and South Korea's defense minister inspect troops at "
        "Camp Humphreys during the allies' combined exercise in March. (Yonhap)The meeting will "
        "be the first between the two neighbors in a year, officials in Beijing said.\n"
        "Business groups hope for a deal on rare earths and on visas for company staff."
    )
    a = _analyze("China, Japan leaders to meet on trade", text)
    assert not a.relevant, a.why
    assert "Camp Humphreys" not in a.text


def test_a_k_pop_us_tour_after_seoul_shows_is_not_the_alliance() -> None:
    text = (
        "The boy band will open its world tour with three concerts in Seoul in March before "
        "heading to the United States for a 20-city US tour.\n"
        "The group's agency said the new album topped the Billboard chart and that fans in "
        "America and South Korea bought a record number of tickets.\n"
        "The tour ends with a stadium concert in Los Angeles, where the band will film a music "
        "video for its next single."
    )
    a = _analyze("K-pop band announces Seoul shows, US tour", text)
    assert not a.relevant, a.why


# --- a relevant brief names a key issue, or says it is a general alliance story ---------------


def test_a_general_alliance_story_is_relevant_and_says_so() -> None:
    text = (
        "Seoul and Washington marked the anniversary of their alliance with a ceremony on "
        "Monday.\nThe foreign ministers of South Korea and the United States said the alliance "
        "had never been stronger and pledged to keep it so for another seventy years."
    )
    a = _analyze("Allies mark the anniversary of their alliance", text)
    assert a.relevant and a.key_issues == ()
    assert any("general alliance story" in w for w in a.why), a.why


# --- a long post that mentions the alliance is not about it ----------------------------------

SUMMIT_PARAGRAPHS = (
    "President Lee and President Xi met in Beijing on Monday and agreed to restore exchanges "
    "that had stalled for years, the presidential office said.",
    "The two leaders signed a dozen memorandums on science, customs and the environment.",
    "Xi said the neighbours should handle their differences through dialogue.",
    "Seoul raised the steel structures China has built in the waters between the two "
    "countries, and Beijing agreed to hold talks on the sea boundary this year.",
    "The ban on Korean films and concerts in China, imposed after U.S. Forces Korea deployed "
    "THAAD in 2017, will be eased step by step, officials said.",
    "Business leaders travelling with Lee hope for easier visas and more flights.",
    "Tourism between the two countries has recovered to about half of its earlier level.",
)


def test_a_summit_with_china_that_recalls_thaad_is_not_an_alliance_story() -> None:
    # The alliance is in neither the headline nor the opening, and in one body sentence.
    a = _analyze("Lee, Xi agree to restore exchanges", _long(*SUMMIT_PARAGRAPHS))
    assert not a.relevant, a.why
    reasons = ("neither the title nor the opening", "in one sentence only", "only in passing")
    assert any(r in w for w in a.why for r in reasons), a.why


def test_a_long_post_with_the_alliance_in_its_opening_stays_relevant() -> None:
    paragraphs = (
        "South Korea and the United States will deploy a second THAAD battery, the allies "
        "said on Monday, after talks in Seoul.",
        *SUMMIT_PARAGRAPHS[1:4],
        "U.S. Forces Korea said the battery would be in place by the end of the year.",
        *SUMMIT_PARAGRAPHS[5:],
    )
    a = _analyze("Allies to add a THAAD battery", _long(*paragraphs))
    assert a.relevant and "missile-defense" in _issues(a), a.why


def test_an_analysis_whose_body_is_the_alliance_stays_relevant_after_a_broad_opening() -> None:
    # The opening is about Seoul's place in the world; a third of the body is the alliance.
    text = _long(
        "Seoul has spent three decades trying to act as a middle power with a global role.",
        "Its leaders have courted partners in Europe, Southeast Asia and the Gulf.",
        "Its aid budget has doubled since 2015, and its diplomats now chair several forums.",
        "Yet the country's security still rests on its alliance with the United States. The "
        "alliance shapes how far Seoul can go on its own.",
        "U.S. Forces Korea keeps about 28,500 troops in the country. Most of them serve at "
        "Camp Humphreys, which Seoul largely paid for.",
        "The allies renewed their Special Measures Agreement last year. Under it Seoul pays "
        "more each year toward the cost of stationing U.S. troops.",
        "Washington and Seoul also agreed to speed up the transfer of wartime operational "
        "control. The Combined Forces Command would then be led by a Korean general.",
        "The Nuclear Consultative Group gives Seoul a say in U.S. extended deterrence. The "
        "allies' planners now meet every quarter.",
        "South Korea and the United States hold combined exercises twice a year. Seoul and "
        "Washington added a trilateral drill with Japan in 2024.",
        "Critics in Seoul say the alliance leaves little room for the country's wider "
        "ambitions. Supporters reply that the alliance is what makes them possible.",
        repeat=2,
    )
    a = _analyze("Seoul's middle-power moment", text)
    assert a.relevant and "usfk" in _issues(a), a.why
    assert not any("nor the opening" in w for w in a.why), a.why


def test_a_quoted_alliance_remark_in_a_headline_does_not_make_a_general_story() -> None:
    # A domestic probe: a lawmaker's remark about the alliance heads the story, the lead and
    # the rest are about the inquiry.
    text = _long(
        "The ruling party on Wednesday submitted a request for a parliamentary inquiry into "
        "an online retailer after a leak of customers' personal data.",
        "Three lawmakers filed the request at the National Assembly's bill office.",
        "The company's chairman, who lives abroad, twice refused to appear before committees.",
        "One lawmaker said the chairman's conduct worried people because it could strain the "
        'alliance between South Korea and the United States. "Only then can the company '
        'contribute to the Korea-U.S. alliance," she said.',
        "The inquiry would cover the leak, deaths at warehouses and the firm's tax affairs.",
        "The main opposition party has not said whether it will join the inquiry.",
        repeat=4,
    )
    a = _analyze("'A burden on the Korea-U.S. alliance': party seeks inquiry into retailer", text)
    assert not a.relevant, a.why


def test_a_post_on_pyongyang_s_messages_is_not_an_alliance_story() -> None:
    # What the North condemns (the allies' drills) is reported, not what the allies do.
    text = _long(
        "North Korea sent far fewer messages to Washington this year than in 2017, a review "
        "of its state media found, but more of them came from its leader and his sister.",
        "Most of the statements condemned the South Korea-U.S. combined exercises, the "
        "trilateral drills with Japan and the arrival of U.S. strategic assets.",
        "The two leaders' messages mostly came right after the allies' joint drills and the "
        "deployment of U.S. strategic assets to the Korean Peninsula.",
        "The leader said in September that talks were possible if Washington accepted the "
        "North as a nuclear state.",
        "A professor in Seoul said the leader found it easier to speak when Washington "
        "signalled interest in talks.",
        "The review counted 58 messages between January and November.",
        repeat=4,
    )
    a = _analyze("Kim Jong Un and his sister speak to Washington more often, review finds", text)
    assert not a.relevant, a.why


# --- Korean-language alliance stories --------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "issue"),
    [
        ("한미 양국은 내년도 방위비 분담금 협상을 다음 달 시작하기로 했다.", "cost-sharing"),
        ("미국 국방부가 주한미군 병력 감축 방안을 검토하고 있다고 밝혔다.", "usfk"),
        ("한미 국방장관은 전시작전통제권 전환 일정을 협의했다.", "opcon"),
        ("한미 양국은 핵협의그룹 회의에서 확장억제 강화 방안을 논의했다.", "extended-deterrence"),
        ("한미 연합훈련인 을지 자유의 방패 연습이 다음 주 시작된다.", "exercises"),
        ("미국은 성주 사드 기지에 장비를 더 반입했다고 국방부가 밝혔다.", "missile-defense"),
        ("미국은 한국 정부에 지소미아 종료 결정을 재고해 달라고 요청했다.", "gsomia"),
        ("한미 FTA 공동위원회가 열려 미국의 관세 문제와 주한미군 문제를 함께 다뤘다.", "trade"),
    ],
)
def test_korean_alliance_stories_are_recognised(sentence: str, issue: str) -> None:
    text = "\n".join([sentence, "한미동맹은 한반도 안보의 핵심이라고 정부 관계자는 말했다."] * 2)
    a = _analyze("", text)
    assert a.relevant and a.language == "ko", a.why
    assert issue in _issues(a)


@pytest.mark.parametrize(
    ("sentence", "issue"),
    [
        ("미국 국방부가 주한 미군의 역할 조정을 검토하고 있다고 밝혔다.", "usfk"),
        ("한미 국방장관은 전시 작전 통제권 전환 일정을 협의했다.", "opcon"),
        ("한미 양국은 확장 억제 강화 방안을 논의했다.", "extended-deterrence"),
    ],
)
def test_korean_compounds_match_with_or_without_inner_spaces(sentence: str, issue: str) -> None:
    # Papers space compounds differently: "미군기지" / "미군 기지", "작전통제권" / "작전 통제권".
    text = "\n".join([sentence, "한미동맹은 한반도 안보의 핵심이라고 정부 관계자는 말했다."] * 2)
    assert issue in _issues(_analyze("", text))


def test_an_institution_named_as_a_forum_s_host_is_not_its_subject() -> None:
    # The Combined Forces Command hosts the forum and its deputy speaks; nothing is said
    # about the command itself.
    text = _long(
        "The commander of U.S. forces in Korea said on Monday that the alliance must modernise, "
        "speaking at a policy forum hosted by the Combined Forces Command in Seoul.",
        "He said South Korea and the United States should deepen their cooperation with "
        "regional partners, and the deputy commander of the Combined Forces Command, a Korean "
        "general, also spoke.",
        "The allies' ties have never been stronger, he told the audience of officials.",
    )
    en = _analyze("Commander calls for modern alliance", text)
    assert en.relevant and "opcon" not in _issues(en), _issues(en)
    ko = _analyze(
        "",
        "주한미군사령관은 29일 한미연합군사령부 주최로 열린 포럼에서 동맹 현대화를 강조했다. "
        "그는 한미동맹이 역내 협력을 넓혀야 한다고 말했다. 한미연합사 부사령관도 연설했다. "
        "한미 양국은 동맹의 미래를 논의했다.",
    )
    assert "opcon" not in _issues(ko), _issues(ko)


def test_a_korean_story_on_another_subject_is_not_relevant() -> None:
    text = (
        "정부는 내년 반도체 수출이 10% 늘어날 것으로 전망했다. "
        "미국 시장의 수요 회복이 가장 큰 이유로 꼽혔다.\n"
        "업계는 중국 시장의 부진이 이어질 수 있다고 우려했다."
    ) * 3
    a = _analyze("반도체 수출 전망 밝아", text)
    assert not a.relevant, a.why


# --- key issues on long multi-issue texts ----------------------------------------------------

FILLER = [
    "Officials on both sides described the talks as candid and useful.",
    "Working-level meetings will continue in the coming months before the ministers meet.",
    "The next round is expected in the spring, according to people familiar with the plan.",
    "Lawmakers in both capitals asked to be briefed on the details before any signing.",
    "Analysts said the timing reflected pressure to show results before the year ended.",
    "A spokesperson declined to give a date for the next meeting of the two delegations.",
    "Several business groups welcomed the statement and asked for more consultation.",
    "The text runs to twelve pages and was published on both governments' websites.",
]


def _long(*paragraphs: str, repeat: int = 3) -> str:
    """Paragraphs padded with distinct filler sentences, so the post is article-length."""
    out = []
    for n, para in enumerate(paragraphs):
        pad = " ".join(FILLER[(n + k) % len(FILLER)] for k in range(repeat))
        out.append(f"{para} {pad}")
    return "\n".join(out)


def test_one_dominant_issue_does_not_crowd_out_the_others() -> None:
    text = _long(
        "South Korea and the United States issued a joint fact sheet on Friday covering trade, "
        "the U.S. troop presence and the command of the combined forces.",
        "On trade, Washington will cap tariffs on Korean cars at 15 percent.",
        "Seoul will invest in U.S. shipyards under the tariff deal, and the reciprocal tariff "
        "on Korean goods will fall.",
        "Washington said the trade deal would cut its trade deficit with Seoul.",
        "The tariff on Korean steel stays under Section 232, the trade representative said.",
        "Korean exporters welcomed the tariff cut and the end of the trade talks.",
        "The trade deal also opens market access for American beef and rice.",
        "Seoul will raise its support for U.S. Forces Korea, including the cost of stationing "
        "troops at Camp Humphreys.",
        "The allies will accelerate the transfer of wartime operational control to a "
        "Korean-led command.",
        "The United States reaffirmed its extended deterrence commitment, backed by the full "
        "range of its nuclear capabilities.",
    )
    a = _analyze("Allies issue fact sheet on trade and security", text)
    assert a.relevant
    assert {"trade", "usfk", "opcon", "extended-deterrence"} <= set(_issues(a)), _issues(a)


def test_a_single_plain_sentence_on_troop_cuts_is_an_issue() -> None:
    text = _long(
        "President Lee and President Trump met in Washington on Monday for their first summit "
        "and agreed to modernise the alliance.",
        "Trump said he was not considering reducing the U.S. forces stationed in South Korea, "
        "answering a reporter's question.",
        "The two leaders also discussed shipbuilding and energy.",
    )
    assert "usfk" in _issues(_analyze("Lee, Trump hold first summit", text))


@pytest.mark.parametrize("phrase", ["joint training", "combined drills", "combined training"])
def test_exercise_vocabulary(phrase: str) -> None:
    text = (
        f"South Korean and U.S. marines held {phrase} on the east coast this week, the allies "
        f"said, and more {phrase} is planned for the spring."
    )
    assert "exercises" in _issues(_analyze("Allied marines train together", text))


def test_japan_s_own_host_nation_support_is_not_the_korea_sma() -> None:
    text = (
        "Japan's host-nation support for U.S. forces in Japan will rise next year, Tokyo said, "
        "while South Korea and the United States began talks on a new defense cost-sharing "
        "deal for U.S. Forces Korea."
    )
    a = _analyze("", text)
    assert "cost-sharing" in _issues(a)
    only_japan = _analyze(
        "",
        "Japan's host-nation support for U.S. forces in Japan will rise next year, Tokyo said, "
        "after Washington asked its Asian allies to pay more.",
    )
    assert "cost-sharing" not in _issues(only_japan)


def test_a_background_sentence_does_not_add_a_context_issue() -> None:
    text = _long(
        "South Korea and the United States began talks on a new Special Measures Agreement on "
        "Tuesday, as Washington pressed Seoul to pay more for U.S. troops.",
        "The cost-sharing negotiators will meet again in Honolulu next month.",
        "Seoul's negotiator said the current deal already covers most labor costs.",
        "Washington wants the new deal to cover the cost of rotating units as well.",
        "The talks come a year after China lifted some of its curbs on Korean pop culture.",
        repeat=6,
    )
    a = _analyze("Allies open cost-sharing talks", text)
    assert a.relevant and "china" not in _issues(a), _issues(a)


def test_a_context_issue_in_a_few_sentences_of_a_long_report_is_background() -> None:
    # A long report on cost sharing names China in a handful of its many sentences, none up
    # front: enough points for the length floor, too small a share of the text to be a thread.
    alliance = [
        "South Korea and the United States opened talks on a new Special Measures Agreement "
        "on Tuesday, as Washington pressed Seoul to pay more for U.S. troops.",
        "The cost-sharing negotiators will meet again in Honolulu next month.",
        "Seoul's negotiator said the current deal already covers most labor costs.",
        "Washington wants the new deal to cover the cost of rotating units as well.",
        "Seoul pays about 1.5 trillion won a year toward the cost of stationing U.S. troops.",
        "The allies have not said when they hope to finish the cost-sharing talks.",
    ]
    china = [
        "China's foreign ministry said Beijing respected the choices of both countries.",
        "Chinese state media called the talks a sign of strain between the allies.",
        "Analysts in Beijing said China would watch how much Seoul agreed to pay.",
        "A Chinese scholar said the talks showed how much Seoul depends on Washington.",
        "China has not commented on the U.S. request for a larger payment.",
        "Beijing's embassy in Seoul declined to comment further on the talks.",
    ]
    neutral = [
        "Exports of chips and cars rose again in the third quarter.",
        "The central bank left interest rates unchanged at its last meeting.",
        "Parliament passed the budget bill on time for the first time in years.",
    ] * 3
    paragraphs = [
        alliance[0],
        *[p for pair in zip(alliance[1:], china, strict=False) for p in pair],
    ]
    a = _analyze("Allies open cost-sharing talks", _long(*paragraphs, *neutral, repeat=6))
    assert a.relevant and "cost-sharing" in _issues(a), a.why
    assert "china" not in _issues(a), _issues(a)


@pytest.mark.parametrize(
    ("sentence", "issue"),
    [
        ("The delay was seen as a gesture to mend inter-Korean ties.", "north-korea"),
        ("일부 훈련 연기는 남북 관계 개선을 위한 조치로 풀이된다.", "north-korea"),
    ],
)
def test_context_vocabulary(sentence: str, issue: str) -> None:
    text = "South Korea and the United States postponed their combined exercises. " + sentence
    assert issue in _issues(_analyze("Allies postpone combined exercises", text))


@pytest.mark.parametrize(
    "text",
    [
        "The allies agreed to strengthen extended\ndeterrence against North Korean threats, "
        "Seoul and Washington said.",
        "The allies agreed to strengthen extended-\ndeterrence against North Korean threats, "
        "Seoul and Washington said.",
    ],
)
def test_terms_split_across_lines_match(text: str) -> None:
    assert "extended-deterrence" in _issues(_analyze("", text))


# --- why: the sentences that carry the verdict, consistent with key_issues -------------------


def test_why_quotes_sentences_for_the_key_issues_it_lists() -> None:
    from tests.unit.analysis.fixtures import articles

    for art in articles():
        a = _analyze(art["title"], art["text"])
        head, *quotes = a.why
        assert head.startswith("relevant" if a.relevant else "not relevant"), a.why
        assert len(quotes) <= 3
        labels = {k.label for k in a.key_issues} | {"the alliance in general"}
        body = " ".join(f"{art['title']} {art['text']}".split())
        for line in quotes:
            quote, _, supports = line.rpartition(" — ")
            sentence = quote.removesuffix(" (title)").strip("“”").removesuffix("…")
            assert sentence and sentence in body, line
            assert set(supports.split("; ")) <= labels, (line, labels)
        if a.relevant:
            assert quotes, a.why
            named = {s for line in quotes for s in line.rpartition(" — ")[2].split("; ")}
            assert named & labels, a.why
