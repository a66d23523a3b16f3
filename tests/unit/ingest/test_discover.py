from __future__ import annotations

from koreapage_bot.ingest.discover import (
    MAX_CANDIDATES,
    FeedLink,
    discover_feed_links,
    rank_candidates,
)

PAGE = b"""<!doctype html><html><head>
<base href="/blog/">
<link rel="stylesheet" href="/s.css">
<link rel="alternate" type="application/rss+xml" title="Posts" href="feed/">
<link rel="Alternate" type="application/atom+xml" href="https://cdn.example/atom.xml">
<link rel="alternate" type="application/rss+xml" href="feed/">
<link rel="alternate" hreflang="ko" href="/ko/">
<link rel="alternate" type="application/rss+xml" href="javascript:void(0)">
</head><body><p>text</p></body></html>"""


def test_finds_rss_and_atom_links_resolved_and_deduplicated() -> None:
    links = discover_feed_links(PAGE, "https://alliance-watch.example/index.html")
    assert [(link.url, link.type) for link in links] == [
        ("https://alliance-watch.example/blog/feed/", "rss"),
        ("https://cdn.example/atom.xml", "atom"),
    ]
    assert links[0].title == "Posts"


def test_page_without_links() -> None:
    assert (
        discover_feed_links(b"<html><head></head><body>hi</body></html>", "https://x.example/")
        == []
    )


def test_self_closing_and_odd_bytes() -> None:
    page = b'<link rel="alternate" type="application/atom+xml" href="/a.atom"/>\xff\xfe'
    links = discover_feed_links(page, "https://x.example/p")
    assert [link.url for link in links] == ["https://x.example/a.atom"]


def test_candidates_are_ranked_best_first_and_capped() -> None:
    page = "https://www.alliance.example/blog/"
    links = [
        FeedLink("https://tracker.example/feed", "rss"),  # another site
        FeedLink("https://alliance.example/blog/comments/feed/", "rss"),  # a side feed
        FeedLink("https://alliance.example/blog/archive.php?x=1", "atom"),  # an odd name
        FeedLink("https://alliance.example/blog/index.rdf", "rdf"),
        FeedLink("https://www.alliance.example/blog/feed/", "rss"),  # the main feed
        FeedLink(page, "rss"),  # the page itself
        *[FeedLink(f"https://spam{n}.example/rss.xml", "rss") for n in range(50)],
    ]
    ranked = [link.url for link in rank_candidates(links, page)]
    assert ranked == [
        "https://www.alliance.example/blog/feed/",
        "https://alliance.example/blog/archive.php?x=1",
        "https://alliance.example/blog/index.rdf",
        "https://alliance.example/blog/comments/feed/",
        "https://tracker.example/feed",  # other sites last, in page order
    ]
    assert len(ranked) == MAX_CANDIDATES
