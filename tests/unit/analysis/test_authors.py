import pytest

from koreapage_bot.analysis.authors import (
    author_from_url,
    choose_author,
    find_author,
    is_person,
    normalize_author,
)
from koreapage_bot.analysis.noise import clean


def test_normalize_strips_by_emails_handles_and_roles() -> None:
    assert normalize_author("By Jane Roe") == "Jane Roe"
    assert normalize_author("Jane Roe (jane.roe@example.org)") == "Jane Roe"
    assert normalize_author("jane.roe@example.org") is None
    assert normalize_author("By Jane Roe, Staff Writer") == "Jane Roe"
    assert normalize_author("@janeroe") is None


def test_multiple_authors_are_kept() -> None:
    assert normalize_author("By Jane Roe and Kim Min-su") == "Jane Roe and Kim Min-su"
    assert (
        normalize_author("Jane Roe, Kim Min-su & Lee Ha-na") == "Jane Roe, Kim Min-su and Lee Ha-na"
    )


def test_person_versus_site_or_desk() -> None:
    assert is_person("Park Hyong-ki")
    assert not is_person("Editorial Team")
    assert not is_person("Peninsula Watch News")
    assert not is_person("admin")


def test_a_person_beats_a_site_name_earlier_in_the_chain() -> None:
    assert choose_author(["Korea Defense Online", None, "By Jane Roe"]) == "Jane Roe"
    assert choose_author(["Political Desk"]) == "Political Desk"
    assert choose_author([None, "", "admin"]) is None


def test_chain_order_entry_then_byline_then_bio_then_feed() -> None:
    cleaned = clean(
        "By Kim Min-su\nSeoul and Washington met on Monday to talk about the alliance.\n"
        "They agreed to meet again in the spring.\nLee Ha-na\n"
        "Lee is a reporter covering defense in Seoul."
    )
    common = {"cleaned": cleaned, "url": None, "feed_author": "Feed Owner Person"}
    assert find_author(entry_author="Jane Roe", page_author=None, **common) == "Jane Roe"
    assert find_author(entry_author=None, page_author=None, **common) == "Kim Min-su"
    no_byline = clean(
        "Seoul and Washington met on Monday to talk about the alliance.\n"
        "They agreed to meet again in the spring.\nLee Ha-na\n"
        "Lee is a reporter covering defense in Seoul."
    )
    assert (
        find_author(
            entry_author=None, page_author=None, cleaned=no_byline, url=None, feed_author=None
        )
        == "Lee Ha-na"
    )


def test_never_invented() -> None:
    cleaned = clean(
        "Seoul and Washington met on Monday. A spokesman said talks went well.\n"
        "Photo by John Smith/Yonhap"
    )
    assert (
        find_author(
            entry_author=None, page_author=None, cleaned=cleaned, url=None, feed_author=None
        )
        is None
    )


def test_url_author_segment() -> None:
    assert author_from_url("https://example.org/columns/jane-roe/2024/05/a-story") == "Jane Roe"
    assert author_from_url("https://example.org/news/2024/05/a-story") is None


def test_team_byline_at_the_end_when_no_person_is_named() -> None:
    cleaned = clean(
        "The two leaders met at the border and signed a declaration.\n"
        "They promised to meet again.\nPolitical News Team"
    )
    assert cleaned.trailer_authors == ("Political News Team",)
    assert "Political News Team" not in cleaned.text


# --- issue 9: the byline forms of the main sources, end to end (texts written for the project)

_BODY = "South Korea and the United States opened talks on troop costs on Monday."


@pytest.mark.parametrize(
    ("text", "author"),
    [
        # Yonhap: the byline glued between headline and dateline
        (f"Allies open talksBy Park Ji-won SEOUL, March 4 (Yonhap) -- {_BODY}", "Park Ji-won"),
        # JoongAng: capitals and an e-mail at the end
        (f"{_BODY}\nBY LEE HA-NA [lee.hana@example.com]", "Lee Ha-na"),
        # Korea Herald: "By Name (email)", or the name and the e-mail alone
        (f"By Jane Roe (jroe@example.com)\n{_BODY}", "Jane Roe"),
        (f"{_BODY}\nMoon Ji-ho mjh@example.com", "Moon Ji-ho"),
        # a name line above an e-mail address
        (f"{_BODY}\nSanjay Rao\nsanjayrao@example.com", "Sanjay Rao"),
        # Reuters: reporters and writers, not editors
        (
            f"{_BODY}\n(Reporting by Ann Lee and Tom Park; Writing by Sam Cho; Editing by Pat "
            "Moore)",
            "Ann Lee, Tom Park and Sam Cho",
        ),
        (f"{_BODY}\n(Editing by Pat Moore and Lou Diaz)", None),
        # AP: "By NAME" above the dateline
        (f"By JANE ROE\nSEOUL, South Korea (AP) — {_BODY}", "Jane Roe"),
        # "Name, staff reporter"
        (f"Jane Roe, staff reporter\n{_BODY}", "Jane Roe"),
        # Korean bylines
        (f"(서울=연합뉴스) 홍길동 기자 = 한미 양국이 협상을 시작했다.\n{_BODY}", "홍길동"),
        (f"{_BODY}\n[한빛일보 김철수 기자]", "김철수"),
        (f"(서울=연합뉴스) 홍길동 김철수 기자 = 한미 양국이 합의했다.\n{_BODY}", "홍길동, 김철수"),
        (f"{_BODY}\n홍길동·김철수 기자", "홍길동, 김철수"),
        # a name glued to a date, or to a label
        (f"Jane Roe 16 August 2013\n{_BODY}", "Jane Roe"),
        (f"Jane RoeAuthor\n{_BODY}", "Jane Roe"),
        # an agency alone is not an author; nor is a desk's e-mail
        (f"{_BODY}\n(Yonhap)", None),
        (f"{_BODY}\nnewsdesk@example.com(END)", None),
    ],
)
def test_byline_forms_end_to_end(text: str, author: str | None) -> None:
    from koreapage_bot.analysis.pipeline import OfflineAnalyzer
    from koreapage_bot.domain import ArticleInput

    got = OfflineAnalyzer().analyze_now(ArticleInput(id="a", title="Allies open talks", text=text))
    assert got.author == author, got.author
