"""Polite, bounded HTTP fetching of feeds and article pages.

One `FeedFetcher` owns one aiohttp session. It sends conditional requests, follows redirects
by hand (each hop goes through the URL guard; permanent moves are reported), caps body size on
the decompressed stream, limits concurrency per host and overall, and never raises for
network trouble: every outcome is a `FetchResult`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType

import aiohttp
from multidict import CIMultiDictProxy
from yarl import URL

from koreapage_bot.config import HttpConfig
from koreapage_bot.ingest.urlguard import (
    GuardedResolver,
    UnsafeUrl,
    check_url,
    host_key,
    parse_url,
)

FEED_ACCEPT = (
    "application/atom+xml, application/rss+xml, application/rdf+xml;q=0.9, "
    "application/feed+json;q=0.8, application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5"
)
HTML_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECTS = frozenset({301, 308})
_CHUNK = 64 * 1024
MAX_REDIRECTS = 5


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What one fetch produced. `error` is set whenever there is no usable body or 304."""

    url: str  # as requested
    final_url: str  # after redirects (the URL the body came from)
    status: int | None = None  # None when no HTTP response arrived
    permanent_redirect_url: str | None = None  # store this URL instead of `url`
    etag: str | None = None  # verbatim
    last_modified: str | None = None  # verbatim
    body: bytes | None = None  # None on 304 and on errors
    content_type: str | None = None  # the raw Content-Type header (charset included)
    retry_after: float | None = None  # seconds, from Retry-After (delta or HTTP date)
    max_age: int | None = None  # seconds, from Cache-Control max-age
    error: str | None = None
    not_modified: bool = False
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        """A fresh body arrived (2xx)."""
        return self.error is None and self.body is not None

    @property
    def is_network_error(self) -> bool:
        return self.status is None


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After value (delta-seconds or an HTTP date)."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())


def parse_max_age(cache_control: str | None) -> int | None:
    """`max-age` from a Cache-Control header; s-maxage is for shared caches, not us."""
    if not cache_control:
        return None
    for part in cache_control.split(","):
        name, _, raw = part.strip().partition("=")
        if name.strip().lower() == "max-age":
            raw = raw.strip().strip('"')
            if raw.isdigit():
                return int(raw)
    return None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"cannot connect: {exc.os_error.strerror or exc.os_error}"
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"bad response: {exc.message}"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "broken response body"
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class _TooLarge(Exception):
    pass


class FeedFetcher:
    """Async context manager owning one aiohttp session; share one per process."""

    def __init__(
        self,
        config: HttpConfig | None = None,
        *,
        allow_private: bool = False,
        private_hosts: Iterable[str] = (),
        per_host_limit: int = 2,
        concurrency: int = 16,
        max_redirects: int = MAX_REDIRECTS,
        host_slots: dict[str, asyncio.Semaphore] | None = None,
    ) -> None:
        """`config`: timeouts, body cap and User-Agent ([http] in the config file).
        `allow_private` lets feeds on private networks through (the operator's own feeds);
        `private_hosts` allows only those hosts there (every redirect hop is still checked).
        `host_slots` may be shared by several fetchers (feeds of each trust level, article
        pages) so that together they keep to `per_host_limit` connections per host."""
        if per_host_limit < 1 or concurrency < 1 or max_redirects < 0:
            raise ValueError("per_host_limit and concurrency must be >= 1, max_redirects >= 0")
        self.config = config or HttpConfig()
        self.allow_private = allow_private
        self.private_hosts = frozenset(map(host_key, private_hosts))
        self.per_host_limit = per_host_limit
        self.concurrency = concurrency
        self.max_redirects = max_redirects
        self._session: aiohttp.ClientSession | None = None
        self._all: asyncio.Semaphore | None = None
        self._hosts: dict[str, asyncio.Semaphore] = {} if host_slots is None else host_slots

    async def __aenter__(self) -> FeedFetcher:
        s = self.config
        connector = aiohttp.TCPConnector(
            limit=self.concurrency,
            limit_per_host=self.per_host_limit,
            resolver=GuardedResolver(
                allow_private=self.allow_private, private_hosts=self.private_hosts
            ),
            ttl_dns_cache=300,
        )
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=s.connect_timeout, sock_read=s.read_timeout
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=timeout,
            headers={"User-Agent": s.user_agent},
            auto_decompress=True,
            trust_env=False,
            cookie_jar=aiohttp.DummyCookieJar(),  # feeds are public; no tracking state
        )
        self._all = asyncio.Semaphore(self.concurrency)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _host_slot(self, url: URL) -> asyncio.Semaphore:
        key = f"{url.host}:{url.port}"
        slot = self._hosts.get(key)
        if slot is None:
            slot = self._hosts[key] = asyncio.Semaphore(self.per_host_limit)
        return slot

    async def fetch(
        self,
        url: str,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str = FEED_ACCEPT,
    ) -> FetchResult:
        """GET a feed, conditionally when validators are given. Never raises for I/O."""
        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        return await self._get(url, headers)

    async def fetch_page(self, url: str) -> FetchResult:
        """GET an article page (HTML) for the analysis stage."""
        return await self._get(url, {"Accept": HTML_ACCEPT})

    async def _get(self, url: str, headers: Mapping[str, str]) -> FetchResult:
        if self._session is None or self._all is None:
            raise RuntimeError("FeedFetcher is not open; use `async with FeedFetcher(...)`")
        started = time.monotonic()
        state = _Hops(url)
        try:
            first = parse_url(url)
            # Wait for the host's slot before taking a global one, so a busy host never holds
            # global slots idle; the timeout starts once we may actually connect.
            async with (
                self._host_slot(first),
                self._all,
                asyncio.timeout(self.config.total_timeout),
            ):
                result = await self._follow(first, headers, state)
        except UnsafeUrl as exc:
            result = state.failure(f"unsafe URL: {exc.reason}")
        except _TooManyRedirects as exc:
            result = state.failure(str(exc))
        except _TooLarge:
            limit = self.config.max_body_bytes
            result = state.failure(f"body larger than {limit} bytes", status=state.status)
        except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
            result = state.failure(_describe(exc), status=state.status)
        return replace(result, elapsed=time.monotonic() - started)

    async def _follow(self, url: URL, headers: Mapping[str, str], state: _Hops) -> FetchResult:
        assert self._session is not None
        current = await check_url(url, allow_private=self._allows_private(url))
        for _hop in range(self.max_redirects + 1):
            state.current = str(current)
            async with self._session.get(current, headers=headers, allow_redirects=False) as resp:
                state.status = resp.status
                if resp.status in REDIRECT_STATUSES and "Location" in resp.headers:
                    target = current.join(URL(resp.headers["Location"]))
                    state.redirected(resp.status, str(target))
                    await resp.release()
                    # Re-check every hop: a public feed may redirect into the private network.
                    current = await check_url(target, allow_private=self._allows_private(target))
                    continue
                return await self._finish(resp, state)
        raise _TooManyRedirects(self.max_redirects)

    def _allows_private(self, url: URL) -> bool:
        return self.allow_private or (
            bool(self.private_hosts) and host_key(url.host or "") in self.private_hosts
        )

    async def _finish(self, resp: aiohttp.ClientResponse, state: _Hops) -> FetchResult:
        h = resp.headers
        base = FetchResult(
            url=state.url,
            final_url=state.current,
            status=resp.status,
            permanent_redirect_url=state.permanent,
            etag=h.get("ETag"),
            last_modified=h.get("Last-Modified"),
            content_type=h.get("Content-Type"),
            retry_after=parse_retry_after(h.get("Retry-After")),
            max_age=parse_max_age(h.get("Cache-Control")),
        )
        if resp.status == 304:
            return replace(base, not_modified=True)
        if not 200 <= resp.status < 300:
            reason = f" {resp.reason}" if resp.reason else ""
            return replace(base, error=f"HTTP {resp.status}{reason}")
        return replace(base, body=await self._read_limited(resp, h))

    async def _read_limited(
        self, resp: aiohttp.ClientResponse, headers: CIMultiDictProxy[str]
    ) -> bytes:
        limit = self.config.max_body_bytes
        declared = headers.get("Content-Length")
        # Content-Length counts compressed bytes; only an identity body can be refused early.
        identity = not headers.get("Content-Encoding")
        if identity and declared and declared.isdigit() and int(declared) > limit:
            raise _TooLarge
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_chunked(_CHUNK):  # decompressed bytes
            size += len(chunk)
            if size > limit:
                raise _TooLarge
            chunks.append(chunk)
        return b"".join(chunks)


class _TooManyRedirects(ValueError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} redirects")


class _Hops:
    """Mutable bookkeeping for one fetch's redirect chain."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.current = url
        self.status: int | None = None
        self.permanent: str | None = None
        self._only_permanent = True

    def redirected(self, status: int, target: str) -> None:
        # Only a chain of permanent moves from the start changes the stored URL.
        if status in PERMANENT_REDIRECTS and self._only_permanent:
            self.permanent = target
        else:
            self._only_permanent = False
        self.status = None

    def failure(self, error: str, status: int | None = None) -> FetchResult:
        return FetchResult(
            url=self.url,
            final_url=self.current,
            status=status,
            permanent_redirect_url=self.permanent,
            error=error,
        )


__all__ = [
    "FEED_ACCEPT",
    "HTML_ACCEPT",
    "FeedFetcher",
    "FetchResult",
    "UnsafeUrl",
    "parse_max_age",
    "parse_retry_after",
]
