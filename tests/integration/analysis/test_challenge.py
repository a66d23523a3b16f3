"""Scores the analysis stage on a challenge set written for this project (no ../shared texts).

tests/fixtures/analysis/challenge.jsonl holds articles in the styles real feeds carry (wire
copy with datelines, think-tank analysis with footnotes and bios, op-eds, blogs with page
noise, two-sentence excerpts) and hard negatives (K-pop military service, defectors before
Congress or the UN, party plenums, Japan-Korea history, markets, sports, domestic politics
with a line about Washington). Items labelled "borderline" are not scored.

Thresholds sit a small margin under what the analyzer reaches, so a regression that costs
more than an item or two fails; run with `-s` to see the figures and every confusion.
"""

from __future__ import annotations

import pytest

from koreapage_bot.analysis.pipeline import OfflineAnalyzer
from koreapage_bot.analysis.taxonomy import load_taxonomy
from koreapage_bot.domain import ArticleInput
from tests.integration.analysis.fixture_scoring import (
    FIXTURES,
    article_of,
    issues_of,
    load_items,
    tally,
)

FIXTURE = FIXTURES / "challenge.jsonl"

# Reached: relevance F1 1.000, issue micro-F1 0.970, authors 73/73 (the rules before this set
# was written: 0.975, 0.953, 70/73). One more relevance error or two more issue errors pass.
MIN_RELEVANCE_F1 = 0.97
MIN_ISSUE_F1 = 0.94
MIN_BYLINE_ACCURACY = 1.0


def test_the_fixture_is_well_formed() -> None:
    items = load_items(FIXTURE)
    ids = load_taxonomy(None).ids
    assert len(items) >= 40
    assert len({it["id"] for it in items}) == len(items)
    for it in items:
        assert it["label_alliance"] in (True, False, "borderline"), it["id"]
        assert issues_of(it) <= set(ids), it["id"]
        assert it["text"] and it["title"] and it["note"], it["id"]
        if it["label_alliance"] is True:
            assert it["key_issues"], it["id"]
    positives = [it for it in items if it["label_alliance"] is True]
    covered = {i for it in positives for i in issues_of(it)}
    assert covered >= set(ids), f"issues without a positive: {set(ids) - covered}"


async def test_challenge_figures() -> None:
    items = load_items(FIXTURE)
    async with OfflineAnalyzer() as analyzer:
        results = [await analyzer.analyze(article_of(it)) for it in items]
    fig = tally(items, results)
    print("\n" + fig.report())
    assert fig.relevance_f1 >= MIN_RELEVANCE_F1, fig.report()
    assert fig.issue_f1 >= MIN_ISSUE_F1, fig.report()
    assert fig.author_accuracy >= MIN_BYLINE_ACCURACY, fig.report()


# --- robustness: odd inputs never crash and never take unbounded time -----------------------

_HANGUL = (
    "한미 양국은 방위비 분담금 협상을 시작했다. 주한미군 주둔 비용을 둘러싼 논의가 이어질 "
    "전망이다. 국방부는 동맹의 공동 목표를 반영한 합리적 수준을 추구하겠다고 밝혔다."
)


@pytest.mark.parametrize(
    ("title", "text", "html"),
    [
        ("", "", None),
        ("", "   \n\n  ", None),
        ("Seoul and Washington sign new Special Measures Agreement", "", None),
        ("주한미군 방위비 분담금 협상 시작", _HANGUL, None),
        ("", "Share\nTweet\nRead more\nSubscribe", None),
        ("", "", "<p></p>"),
        (
            "",
            "",
            "<html><head><style>p{color:red}</style><script>var usfk='THAAD';</script></head>"
            "<body><p>Hello</p></body></html>",
        ),
    ],
)
async def test_odd_inputs_do_not_crash(title: str, text: str, html: str | None) -> None:
    async with OfflineAnalyzer() as analyzer:
        a = await analyzer.analyze(ArticleInput(id="odd", title=title, text=text, html=html))
    assert 0.0 <= a.relevance <= 1.0
    assert "var usfk" not in a.text and "color:red" not in a.summary


async def test_title_only_alliance_item_is_relevant() -> None:
    title = "S. Korea, U.S. sign new defense cost-sharing deal for USFK"
    async with OfflineAnalyzer() as analyzer:
        a = await analyzer.analyze(ArticleInput(id="t", title=title, text=""))
    assert a.relevant
    assert a.key_issues and a.key_issues[0].id == "cost-sharing"


async def test_hangul_alliance_text_is_read_in_korean() -> None:
    # Korean posts are read since the Korean taxonomy terms (this test once asserted that
    # Hangul text could never be relevant, when only English was read).
    async with OfflineAnalyzer() as analyzer:
        a = await analyzer.analyze(ArticleInput(id="ko", title="", text=_HANGUL * 20))
    assert a.relevant and a.language == "ko"
    assert [k.id for k in a.key_issues][:2] == ["cost-sharing", "usfk"]
    assert "방위비 분담금" in a.summary


async def test_hangul_text_on_another_subject_is_not_relevant() -> None:
    text = (
        "케이팝 그룹이 미국 투어를 마치고 서울 공연을 앞두고 있다. "
        "소속사는 새 앨범이 빌보드 차트에 올랐다고 밝혔다. "
        "팬들은 콘서트 티켓을 구하려고 밤새 줄을 섰다."
    )
    async with OfflineAnalyzer() as analyzer:
        a = await analyzer.analyze(ArticleInput(id="ko2", title="", text=text * 5))
    assert not a.relevant and a.language == "ko"


def test_scripts_and_styles_are_never_text() -> None:
    page = (
        "<html><head><title>x</title><style>.usfk{display:none}</style></head><body>"
        "<script>window.THAAD = 'Special Measures Agreement';</script>"
        "<article><h1>Seoul and Washington open talks on the Special Measures Agreement</h1>"
        + "".join(
            f"<p>Negotiators from South Korea and the United States met for round {n} of "
            "talks on how much Seoul pays toward the stationing of US troops.</p>"
            for n in range(1, 8)
        )
        + "</article><noscript>Enable JavaScript</noscript></body></html>"
    )
    a = OfflineAnalyzer().analyze_now(ArticleInput(id="h", title="", text="", html=page))
    assert a.relevant
    for leak in ("window.", "display:none", "Enable JavaScript"):
        assert leak not in a.text


# A guard, not a benchmark: quadratic behaviour on 200 KB would take minutes.
@pytest.mark.timeout(60)
def test_a_200_kb_article_is_analyzed_in_bounded_time() -> None:
    items = load_items(FIXTURE)
    body = "\n".join(str(it["text"]) for it in items)
    text = (body * (200_000 // len(body) + 1))[:200_000]
    analyzer = OfflineAnalyzer()
    a = analyzer.analyze_now(ArticleInput(id="big", title="Collected posts", text=text))
    assert len(a.summary) <= 600
    one_line = analyzer.analyze_now(
        ArticleInput(id="one", title="", text=("USFK THAAD Seoul Washington " * 8000)[:200_000])
    )
    assert 0.0 <= one_line.relevance <= 1.0
    one_para = analyzer.analyze_now(
        ArticleInput(id="para", title="", text="Seoul and Washington signed the SMA. " * 5400)
    )
    assert one_para.relevant and len(one_para.summary) <= 600


def test_a_context_issue_marked_as_evidence_must_say_true_or_false() -> None:
    from koreapage_bot.analysis.taxonomy import TaxonomyError, parse_taxonomy

    text = '[[issue]]\nid = "x"\nlabel = "X"\nkind = "context"\nterms = ["x"]\nevidence = 1\n'
    with pytest.raises(TaxonomyError, match="evidence"):
        parse_taxonomy(text, "user.toml")
    ok = parse_taxonomy(text.replace("= 1", "= true"), "user.toml")
    assert ok.issues[0].evidence
