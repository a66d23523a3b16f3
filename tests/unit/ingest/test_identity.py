from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from koreapage_bot.ingest.identity import (
    EntryFacts,
    canonical_link,
    content_hash,
    entry_keys,
    inline_text,
)

WHEN = datetime(2024, 5, 2, 3, 0, tzinfo=UTC)


def facts(
    guid: str | None = None,
    link: str | None = None,
    title: str = "Alliance note",
    published: datetime | None = WHEN,
    summary: str = "",
) -> EntryFacts:
    return EntryFacts(guid=guid, link=link, title=title, published=published, summary=summary)


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("HTTPS://News.Example.COM/a/b?x=1#comments", "https://news.example.com/a/b?x=1"),
        ("https://news.example.com:443/a", "https://news.example.com/a"),
        ("http://news.example.com:8080/a", "http://news.example.com:8080/a"),
        ("https://news.example.com", "https://news.example.com/"),
        (
            "https://news.example.com/p?utm_source=rss&id=7&utm_medium=feed&b=2",
            "https://news.example.com/p?id=7&b=2",
        ),
        ("https://news.example.com/p?z=1&a=2", "https://news.example.com/p?z=1&a=2"),
        ("  https://news.example.com/Path/Case  ", "https://news.example.com/Path/Case"),
    ],
)
def test_canonical_link(raw: str, canonical: str) -> None:
    assert canonical_link(raw) == canonical


def test_guid_wins_when_unique() -> None:
    keys = entry_keys([facts("g-1", "https://a.example/1"), facts("g-2", "https://a.example/2")])
    assert keys == ["id:g-1", "id:g-2"]


def test_duplicated_guid_falls_back_to_link() -> None:
    keys = entry_keys(
        [
            facts("same", "https://a.example/1"),
            facts("same", "https://a.example/2?utm_campaign=x"),
            facts("other", "https://a.example/3"),
        ]
    )
    assert keys == ["link:https://a.example/1", "link:https://a.example/2", "id:other"]


def test_shared_link_without_guid_falls_back_to_hash() -> None:
    # Feeds that point every item at the home page must not collapse into one post.
    keys = entry_keys(
        [
            facts(None, "https://a.example/", title="First"),
            facts(None, "https://a.example/", title="Second"),
        ]
    )
    assert all(k.startswith("hash:") for k in keys) and len(set(keys)) == 2


def test_hash_uses_title_and_date_and_summary_only_without_date() -> None:
    a = entry_keys([facts(title="Talks  resume", published=WHEN, summary="x")])[0]
    b = entry_keys([facts(title="talks resume", published=WHEN, summary="different")])[0]
    assert a == b  # case/space-insensitive title; summary ignored when dated
    kst = timezone(timedelta(hours=9))
    c = entry_keys([facts(title="Talks resume", published=WHEN.astimezone(kst))])[0]
    assert c == a  # the same instant in another zone
    undated_1 = entry_keys([facts(title="T", published=None, summary="one")])[0]
    undated_2 = entry_keys([facts(title="T", published=None, summary="two")])[0]
    assert undated_1 != undated_2


def test_kinds_never_collide() -> None:
    keys = entry_keys(
        [
            facts("https://a.example/1", None),
            facts(None, "https://a.example/1"),
        ]
    )
    assert keys == ["id:https://a.example/1", "link:https://a.example/1"]


def test_keys_stable_under_reorder_and_drop() -> None:
    items = [facts(None, f"https://a.example/{i}", title=f"T{i}") for i in range(5)]
    first = dict(zip(range(5), entry_keys(items), strict=True))
    reordered = [items[3], items[1], items[4]]
    again = entry_keys(reordered)
    assert again == [first[3], first[1], first[4]]


def test_content_hash_ignores_markup_and_spacing() -> None:
    plain = content_hash("Cost sharing deal", "Seoul agreed to pay more.")
    marked = content_hash(" Cost  sharing deal ", "<p>Seoul agreed <b>to pay</b> more.</p>")
    assert plain == marked
    assert plain != content_hash("Cost sharing deal", "Seoul agreed to pay less.")


def test_inline_text() -> None:
    assert inline_text("<b>Allies</b> &amp; partners<script>x()</script>") == "Allies & partners"
    assert inline_text("a<br>b") == "a b"
    assert inline_text("plain   text") == "plain text"


# --- inline_text (one line) ---------------------------------------------------------------


def test_inline_text_strips_tags_scripts_and_entities() -> None:
    html = (
        "<div><p>Talks&nbsp;resume &amp; <b>progress</b></p>"
        "<script>alert('x')</script><style>p{}</style>"
        "<ul><li>one</li><li>two</li></ul>line<br>break</div>"
    )
    assert inline_text(html) == "Talks resume & progress one two line break"


def test_inline_text_passes_plain_text_through() -> None:
    assert inline_text("a < b and c > d") == "a < b and c > d"
    assert inline_text("  many\n\nlines\there ") == "many lines here"
    assert inline_text("x<y and 3<4") == "x<y and 3<4"
    assert inline_text("AT&T") == "AT&T"


@pytest.mark.parametrize("value", [None, "", "   ", "<p></p>"])
def test_inline_text_empty(value: str | None) -> None:
    assert inline_text(value) == ""


def test_inline_text_decodes_numeric_entities_and_survives_broken_html() -> None:
    assert inline_text("&#54620;&#48120; &#x1F1F0;&#x1F1F7;") == "한미 🇰🇷"
    assert inline_text("<p>unclosed <b>bold <i>italic") == "unclosed bold italic"
