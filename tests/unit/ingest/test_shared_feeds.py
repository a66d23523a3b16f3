"""Every real-world sample in ../shared/feeds parses, and its entry keys are stable."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from koreapage_bot.ingest.parse import parse_feed

SHARED_FEEDS = Path(__file__).resolve().parents[3] / ".." / "shared" / "feeds"
SUFFIXES = {".xml", ".rss", ".atom", ".rdf"}
FILES = (
    sorted(p for p in SHARED_FEEDS.glob("*") if p.suffix in SUFFIXES)
    if SHARED_FEEDS.is_dir()
    else []
)
# The 2,930-item archive takes seconds per parse; it is measured in bench/ instead of
# being parsed twice here (it is still parsed once below).
LARGE = 1_000_000

pytestmark = [
    pytest.mark.shared,
    pytest.mark.skipif(not FILES, reason=f"../shared/feeds not found at {SHARED_FEEDS}"),
]


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
async def test_sample_parses_with_stable_unique_keys(path: Path) -> None:
    body = await asyncio.to_thread(path.read_bytes)
    base = f"https://samples.example/{path.name}"
    first = await parse_feed(body, base)
    keys = [e.key for e in first.entries]
    assert len(keys) == len(set(keys)), "keys must be unique within a feed"
    assert all(k.startswith(("id:", "link:", "hash:")) for k in keys)
    for entry in first.entries:
        assert entry.title
        assert entry.published is None or entry.published.utcoffset() is not None
        assert entry.url is None or entry.url.startswith(("http://", "https://"))
    if len(body) < LARGE:
        again = await parse_feed(body, base)
        assert [e.key for e in again.entries] == keys


NO_GUID = [
    "rsparser__aktuality.rss",
    "rsparser__macworld.rss",
    "rsparser__donthitsave.xml",
    "rsparser__phpxml.rss",
    "feedjira__RSSWithComments.xml",
    "nodefeedparser__iconv.xml",
]


@pytest.mark.parametrize("name", NO_GUID)
async def test_entries_without_guids_get_stable_non_id_keys(name: str) -> None:
    path = SHARED_FEEDS / name
    if not path.exists():
        pytest.skip(f"{name} not in ../shared/feeds")
    body = await asyncio.to_thread(path.read_bytes)
    parsed = await parse_feed(body, "https://samples.example/f")
    keys = [e.key for e in parsed.entries]
    assert keys and not any(k.startswith("id:") for k in keys)
    # A second parse of the same bytes yields the same keys (no clock, no randomness).
    assert keys == [e.key for e in (await parse_feed(body, "https://samples.example/f")).entries]


async def test_korean_legacy_encoding_is_decoded() -> None:
    path = SHARED_FEEDS / "feedparser__euc-kr.xml"
    if not path.exists():
        pytest.skip("euc-kr sample not in ../shared/feeds")
    parsed = await parse_feed(await asyncio.to_thread(path.read_bytes), "https://samples.example/k")
    assert parsed.title == "\ub144"
