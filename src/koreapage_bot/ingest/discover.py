"""Feed autodiscovery: find the feeds an HTML page advertises, and resolve a user's URL.

`<link rel="alternate" type="application/rss+xml" href="...">` (or atom/rdf) in a page
names its feeds. `find_feed` is what `feeds add` needs: given any URL, return the feed URL
to store, or a clear reason why there is none.
"""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

if TYPE_CHECKING:
    from koreapage_bot.domain import ParsedFeed
    from koreapage_bot.ingest.fetch import FeedFetcher, FetchResult

FEED_TYPES = {
    "application/rss+xml": "rss",
    "application/atom+xml": "atom",
    "application/rdf+xml": "rdf",
}
# A page may advertise any number of feed links (a hostile one lists thousands, each on a
# host of its choosing): one `feeds add` tries at most this many, best first, so it never
# turns into a request amplifier. With the page itself that is six fetches per add.
MAX_CANDIDATES = 5
# Path pieces that name a site's main feed, and ones that name a side feed.
_COMMON_NAMES = ("/feed", "/rss", "/atom", "/index.xml", "feed.xml", "rss.xml", "atom.xml")
_SIDE_FEEDS = ("comment", "replies")


@dataclass(frozen=True, slots=True)
class FeedLink:
    url: str
    type: str  # "rss" | "atom" | "rdf"
    title: str | None = None


class _LinkFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.base: str | None = None
        self.found: list[tuple[str, str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in {"link", "base"}:
            return
        a = {k.lower(): (v or "").strip() for k, v in attrs}
        if tag == "base":
            if self.base is None and a.get("href"):
                self.base = a["href"]
            return
        rels = a.get("rel", "").lower().split()
        kind = FEED_TYPES.get(a.get("type", "").lower().split(";")[0].strip())
        if "alternate" in rels and kind and a.get("href"):
            self.found.append((a["href"], kind, a.get("title") or None))

    handle_startendtag = handle_starttag


def _decode(page: bytes | str) -> str:
    if isinstance(page, str):
        return page
    # Only URLs and attributes matter here and they are ASCII in practice.
    for encoding in ("utf-8", "cp1252"):
        try:
            return page.decode(encoding)
        except UnicodeDecodeError:
            continue
    return page.decode("latin-1")


def discover_feed_links(page: bytes | str, page_url: str | None) -> list[FeedLink]:
    """Feeds advertised by an HTML page, absolute, in page order, without duplicates."""
    finder = _LinkFinder()
    try:
        finder.feed(_decode(page))
        finder.close()
    except Exception:  # lenient parser; a page we cannot read simply advertises nothing
        pass
    base = page_url or ""
    if finder.base:
        base = urljoin(base, finder.base)
    links: list[FeedLink] = []
    seen: set[str] = set()
    for href, kind, title in finder.found:
        url = urljoin(base, href) if base else href
        if not url.lower().startswith(("http://", "https://")) or url in seen:
            continue
        seen.add(url)
        links.append(FeedLink(url=url, type=kind, title=title))
    return links


def _site(host: str | None) -> str:
    host = (host or "").lower().rstrip(".")
    return host.removeprefix("www.")


def rank_candidates(links: list[FeedLink], page_url: str) -> list[FeedLink]:
    """The feed links worth trying, best first, at most `MAX_CANDIDATES`: the page's own
    site before other hosts, a site's main feed before comment feeds, common feed names
    (`/feed`, `rss.xml`…) before others, RSS/Atom before RDF, then page order."""
    page_site = _site(urlsplit(page_url).hostname)

    def rank(item: tuple[int, FeedLink]) -> tuple[bool, bool, bool, bool, int]:
        position, link = item
        try:
            parts = urlsplit(link.url)
            site = _site(parts.hostname)
        except ValueError:
            return (True, True, True, True, position)
        path = parts.path.lower()
        label = f"{path} {(link.title or '').lower()}"
        return (
            site != page_site,
            any(side in label for side in _SIDE_FEEDS),
            not any(name in path for name in _COMMON_NAMES),
            link.type == "rdf",
            position,
        )

    ranked = sorted(enumerate(links), key=rank)
    return [link for _, link in ranked if link.url != page_url][:MAX_CANDIDATES]


@dataclass(frozen=True, slots=True)
class FoundFeed:
    url: str  # the feed URL to store (after permanent redirects / discovery)
    feed: ParsedFeed
    discovered_from: str | None = None  # the HTML page the link came from, if any
    # The response `feed` was read from: a new feed's first poll (it is not fetched again).
    response: FetchResult | None = None


class FeedNotFound(Exception):
    """The URL is neither a feed nor a page that links to one (message is user-facing)."""


async def find_feed(fetcher: FeedFetcher, url: str) -> FoundFeed:
    """Resolve what a user typed to a feed: the URL itself, or the best feed its page
    advertises that actually parses (at most `MAX_CANDIDATES` tried, see `rank_candidates`).
    Raises FeedNotFound with a clear reason."""
    from koreapage_bot.ingest.parse import NotAFeed, parse_feed

    result = await fetcher.fetch(url)
    if result.body is None:
        raise FeedNotFound(f"cannot fetch {url}: {result.error or 'no body'}")
    base = result.final_url
    stored = result.permanent_redirect_url or url
    try:
        parsed = await parse_feed(result.body, base, result.content_type)
        return FoundFeed(url=stored, feed=parsed, response=result)
    except NotAFeed as exc:
        advertised = len(exc.links)
        candidates = rank_candidates(list(exc.links), base)
        if not candidates:
            raise FeedNotFound(
                f"{url} is not a feed and the page links to no RSS/Atom feed"
            ) from None
    problems: list[str] = []
    for link in candidates:
        sub = await fetcher.fetch(link.url)
        if sub.body is None:
            problems.append(f"{link.url}: {sub.error}")
            continue
        try:
            parsed = await parse_feed(sub.body, sub.final_url, sub.content_type)
        except NotAFeed:
            problems.append(f"{link.url}: not a feed")
            continue
        return FoundFeed(
            url=sub.permanent_redirect_url or link.url,
            feed=parsed,
            discovered_from=base,
            response=sub,
        )
    tried = f"the {len(problems)} best" if advertised > len(problems) else "none"
    raise FeedNotFound(
        f"{url} links to {advertised} feed{'s' if advertised != 1 else ''}, but {tried} "
        "could not be read: " + "; ".join(problems)
    )
