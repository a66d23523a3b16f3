"""Briefs as Atom and JSON Feed over real HTTP: parsed back with feedparser (Atom) and checked
against JSON Feed 1.1's rules (JSON), every brief field round-tripped, filters, and the
conditional GET a polite feed reader makes."""

from __future__ import annotations

import calendar
import html
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import aiohttp
import feedparser
import jsonschema
import pytest

from koreapage_bot.domain import Brief
from koreapage_bot.http import HttpServer
from koreapage_bot.web.feeds import brief_id
from tests.web.support import HOSTILE_TITLE, KOREAN_TITLE, START, Archive, numbered, write_brief

# JSON Feed 1.1 (https://jsonfeed.org/version/1.1), written down here as a schema: the
# top-level and item fields the spec requires, and the types of the optional ones we use.
JSON_FEED_1_1: dict[str, Any] = {
    "type": "object",
    "required": ["version", "title", "items"],
    "properties": {
        "version": {"const": "https://jsonfeed.org/version/1.1"},
        "title": {"type": "string"},
        "home_page_url": {"type": "string", "pattern": "^https?://"},
        "feed_url": {"type": "string", "pattern": "^https?://"},
        "description": {"type": "string"},
        "language": {"type": "string"},
        "authors": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/author"}},
        "items": {"type": "array", "items": {"$ref": "#/$defs/item"}},
    },
    "$defs": {
        "author": {
            "type": "object",
            "minProperties": 1,
            "properties": {"name": {"type": "string"}, "url": {"type": "string"}},
        },
        "item": {
            "type": "object",
            "required": ["id"],
            "anyOf": [{"required": ["content_html"]}, {"required": ["content_text"]}],
            "properties": {
                "id": {"type": "string", "minLength": 1},
                "url": {"type": "string", "pattern": "^https?://"},
                "external_url": {"type": "string", "pattern": "^https?://"},
                "title": {"type": "string"},
                "content_html": {"type": "string"},
                "content_text": {"type": "string"},
                "summary": {"type": "string"},
                "date_published": {"type": "string", "format": "date-time"},
                "date_modified": {"type": "string", "format": "date-time"},
                "authors": {"type": "array", "items": {"$ref": "#/$defs/author"}},
                "tags": {"type": "array", "items": {"type": "string"}},
                "language": {"type": "string"},
            },
        },
    },
}


async def fetch(server: HttpServer, path: str, **headers: str) -> aiohttp.ClientResponse:
    async with aiohttp.ClientSession() as session:
        resp = await session.get(server.base_url + path, headers=headers)
        await resp.read()
        return resp


def when(parsed: Any) -> datetime:
    return datetime.fromtimestamp(calendar.timegm(parsed), UTC)


def newest_first(briefs: list[Brief]) -> list[Brief]:
    return sorted(briefs, key=lambda b: (b.published or b.created_at, b.id), reverse=True)


async def test_atom_round_trips_every_brief_field(server: HttpServer, archive: Archive) -> None:
    resp = await fetch(server, "/feeds/briefs.atom")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    assert resp.headers["Content-Security-Policy"].startswith("default-src 'none'")
    parsed = feedparser.parse(await resp.read())
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert parsed.feed.title == "US–ROK alliance briefs"
    assert parsed.feed.id == "tag:koreapage-bot,2026:briefs"
    assert parsed.feed.link == server.base_url + "/"
    assert when(parsed.feed.updated_parsed) == max(b.created_at for b in archive.briefs)
    expected = newest_first(archive.briefs)
    assert [e.id for e in parsed.entries] == [brief_id(b) for b in expected]
    for entry, brief in zip(parsed.entries, expected, strict=True):
        assert entry.title == brief.title  # the hostile one too, as text
        page = f"{server.base_url}/briefs/{brief.id}"
        assert entry.link == (brief.url or page)
        if brief.url:
            assert {"rel": "related", "type": "text/html", "href": page} in entry.links
        assert entry.author == brief.author
        assert brief.published is not None and when(entry.published_parsed) == brief.published
        assert when(entry.updated_parsed) == brief.created_at.replace(microsecond=0)
        assert entry.summary == brief.summary
        assert [(t.term, t.label) for t in entry.tags] == [
            (k.id, k.label) for k in brief.key_issues
        ]
        assert entry.source.title == brief.source
        assert int(entry.brief_id) == brief.id
        assert float(entry.brief_relevance) == pytest.approx(brief.relevance, abs=1e-3)
        assert html.escape(brief.summary) in entry.content[0].value
    korean = next(e for e in parsed.entries if e.title == KOREAN_TITLE)
    assert korean.title_detail.language == "ko"
    hostile = next(e for e in parsed.entries if e.title == HOSTILE_TITLE)
    assert "<script>" not in hostile.content[0].value  # escaped inside the HTML content


async def test_json_feed_follows_the_spec_and_round_trips(
    server: HttpServer, archive: Archive
) -> None:
    resp = await fetch(server, "/feeds/briefs.json")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "application/feed+json; charset=utf-8"
    document = json.loads(await resp.read())
    jsonschema.validate(document, JSON_FEED_1_1, format_checker=jsonschema.FormatChecker())
    assert document["feed_url"] == server.base_url + "/feeds/briefs.json"
    expected = newest_first(archive.briefs)
    assert len(document["items"]) == len(expected)
    for item, brief in zip(document["items"], expected, strict=True):
        assert item["id"] == brief_id(brief)
        assert item["url"] == f"{server.base_url}/briefs/{brief.id}"
        assert item.get("external_url") == brief.url
        assert item["title"] == brief.title
        assert item["content_text"] == item["summary"] == brief.summary
        assert item["authors"] == [{"name": brief.author}]
        assert brief.published is not None
        assert datetime.fromisoformat(item["date_published"]) == brief.published
        assert datetime.fromisoformat(item["date_modified"]) == brief.created_at
        assert item["tags"] == [k.label for k in brief.key_issues]
        extra = item["_brief"]
        assert extra["id"] == brief.id and extra["source"] == brief.source
        assert extra["key_issues"] == [{"id": k.id, "label": k.label} for k in brief.key_issues]
        assert extra["relevance"] == pytest.approx(brief.relevance, abs=1e-3)
    assert {i["title"]: i.get("language") for i in document["items"]}[KOREAN_TITLE] == "ko"


@pytest.mark.parametrize("path", ["/feeds/briefs.atom", "/feeds/briefs.json"])
async def test_a_reader_polling_twice_gets_304(
    server: HttpServer, archive: Archive, path: str
) -> None:
    first = await fetch(server, path)
    assert first.status == 200
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert modified == format_datetime(max(b.created_at for b in archive.briefs), usegmt=True)
    again = await fetch(server, path, **{"If-None-Match": etag, "If-Modified-Since": modified})
    assert again.status == 304 and await again.read() == b""
    assert again.headers["ETag"] == etag
    # A reader that keeps only the date gets a 304 too.
    dated = await fetch(server, path, **{"If-Modified-Since": modified})
    assert dated.status == 304
    # A new brief: the next poll gets the new document and new validators.
    newer = replace(numbered(1)[0], published=START + timedelta(days=90))
    await write_brief(archive.store, archive.feed, newer, 200, START + timedelta(days=90))
    third = await fetch(server, path, **{"If-None-Match": etag, "If-Modified-Since": modified})
    assert third.status == 200 and third.headers["ETag"] != etag


async def test_feeds_filtered_by_issue_and_query(server: HttpServer, archive: Archive) -> None:
    resp = await fetch(server, "/feeds/briefs.atom?issue=gsomia")
    parsed = feedparser.parse(await resp.read())
    gsomia = [b for b in archive.briefs if b.key_issues[0].id == "gsomia"]
    assert [e.id for e in parsed.entries] == [brief_id(b) for b in newest_first(gsomia)]
    assert parsed.feed.title.endswith("GSOMIA intelligence sharing")
    assert parsed.feed.link == server.base_url + "/issues/gsomia"

    resp = await fetch(server, "/feeds/briefs.json?q=agenda&issue=usfk")
    document = json.loads(await resp.read())
    usfk = [b for b in archive.briefs if b.key_issues[0].id == "usfk" and "agenda" in b.summary]
    # A search feed lists the newest matches first, like every feed.
    assert [i["id"] for i in document["items"]] == [brief_id(b) for b in newest_first(usfk)]
    assert document["home_page_url"] == server.base_url + "/search?issue=usfk&q=agenda"

    for bad in ("?issue=kpop", "?q=" + "x" * 300):
        resp = await fetch(server, "/feeds/briefs.atom" + bad)
        assert resp.status == 400, bad


async def test_text_xml_cannot_carry_is_dropped(server: HttpServer, archive: Archive) -> None:
    odd = replace(
        numbered(1)[0],
        title="Bell\x07 and form\x0cfeed in a title",
        summary="A vertical\x0btab.",
        published=START + timedelta(days=100),
    )
    await write_brief(archive.store, archive.feed, odd, 300, START + timedelta(days=100))
    parsed = feedparser.parse(await (await fetch(server, "/feeds/briefs.atom")).read())
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.entries[0].title == "Bell and formfeed in a title"
    document = json.loads(await (await fetch(server, "/feeds/briefs.json")).read())
    assert document["items"][0]["title"] == odd.title  # JSON escapes them instead
