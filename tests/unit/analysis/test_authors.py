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
