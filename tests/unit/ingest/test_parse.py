from __future__ import annotations

from datetime import UTC, datetime

import pytest

from koreapage_bot.ingest.parse import NotAFeed, parse_date, parse_feed
from tests.fakes.feed_server import Item, render_atom, render_html, render_rss

BASE = "https://alliance-watch.example/feeds/main.xml"

HERALD_STYLE = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Peninsula Desk</title>
<link>https://peninsula-desk.example/</link><description>invented</description>
<item><title>Defense chiefs meet in Seoul</title>
<link>https://peninsula-desk.example/view/1001</link>
<pubDate>Tue, 12 Mar 2024 14:33:00 +09:00</pubDate>
<description>Ministers reviewed the combined posture.</description></item>
<item><title>Nuclear consultative group convenes</title>
<link>https://peninsula-desk.example/view/1002</link>
<pubDate>Wed, 13 Mar 2024 09:00:00 KST</pubDate>
<description>The second session focused on planning.</description></item>
</channel></rss>"""


async def test_colon_offset_and_kst_dates_become_utc() -> None:
    parsed = await parse_feed(HERALD_STYLE, BASE)
    first, second = parsed.entries
    assert first.published == datetime(2024, 3, 12, 5, 33, tzinfo=UTC)
    assert second.published == datetime(2024, 3, 13, 0, 0, tzinfo=UTC)
    assert first.key == "link:https://peninsula-desk.example/view/1001"
    assert parsed.title == "Peninsula Desk"


async def test_relative_links_resolve_against_feed_url() -> None:
    body = render_rss(
        [Item("Relative item", link="/posts/alliance-update", guid="r-1")],
        link="/",
    )
    parsed = await parse_feed(body, BASE)
    assert parsed.entries[0].url == "https://alliance-watch.example/posts/alliance-update"
    assert parsed.link == "https://alliance-watch.example/"


async def test_html_titles_are_stripped_to_text() -> None:
    body = b"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">
<title>Alerts</title><id>urn:x</id><updated>2024-01-01T00:00:00Z</updated>
<entry><id>urn:e1</id>
<title type="html">&lt;b&gt;USFK&lt;/b&gt; rotation &amp;amp; readiness</title>
<updated>2024-01-02T00:00:00+09:00</updated><summary>s</summary></entry></feed>"""
    parsed = await parse_feed(body, BASE)
    entry = parsed.entries[0]
    assert entry.title == "USFK rotation & readiness"
    assert entry.published == datetime(2024, 1, 1, 15, 0, tzinfo=UTC)


async def test_atom_fields_author_and_content() -> None:
    body = render_atom(
        [
            Item(
                "Alliance at seventy",
                link="https://alliance-watch.example/a/70",
                guid="tag:aw,2024:70",
                published=datetime(2024, 4, 1, tzinfo=UTC),
                author="Min-ji Park",
                description="<p>An <em>essay</em>.</p>",
            )
        ]
    )
    entry = (await parse_feed(body, BASE)).entries[0]
    assert entry.key == "id:tag:aw,2024:70"
    assert entry.author == "Min-ji Park"
    assert "essay" in entry.summary


async def test_rss_content_encoded_and_creator() -> None:
    body = render_rss(
        [
            Item(
                "Shipbuilding cooperation",
                guid="sb-1",
                author="Jae Kim",
                content_html="<p>Full text of the piece.</p>",
            )
        ]
    )
    entry = (await parse_feed(body, BASE)).entries[0]
    assert entry.author == "Jae Kim"
    assert entry.content is not None and "Full text" in entry.content
    assert entry.published is None


async def test_html_page_with_feed_link_raises_not_a_feed_with_links() -> None:
    page = render_html(feed_links=[("/rss.xml", "application/rss+xml")])
    with pytest.raises(NotAFeed) as info:
        await parse_feed(page, "https://alliance-watch.example/blog/")
    assert [link.url for link in info.value.links] == ["https://alliance-watch.example/rss.xml"]
    assert "HTML page" in info.value.reason


async def test_html_page_without_feed_link() -> None:
    with pytest.raises(NotAFeed) as info:
        await parse_feed(render_html(), "https://alliance-watch.example/")
    assert info.value.links == ()
    assert "links to no RSS/Atom feed" in info.value.reason


@pytest.mark.parametrize(
    "garbage",
    [
        b"",
        b"   ",
        b"\x00\xff\xfe garbage \x89PNG",
        b'{"not": "a feed"}',
        b"<?xml version='1.0'?><note><to>x</to></note>",
        b"<rss version='2.0'><channel><item><title>unterminated",
        bytes(range(256)) * 20,
    ],
)
async def test_garbage_raises_only_not_a_feed(garbage: bytes) -> None:
    try:
        parsed = await parse_feed(garbage, BASE, "application/xml")
    except NotAFeed:
        return
    # feedparser may recover something from a broken feed; then it must be well-formed.
    for entry in parsed.entries:
        assert entry.key.startswith(("id:", "link:", "hash:"))


async def test_duplicate_entries_in_one_document_are_kept_once() -> None:
    item = Item("Same thing twice", published=datetime(2024, 2, 2, tzinfo=UTC))
    parsed = await parse_feed(render_rss([item, item]), BASE)
    assert len(parsed.entries) == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Tue, 12 Mar 2024 14:33:00 +09:00", datetime(2024, 3, 12, 5, 33, tzinfo=UTC)),
        ("Tue, 12 Mar 2024 14:33:00 +0900", datetime(2024, 3, 12, 5, 33, tzinfo=UTC)),
        ("2024-03-12T14:33:00+09:00", datetime(2024, 3, 12, 5, 33, tzinfo=UTC)),
        ("2024-03-12T05:33:00Z", datetime(2024, 3, 12, 5, 33, tzinfo=UTC)),
        ("2024/3/12 14:33:00", datetime(2024, 3, 12, 14, 33, tzinfo=UTC)),
        ("Ter, 12 Mar 2024 14:33:00 -0300", datetime(2024, 3, 12, 17, 33, tzinfo=UTC)),
        ("Seg, 24 Set 2018 19:42:40 -0300", datetime(2018, 9, 24, 22, 42, 40, tzinfo=UTC)),
        ("Tue, 12 Mar 2024 09:00:00 EST", datetime(2024, 3, 12, 14, 0, tzinfo=UTC)),
        ("not a date", None),
    ],
)
def test_parse_date(text: str, expected: datetime | None) -> None:
    assert parse_date(text) == expected


async def test_keys_do_not_depend_on_the_feed_url() -> None:
    # Atom ids that look relative must not be resolved against the feed URL, or a moved
    # feed (301) would re-key every entry and repost it.
    body = render_atom([Item("Moved feed item", guid="aw-9", link="/p/9")])
    old = await parse_feed(body, "https://old.example/atom.xml")
    new = await parse_feed(body, "https://new.example/feeds/atom.xml")
    assert old.entries[0].key == new.entries[0].key == "id:aw-9"
    assert old.entries[0].url == "https://old.example/p/9"
    assert new.entries[0].url == "https://new.example/p/9"


async def test_script_in_feed_html_never_reaches_the_text() -> None:
    # feedparser's sanitizer is off (the HTML is never shown); our own text extraction must
    # still drop scripts and styles.
    from koreapage_bot.analysis.pipeline import OfflineAnalyzer
    from koreapage_bot.domain import ArticleInput
    from koreapage_bot.ingest.identity import inline_text

    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item>'
        b"<title>Allies sign cost deal</title><guid>g1</guid><description><![CDATA["
        b"<p>Seoul and Washington signed a new Special Measures Agreement.</p>"
        b"<script>steal('@everyone')</script><style>p{}</style>]]></description>"
        b"</item></channel></rss>"
    )
    feed = await parse_feed(body, "https://example.org/feed")
    (entry,) = feed.entries
    assert "steal" not in inline_text(entry.summary)
    analysis = await OfflineAnalyzer().analyze(
        ArticleInput(id="g1", title=entry.title, html=entry.summary)
    )
    assert "steal" not in analysis.text and "steal" not in analysis.summary


async def test_an_odd_or_unreadable_date_never_costs_the_entry(
    caplog: pytest.LogCaptureFixture,
) -> None:
    items = [
        Item("Dotted date", link="https://a.example/1", pub_date="2019.09.17"),
        Item("Korean date", link="https://a.example/2", pub_date="2019년 9월 17일"),
        Item("Month only", link="https://a.example/3", pub_date="2019-09"),
        Item("No date at all", link="https://a.example/4", pub_date="sometime last week"),
    ]
    with caplog.at_level("WARNING"):
        parsed = await parse_feed(render_rss(items), BASE)
    dates = {e.title: e.published for e in parsed.entries}
    assert dates == {
        "Dotted date": datetime(2019, 9, 17, tzinfo=UTC),
        "Korean date": datetime(2019, 9, 16, 15, tzinfo=UTC),
        "Month only": datetime(2019, 9, 1, tzinfo=UTC),
        "No date at all": None,
    }
    undated = [r for r in caplog.records if getattr(r, "event", None) == "undated_entry"]
    assert [r.date for r in undated] == ["sometime last week"]
