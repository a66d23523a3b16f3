"""CpuPool: parsing and analysis in worker processes once the work is parallel, threads
before; the same results either way; a clean shutdown."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from koreapage_bot.analysis.pipeline import OfflineAnalyzer
from koreapage_bot.analysis.taxonomy import load_taxonomy
from koreapage_bot.config import AnalysisConfig
from koreapage_bot.cpu import CpuPool
from koreapage_bot.domain import ArticleInput
from koreapage_bot.ingest.parse import NotAFeed, parse_feed, parse_feed_sync
from koreapage_bot.workers import init_analysis

FEED = Path(__file__).resolve().parents[1] / "fixtures" / "feeds" / "alliance.xml"
PAGE = b"<!doctype html><html><head><link rel='alternate' type='application/rss+xml' "
PAGE += b"href='/rss.xml'></head><body>hi</body></html>"


def _articles() -> list[ArticleInput]:
    parsed = parse_feed_sync(FEED.read_bytes(), "https://example.org/feed")
    return [
        ArticleInput(id=e.key, title=e.title, html=e.content or e.summary or "", url=e.url)
        for e in parsed.entries
    ]


def _pool(workers: int) -> tuple[CpuPool, OfflineAnalyzer]:
    config = AnalysisConfig()
    taxonomy = load_taxonomy(None)
    pool = CpuPool(workers, initializer=init_analysis, initargs=(config, taxonomy))
    return pool, OfflineAnalyzer(config, taxonomy, pool)


async def test_parallel_work_goes_to_processes_with_the_same_results() -> None:
    pool, analyzer = _pool(2)
    articles = _articles()
    try:
        alone = await analyzer.analyze(articles[0])
        assert not pool.processes  # one job at a time: a thread, no processes started
        together = await asyncio.gather(*(analyzer.analyze(a) for a in articles))
        assert pool.processes
        assert together == [OfflineAnalyzer().analyze_now(a) for a in articles]
        assert together[0] == alone
        parsed = await parse_feed(FEED.read_bytes(), "https://example.org/feed", None, pool)
        assert parsed == parse_feed_sync(FEED.read_bytes(), "https://example.org/feed")
        # NotAFeed crosses the process boundary with the feeds the page links to.
        with pytest.raises(NotAFeed) as caught:
            await parse_feed(PAGE, "https://example.org/", "text/html", pool)
        assert [link.url for link in caught.value.links] == ["https://example.org/rss.xml"]
        workers = [p.pid for p in pool._pool._processes.values()]  # type: ignore[union-attr]
        assert workers and os.getpid() not in workers
    finally:
        await pool.aclose()
    assert not pool.processes
    for pid in workers:  # every worker is gone after the shutdown
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


async def test_one_worker_never_starts_processes() -> None:
    pool, analyzer = _pool(1)
    try:
        await asyncio.gather(*(analyzer.analyze(a) for a in _articles()))
        assert not pool.processes
    finally:
        await pool.aclose()
