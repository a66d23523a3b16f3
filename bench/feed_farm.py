"""A local farm of feeds for the poll benchmarks, in a process of its own.

    .venv/bin/python bench/feed_farm.py [--feeds 1000] [--items 20] [--latency 0.05]
                                        [--hosts 200] [--info-file PATH] [--lifetime 3600]

N feeds of 20 items each, spread over many loopback addresses (127.10.x.y: Linux routes all
of 127.0.0.0/8 to `lo`), all on one port, so that a client's per-host limit sees many hosts as
it would on the Internet. Every feed answers after `--latency` seconds, with an ETag and a
Last-Modified, and 304 when the client's validators match (If-None-Match first, then
If-Modified-Since); bodies are gzipped when the client accepts it. Items are composed from the
real feed texts in ../shared/feeds/ mixed with Korea-alliance sentences (those of
bench/search.py), so parsing and analysis see realistic text; without ../shared the farm
prints why and exits with status 3.

When it is ready it prints one line and writes its description (JSON: the control URL and
every feed's URL and title) to `--info-file` (atomically), or prints it with `--print-info`.

Control, on http://127.0.0.1:PORT/_farm (never delayed):
    GET  /_farm/info                    the description above
    POST /_farm/change?share=0.05&seed=1   change that share of the feeds (one new item on
                                        top, the oldest dropped; new ETag and Last-Modified);
                                        answers {"changed": [feed ids]}. `count=` instead of
                                        `share=`; `new=` items per change (default 1)
    GET  /_farm/stats[?per_feed=1]      requests, 200s, 304s, other paths, feeds requested,
                                        feeds requested more than once, first/last request
                                        (Unix time), bytes sent; per feed [requests, 304s]
    POST /_farm/reset                   zero the counters (the request log is kept)
    GET  /_farm/log?after=SEQ           the request log after SEQ: [seq, unix time, feed id,
                                        status] (feed requests only)

    curl -s -XPOST 'http://127.0.0.1:PORT/_farm/change?share=0.05&seed=2'

It stops by itself after `--lifetime` seconds, or when `--parent-pid` is gone, or on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import hashlib
import html
import json
import os
import random
import signal
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Any

from aiohttp import web

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))  # for tests.fakes
sys.path.insert(0, str(BENCH))  # for the corpus of bench/search.py

from tests.fakes.feed_server import Item, render_atom, render_rss  # noqa: E402

from search import AUTHORS, CORE, FEEDS, HEADLINES, TOPICS, Source, _fill, load_sources  # noqa: E402

T0 = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)
LM_EPOCH = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
CONTROL = "/_farm"
RSS_TYPE = "application/rss+xml; charset=utf-8"
ATOM_TYPE = "application/atom+xml; charset=utf-8"
LOG_LIMIT = 2_000_000  # request-log entries kept (oldest dropped first)
DESKS = (
    "Peninsula Desk",
    "Alliance Monitor",
    "Seoul Dispatch",
    "Korea Watch",
    "Pacific Security Notes",
    "East Asia Brief",
)


def host_address(h: int) -> str:
    """The loopback address of farm host `h` (127.10.0.1, 127.10.0.2, …)."""
    return f"127.10.{h // 250}.{h % 250 + 1}"


@dataclass
class FarmFeed:
    id: int
    host: str
    path: str
    kind: str  # "rss" or "atom"
    title: str
    newest: int  # index of the newest item; items are newest-20+1 .. newest
    version: int = 0
    body: bytes = b""
    gz: bytes = b""
    etag: str = ""
    last_modified: str = ""
    requests: int = 0
    not_modified: int = 0


@dataclass
class Counters:
    requests: int = 0
    ok: int = 0
    not_modified: int = 0
    other: int = 0
    bytes: int = 0
    first: float | None = None
    last: float | None = None


@dataclass
class Farm:
    sources: list[list[Source]]  # grouped by the shared feed they come from
    items: int
    latency: float
    port: int = 0
    feeds: list[FarmFeed] = field(default_factory=list)
    by_path: dict[str, FarmFeed] = field(default_factory=dict)
    counters: Counters = field(default_factory=Counters)
    log: list[tuple[int, float, int, int]] = field(default_factory=list)
    seq: int = 0

    # -- documents -------------------------------------------------------------------------

    def item(self, feed: FarmFeed, k: int) -> Item:
        """Item `k` of `feed`: the same text every time it is rendered."""
        rng = random.Random(feed.id * 1_000_003 + k)
        # A source feed first, then one of its entries: the 2,930 short items of one shared
        # feed would otherwise make most of the text.
        src = rng.choice(rng.choice(self.sources))
        paragraphs = list(rng.sample(src.chunks, min(len(src.chunks), rng.randint(1, 3))))
        alliance = rng.random() < 0.4
        if alliance:
            told = " ".join(_fill(rng, s) for s in rng.sample(CORE, rng.randint(1, 3)))
            paragraphs.insert(0, told)
            for share, sentences in TOPICS:
                if rng.random() < share * 2:
                    paragraphs.insert(rng.randint(0, len(paragraphs)), _fill(rng, sentences[0]))
            title = _fill(rng, rng.choice(HEADLINES))
        else:
            if rng.random() < 0.15:  # Korea in passing, in a story about something else
                paragraphs.append(_fill(rng, rng.choice(CORE)))
            title = src.title or "Untitled"
        body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
        return Item(
            title=title,
            link=f"http://{feed.host}:{self.port}/a/{feed.id}/{k}",
            guid=f"farm-{feed.id}-{k}",
            published=T0 + timedelta(hours=k, minutes=feed.id % 60),
            description=body,
            author=rng.choice(AUTHORS),
        )

    def render(self, feed: FarmFeed) -> None:
        items = [self.item(feed, k) for k in range(feed.newest, feed.newest - self.items, -1)]
        link = f"http://{feed.host}:{self.port}/"
        if feed.kind == "atom":
            feed.body = render_atom(
                items, title=feed.title, link=link, feed_id=f"urn:farm:{feed.id}"
            )
        else:
            feed.body = render_rss(items, title=feed.title, link=link, description=feed.title)
        feed.gz = gzip.compress(feed.body, compresslevel=6)
        feed.etag = '"' + hashlib.sha1(feed.body).hexdigest()[:20] + '"'
        feed.last_modified = format_datetime(
            LM_EPOCH + timedelta(minutes=feed.version), usegmt=True
        )

    def build(self, n: int, hosts: int, atom_share: float, seed: int) -> None:
        rng = random.Random(seed)
        shapes = ("/feed/{id}", "/rss/{id}.xml", "/news/{id}/rss", "/atom/{id}.xml")
        for i in range(n):
            kind = "atom" if rng.random() < atom_share else "rss"
            shape = shapes[3] if kind == "atom" else shapes[i % 3]
            feed = FarmFeed(
                id=i,
                host=host_address(i % hosts),
                path=shape.format(id=i),
                kind=kind,
                title=f"{DESKS[i % len(DESKS)]} {i}",
                newest=1000 + self.items,
            )
            self.render(feed)
            self.feeds.append(feed)
            self.by_path[feed.path] = feed

    def change(self, ids: list[int], new: int) -> None:
        for i in ids:
            feed = self.feeds[i]
            feed.newest += new
            feed.version += 1
            self.render(feed)

    def info(self) -> dict[str, Any]:
        return {
            "control": f"http://127.0.0.1:{self.port}{CONTROL}",
            "port": self.port,
            "latency": self.latency,
            "items": self.items,
            "hosts": len({f.host for f in self.feeds}),
            "feeds": [
                {"id": f.id, "url": f"http://{f.host}:{self.port}{f.path}", "title": f.title}
                for f in self.feeds
            ],
        }

    # -- serving ---------------------------------------------------------------------------

    def _count(self, feed: FarmFeed | None, status: int, size: int) -> None:
        now = time.time()
        c = self.counters
        c.requests += 1
        c.bytes += size
        c.first = c.first if c.first is not None else now
        c.last = now
        if feed is None:
            c.other += 1
            return
        feed.requests += 1
        if status == 304:
            c.not_modified += 1
            feed.not_modified += 1
        elif status == 200:
            c.ok += 1
        self.seq += 1
        self.log.append((self.seq, now, feed.id, status))
        if len(self.log) > LOG_LIMIT:
            del self.log[: LOG_LIMIT // 10]

    async def serve(self, request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(self.latency)
        feed = self.by_path.get(request.path)
        if feed is None or request.host.split(":")[0] != feed.host:
            self._count(None, 404, 0)
            return web.Response(status=404, text="not here")
        headers = {"ETag": feed.etag, "Last-Modified": feed.last_modified}
        if _not_modified(request, feed):
            self._count(feed, 304, 0)
            return web.Response(status=304, headers=headers)
        headers["Content-Type"] = ATOM_TYPE if feed.kind == "atom" else RSS_TYPE
        if "gzip" in request.headers.get("Accept-Encoding", ""):
            headers["Content-Encoding"] = "gzip"
            body = feed.gz
        else:
            body = feed.body
        self._count(feed, 200, len(body))
        return web.Response(body=body, headers=headers)

    # -- control ---------------------------------------------------------------------------

    async def c_info(self, request: web.Request) -> web.Response:
        return web.json_response(self.info())

    async def c_change(self, request: web.Request) -> web.Response:
        q = request.query
        rng = random.Random(int(q.get("seed", "1")))
        count = int(q["count"]) if "count" in q else round(len(self.feeds) * float(q["share"]))
        ids = sorted(rng.sample(range(len(self.feeds)), min(count, len(self.feeds))))
        self.change(ids, int(q.get("new", "1")))
        return web.json_response({"changed": ids})

    async def c_stats(self, request: web.Request) -> web.Response:
        c = self.counters
        requested = [f for f in self.feeds if f.requests]
        out: dict[str, Any] = {
            "requests": c.requests,
            "ok": c.ok,
            "not_modified": c.not_modified,
            "other": c.other,
            "bytes": c.bytes,
            "first": c.first,
            "last": c.last,
            "feeds": len(self.feeds),
            "feeds_requested": len(requested),
            "feeds_requested_more_than_once": sum(f.requests > 1 for f in requested),
            "max_requests_per_feed": max((f.requests for f in requested), default=0),
        }
        if request.query.get("per_feed"):
            out["per_feed"] = {f.id: [f.requests, f.not_modified] for f in requested}
        return web.json_response(out)

    async def c_reset(self, request: web.Request) -> web.Response:
        self.counters = Counters()
        for f in self.feeds:
            f.requests = f.not_modified = 0
        return web.json_response({"ok": True})

    async def c_log(self, request: web.Request) -> web.Response:
        after = int(request.query.get("after", "0"))
        start = 0
        if self.log and after >= self.log[0][0]:
            start = after - self.log[0][0] + 1
        return web.json_response({"entries": self.log[start:]})


def _not_modified(request: web.Request, feed: FarmFeed) -> bool:
    inm = request.headers.get("If-None-Match")
    if inm is not None:
        return feed.etag in [tag.strip() for tag in inm.split(",")] or inm.strip() == "*"
    ims = request.headers.get("If-Modified-Since")
    if ims is not None:
        try:
            since = parsedate_to_datetime(ims)
        except (TypeError, ValueError):
            return False
        return LM_EPOCH + timedelta(minutes=feed.version) <= since
    return False


async def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    groups: dict[str, list[Source]] = {}
    for source in load_sources():
        groups.setdefault(source.feed, []).append(source)
    farm = Farm(list(groups.values()), args.items, args.latency)
    app = web.Application()
    app.router.add_get(CONTROL + "/info", farm.c_info)
    app.router.add_post(CONTROL + "/change", farm.c_change)
    app.router.add_get(CONTROL + "/stats", farm.c_stats)
    app.router.add_post(CONTROL + "/reset", farm.c_reset)
    app.router.add_get(CONTROL + "/log", farm.c_log)
    app.router.add_route("GET", "/{tail:.*}", farm.serve)
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
    await runner.setup()
    hosts = min(args.hosts, args.feeds)
    for _attempt in range(5):
        control = web.TCPSite(runner, "127.0.0.1", args.port, backlog=1024)
        await control.start()
        farm.port = control._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        try:
            for h in range(hosts):
                await web.TCPSite(runner, host_address(h), farm.port, backlog=1024).start()
            break
        except OSError:  # the port is taken on one of the addresses: try another port
            await runner.cleanup()
            runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
            await runner.setup()
            farm.port = 0
    else:
        print("feed farm: cannot bind one port on every loopback address", file=sys.stderr)
        return 1
    farm.build(args.feeds, hosts, args.atom_share, args.seed)
    info = farm.info()
    if args.info_file:
        write_atomically(Path(args.info_file), json.dumps(info))
    if args.print_info:
        print(json.dumps(info), flush=True)
    size = sum(len(f.body) for f in farm.feeds) / len(farm.feeds)
    print(
        f"feed farm ready in {time.perf_counter() - started:.1f} s: {args.feeds} feeds x "
        f"{args.items} items (mean {size / 1024:.0f} KiB) on {hosts} hosts, "
        f"{args.latency * 1000:.0f} ms latency, control {info['control']}",
        flush=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    deadline = time.monotonic() + args.lifetime
    while not stop.is_set() and time.monotonic() < deadline:
        if args.parent_pid and not _alive(args.parent_pid):
            break
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)
    await runner.cleanup()
    return 0


def write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--feeds", type=int, default=1000)
    ap.add_argument("--items", type=int, default=20)
    ap.add_argument("--latency", type=float, default=0.05, help="seconds before each answer")
    ap.add_argument("--hosts", type=int, default=200, help="loopback addresses to spread over")
    ap.add_argument("--atom-share", type=float, default=0.25)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--info-file", default=None)
    ap.add_argument("--print-info", action="store_true")
    ap.add_argument("--lifetime", type=float, default=3600.0, help="stop after this many s")
    ap.add_argument("--parent-pid", type=int, default=0, help="stop when this process is gone")
    args = ap.parse_args()
    if not FEEDS.is_dir():
        print(f"feed farm: skipped, {FEEDS} is absent (the item texts come from it)")
        return 3
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
