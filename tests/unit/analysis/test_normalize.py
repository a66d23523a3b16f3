"""The page-text normaliser: one test per page form (texts written for the project)."""

from __future__ import annotations

import re

import pytest

from koreapage_bot.analysis.normalize import clean_title, normalize_page


def _forms(raw: str, title: str = "") -> tuple[str, list[str]]:
    n = normalize_page(raw, title)
    return n.text, [form for form, _ in n.removed]


def test_hard_wrapped_statement_lines_become_paragraphs() -> None:
    raw = (
        "The two ministers reaffirmed that the alliance remains the linchpin of peace\n"
        "and stability on the Korean Peninsula, and agreed to strengthen extended\n"
        "deterrence through the Nuclear Consultative Group and regular visits of\n"
        "strategic assets.\n"
        "\n"
        "They also agreed to keep the combined defense posture at its current level and\n"
        "to review the conditions for the transfer of wartime operational control.\n"
    )
    text, _ = _forms(raw)
    assert text.split("\n") == [
        "The two ministers reaffirmed that the alliance remains the linchpin of peace and "
        "stability on the Korean Peninsula, and agreed to strengthen extended deterrence "
        "through the Nuclear Consultative Group and regular visits of strategic assets.",
        "They also agreed to keep the combined defense posture at its current level and to "
        "review the conditions for the transfer of wartime operational control.",
    ]


def test_a_term_split_by_a_hyphen_at_a_line_end_is_rejoined() -> None:
    text, _ = _forms(
        "Seoul wants a stronger role in nuclear planning and in extended-\ndeterrence."
    )
    assert "extended-deterrence" in text and "\n" not in text


def test_paragraph_lines_of_ordinary_text_stay_apart() -> None:
    raw = "Allies meet in Seoul\nThe defense chiefs met on Monday.\nThey will meet again in May."
    assert _forms(raw)[0] == raw


def test_wire_slug_headline_notes_byline_and_dateline_glued_to_the_lead() -> None:
    title = "(LEAD) Allies wrap up talks on troop costs"
    raw = (
        "(LEAD) allies-troop costs(LEAD) Allies wrap up talks on troop costs(ATTN: ADDS "
        "comments in paras 3-4)By Park Ji-won SEOUL, March 4 (Yonhap) -- South Korea and the "
        "United States wrapped up a third round of talks on Tuesday.\n\npjw@example.co.kr(END)"
    )
    n = normalize_page(raw, title)
    assert (
        n.text == "South Korea and the United States wrapped up a third round of talks on Tuesday."
    )
    assert n.bylines == ("By Park Ji-won",)
    forms = [form for form, _ in n.removed]
    assert "headline repeated above the body" in forms and "editor's note" in forms
    assert "dateline with date and agency" in forms


def test_a_lead_that_opens_with_the_headline_words_is_kept() -> None:
    title = "Allies agree on troop costs"
    raw = "Allies agree on troop costs after a year of talks, officials said on Monday."
    assert _forms(raw, title)[0] == raw


@pytest.mark.parametrize(
    "raw",
    [
        "(MENAFN- Gulf Times) TOKYO, May 23 (KUNA) -- Japan and the United States held talks.",
        "SEOUL, Jan. 2 (Yonhap) -- Japan and the United States held talks.",
        "WASHINGTON -- Japan and the United States held talks.",
        "TOKYO — Japan and the United States held talks.",
        "SEOUL/WASHINGTON Japan and the United States held talks.",
        "PAJU, South Korea Japan and the United States held talks.",
        "Seoul, May 23 (Yonhap) -- Japan and the United States held talks.",
        "Seoul, Jan 2 (IANS) Japan and the United States held talks.",
        "SEOUL: Japan and the United States held talks.",
    ],
)
def test_datelines_and_agency_tags_go(raw: str) -> None:
    assert _forms(raw)[0] == "Japan and the United States held talks."


def test_a_date_with_its_time_zone_in_a_sentence_is_not_a_dateline() -> None:
    raw = "The talks resumed in Seoul on May 23 (local time) after a break of a week."
    assert _forms(raw)[0] == raw


def test_a_capitalized_acronym_opening_a_paragraph_is_not_a_dateline() -> None:
    raw = "USFK Commander Gen. Reyes said the drills would go ahead."
    assert _forms(raw)[0] == raw


def test_photo_caption_glued_to_the_body_goes_with_its_credit() -> None:
    raw = (
        "Soldiers of both armies salute at a ceremony in Pyeongtaek on Monday. (Yonhap)The "
        "defense ministry said the two sides would hold a review in March."
    )
    text, forms = _forms(raw)
    assert text == "The defense ministry said the two sides would hold a review in March."
    assert "photo caption with credit" in forms


CAPTIONED_BODY_EN = "The allies held the drill for a week, officials said on Monday after it ended."
CAPTIONED_BODY_KO = "한미 양국은 일주일 동안 연합훈련을 실시했다고 군 당국이 밝혔다."


@pytest.mark.parametrize(
    "caption",
    [
        "Marines of both countries land on a beach in Pohang. Photo: Defense Ministry",
        "Marines of both countries land on a beach in Pohang. [JOINT PRESS CORPS]",
        "Marines of both countries land on a beach in Pohang. [Ministry of National Defense]",
        "Marines of both countries land on a beach in Pohang. REUTERS/Park Ji-won",
        "Marines of both countries land on a beach in Pohang. Courtesy of the Marine Corps",
        "This file photo shows U.S. Marines landing on a beach in Pohang.",
        "Gen. Ahn, left, and Gen. Cole review the troops at Camp Humphreys on Monday.",
        "Col. Ahn (L) and Col. Cole (R) brief reporters in Seoul on Monday.",
        "Marines land on a beach in Pohang, South Korea, March 3, 2025.",
        "양국 해병대원들이 포항 해안에 상륙하고 있다. /연합뉴스",
        "양국 해병대원들이 포항 해안에 상륙하고 있다. (사진=국방부 제공)",
        "양국 해병대원들이 포항 해안에 상륙하고 있다. [사진=해병대 제공]",
        "양국 해병대원들이 포항 해안에 상륙하고 있다. 2025.3.3 kim@example.kr",
        "양국 해병대원들이 포항 해안에 상륙하고 있다. [해병대 제공. 재판매 및 DB 금지]",
        "[사진=해병대 제공] 양국 해병대원들이 포항 해안에 상륙하고 있다.",
    ],
)
def test_photo_caption_forms_go_and_the_body_stays(caption: str) -> None:
    body = CAPTIONED_BODY_KO if re.search("[가-힣]", caption) else CAPTIONED_BODY_EN
    assert _forms(f"{caption}\n{body}")[0] == body


def test_an_article_s_last_line_with_the_agency_name_is_not_a_caption() -> None:
    # Only a present-progressive caption sentence goes with a closing credit.
    raw = "한미 양국은 협상을 이어가기로 했다고 외교부가 밝혔다. 연합뉴스"
    assert _forms(raw)[0].startswith("한미 양국은 협상을 이어가기로 했다고")


def test_a_caption_inside_a_long_paragraph_takes_only_its_own_sentence() -> None:
    body = "The ministers met for two hours and agreed on a timetable for the review. " * 6
    raw = body + "A minister speaks in Seoul. (Kim Ha-na/The Korea Herald)The talks end today."
    text, _ = _forms(raw)
    assert text == body.strip() + "\nThe talks end today."


def test_glued_sentences_are_separated() -> None:
    raw = 'The talks ended.Both sides said "progress was made."The next round is in May.'
    assert _forms(raw)[0] == (
        'The talks ended. Both sides said "progress was made." The next round is in May.'
    )


def test_korean_credits_captions_and_bylines() -> None:
    raw = (
        "▲ 악수하는 양국 국방장관\n\n"
        "(서울=연합뉴스) 홍길동 기자 = 한미 양국이 방위비 분담금 협상을 시작했다."
        "협상은 다음 달에도 이어진다.\n\n사진=뉴시스\n\n"
        "무단 전재 및 재배포 금지\nhong@example.co.kr"
    )
    n = normalize_page(raw)
    assert n.text == "한미 양국이 방위비 분담금 협상을 시작했다. 협상은 다음 달에도 이어진다."
    assert n.bylines == ("홍길동 기자",)


@pytest.mark.parametrize(
    ("raw", "byline"),
    [
        ("[한빛일보 김철수 기자] 한미 연합훈련이 시작됐다.", "김철수 기자"),
        ("워싱턴=김철수 특파원 한미 정상이 만났다.", "김철수 기자"),
        ("한미 정상이 만났다. [부산 김철수 기자]", "김철수 기자"),
        ("한미 정상이 만났다.\n김철수 기자 kim@example.kr", "김철수 기자"),
        ("[워싱턴=한빛통신]김철수 특파원 = 한미 정상이 만났다.", "김철수 기자"),
        ("【서울=한빛통신】 김철수 기자 = 한미 정상이 만났다.", "김철수 기자"),
    ],
)
def test_korean_byline_forms(raw: str, byline: str) -> None:
    n = normalize_page(raw)
    assert n.bylines == (byline,)
    assert n.text.startswith("한미") and "기자" not in n.text


def test_a_korean_caption_with_a_credit_glued_to_the_body() -> None:
    raw = (
        "두 정상이 악수하고 있다. 로이터 연합뉴스양국 정상은 동맹 강화에 합의했다. "
        "연합뉴스가 이를 보도했다."
    )
    assert _forms(raw)[0] == "양국 정상은 동맹 강화에 합의했다. 연합뉴스가 이를 보도했다."


def test_reuters_credit_names_writers_and_reporters_not_editors() -> None:
    raw = (
        "The allies met.\n\n(Reporting by Ann Lee and Tom Park; Additional reporting by Bo "
        "Kim in Tokyo; Writing by Sam Cho; Editing by Pat Moore and Lou Diaz)"
    )
    n = normalize_page(raw)
    assert n.text == "The allies met."
    assert n.bylines == ("By Ann Lee, Tom Park and Sam Cho",)
    extra = normalize_page(
        "The allies met.\n(Additional reporting by Bo Kim in Tokyo; Writing by Sam Cho)"
    )
    assert extra.bylines == ("By Sam Cho",)
    # additional reporters alone: the story's own byline is missing, so no author
    added = normalize_page("The allies met.\n(Additional reporting by Bo Kim in Tokyo)")
    assert added.bylines == () and added.text == "The allies met."
    editors = normalize_page("The allies met.\n(Editing by Pat Moore)")
    assert editors.bylines == () and editors.text == "The allies met."


@pytest.mark.parametrize(
    ("raw", "byline", "certain"),
    [
        ("The allies met.\nBY LEE HA-NA [lee.hana@example.com]", "By LEE HA-NA", True),
        ("By Jane Roe (jroe@example.org)\nThe allies met.", "By Jane Roe", True),
        ("The allies met.\nJane Roe janeroe@example.org", "By Jane Roe", True),
        ("The allies met.\nMoon Ji-ho\nmjh@example.org", "By Moon Ji-ho", True),
        ("Jane Roe, staff reporter\nThe allies met.", "By Jane Roe", False),
        ("Jane Roe 16 August 2013\nThe allies met.", "By Jane Roe", False),
        ("Jane RoeAuthor\nThe allies met.", "By Jane Roe", False),
    ],
)
def test_english_byline_forms(raw: str, byline: str, certain: bool) -> None:
    n = normalize_page(raw)
    assert (n.bylines if certain else n.maybe_bylines) == (byline,)
    assert n.text == "The allies met."


def test_an_email_that_is_not_the_name_s_is_not_a_byline() -> None:
    n = normalize_page("The allies met.\nContact Us\ninfo@example.org")
    assert n.bylines == () and "Contact Us" in n.text


@pytest.mark.parametrize(
    "noise",
    [
        "Become a member to read the rest of this analysis.",
        "Already a subscriber? Log in to continue.",
        "Take our short reader survey and help us improve.",
        "© 2024 Example Media Inc. All Rights Reserved.",
        "This article was originally written in Korean and translated by a bilingual reporter "
        "with the help of generative AI tools. It was then edited by a native English-speaking "
        "editor.",
        "The Associated Press contributed to this report.",
        "※ 이 기사는 독자 제보로 작성됐습니다. 제보: tips@example.kr",
    ],
)
def test_boilerplate_goes(noise: str) -> None:
    text, forms = _forms(f"The allies met on Monday.\n{noise}")
    assert text == "The allies met on Monday.", forms


def test_bullet_markers_go_and_items_stay() -> None:
    raw = (
        "The statement lists:\n• a new review of the posture\n- more drills in the spring\n"
        "1. Talks on costs"
    )
    assert _forms(raw)[0].split("\n") == [
        "The statement lists:",
        "a new review of the posture",
        "more drills in the spring",
        "Talks on costs",
    ]


def test_a_numbered_list_item_glued_to_the_sentence_before_starts_a_new_line() -> None:
    # A year-in-review list numbers its items with circled digits, glued to the last item.
    raw = (
        "정부는 내년 초 후속 협상에 들어갈 계획이다.❾ 노동법 개정안 국회 통과\n"
        "국회는 개정안을 처리했다."
    )
    assert _forms(raw)[0].split("\n") == [
        "정부는 내년 초 후속 협상에 들어갈 계획이다.",
        "노동법 개정안 국회 통과",
        "국회는 개정안을 처리했다.",
    ]


def test_offsets_map_back_to_the_text_as_received() -> None:
    raw = "SEOUL, Jan. 2 (Yonhap) -- The allies met.\n\nThey agreed\non a new deal."
    n = normalize_page(raw)
    assert n.text == "The allies met.\nThey agreed on a new deal."
    for quote in ("The allies met.", "a new deal."):
        a = n.text.index(quote)
        start, end = n.origin(a, a + len(quote))
        assert raw[start:end] == quote
    a = n.text.index("They agreed on")
    start, end = n.origin(a, a + len("They agreed on"))
    assert raw[start:end] == "They agreed\non"


def test_titles_lose_wire_notes_and_site_names() -> None:
    assert clean_title("(LEAD) Allies wrap up talks") == "Allies wrap up talks"
    assert (
        clean_title("Allies wrap up talks on troop costs in Seoul - Example News")
        == "Allies wrap up talks on troop costs in Seoul"
    )


def test_a_credit_alone_on_its_line_takes_nothing_with_it() -> None:
    raw = "The allies met on Monday.\nUSFK declined to comment on the curfew.\n(Yonhap)"
    assert _forms(raw)[0] == "The allies met on Monday.\nUSFK declined to comment on the curfew."


def test_a_heading_glued_to_the_first_sentence_is_split() -> None:
    raw = (
        "Ministry issues new base guidelines; more detail neededLast week, the ministry "
        "released guidelines on base relocation.\nHe updated his LinkedIn profile, officials said."
    )
    assert _forms(raw)[0].split("\n") == [
        "Ministry issues new base guidelines; more detail needed",
        "Last week, the ministry released guidelines on base relocation.",
        "He updated his LinkedIn profile, officials said.",
    ]


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        pytest.param(
            "<앵커>\n한미 양국이 합의했습니다.", "한미 양국이 합의했습니다.", id="anchor-tag"
        ),
        pytest.param(
            "【 앵커멘트 】\n한미 양국이 합의했습니다.\n【 기자 】\n협상은 길었습니다.",
            "한미 양국이 합의했습니다.\n협상은 길었습니다.",
            id="anchor-remark-and-reporter-tags",
        ),
        pytest.param(
            "앵커 : 한미 양국이 합의했습니다.", "한미 양국이 합의했습니다.", id="anchor-colon"
        ),
        pytest.param(
            '한미 양국이 합의했습니다.\n▶ 인터뷰 : 김철수 / 한빛대 교수\n- "중요합니다."',
            '한미 양국이 합의했습니다.\n"중요합니다."',
            id="interviewee-caption-line",
        ),
        pytest.param(
            "한미 양국이 합의했습니다. (영상취재: 김철수 / 영상편집: 이영희)",
            "한미 양국이 합의했습니다.",
            id="crew-credit",
        ),
    ],
)
def test_broadcast_script_cues_are_not_content(raw: str, text: str) -> None:
    assert normalize_page(raw).text == text


def test_a_korean_caption_with_a_dated_credit_glued_to_the_next_paragraph() -> None:
    raw = (
        "양국 대표가 악수하고 있다. 2022.8.18/뉴스1 ⓒ News1 홍길동 기자주한미군 기지는 "
        "평소처럼 운영됐다."
    )
    n = normalize_page(raw)
    assert n.text == "주한미군 기지는 평소처럼 운영됐다."
    assert n.bylines == ()


@pytest.mark.parametrize(
    "furniture",
    ['0 Response to "Allies Open Talks"', "3 Comments", "Post a Comment", "Leave a Reply"],
)
def test_blog_comment_counters_and_prompts_are_not_content(furniture: str) -> None:
    n = normalize_page(f"The allies met on Monday.\n{furniture}\nThey will meet again.")
    assert n.text == "The allies met on Monday.\nThey will meet again."
