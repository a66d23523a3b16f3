"""The read-only web archive: routing, query checks, conditional GET and security headers.

One aiohttp handler serves every path the bot's HTTP server does not claim itself
(`/healthz`, `/slack/events`). GET and HEAD only; nothing here changes the store. The store
is reached through the same repositories the command service uses.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import urlencode

from aiohttp import web

from koreapage_bot.config import WebConfig
from koreapage_bot.domain import Brief
from koreapage_bot.http import HttpServer
from koreapage_bot.links import web_link
from koreapage_bot.ports import Storage, parse_row_id
from koreapage_bot.web import feeds
from koreapage_bot.web.pages import BriefItem, PageView, Templates, Topic, TopicLike, language_of

log = logging.getLogger(__name__)

MAX_QUERY = 200  # characters of search text
MAX_PAGE = 100_000
FEED_SIZE = 50  # briefs in each Atom / JSON feed
HTML_TYPE = "text/html"
SECURITY_HEADERS = {
    # No script may run and nothing may load from elsewhere: a title that carries markup is
    # text on the page, and even a template mistake could not load a script.
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
READ_METHODS = ("GET", "HEAD")


def _sort_key(brief: Brief) -> tuple[datetime, int]:
    """Where a newest-first list puts a brief (the store's sort_at, then id)."""
    return (brief.published or brief.created_at, brief.id)


class BadRequest(Exception):
    """A query parameter the archive cannot use: a 400 page with this message."""


class NotFound(Exception):
    """No such page: a 404 page with this message."""


@dataclass(frozen=True, slots=True)
class Filters:
    issue: Topic | None
    query: str
    page: int


class WebArchive:
    """The aiohttp handler of the archive. Mount it with `HttpServer.mount_fallback`."""

    def __init__(self, store: Storage, topics: Sequence[TopicLike], config: WebConfig) -> None:
        self._store = store
        self._topics = {t.id: Topic(t.id, t.label, t.description) for t in topics}
        self._config = config
        self._templates = Templates()
        self._routes: dict[str, Callable[[web.Request], Awaitable[web.StreamResponse]]] = {
            "/": self._latest,
            "/issues": self._issue_index,
            "/search": self._search,
            "/feeds/briefs.atom": self._atom,
            "/feeds/briefs.json": self._json_feed,
            "/static/style.css": self._stylesheet,
            "/static/icon.svg": self._icon,
        }

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        try:
            response = await self._dispatch(request)
        except BadRequest as exc:
            response = self._error(request, 400, "Bad request", str(exc))
        except NotFound as exc:
            response = self._error(request, 404, "Not found", str(exc))
        except Exception:
            log.exception("web archive: %s %s failed", request.method, request.path_qs)
            response = self._error(
                request, 500, "Something went wrong", "The archive could not show this page."
            )
        response.headers.update(SECURITY_HEADERS)
        return response

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        if request.method not in READ_METHODS:
            response = self._error(
                request, 405, "Method not allowed", "The archive can only be read."
            )
            response.headers["Allow"] = ", ".join(READ_METHODS)
            return response
        path = request.path
        if len(path) > 1 and path.endswith("/"):
            location = path.rstrip("/") or "/"
            if request.query_string:
                location += "?" + request.query_string
            return web.Response(status=308, headers={"Location": location})
        handler = self._routes.get(path)
        if handler is not None:
            return await handler(request)
        if path.startswith("/issues/"):
            return await self._issue(request, path.removeprefix("/issues/"))
        if path.startswith("/briefs/"):
            return await self._brief(request, path.removeprefix("/briefs/"))
        raise NotFound("There is no page at this address.")

    # -- pages ----------------------------------------------------------------------------

    async def _latest(self, request: web.Request) -> web.StreamResponse:
        page = self._page_number(request)
        size = self._config.page_size
        found = await self._store.briefs.latest(size + 1, offset=(page - 1) * size)
        return await self._list_page(
            request,
            found,
            page,
            heading="Latest briefs",
            intro="Briefs on the US–South Korea alliance, newest first.",
            empty="No briefs yet. They appear here as the bot reads its feeds.",
            section="latest",
        )

    async def _issue_index(self, request: web.Request) -> web.StreamResponse:
        body = self._render(request, "issues.html", section="issues", topics=self._topics.values())
        return self._html(request, body)

    async def _issue(self, request: web.Request, issue_id: str) -> web.StreamResponse:
        topic = self._topics.get(issue_id)
        if topic is None:
            raise NotFound("There is no key issue with this id. The list of key issues has them.")
        page = self._page_number(request)
        size = self._config.page_size
        found = await self._store.briefs.latest(size + 1, issue=topic.id, offset=(page - 1) * size)
        return await self._list_page(
            request,
            found,
            page,
            heading=topic.label,
            intro=topic.description,
            empty=f"No briefs on {topic.label} yet.",
            section="issues",
            filters=Filters(topic, "", page),
        )

    async def _search(self, request: web.Request) -> web.StreamResponse:
        filters = self._filters(request)
        if not filters.query:
            body = self._render(
                request,
                "error.html",
                heading="Search briefs",
                message="Type words or a quoted phrase in the search box above.",
                section="search",
            )
            return self._html(request, body)
        size = self._config.page_size
        found = await self._store.briefs.search(
            filters.query,
            size + 1,
            offset=(filters.page - 1) * size,
            issue=filters.issue.id if filters.issue else None,
        )
        scope = f" on {filters.issue.label}" if filters.issue else ""
        return await self._list_page(
            request,
            found,
            filters.page,
            heading=f"Briefs matching “{filters.query}”{scope}",
            intro="Best match first.",
            empty="No brief matches. Try fewer or other words.",
            section="search",
            filters=filters,
            prev_label="Better matches",
            next_label="More matches",
        )

    async def _brief(self, request: web.Request, ref: str) -> web.StreamResponse:
        number = parse_row_id(ref)
        brief = await self._store.briefs.get(number) if number is not None else None
        if brief is None:
            raise NotFound("There is no brief with this number.")
        feed = await self._store.feeds.get(brief.feed_id)
        item = BriefItem.of(brief, feed.site_url if feed else None)
        # The other reports of its story (other outlets on the same event), oldest first.
        story = (await self._store.stories.reports([brief.story_id]) if brief.story_id else {}).get(
            brief.story_id or 0, []
        )
        body = self._render(
            request,
            "brief.html",
            b=item,
            others=tuple(BriefItem.of(o) for o in story if o.id != brief.id),
            canonical=f"{self._base_url(request)}/briefs/{brief.id}",
            section="brief",
        )
        return self._html(request, body, last_modified=brief.created_at)

    async def _by_story(
        self, shown: Sequence[Brief], page: int, *, newest_first: bool, issue: str | None
    ) -> tuple[BriefItem, ...]:
        """`shown` one item per story: a story's first brief on the page, with its other
        reports under it. In a newest-first list a story whose newer report sorts onto an
        earlier page was shown there already and is left out here."""
        ids = sorted({b.story_id for b in shown if b.story_id is not None})
        reports = await self._store.stories.reports(ids) if ids else {}
        top = _sort_key(shown[0]) if shown else None
        items: list[BriefItem] = []
        seen: set[int] = set()
        for brief in shown:
            story = brief.story_id
            if story is None:
                items.append(BriefItem.of(brief))
                continue
            if story in seen:
                continue
            seen.add(story)
            members = reports.get(story, [])
            if newest_first and page > 1 and top is not None:
                earlier = any(
                    _sort_key(m) > top
                    and (issue is None or any(k.id == issue for k in m.key_issues))
                    for m in members
                )
                if earlier:
                    continue
            also = tuple(BriefItem.of(m) for m in members if m.id != brief.id)
            items.append(BriefItem.of(brief, also=also))
        return tuple(items)

    async def _list_page(
        self,
        request: web.Request,
        found: list[Brief],
        page: int,
        *,
        heading: str,
        intro: str,
        empty: str,
        section: str,
        filters: Filters | None = None,
        prev_label: str = "Newer",
        next_label: str = "Older",
    ) -> web.StreamResponse:
        size = self._config.page_size
        shown = found[:size]
        if not shown and page > 1:
            raise NotFound(f"There is no page {page} here; the last page comes before it.")
        searching = filters is not None and bool(filters.query)
        issue = filters.issue.id if filters is not None and filters.issue else None
        items = await self._by_story(shown, page, newest_first=not searching, issue=issue)

        def page_url(number: int) -> str:
            params = {}
            if filters is not None and filters.query:
                params["q"] = filters.query
                if filters.issue is not None:
                    params["issue"] = filters.issue.id
            if number > 1:
                params["page"] = str(number)
            return request.path + ("?" + urlencode(params) if params else "")

        view = PageView(
            briefs=items,
            number=page,
            prev_url=page_url(page - 1) if page > 1 else None,
            next_url=page_url(page + 1) if len(found) > size else None,
        )
        body = self._render(
            request,
            "list.html",
            page=view,
            heading=heading,
            intro=intro,
            empty=empty,
            section=section,
            filters=filters,
            prev_label=prev_label,
            next_label=next_label,
        )
        return self._html(request, body)

    # -- feeds ----------------------------------------------------------------------------

    async def _feed_briefs(self, request: web.Request) -> tuple[feeds.FeedInfo, list[Brief]]:
        filters = self._filters(request, paged=False)
        issue = filters.issue.id if filters.issue else None
        if filters.query:
            briefs = await self._store.briefs.search(
                filters.query, FEED_SIZE, newest=True, issue=issue
            )
        else:
            briefs = await self._store.briefs.latest(FEED_SIZE, issue=issue)
        base = self._base_url(request)
        params = self._filter_params(filters)
        query = "?" + urlencode(params) if params else ""
        title = self._config.title
        if filters.issue:
            title += f" — {filters.issue.label}"
        if filters.query:
            title += f" — “{filters.query}”"
        if filters.query:
            home = f"{base}/search{query}"
        elif filters.issue:
            home = f"{base}/issues/{filters.issue.id}"
        else:
            home = f"{base}/"
        info = feeds.FeedInfo(
            title=title,
            description="Briefs on the US–South Korea alliance from Korea-focused news feeds.",
            home_url=home,
            self_url=f"{base}{request.path}{query}",
            base_url=base,
            filter_key=urlencode(params),
        )
        return info, briefs

    async def _atom(self, request: web.Request) -> web.StreamResponse:
        info, briefs = await self._feed_briefs(request)
        body = feeds.atom(info, briefs, self._languages(briefs))
        return self._conditional(
            request,
            body,
            feeds.ATOM_TYPE,
            last_modified=feeds.updated(briefs) if briefs else None,
            cache="public, max-age=300",
        )

    async def _json_feed(self, request: web.Request) -> web.StreamResponse:
        info, briefs = await self._feed_briefs(request)
        body = feeds.json_feed(info, briefs, self._languages(briefs))
        return self._conditional(
            request,
            body,
            feeds.JSON_FEED_TYPE,
            last_modified=feeds.updated(briefs) if briefs else None,
            cache="public, max-age=300",
        )

    @staticmethod
    def _languages(briefs: Sequence[Brief]) -> dict[int, str]:
        return {b.id: lang for b in briefs if (lang := language_of(b)) is not None}

    async def _stylesheet(self, request: web.Request) -> web.StreamResponse:
        versioned = request.query.get("v") == self._templates.css_version
        # A versioned URL never changes content (the version is its hash): cache it for good.
        cache = "public, max-age=31536000, immutable" if versioned else "public, max-age=3600"
        return self._conditional(
            request, self._templates.css, "text/css; charset=utf-8", cache=cache
        )

    async def _icon(self, request: web.Request) -> web.StreamResponse:
        return self._conditional(
            request, self._templates.icon, "image/svg+xml", cache="public, max-age=86400"
        )

    # -- request parameters --------------------------------------------------------------

    def _page_number(self, request: web.Request) -> int:
        raw = request.query.get("page")
        if raw is None:
            return 1
        number = parse_row_id(raw)
        if number is None or number > MAX_PAGE:
            raise BadRequest(f"The page must be a whole number from 1 to {MAX_PAGE}.")
        return number

    def _filters(self, request: web.Request, *, paged: bool = True) -> Filters:
        query = " ".join(request.query.get("q", "").split())
        if len(query) > MAX_QUERY:
            raise BadRequest(f"Search text is limited to {MAX_QUERY} characters.")
        topic = None
        issue_id = request.query.get("issue", "").strip().lower()
        if issue_id:
            topic = self._topics.get(issue_id)
            if topic is None:
                valid = ", ".join(sorted(self._topics))
                raise BadRequest(f"There is no key issue “{issue_id[:40]}”. Valid ids: {valid}.")
        return Filters(topic, query, self._page_number(request) if paged else 1)

    @staticmethod
    def _filter_params(filters: Filters) -> dict[str, str]:
        params = {}
        if filters.issue is not None:
            params["issue"] = filters.issue.id
        if filters.query:
            params["q"] = filters.query
        return params

    def _base_url(self, request: web.Request) -> str:
        """The archive's absolute root: configured, else the address this request came to."""
        if self._config.base_url:
            return self._config.base_url
        origin = web_link(f"{request.scheme}://{request.host}")
        return (origin or "http://localhost").rstrip("/")

    # -- responses ------------------------------------------------------------------------

    def _render(self, request: web.Request, template: str, **context: object) -> str:
        filters = context.get("filters")
        params = self._filter_params(filters) if isinstance(filters, Filters) else {}
        query = "?" + urlencode(params) if params else ""
        title = self._config.title
        if isinstance(filters, Filters) and filters.issue:
            title += f" — {filters.issue.label}"
        if isinstance(filters, Filters) and filters.query:
            title += f" — “{filters.query}”"
        search = filters.query if isinstance(filters, Filters) else ""
        defaults: dict[str, object] = {
            "site_title": self._config.title,
            "stylesheet": f"/static/style.css?v={self._templates.css_version}",
            "feed_title": title,
            "atom_url": f"/feeds/briefs.atom{query}",
            "json_url": f"/feeds/briefs.json{query}",
            "query": search,
            "max_query": MAX_QUERY,
            "section": "",
        }
        return self._templates.render(template, **{**defaults, **context})

    def _html(
        self,
        request: web.Request,
        body: str,
        *,
        status: int = 200,
        last_modified: datetime | None = None,
    ) -> web.StreamResponse:
        if status != 200:
            response = web.Response(
                body=body.encode("utf-8", "replace"),
                status=status,
                content_type=HTML_TYPE,
                charset="utf-8",
            )
            response.headers["Cache-Control"] = "no-store"
            return response
        return self._conditional(
            request,
            body.encode("utf-8", "replace"),
            "text/html; charset=utf-8",
            last_modified=last_modified,
            cache="no-cache",  # always revalidated: a new brief changes the page
        )

    def _error(
        self, request: web.Request, status: int, heading: str, message: str
    ) -> web.StreamResponse:
        body = self._render(request, "error.html", heading=heading, message=message)
        return self._html(request, body, status=status)

    def _conditional(
        self,
        request: web.Request,
        body: bytes,
        content_type: str,
        *,
        last_modified: datetime | None = None,
        cache: str,
    ) -> web.StreamResponse:
        """200 with validators, or 304 when the client's copy is current (RFC 9110 §13)."""
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        headers = {"ETag": etag, "Cache-Control": cache}
        if last_modified is not None:
            headers["Last-Modified"] = format_datetime(
                last_modified.astimezone(UTC).replace(microsecond=0), usegmt=True
            )
        if not_modified(request, etag, last_modified):
            return web.Response(status=304, headers=headers)
        response = web.Response(body=body, headers=headers)
        response.headers["Content-Type"] = content_type
        return response


def not_modified(request: web.Request, etag: str, last_modified: datetime | None) -> bool:
    """If-None-Match decides when present (weak comparison); If-Modified-Since only without
    it. A malformed date is ignored, as the RFC asks."""
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
        return "*" in tags or etag in tags
    since = request.headers.get("If-Modified-Since")
    if since is None or last_modified is None:
        return False
    try:
        when = parsedate_to_datetime(since)
    except (TypeError, ValueError, IndexError):
        return False
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return last_modified.replace(microsecond=0) <= when


def mount_web(
    server: HttpServer, store: Storage, topics: Sequence[TopicLike], config: WebConfig
) -> WebArchive:
    """Serve the archive on `server`, beside `/healthz` and the adapters' routes."""
    archive = WebArchive(store, topics, config)
    server.mount_fallback(archive)
    return archive
