"""An archive of invented briefs, and the bot's HTTP server with the web archive mounted.

Briefs are written through the store's own `store_post`, as the poller writes them, so the
pages read what a running bot would have stored.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from koreapage_bot.analysis.taxonomy import load_taxonomy
from koreapage_bot.config import ServerConfig, WebConfig
from koreapage_bot.domain import Analysis, Brief, Feed, FeedEntry, KeyIssue
from koreapage_bot.http import HttpServer
from koreapage_bot.ports import FeedPollUpdate, NewPost
from koreapage_bot.store.store import Store
from koreapage_bot.web import WebArchive, mount_web

START = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
# Files a person looks at after the run (screenshots); ignored by git, listed at the end.
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
written_artifacts: list[tuple[str, Path]] = []
HOSTILE_TITLE = 'Allies meet <script>alert("title")</script><img src=x onerror="alert(1)"> on USFK'
HOSTILE_SUMMARY = "Talks went well </p><script>document.title='pwned'</script> said officials."
KOREAN_TITLE = "한미 방위비 분담금 협상 타결"
KOREAN_SUMMARY = "한국과 미국이 주한미군 방위비 분담금 특별협정에 합의했다고 외교부가 밝혔다."


@dataclass(frozen=True)
class Spec:
    """One invented brief."""

    title: str
    summary: str
    issues: tuple[tuple[str, str], ...] = (("usfk", "USFK troop presence"),)
    author: str | None = "Jane Doe"
    url: str | None = "https://alliance.example/p/1"
    published: datetime | None = START
    relevance: float = 0.8


@dataclass
class Archive:
    store: Store
    feed: Feed
    briefs: list[Brief] = field(default_factory=list)  # in the order written


async def add_feed(store: Store, name: str = "Alliance Monitor") -> Feed:
    feed, _ = await store.feeds.add("https://alliance.example/feed.xml", name, now=START)
    # The feed's own site link, as a poll would have recorded it.
    await store.feeds.apply_poll(
        feed.id,
        FeedPollUpdate(
            next_poll_at=START,
            state=feed.state,
            consecutive_failures=0,
            last_error=None,
            etag=None,
            last_modified=None,
            content_hash=None,
            site_url="https://alliance.example/",
        ),
        START,
    )
    got = await store.feeds.get(feed.id)
    assert got is not None
    return got


async def write_brief(
    store: Store, feed: Feed, spec: Spec, n: int, created: datetime, story: int | None = None
) -> Brief:
    key_issues = tuple(KeyIssue(i, label, 1.0) for i, label in spec.issues)
    entry = FeedEntry(
        key=f"id:{n}",
        url=spec.url,
        title=spec.title,
        author=spec.author,
        published=spec.published,
        summary=spec.summary,
        content=None,
    )
    analysis = Analysis(
        relevant=True,
        relevance=spec.relevance,
        key_issues=key_issues,
        author=spec.author,
        summary=spec.summary,
        why=("test",),
        text=f"{spec.title}. {spec.summary}",
    )
    stored = await store.briefs.store_post(
        feed, NewPost(entry, analysis, f"hash-{n}", True), now=created, story=story
    )
    assert stored.brief is not None
    return stored.brief


def numbered(count: int) -> list[Spec]:
    """`count` ordinary briefs, one a day, alternating between two key issues."""
    specs = []
    for n in range(count):
        usfk, gsomia = ("usfk", "USFK troop presence"), ("gsomia", "GSOMIA intelligence sharing")
        issue = usfk if n % 2 else gsomia
        specs.append(
            Spec(
                title=f"Alliance report number {n:02d}",
                summary=f"Officials in Seoul and Washington discussed item {n:02d} of the agenda.",
                issues=(issue,),
                url=f"https://alliance.example/p/{n}",
                published=START + timedelta(days=n),
            )
        )
    return specs


async def seed(store: Store, specs: list[Spec]) -> Archive:
    feed = await add_feed(store)
    archive = Archive(store, feed)
    for n, spec in enumerate(specs):
        created = START + timedelta(days=n, hours=1)
        archive.briefs.append(await write_brief(store, feed, spec, n, created))
    return archive


@asynccontextmanager
async def serve(store: Store, config: WebConfig | None = None) -> AsyncIterator[HttpServer]:
    """The bot's HTTP server on 127.0.0.1, port 0, with the archive mounted."""
    server = HttpServer(ServerConfig(host="127.0.0.1", port=0))
    archive: WebArchive = mount_web(
        server, store, load_taxonomy(None).issues, config or WebConfig(enabled=True, page_size=5)
    )
    assert archive is not None
    async with server:
        yield server


def record_artifact(what: str, path: Path) -> None:
    written_artifacts.append((what, path))
