"""The web archive over real HTTP (the bot's own server on port 0): pages, pagination,
search, status codes, security headers, escaping, conditional GET."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import timedelta
from html.parser import HTMLParser

import aiohttp
import pytest
from multidict import CIMultiDict

from koreapage_bot.config import WebConfig
from koreapage_bot.http import HttpServer
from koreapage_bot.store.store import Store
from tests.web.support import (
    HOSTILE_SUMMARY,
    HOSTILE_TITLE,
    KOREAN_TITLE,
    START,
    Archive,
    numbered,
    serve,
    write_brief,
)

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


class Page(HTMLParser):
    """What a test wants from a page: elements by tag, their attributes, and the text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def all(self, tag: str, **attrs: str) -> list[dict[str, str | None]]:
        return [
            a
            for t, a in self.tags
            if t == tag
            and all(a.get(k.rstrip("_").replace("_", "-")) == v for k, v in attrs.items())
        ]

    @property
    def plain(self) -> str:
        return " ".join(" ".join(self.text).split())

    def brief_links(self) -> list[str]:
        return [
            a["href"] or ""
            for a in self.all("a")
            if re.fullmatch(r"/briefs/\d+", a.get("href") or "")
        ]


async def get(server: HttpServer, path: str, **headers: str) -> tuple[int, CIMultiDict[str], str]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(server.base_url + path, headers=headers, allow_redirects=False) as resp,
    ):
        return resp.status, resp.headers.copy(), await resp.text()


def assert_secure(headers: Mapping[str, str]) -> None:
    assert headers["Content-Security-Policy"] == CSP
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"


async def test_front_page_lists_the_newest_briefs_with_every_field(
    server: HttpServer, archive: Archive
) -> None:
    status, headers, html = await get(server, "/")
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert_secure(headers)
    page = Page(html)
    newest = list(reversed(archive.briefs))[:5]  # page_size = 5
    assert page.brief_links() == [f"/briefs/{b.id}" for b in newest]
    # Landmarks, a labelled search form, a language, a viewport for phones.
    assert page.all("html", lang="en")
    assert page.all("meta", name="viewport")
    for landmark in ("header", "nav", "main", "footer"):
        assert page.all(landmark), landmark
    assert page.all("form", role="search", action="/search", method="get")
    assert page.all("label", for_="q") and page.all("input", id="q", name="q")
    # Each brief: title, source, author, date, key issues, summary and link.
    korean = archive.briefs[-2]
    assert KOREAN_TITLE in page.plain and "Alliance Monitor" in page.plain
    assert "By 김민지" in page.plain and "13 May 2026, 09:00 UTC" in page.plain
    assert page.all("time", datetime="2026-05-13T09:00:00+00:00")
    assert page.all("a", href="/issues/cost-sharing")
    assert korean.summary in page.plain
    assert page.all("a", href="https://ko.alliance.example/%EA%B8%B0%EC%82%AC/1")
    # A Korean brief says so, for screen readers and line breaking.
    assert page.all("article", lang="ko")
    # Autodiscovery of the feeds, and a stylesheet of our own.
    assert page.all("link", rel="alternate", type="application/atom+xml", href="/feeds/briefs.atom")
    assert page.all("link", rel="alternate", type="application/feed+json")
    (css,) = page.all("link", rel="stylesheet")
    assert (css["href"] or "").startswith("/static/style.css?v=")


async def test_hostile_feed_text_is_shown_as_text(server: HttpServer, archive: Archive) -> None:
    hostile = archive.briefs[-1]
    for path in ("/", f"/briefs/{hostile.id}", "/search?q=allies"):
        status, _, html = await get(server, path)
        assert status == 200, path
        page = Page(html)
        assert HOSTILE_TITLE in page.plain, path  # the text, as written
        assert HOSTILE_SUMMARY in page.plain, path
        assert not page.all("script") and not page.all("img"), path
        assert all("onerror" not in attrs and "onmouseover" not in attrs for _, attrs in page.tags)
        assert "<script>" not in html and "&lt;script&gt;" in html
        # The javascript: link was never stored, so no link is shown for that brief at all.
        assert "javascript:" not in html.lower()


async def test_pagination_has_prev_and_next_links(server: HttpServer, archive: Archive) -> None:
    newest_first = [f"/briefs/{b.id}" for b in reversed(archive.briefs)]
    seen: list[str] = []
    path: str | None = "/"
    pages = 0
    while path is not None:
        status, _, html = await get(server, path)
        assert status == 200, path
        page = Page(html)
        seen += page.brief_links()
        pages += 1
        prev = page.all("a", rel="prev")
        assert bool(prev) == (pages > 1)
        nexts = page.all("a", rel="next")
        path = nexts[0]["href"] if nexts else None
    assert pages == 3 and seen == newest_first  # 14 briefs, 5 a page, none twice or lost
    status, _, html = await get(server, "/?page=3")
    assert Page(html).all("a", rel="prev", href="/?page=2")


@pytest.mark.parametrize("page", ["0", "-1", "x", "1.5", "99999999999999999999", "²", ""])
async def test_bad_page_numbers_are_400(server: HttpServer, page: str) -> None:
    status, headers, html = await get(server, f"/?page={page}")
    assert status == 400
    assert_secure(headers)
    assert "whole number" in Page(html).plain


async def test_unknown_things_are_404(server: HttpServer, archive: Archive) -> None:
    for path in (
        "/briefs/999",
        "/briefs/abc",
        "/briefs/99999999999999999999",
        "/issues/kpop",
        "/nowhere",
        "/?page=4",  # past the last page
        "/static/other.css",
    ):
        status, headers, html = await get(server, path)
        assert status == 404, path
        assert headers["Content-Type"] == "text/html; charset=utf-8"
        assert_secure(headers)
        assert Page(html).all("main"), path
    # The health check and a mounted adapter route are still the server's own.
    status, _, body = await get(server, "/healthz")
    assert status == 200 and '"status": "ok"' in body


async def test_one_brief_page(server: HttpServer, archive: Archive) -> None:
    korean = archive.briefs[-2]
    status, headers, html = await get(server, f"/briefs/{korean.id}")
    assert status == 200 and headers["Last-Modified"]
    page = Page(html)
    assert page.all("h1", id="brief-title")
    assert page.all("article", lang="ko")
    assert page.all("a", href="https://alliance.example/")  # the source's own site
    assert page.all("link", rel="canonical", href=f"{server.base_url}/briefs/{korean.id}")
    # The link's text is readable; its address stays percent-encoded.
    assert page.all("a", href="https://ko.alliance.example/%EA%B8%B0%EC%82%AC/1")
    assert "https://ko.alliance.example/기사/1" in page.plain
    for label in ("Source", "Author", "Published", "Key issues", "Original"):
        assert label in page.plain


async def test_issue_pages(server: HttpServer, archive: Archive) -> None:
    status, _, html = await get(server, "/issues")
    page = Page(html)
    assert status == 200 and page.all("a", href="/issues/usfk")
    status, _, html = await get(server, "/issues/usfk")
    page = Page(html)
    usfk = [b for b in reversed(archive.briefs) if any(t.id == "usfk" for t in b.key_issues)]
    assert status == 200 and page.brief_links() == [f"/briefs/{b.id}" for b in usfk[:5]]
    assert page.all("a", rel="next", href="/issues/usfk?page=2")
    assert page.all("link", rel="alternate", href="/feeds/briefs.atom?issue=usfk")
    # A trailing slash goes to the one address of the page.
    status, headers, _ = await get(server, "/issues/usfk/?page=2")
    assert status == 308 and headers["Location"] == "/issues/usfk?page=2"


async def test_search(server: HttpServer, archive: Archive) -> None:
    status, _, html = await get(server, "/search?q=agenda+item")
    page = Page(html)
    assert status == 200 and len(page.brief_links()) == 5
    assert page.all("input", id="q", value="agenda item")  # the form keeps what was typed
    found: list[str] = list(page.brief_links())
    next_link = page.all("a", rel="next")[0]["href"] or ""
    assert next_link == "/search?q=agenda+item&page=2"
    while next_link:
        _, _, html = await get(server, next_link)
        more = Page(html)
        found += more.brief_links()
        links = more.all("a", rel="next")
        next_link = (links[0]["href"] or "") if links else ""
    assert sorted(found) == sorted(f"/briefs/{b.id}" for b in archive.briefs[:12])
    assert len(set(found)) == 12

    status, _, html = await get(server, "/search?q=%ED%95%9C%EB%AF%B8")  # 한미
    assert status == 200 and Page(html).brief_links() == [f"/briefs/{archive.briefs[-2].id}"]
    status, _, html = await get(server, "/search?q=agenda&issue=usfk")
    assert status == 200 and len(Page(html).brief_links()) == 5
    status, _, html = await get(server, "/search?q=zebra")
    assert status == 200 and "No brief matches" in Page(html).plain
    status, _, html = await get(server, "/search")
    assert status == 200 and Page(html).all("form", role="search")
    status, _, html = await get(server, "/search?q=%22unbalanced")
    assert status == 200
    status, _, html = await get(server, "/search?q=" + "x" * 201)
    assert status == 400 and "200 characters" in Page(html).plain
    status, _, html = await get(server, "/search?q=talks&issue=kpop")
    assert status == 400 and "usfk" in Page(html).plain


async def test_read_only_methods(server: HttpServer) -> None:
    async with aiohttp.ClientSession() as session:
        for method in ("POST", "PUT", "DELETE", "PATCH"):
            async with session.request(method, server.base_url + "/") as resp:
                assert resp.status == 405, method
                assert resp.headers["Allow"] == "GET, HEAD"
                assert resp.headers["Content-Security-Policy"] == CSP
        async with session.head(server.base_url + "/") as resp:
            assert resp.status == 200
            assert int(resp.headers["Content-Length"]) > 1000
            assert await resp.read() == b""


async def test_conditional_get_on_pages_and_the_stylesheet(
    server: HttpServer, archive: Archive
) -> None:
    for path in ("/", f"/briefs/{archive.briefs[0].id}", "/issues"):
        status, headers, _ = await get(server, path)
        assert status == 200 and headers["Cache-Control"] == "no-cache"
        status, again, body = await get(server, path, **{"If-None-Match": headers["ETag"]})
        assert (status, body) == (304, ""), path
        assert again["ETag"] == headers["ETag"]
        assert_secure(again)
        status, _, _ = await get(server, path, **{"If-None-Match": '"stale"'})
        assert status == 200
    _, headers, html = await get(server, "/")
    (css,) = Page(html).all("link", rel="stylesheet")
    status, css_headers, text = await get(server, css["href"] or "")
    assert status == 200 and css_headers["Content-Type"] == "text/css; charset=utf-8"
    assert "immutable" in css_headers["Cache-Control"] and "prefers-color-scheme" in text
    status, icon_headers, icon = await get(server, "/static/icon.svg")
    assert status == 200 and icon_headers["Content-Type"] == "image/svg+xml"
    assert icon.startswith("<svg") and "<script" not in icon
    # A new brief changes the front page, so its old validator no longer matches.
    newer = replace(numbered(1)[0], published=START + timedelta(days=60))
    await write_brief(archive.store, archive.feed, newer, 100, START + timedelta(days=60))
    status, _, _ = await get(server, "/", **{"If-None-Match": headers["ETag"]})
    assert status == 200


async def test_an_empty_archive_and_a_configured_base_url(sqlite_store: Store) -> None:
    config = WebConfig(enabled=True, base_url="https://briefs.example.org", title="Our briefs")
    async with serve(sqlite_store, config) as server:
        status, _, html = await get(server, "/")
        page = Page(html)
        assert status == 200 and "No briefs yet" in page.plain
        assert "Our briefs" in page.plain
        assert not page.all("a", rel="next") and not page.all("a", rel="prev")
        status, _, html = await get(server, "/?page=2")
        assert status == 404


async def test_a_brief_page_links_the_other_reports_of_its_story(sqlite_store: Store) -> None:
    from tests.web.support import add_feed

    feed = await add_feed(sqlite_store)
    [first_spec, second_spec] = numbered(2)
    first = await write_brief(sqlite_store, feed, first_spec, 1, START)
    second = await write_brief(
        sqlite_store, feed, second_spec, 2, START + timedelta(minutes=5), first.story_id
    )
    async with serve(sqlite_store) as server:
        _, _, html = await get(server, f"/briefs/{first.id}")
        _, _, alone = await get(server, f"/briefs/{second.id}")
    page = Page(html)
    assert "Also reported by" in page.plain
    assert page.all("a", href=f"/briefs/{second.id}")
    assert f"{second.source}: {second.title}" in page.plain
    assert Page(alone).all("a", href=f"/briefs/{first.id}")


async def test_list_pages_show_one_item_per_story(sqlite_store: Store) -> None:
    """Three outlets on one event: the front page lists the story once (its newest report),
    with the other two under it; a story whose newer report sits on page 1 is not listed
    again on page 2; a brief of a story of its own stays an item."""
    from tests.web.support import add_feed

    feed = await add_feed(sqlite_store)
    specs = numbered(8)
    first = await write_brief(sqlite_store, feed, replace(specs[0], published=None), 0, START)
    story = first.story_id
    assert story is not None
    # Older briefs of their own (pushed to page 2 by the page size of 5).
    alone = [
        await write_brief(
            sqlite_store, feed, replace(specs[n], published=None), n, START + timedelta(hours=n)
        )
        for n in (1, 2, 3, 4, 5)
    ]
    late = [
        await write_brief(
            sqlite_store,
            feed,
            replace(specs[n], published=None),
            n,
            START + timedelta(days=2, minutes=n),
            story,
        )
        for n in (6, 7)
    ]
    async with serve(sqlite_store) as server:
        _, _, front = await get(server, "/")
        _, _, second = await get(server, "/?page=2")
    page = Page(front)
    items = page.all("article")
    # Newest first: the story (at its newest report, late[1]) once, then briefs of their own.
    assert [a.get("aria-labelledby") for a in items][:2] == [
        f"brief-{late[1].id}",
        f"brief-{alone[-1].id}",
    ]
    assert sum(1 for a in items if a.get("aria-labelledby") == f"brief-{late[0].id}") == 0
    assert "Also reported by" in page.plain
    assert page.all("a", href=f"/briefs/{first.id}")
    assert page.all("a", href=f"/briefs/{late[0].id}")
    # Page 2 holds the story's oldest report by position: shown on page 1, not again here.
    older = Page(second)
    labels = [a.get("aria-labelledby") for a in older.all("article")]
    assert f"brief-{first.id}" not in labels
    assert f"brief-{alone[0].id}" in labels
