"""OPML feed lists: nested outlines read in order, ours written and read back, and hostile
files (entity expansion, external entities, oversized, not OPML) refused with a reason."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from koreapage_bot.domain import Feed, FeedState
from koreapage_bot.opml import MAX_OPML_BYTES, OpmlError, OpmlFeed, read_opml, write_opml

NESTED = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>My subscriptions</title></head>
  <body>
    <outline text="Korea">
      <outline text="Think tanks" title="Think tanks">
        <outline type="rss" text="38 North" xmlUrl="https://www.38north.org/feed/"
                 htmlUrl="https://www.38north.org/"/>
        <outline type="rss" title="KEI &amp; friends" text="ignored when a title is given"
                 xmlUrl="https://keia.org/feed/"/>
      </outline>
      <outline type="atom" text="  NK   News  " xmlurl="https://www.nknews.org/feed/"
               htmlurl="javascript:alert(1)"/>
    </outline>
    <outline type="link" text="A bookmark, not a feed" url="https://example.org/"/>
    <outline text="No title" xmlUrl="https://untitled.example/rss"/>
  </body>
</opml>
"""

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE opml [
  <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
  <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
  <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
  <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
  <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
  <!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">
]>
<opml version="2.0"><head/><body><outline text="&f;" xmlUrl="https://x.example/"/></body></opml>
"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE opml [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<opml version="2.0"><head/><body><outline text="&secret;" xmlUrl="https://x.example/"/></body>
</opml>
"""


def test_nested_outlines_in_document_order() -> None:
    assert read_opml(NESTED) == [
        OpmlFeed(
            "https://www.38north.org/feed/",
            "38 North",
            "https://www.38north.org/",
            "Korea / Think tanks",
        ),
        OpmlFeed("https://keia.org/feed/", "KEI & friends", None, "Korea / Think tanks"),
        # Attribute names in any case; spaces folded; an unsafe htmlUrl dropped.
        OpmlFeed("https://www.nknews.org/feed/", "NK News", None, "Korea"),
        OpmlFeed("https://untitled.example/rss", "No title", None, None),
    ]


def test_our_export_reads_back() -> None:
    when = datetime(2026, 5, 1, tzinfo=UTC)
    feeds = [
        Feed(1, "https://a.example/feed?x=1&y=2", 'Quotes " & <angles>', FeedState.ACTIVE),
        Feed(
            2,
            "https://b.example/rss",
            "Line\nbreak\x07bell",
            FeedState.BROKEN,
            site_url="https://b.example/",
        ),
        Feed(3, "https://c.example/atom", "한국 뉴스", FeedState.ACTIVE),
    ]
    document = write_opml(feeds, title="koreapage-bot feeds", now=when)
    assert document.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">')
    assert b"<dateCreated>Fri, 01 May 2026 00:00:00 GMT</dateCreated>" in document
    assert read_opml(document) == [
        OpmlFeed("https://a.example/feed?x=1&y=2", 'Quotes " & <angles>'),
        OpmlFeed("https://b.example/rss", "Line breakbell", "https://b.example/"),
        OpmlFeed("https://c.example/atom", "한국 뉴스"),
    ]


@pytest.mark.parametrize(("document", "kind"), [(LAUGHS, "Entities"), (XXE, "Entities")])
def test_entity_expansion_and_external_entities_are_refused(document: bytes, kind: str) -> None:
    with pytest.raises(OpmlError, match="refused: the file declares XML entities") as caught:
        read_opml(document)
    assert kind in str(caught.value)


def test_an_oversized_file_is_refused_before_parsing() -> None:
    huge = b"<opml><body>" + b" " * MAX_OPML_BYTES + b"</body></opml>"
    with pytest.raises(OpmlError, match="at most 5,242,880 bytes"):
        read_opml(huge)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (b"<rss><channel/></rss>", "root element is <rss>"),
        (b"<opml version='2.0'><head/></opml>", "no <body>"),
        (b"<opml><body><outline", "not well-formed XML"),
        (b"", "not well-formed XML"),
        (b"\xff\xfe\x00garbage", "not well-formed XML"),
    ],
)
def test_what_is_not_opml(document: bytes, message: str) -> None:
    with pytest.raises(OpmlError, match=message):
        read_opml(document)


def test_deep_nesting_is_walked_without_recursion() -> None:
    depth = 5000  # deeper than Python's recursion limit
    document = (
        b"<opml><body>"
        + b'<outline text="f">' * depth
        + b'<outline text="Deep" xmlUrl="https://deep.example/rss"/>'
        + b"</outline>" * depth
        + b"</body></opml>"
    )
    (feed,) = read_opml(document)
    assert feed.url == "https://deep.example/rss" and feed.folder == "f / f / f / f"
