"""web_link: a third party's link as one well-formed http(s) URL, or None."""

from __future__ import annotations

import pytest

from koreapage_bot.links import URL_MAX, web_link


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://news.example/p/1", "https://news.example/p/1"),
        ("https://news.example/a b", "https://news.example/a%20b"),
        ("  https://news.example/x?q=a b#f g\n", "https://news.example/x?q=a%20b#f%20g"),
        ("HTTPS://News.Example:443/x", "https://news.example/x"),
        ("http://news.example:80/x", "http://news.example/x"),
        ("http://news.example:8080/x", "http://news.example:8080/x"),
        ("https://bücher.example/ü", "https://xn--bcher-kva.example/%C3%BC"),
        (
            'https://news.example/p|q<r>"{}`^\\',
            "https://news.example/p%7Cq%3Cr%3E%22%7B%7D%60%5E%5C",
        ),
        ("https://news.example/100%/a%41", "https://news.example/100%25/a%41"),
        ("https://user:secret@news.example/", "https://news.example/"),
        ("https://trusted.example\\@evil.example/", "https://evil.example/"),
        ("https://[2001:db8::1]/feed", "https://[2001:db8::1]/feed"),
        ("https://news.example/a)b(c", "https://news.example/a)b(c"),
        ("https://news.example/li\tne\nbreak", "https://news.example/linebreak"),
        ("https://news.example/\x01x", "https://news.example/%01x"),
        ("https://news.example?x=1", "https://news.example?x=1"),
    ],
)
def test_usable_links_are_well_formed(raw: str, expected: str) -> None:
    assert web_link(raw) == expected
    assert web_link(expected) == expected  # idempotent


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "   ",
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "ftp://files.example/x",
        "mailto:a@b.example",
        "/relative/path",
        "news.example/p/1",
        "https://",
        "https:///path",
        "https://exa mple.example/",
        "https://a..b.example/",
        "https://[::1/feed",
        "https://news.example:99999/",
        "https://news.example:port/",
        "https://" + "a" * 64 + ".example/",  # a label over 63 characters
        "https://news.example/" + "a" * URL_MAX,
    ],
)
def test_unusable_links_are_none(raw: str | None) -> None:
    assert web_link(raw) is None


def test_limit_counts_the_encoded_form() -> None:
    raw = "https://news.example/" + "a " * 700  # 21 + 700 × 4 characters once encoded
    assert web_link(raw.strip()) is None
    assert web_link(raw.strip(), limit=3000) == "https://news.example/" + ("a%20" * 700)[:-3]
