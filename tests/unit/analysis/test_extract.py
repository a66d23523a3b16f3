from koreapage_bot.analysis.extract import extract_article, looks_like_page
from koreapage_bot.analysis.pipeline import OfflineAnalyzer
from koreapage_bot.domain import ArticleInput
from tests.unit.analysis.fixtures import FIXTURES

PAGE = (FIXTURES / "article_page.html").read_text(encoding="utf-8")


def test_extracts_main_text_and_metadata_without_comments() -> None:
    got = extract_article(PAGE, "https://example.org/2024/10/cost-deal")
    assert got is not None
    assert got.author == "Mina Park"
    assert got.title == "Allies agree on a new cost-sharing deal"
    assert "Special Measures Agreement" in got.text
    for noise in ("Great article", "tariffs", "newsletter", "Skip to content", "Subscribe"):
        assert noise not in got.text


def test_bad_input_answers_none() -> None:
    assert extract_article("", None) is None
    assert extract_article("<html><body><p>Too short.</p></body></html>", None) is None
    assert extract_article("\x00\x01 not html at all", None) is None


def test_looks_like_page() -> None:
    assert looks_like_page(PAGE)
    assert not looks_like_page("<p>A feed fragment.</p>")


async def test_pipeline_reads_a_page_and_takes_the_author_from_its_metadata() -> None:
    result = await OfflineAnalyzer().analyze(
        ArticleInput(id="p", title="", html=PAGE, url="https://example.org/2024/10/cost-deal")
    )
    assert result.relevant
    assert result.author == "Mina Park"
    assert result.key_issues[0].id == "cost-sharing"
    assert "Great article" not in result.text
    assert "Special Measures Agreement" in result.summary


async def test_feed_fragment_html_is_turned_into_text() -> None:
    fragment = (
        "<p>South Korea and the United States began talks on a new Special Measures "
        "Agreement.</p><p>Seoul wants to limit any increase in its contribution to the cost "
        "of U.S. troops.</p>"
    )
    result = await OfflineAnalyzer().analyze(ArticleInput(id="f", title="Talks", html=fragment))
    assert result.relevant
    assert "<p>" not in result.summary


def _page(head: str, body: str) -> str:
    return f"<!DOCTYPE html><html><head><title>t</title>{head}</head><body>{body}</body></html>"


def test_metadata_author_from_json_ld_and_meta_tags() -> None:
    from koreapage_bot.analysis.extract import metadata_author

    ld = (
        '<script type="application/ld+json">{"@context": "https://schema.org", "@graph": '
        '[{"@type": "WebPage"}, {"@type": "NewsArticle", "author": [{"@type": "Person", '
        '"name": "Ana Reyes"}, {"@type": "Person", "name": "Kim Min-su"}]}]}</script>'
    )
    assert metadata_author(_page(ld, "<p>x</p>")) == "Ana Reyes, Kim Min-su"
    meta = '<meta property="article:author" content="https://social.example/ana">'
    meta += '<meta name="author" content="홍길동 기자">'
    assert metadata_author(_page(meta, "<p>x</p>")) == "홍길동 기자"
    assert metadata_author(_page('<script type="application/ld+json">{bad</script>', "")) is None


async def test_a_fetched_page_s_metadata_names_the_author_when_its_text_does_not() -> None:
    page = _page(
        '<meta name="author" content="Ana Reyes">',
        "<article><p>South Korea and the United States signed a new Special Measures "
        "Agreement on Friday.</p></article>",
    )
    result = await OfflineAnalyzer().analyze(ArticleInput(id="m", title="SMA signed", html=page))
    assert result.author == "Ana Reyes"


async def test_an_outlet_in_a_page_s_metadata_is_not_the_author() -> None:
    body = (
        "<article><p>South Korea and the United States signed a new Special Measures "
        "Agreement on Friday.</p>{}</article>"
    )
    outlet = '<meta name="author" content="The Peninsula Times">'
    org_ld = (
        '<script type="application/ld+json">{"@type": "NewsArticle", "author": '
        '{"@type": "Organization", "name": "Yonhap"}}</script>'
    )
    for head in (outlet, org_ld):
        alone = _page(head, body.format(""))
        result = await OfflineAnalyzer().analyze(ArticleInput(id="m", title="SMA", html=alone))
        assert result.author is None, result.author
        # the byline in the text names the person
        signed = _page(head, body.format("<p>By Ana Reyes</p>"))
        result = await OfflineAnalyzer().analyze(ArticleInput(id="m", title="SMA", html=signed))
        assert result.author == "Ana Reyes", result.author
