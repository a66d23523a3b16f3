"""A real local feed server for tests and benchmarks (aiohttp.web on 127.0.0.1, port 0).

Usage::

    async with FeedServer() as server:
        feed = server.feed("/news.xml", [Item("Allies hold talks", guid="a-1")])
        url = server.url("/news.xml")
        ...                                   # fetch it with the product's fetcher
        feed.set_items([...])                 # the next request sees the new items
        server.route("/busy", StatusRoute(429, retry_after="120"))
        server.route("/moved", RedirectRoute("/news.xml", status=301))
        assert server.count("/news.xml") == 2
        assert server.requests("/news.xml")[-1].headers["If-None-Match"] == feed.etag

Routes are small objects with `async respond(request)`; mount any of them at any path and
swap them between requests with `server.route(path, ...)`. Every request is recorded
(method, path, query, headers) before it is answered, so tests can assert what was sent.
Unknown paths answer 404. Pytest users can take the `feed_server` fixture from
`tests/integration/ingest/conftest.py` (or write the same three lines in their own conftest).
"""

from __future__ import annotations

import asyncio
import gzip as gzip_module
import hashlib
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from types import TracebackType
from typing import Literal, Protocol, TypeVar
from xml.sax.saxutils import escape

from aiohttp import web
from multidict import CIMultiDict

RSS_TYPE = "application/rss+xml; charset=utf-8"
ATOM_TYPE = "application/atom+xml; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"
# Fixed clock for Last-Modified so runs are reproducible; each change moves it a minute on.
_EPOCH = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


# --------------------------------------------------------------------------- documents


@dataclass(frozen=True)
class Item:
    """One feed item. `pub_date` overrides `published` with raw text (odd date formats)."""

    title: str
    link: str | None = None
    guid: str | None = None
    published: datetime | None = None
    description: str = ""
    author: str | None = None
    pub_date: str | None = None
    content_html: str | None = None


def render_rss(
    items: Sequence[Item],
    *,
    title: str = "Alliance Watch",
    link: str = "https://alliance-watch.example/",
    description: str = "Invented test feed about the US–ROK alliance",
) -> bytes:
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"'
        ' xmlns:content="http://purl.org/rss/1.0/modules/content/">',
        "<channel>",
        f"<title>{escape(title)}</title>",
        f"<link>{escape(link)}</link>",
        f"<description>{escape(description)}</description>",
    ]
    for item in items:
        parts.append("<item>")
        parts.append(f"<title>{escape(item.title)}</title>")
        if item.link is not None:
            parts.append(f"<link>{escape(item.link)}</link>")
        if item.guid is not None:
            parts.append(f'<guid isPermaLink="false">{escape(item.guid)}</guid>')
        date = item.pub_date or (format_datetime(item.published) if item.published else None)
        if date is not None:
            parts.append(f"<pubDate>{escape(date)}</pubDate>")
        if item.author is not None:
            parts.append(f"<dc:creator>{escape(item.author)}</dc:creator>")
        parts.append(f"<description>{escape(item.description)}</description>")
        if item.content_html is not None:
            parts.append(f"<content:encoded><![CDATA[{item.content_html}]]></content:encoded>")
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "\n".join(parts).encode("utf-8")


def render_atom(
    items: Sequence[Item],
    *,
    title: str = "Alliance Watch",
    link: str = "https://alliance-watch.example/",
    feed_id: str = "urn:test:alliance-watch",
) -> bytes:
    updated = max((i.published for i in items if i.published), default=_EPOCH)
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom">',
        f"<title>{escape(title)}</title>",
        f'<link rel="alternate" href="{escape(link)}"/>',
        f"<id>{escape(feed_id)}</id>",
        f"<updated>{updated.isoformat()}</updated>",
    ]
    for item in items:
        parts.append("<entry>")
        parts.append(f"<title>{escape(item.title)}</title>")
        if item.link is not None:
            parts.append(f'<link rel="alternate" href="{escape(item.link)}"/>')
        if item.guid is not None:
            parts.append(f"<id>{escape(item.guid)}</id>")
        when = item.pub_date or (item.published.isoformat() if item.published else None)
        if when is not None:
            parts.append(f"<published>{escape(when)}</published>")
            parts.append(f"<updated>{escape(when)}</updated>")
        if item.author is not None:
            parts.append(f"<author><name>{escape(item.author)}</name></author>")
        parts.append(f'<summary type="html">{escape(item.description)}</summary>')
        parts.append("</entry>")
    parts.append("</feed>")
    return "\n".join(parts).encode("utf-8")


def render_html(
    title: str = "Alliance Watch — home",
    feed_links: Sequence[tuple[str, str]] = (),
    body: str = "<p>Commentary on the alliance, updated weekly.</p>",
) -> bytes:
    """An HTML page; `feed_links` are (href, type) pairs put in <head> as rel=alternate."""
    links = "\n".join(
        f'<link rel="alternate" type="{escape(kind)}" title="Feed" href="{escape(href)}">'
        for href, kind in feed_links
    )
    page = (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title>\n{links}\n</head><body>{body}</body></html>"
    )
    return page.encode("utf-8")


# --------------------------------------------------------------------------- routes


class Route(Protocol):
    async def respond(self, request: web.Request) -> web.StreamResponse: ...


def _body_response(
    body: bytes,
    content_type: str,
    *,
    status: int = 200,
    gzip: bool = False,
    headers: dict[str, str] | None = None,
) -> web.Response:
    out = dict(headers or {})
    if gzip:
        body = gzip_module.compress(body)
        out["Content-Encoding"] = "gzip"
    out["Content-Type"] = content_type
    return web.Response(body=body, status=status, headers=out)


@dataclass
class FeedRoute:
    """A feed with ETag / Last-Modified that answers 304 when the client's validators match.

    Change it with `set_items` (or `set_body`); the ETag and Last-Modified move with every
    change. Turn either validator off to test the other alone.
    """

    items: list[Item] = field(default_factory=list)
    kind: Literal["rss", "atom"] = "rss"
    title: str = "Alliance Watch"
    etag_enabled: bool = True
    last_modified_enabled: bool = True
    gzip: bool = False
    cache_max_age: int | None = None
    content_type: str | None = None
    body_override: bytes | None = None
    version: int = 0
    extra_headers: dict[str, str] = field(default_factory=dict)

    def set_items(self, items: Sequence[Item]) -> None:
        self.items = list(items)
        self.body_override = None
        self.version += 1

    def set_body(self, body: bytes) -> None:
        self.body_override = body
        self.version += 1

    @property
    def body(self) -> bytes:
        if self.body_override is not None:
            return self.body_override
        if self.kind == "atom":
            return render_atom(self.items, title=self.title)
        return render_rss(self.items, title=self.title)

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha1(self.body).hexdigest()[:16] + '"'

    @property
    def last_modified(self) -> str:
        return format_datetime(_EPOCH + timedelta(minutes=self.version), usegmt=True)

    def _not_modified(self, request: web.Request) -> bool:
        inm = request.headers.get("If-None-Match")
        if self.etag_enabled and inm is not None:
            return self.etag in [tag.strip() for tag in inm.split(",")] or inm.strip() == "*"
        ims = request.headers.get("If-Modified-Since")
        if self.last_modified_enabled and ims is not None:
            try:
                since = parsedate_to_datetime(ims)
            except (TypeError, ValueError):
                return False
            return _EPOCH + timedelta(minutes=self.version) <= since
        return False

    async def respond(self, request: web.Request) -> web.StreamResponse:
        headers = dict(self.extra_headers)
        if self.etag_enabled:
            headers["ETag"] = self.etag
        if self.last_modified_enabled:
            headers["Last-Modified"] = self.last_modified
        if self.cache_max_age is not None:
            headers["Cache-Control"] = f"max-age={self.cache_max_age}"
        if self._not_modified(request):
            return web.Response(status=304, headers=headers)
        default_type = ATOM_TYPE if self.kind == "atom" else RSS_TYPE
        return _body_response(
            self.body, self.content_type or default_type, gzip=self.gzip, headers=headers
        )


@dataclass
class StatusRoute:
    """Any status with optional Retry-After (seconds or an HTTP date) and body."""

    status: int
    retry_after: str | None = None
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)

    async def respond(self, request: web.Request) -> web.StreamResponse:
        headers = dict(self.headers)
        if self.retry_after is not None:
            headers["Retry-After"] = self.retry_after
        return _body_response(self.body, self.content_type, status=self.status, headers=headers)


@dataclass
class RedirectRoute:
    """Redirect to `location` (a path on this server or an absolute URL)."""

    location: str
    status: int = 301

    async def respond(self, request: web.Request) -> web.StreamResponse:
        return web.Response(status=self.status, headers={"Location": self.location})


@dataclass
class SlowRoute:
    """Wait `delay` seconds before answering with `then` (or after the headers and a first
    chunk when `stall_body`, to exercise the read timeout)."""

    delay: float
    then: Route | None = None
    stall_body: bool = False

    async def respond(self, request: web.Request) -> web.StreamResponse:
        if self.stall_body:
            resp = web.StreamResponse(headers={"Content-Type": RSS_TYPE})
            await resp.prepare(request)
            await resp.write(b'<?xml version="1.0"?><rss version="2.0"><channel>')
            await asyncio.sleep(self.delay)
            await resp.write(b"</channel></rss>")
            await resp.write_eof()
            return resp
        await asyncio.sleep(self.delay)
        if self.then is None:
            return web.Response(body=render_rss([]), content_type="application/rss+xml")
        return await self.then.respond(request)


@dataclass
class OversizedRoute:
    """A feed-looking body of `size` bytes: streamed without Content-Length by default,
    declared up front with `declare_length`, or gzip-compressed (small on the wire, large
    once decompressed) with `gzip`."""

    size: int
    declare_length: bool = False
    gzip: bool = False

    def _payload(self) -> bytes:
        head = b'<?xml version="1.0"?><rss version="2.0"><channel><title>big</title>'
        return head + b" " * max(0, self.size - len(head))

    async def respond(self, request: web.Request) -> web.StreamResponse:
        if self.gzip or self.declare_length:
            return _body_response(self._payload(), RSS_TYPE, gzip=self.gzip)
        resp = web.StreamResponse(headers={"Content-Type": RSS_TYPE})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        payload = self._payload()
        step = 64 * 1024
        for start in range(0, len(payload), step):
            await resp.write(payload[start : start + step])
        await resp.write_eof()
        return resp


@dataclass
class HtmlRoute:
    """An HTML page, optionally advertising feeds: `feed_links` = [(href, type), ...]."""

    feed_links: list[tuple[str, str]] = field(default_factory=list)
    title: str = "Alliance Watch — home"

    async def respond(self, request: web.Request) -> web.StreamResponse:
        return _body_response(render_html(self.title, self.feed_links), HTML_TYPE)


@dataclass
class RawRoute:
    """Exact bytes with the given status, content type and headers."""

    body: bytes
    content_type: str = RSS_TYPE
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    gzip: bool = False

    async def respond(self, request: web.Request) -> web.StreamResponse:
        return _body_response(
            self.body, self.content_type, status=self.status, gzip=self.gzip, headers=self.headers
        )


@dataclass
class SequenceRoute:
    """Answer with each route in turn; the last one repeats (e.g. 503, 503, then the feed)."""

    routes: list[Route]
    _next: int = 0

    async def respond(self, request: web.Request) -> web.StreamResponse:
        route = self.routes[min(self._next, len(self.routes) - 1)]
        self._next += 1
        return await route.respond(request)


# --------------------------------------------------------------------------- server

R = TypeVar("R", bound=Route)


@dataclass(frozen=True)
class SeenRequest:
    method: str
    path: str
    query: str
    headers: CIMultiDict[str]
    at: float = 0.0  # time.monotonic() when it arrived


class FeedServer:
    """Local HTTP server on 127.0.0.1 with an OS-chosen port. Use as `async with`."""

    def __init__(self) -> None:
        self._routes: dict[str, Route] = {}
        self._seen: dict[str, list[SeenRequest]] = defaultdict(list)
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    async def __aenter__(self) -> FeedServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # Cancel handlers of clients that gave up (slow routes) and do not wait for them.
        self._runner = web.AppRunner(
            app, shutdown_timeout=0.2, handler_cancellation=True, access_log=None
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- routes ------------------------------------------------------------------------

    def url(self, path: str) -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def route(self, path: str, route: R) -> R:
        """Mount (or replace) the route at `path`; returns it for later changes."""
        self._routes[path] = route
        return route

    def feed(self, path: str, items: Sequence[Item] = (), **options: object) -> FeedRoute:
        """Shortcut: mount a FeedRoute (options are FeedRoute fields)."""
        return self.route(path, FeedRoute(items=list(items), **options))  # type: ignore[arg-type]

    def remove(self, path: str) -> None:
        self._routes.pop(path, None)

    # -- what was asked ----------------------------------------------------------------

    def requests(self, path: str) -> list[SeenRequest]:
        return list(self._seen.get(path, []))

    def count(self, path: str) -> int:
        return len(self._seen.get(path, []))

    @property
    def total_requests(self) -> int:
        return sum(len(v) for v in self._seen.values())

    def reset(self) -> None:
        self._seen.clear()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        self._seen[path].append(
            SeenRequest(
                request.method,
                path,
                request.query_string,
                CIMultiDict(request.headers),
                time.monotonic(),
            )
        )
        route = self._routes.get(path)
        if route is None:
            return web.Response(status=404, text="no such feed")
        return await route.respond(request)
