from koreapage_bot.analysis.noise import clean, is_dateline

BIO = (
    "Daniel is a graduate student at a university in Seoul who writes about alliance politics."
    " He can be reached on social media."
)
PAGE = f"""Skip to content
Menu
Allies at odds over base costs
By Daniel Cho
March 3, 2020
Seoul and Washington failed again this week to agree on how to share the cost of U.S. troops.
Negotiators said the gap remained wide after two days of talks.
Defense ministers from both countries shake hands in Seoul. Photo courtesy of the Defense Ministry
Share this article
The next round is expected in April.
Sign up for our newsletter and get the week's Korea news every Friday.
Daniel Cho
{BIO}
Leave a Comment
Nice post, thanks!
"""


def test_page_noise_is_removed_and_the_body_kept() -> None:
    cleaned = clean(PAGE, title="Allies at odds over base costs")
    assert cleaned.body == [
        "Seoul and Washington failed again this week to agree on how to share the cost of U.S."
        " troops.",
        "Negotiators said the gap remained wide after two days of talks.",
        "The next round is expected in April.",
    ]
    removed = " ".join(cleaned.removed)
    for noise in ("Skip to content", "Photo courtesy", "Share this", "newsletter", "Leave a"):
        assert noise in removed


def test_byline_and_bio_are_returned_separately() -> None:
    cleaned = clean(PAGE, title="Allies at odds over base costs")
    assert cleaned.bylines == ("By Daniel Cho",)
    assert cleaned.bio is not None
    assert cleaned.bio.name == "Daniel Cho"
    assert cleaned.bio.text.startswith("Daniel is a graduate student")
    assert "graduate student" not in cleaned.text


def test_one_paragraph_bio_at_the_end() -> None:
    text = (
        "The allies met in Seoul to discuss troop costs and agreed to meet again.\n"
        "Both sides called the talks useful.\n"
        "Jane Roe is a senior fellow at a Washington research institute and writes about Korea."
    )
    cleaned = clean(text)
    assert cleaned.bio is not None and cleaned.bio.name == "Jane Roe"
    assert cleaned.body == [
        "The allies met in Seoul to discuss troop costs and agreed to meet again.",
        "Both sides called the talks useful.",
    ]


def test_captions_next_to_credit_lines_and_repeated_paragraphs_go() -> None:
    text = (
        "Soldiers from both armies march at a ceremony near the border in May 2022.\n"
        "POOL / Reuters\n"
        "The allies marked the anniversary of their treaty on Monday.\n"
        "The allies marked the anniversary of their treaty on Monday.\n"
        "Officials said more events would follow."
    )
    cleaned = clean(text)
    assert cleaned.body == [
        "The allies marked the anniversary of their treaty on Monday.",
        "Officials said more events would follow.",
    ]


def test_a_dateline_at_the_start_of_a_paragraph_is_not_a_caption() -> None:
    text = "SEOUL, May 2 (Yonhap) -- South Korea and the United States will hold talks next week."
    assert clean(text).body == [text]


def test_datelines() -> None:
    assert is_dateline("Monday, November 24, 2003")
    assert is_dateline("13/06/2018 14:13 SAST | Updated 13/06/2018 14:14 SAST")
    assert not is_dateline("Talks resume in November 2024 in Seoul.")


def test_portal_chrome_and_disclaimers_go_english_and_korean() -> None:
    page = "\n".join(
        [
            "한미 양국은 다음 달 방위비 분담 협상을 재개하기로 했다고 외교부가 밝혔다.",
            "관련기사",
            "많이 본 뉴스",
            "카카오톡 공유하기",
            "좋아요 0 훈훈해요 0 슬퍼요 0 화나요 0",
            "이 기사를 추천합니다",
            "기사제보 및 보도자료 tips@example.kr",
            "협상 대표단은 서울에서 이틀간 회의를 열 예정이다.",
            "Read more: Allies agree to expand drills",
            "Have a tip? Write to the newsroom.",
            "Download the app for breaking news alerts.",
            "The views expressed are the author's own.",
        ]
    )
    assert clean(page).body == [
        "한미 양국은 다음 달 방위비 분담 협상을 재개하기로 했다고 외교부가 밝혔다.",
        "협상 대표단은 서울에서 이틀간 회의를 열 예정이다.",
    ]
