"""Search and list latency over a large archive, on SQLite and on the local PostgreSQL.

    .venv/bin/python bench/search.py [--briefs 100000] [--rounds 20] [--engines sqlite,postgres]
                                     [--keep DIR] [--no-cli]

Builds an archive of briefs composed from the real feed texts in ../shared/feeds/ (parsed with
the project's parser) mixed with Korea-alliance sentences written for this bench, so that most
briefs say "Korea" and few say "GSOMIA". Rows go in through the tables the migrations create
(bulk inserts; the FTS triggers and generated columns do their work as in production). Then it
times the product's own calls, `BriefRepository.search` and `BriefRepository.latest`, per query
class: p50 / p95 / max milliseconds, with the number of briefs each query matches. Finally the
CLI end to end (`koreapage-bot briefs search …`, process start to exit) against the SQLite
archive, and how much of that is importing modules (`python -X importtime`).

PostgreSQL: 127.0.0.1:5432 (KOREAPAGE_BENCH_PG to change), a database of its own, dropped at
the end. Exits with a message when ../shared is absent; skips PostgreSQL when unreachable.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from koreapage_bot.ingest.identity import inline_text
from koreapage_bot.ingest.parse import NotAFeed, parse_feed_sync
from koreapage_bot.ports import SubscriptionSpec
from koreapage_bot.store import tables as t
from koreapage_bot.store.store import Store

REPO = Path(__file__).resolve().parents[1]
FEEDS = (REPO / ".." / "shared" / "feeds").resolve()
PG_ADMIN = os.environ.get("KOREAPAGE_BENCH_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
T0 = datetime(2023, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=3 * 365)

# -- the Korea side of the corpus (written for this bench) ----------------------------------

PLACES = ("Seoul", "Washington", "Pyeongtaek", "Busan", "Camp Humphreys", "Osan", "Tokyo")
OFFICIALS = (
    "the defense minister",
    "a senior State Department official",
    "the presidential office",
    "lawmakers of the ruling party",
    "the Joint Chiefs of Staff",
    "a Pentagon spokesperson",
)
CORE = (
    "Officials in {place} said the alliance between the United States and South Korea "
    "remained the anchor of security on the Korean Peninsula.",
    "South Korea and the United States agreed on {day} to deepen coordination on North "
    "Korea, {official} said after talks in {place}.",
    "The meeting in {place} was the {n}th round of consultations this year between Seoul and "
    "Washington on the future of the alliance.",
    "Analysts in {place} said North Korea would watch how South Korea answers Washington's "
    "request, and {official} declined to comment.",
    "{official} told reporters in {place} that the alliance with South Korea was ironclad.",
    "North Korea fired {n} short-range missiles toward the East Sea, and South Korea's "
    "military said it had tracked the launches with the United States.",
    "South Korean public opinion on the alliance has shifted, a survey of {n},000 adults "
    "published in {place} found.",
    "The two allies said joint planning for a crisis on the Korean Peninsula would continue, "
    "according to {official}.",
)
HEADLINES = (
    "Seoul and Washington talk alliance ahead of summit in {place}",
    "South Korea weighs US request after talks in {place}",
    "North Korea launches test prompt allied response",
    "Allies review Korea posture as {official} visits {place}",
    "What the latest Korea talks mean for the alliance",
)
# (probability per brief, sentences): mid-frequency topics, a frequent phrase, rare names.
TOPICS: tuple[tuple[float, tuple[str, ...]], ...] = (
    (
        0.15,
        (
            "Joint exercises of the two militaries resume next month near {place}.",
            "The allies scaled back joint exercises last spring, {official} said.",
        ),
    ),
    (
        0.08,
        (
            "Negotiators met in {place} on defense cost sharing under the Special Measures "
            "Agreement.",
        ),
    ),
    (
        0.035,
        ("The THAAD battery in Seongju drew new protests, {official} said in {place}.",),
    ),
    (
        0.03,
        ("The transfer of wartime OPCON to Seoul was discussed by {official} in {place}.",),
    ),
    (
        0.004,
        (
            "Seoul kept the GSOMIA intelligence pact with Tokyo in force, {official} said.",
            "Washington urged Seoul not to let GSOMIA lapse.",
        ),
    ),
    (0.002, ("Ambassador Ingrid Halvorsen met {official} in {place}.",)),
    (0.002, ("Retired general Tobias Okonkwo-Lindqvist warned of a gap in readiness.",)),
)
AUTHORS = ("Mina Park", "Daniel Cho", "Sarah Lee", "Jae-won Kim", None, None)
ISSUES = (  # (issue id, share of briefs)
    ("north-korea", 0.30),
    ("usfk", 0.18),
    ("exercises", 0.12),
    ("trade", 0.08),
    ("cost-sharing", 0.07),
    ("china", 0.06),
    ("japan-trilateral", 0.05),
    ("missile-defense", 0.035),
    ("extended-deterrence", 0.02),
    ("opcon", 0.01),
    ("gsomia", 0.002),
)
LABELS = {i: i.replace("-", " ").title() for i, _ in ISSUES}

QUERIES: dict[str, tuple[str, ...]] = {
    "very common word": ("korea", "alliance", "south korea seoul", "korean peninsula"),
    "common phrase": ('"south korea"', '"joint exercises"', '"north korea" missiles'),
    "mid-frequency": ("thaad", "opcon", "cost sharing", "wartime opcon seoul"),
    "rare": ("gsomia", "halvorsen", "okonkwo-lindqvist", "gsomia tokyo"),
    "no AND match (OR)": (
        "korea zqxwvunknown",
        "thaad gsomia halvorsen",
        "gsomia flibbertigibbet",
        "opcon halvorsen okonkwo",
    ),
    "exclusion": ("korea -alliance", "exercises -thaad", "seoul -washington"),
}


@dataclass(frozen=True)
class Source:
    feed: str
    title: str
    chunks: tuple[str, ...]


def load_sources() -> list[Source]:
    sources: list[Source] = []
    for path in sorted(FEEDS.iterdir()):
        if path.suffix not in (".xml", ".rss", ".atom", ".rdf"):
            continue
        try:
            parsed = parse_feed_sync(path.read_bytes(), f"https://{path.stem}.example/")
        except NotAFeed:
            continue
        name = (parsed.title or path.stem)[:60]
        for entry in parsed.entries:
            body = inline_text(entry.content or entry.summary)
            chunks = tuple(_chunks(body))
            if chunks:
                sources.append(Source(name, entry.title[:200], chunks))
    return sources


def _chunks(body: str, size: int = 400) -> Iterator[str]:
    sentences = re.split(r"(?<=[.!?])\s+", body)
    chunk = ""
    for sentence in sentences:
        chunk = f"{chunk} {sentence}".strip()
        if len(chunk) >= size:
            yield chunk[:800]
            chunk = ""
    if len(chunk) > 40:
        yield chunk


def _fill(rng: random.Random, template: str) -> str:
    return template.format(
        place=rng.choice(PLACES),
        official=rng.choice(OFFICIALS),
        n=rng.randint(2, 40),
        day=rng.choice(("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")),
    )


@dataclass
class Brief:
    id: int
    feed: int
    title: str
    author: str | None
    text: str
    summary: str
    issues: list[str]
    published: datetime | None
    created_at: datetime


def compose(n: int, sources: list[Source], seed: int = 10) -> Iterator[Brief]:
    rng = random.Random(seed)
    step = SPAN / n
    feed_ids = {name: k for k, name in enumerate(sorted({s.feed for s in sources}), 1)}
    for i in range(n):
        src = rng.choice(sources)
        paragraphs = list(rng.sample(src.chunks, min(len(src.chunks), rng.randint(1, 3))))
        for _ in range(rng.randint(0, 2)):  # more real text from elsewhere in the archive
            paragraphs.append(rng.choice(rng.choice(sources).chunks))
        korea = rng.random() < 0.92
        if korea:
            told = " ".join(_fill(rng, s) for s in rng.sample(CORE, rng.randint(1, 3)))
            paragraphs.insert(0 if rng.random() < 0.7 else len(paragraphs), told)
        for share, sentences in TOPICS:
            if rng.random() < share:
                paragraphs.insert(
                    rng.randint(0, len(paragraphs)), _fill(rng, rng.choice(sentences))
                )
        body = "\n\n".join(paragraphs)
        title = _fill(rng, rng.choice(HEADLINES)) if korea and rng.random() < 0.5 else src.title
        created = T0 + step * i + timedelta(seconds=rng.randint(0, 600))
        roll = rng.random()
        if roll < 0.04:
            published: datetime | None = None  # undated: sorts by when it was stored
        elif roll < 0.07:
            published = created - timedelta(days=rng.randint(30, 900))  # a backfilled archive
        else:
            published = created - timedelta(minutes=rng.randint(5, 360))
        issues = [i for i, share in ISSUES if rng.random() < share][:3]
        yield Brief(
            id=i + 1,
            feed=feed_ids[src.feed],
            title=title,
            author=rng.choice(AUTHORS),
            text=body,
            summary=paragraphs[0][:400],
            issues=issues,
            published=published,
            created_at=created,
        )


# -- building the archive -------------------------------------------------------------------


async def build(store: Store, n: int, sources: list[Source]) -> float:
    t0 = time.perf_counter()
    now = T0
    feed_rows = [
        {
            "id": k,
            "url": f"https://feeds.example/{k}",
            "name": name,
            "state": "active",
            "next_poll_at": now,
            "consecutive_failures": 0,
            "baselined": True,
            "created_at": now,
        }
        for k, name in enumerate(sorted({s.feed for s in sources}), 1)
    ]
    names = {r["id"]: r["name"] for r in feed_rows}
    async with store.engine.begin() as conn:
        await conn.execute(t.feeds.insert(), feed_rows)
    batch: list[Brief] = []
    for brief in compose(n, sources):
        batch.append(brief)
        if len(batch) == 2000:
            await _insert(store.engine, batch, names)
            batch = []
    if batch:
        await _insert(store.engine, batch, names)
    if store.engine.dialect.name == "postgresql":
        async with store.engine.begin() as conn:
            for table in ("posts", "briefs", "feeds"):
                await conn.execute(
                    text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))")
                )
        # What autovacuum would have done by the time anyone searches: statistics, visibility
        # map and hint bits (VACUUM cannot run in a transaction block).
        async with store.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("VACUUM ANALYZE"))
    # SQLite: no ANALYZE, as the bot never runs one; its plans must not depend on statistics.
    return time.perf_counter() - t0


async def _insert(engine: AsyncEngine, batch: list[Brief], names: dict[int, str]) -> None:
    posts, briefs, issues = [], [], []
    for b in batch:
        labels = " ".join(LABELS[i] for i in b.issues)
        posts.append(
            {
                "id": b.id,
                "feed_id": b.feed,
                "entry_key": f"bench:{b.id}",
                "url": f"https://news.example/{b.id}",
                "title": b.title,
                "author": b.author,
                "published": b.published,
                "text": b.text,
                "content_hash": f"{b.id:064x}",
                "relevant": True,
                "relevance": 0.8,
                "analysis": {},
                "created_at": b.created_at,
                "updated_at": b.created_at,
            }
        )
        briefs.append(
            {
                "id": b.id,
                "post_id": b.id,
                "feed_id": b.feed,
                "title": b.title,
                "url": f"https://news.example/{b.id}",
                "author": b.author,
                "source": names[b.feed],
                "published": b.published,
                "summary": b.summary,
                "key_issues": [{"id": i, "label": LABELS[i]} for i in b.issues],
                "relevance": 0.8,
                # what store_post indexes: author, feed name, issue labels, the text
                "search_text": " ".join(filter(None, [b.author, names[b.feed], labels, b.text])),
                "created_at": b.created_at,
            }
        )
        issues.extend(
            {"brief_id": b.id, "issue_id": i, "rank": r, "sort_at": b.published or b.created_at}
            for r, i in enumerate(b.issues)
        )
    async with engine.begin() as conn:
        await conn.execute(t.posts.insert(), posts)
        await conn.execute(t.briefs.insert(), briefs)
        if issues:
            await conn.execute(t.brief_issues.insert(), issues)


# -- timing ---------------------------------------------------------------------------------


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def count_matches(store: Store, query: str) -> int:
    """How many briefs the search's AND form matches (untimed; for the report)."""
    from koreapage_bot.store.search import fts5_query, parse_query, websearch_query

    terms = parse_query(query)
    async with store.engine.connect() as conn:
        for any_term in (False, True):
            if store.engine.dialect.name == "sqlite":
                sql = "SELECT count(*) FROM briefs_fts WHERE briefs_fts MATCH :q"
                params = {"q": fts5_query(terms, any_term)}
            else:
                sql = (
                    "SELECT count(*) FROM briefs WHERE search_vector @@ "
                    "websearch_to_tsquery('english', :q)"
                )
                params = {"q": websearch_query(terms, any_term)}
            found = int((await conn.execute(text(sql), params)).scalar_one())
            if found or len(terms.phrases) < 2:
                return found if not any_term else -found  # negative: the OR fallback's count
    return 0


async def measure(store: Store, rounds: int) -> dict[str, tuple[list[float], str]]:
    results: dict[str, tuple[list[float], str]] = {}
    for name, queries in QUERIES.items():
        counts = [await count_matches(store, q) for q in queries]
        samples: list[float] = []
        for q in queries:
            await store.briefs.search(q)  # warm the cache: we time steady state
        for _ in range(rounds):
            for q in queries:
                t0 = time.perf_counter()
                await store.briefs.search(q, 10)
                samples.append((time.perf_counter() - t0) * 1000)
        shown = ", ".join(
            f"{q} ({c if c >= 0 else f'OR {-c}'})" for q, c in zip(queries, counts, strict=True)
        )
        results[name] = (samples, shown)
    lists: dict[str, list[tuple[int, str | None, int | None]]] = {
        "latest": [(5, None, None), (20, None, None)],
        "latest by issue": [(5, "north-korea", None), (5, "opcon", None), (20, "gsomia", None)],
        "latest by feed": [(5, None, 3), (20, None, 17)],
    }
    for name, calls in lists.items():
        samples = []
        for limit, issue, feed in calls:
            await store.briefs.latest(limit, issue=issue, feed_id=feed)
        for _ in range(rounds):
            for limit, issue, feed in calls:
                t0 = time.perf_counter()
                await store.briefs.latest(limit, issue=issue, feed_id=feed)
                samples.append((time.perf_counter() - t0) * 1000)
        results[name] = (samples, "; ".join(f"n={c[0]} issue={c[1]} feed={c[2]}" for c in calls))
    # /briefs digest with no digest yet: the newest briefs a subscription lets through.
    subs = []
    for n, issues in enumerate([(), ("opcon",), ("gsomia",)]):
        spec = SubscriptionSpec("discord", f"bench-{n}", issues=issues)
        subs.append((await store.subscriptions.upsert(spec, T0))[0])
    samples = []
    for _ in range(rounds):
        for sub in subs:
            t0 = time.perf_counter()
            await store.briefs.for_subscription_since(sub, None, 25)
            samples.append((time.perf_counter() - t0) * 1000)
    results["digest list"] = (samples, "n=25 issues=any; opcon; gsomia")
    return results


def report(engine: str, results: dict[str, tuple[list[float], str]]) -> None:
    print(f"\n{engine}: milliseconds per call (min / p50 / p95 / max), queries (briefs matched)")
    for name, (samples, shown) in results.items():
        print(
            f"  {name:<20} {min(samples):6.2f} {statistics.median(samples):7.2f}"
            f" {pct(samples, 0.95):7.2f} {max(samples):8.2f}   {shown}"
        )


async def run_engine(
    url: str, n: int, rounds: int, sources: list[Source], reuse: bool = False
) -> None:
    store = await Store.open(url)
    try:
        name = store.engine.dialect.name
        if reuse and await store.briefs.count() == n:
            print(f"{name}: reusing the archive of {n:,} briefs")
        else:
            took = await build(store, n, sources)
            print(f"{name}: built {n:,} briefs in {took:.0f} s")
        before = os.getloadavg()[0]
        results = await measure(store, rounds)
        # The machine may be shared: say how busy it was while timing.
        print(f"(load average {before:.1f} before timing, {os.getloadavg()[0]:.1f} after)")
        report(name, results)
    finally:
        await store.close()


async def admin(sql: str) -> None:
    engine = create_async_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


def pg_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


# -- the CLI end to end ---------------------------------------------------------------------


def cli(db: Path, runs: int = 5) -> None:
    # The checkout's own venv when it has one, else this interpreter on this checkout's
    # source (a git worktree sharing another checkout's venv).
    py = REPO / ".venv" / "bin" / "python"
    exe = [str(REPO / ".venv" / "bin" / "koreapage-bot")]
    env = {**os.environ, "KOREAPAGE_DATABASE_URL": f"sqlite+aiosqlite:///{db}"}
    if not py.exists():
        py = Path(sys.executable)
        exe = [str(py), "-m", "koreapage_bot"]
        env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), env.get("PYTHONPATH", "")])
    query = "korea alliance"
    walls = []
    for _ in range(runs):
        t0 = time.perf_counter()
        done = subprocess.run(
            [*exe, "briefs", "search", query], env=env, capture_output=True, text=True
        )
        walls.append(time.perf_counter() - t0)
        if done.returncode != 0:
            print(f"CLI failed ({done.returncode}): {done.stderr[-500:]}")
            return
    t0 = time.perf_counter()
    done = subprocess.run(
        [str(py), "-X", "importtime", "-m", "koreapage_bot", "briefs", "search", query],
        env=env,
        capture_output=True,
        text=True,
    )
    traced_wall = time.perf_counter() - t0
    imports = 0
    by_package: dict[str, int] = {}
    for line in done.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)", line)
        if not m:
            continue
        if not m.group(3):  # a top-level import: its cumulative time covers its children
            imports += int(m.group(2))
        root = m.group(4).split(".")[0]
        by_package[root] = by_package.get(root, 0) + int(m.group(1))
    wall = statistics.median(walls)
    print(
        f"\nCLI `koreapage-bot briefs search {query!r}` on the SQLite archive, {runs} runs:"
        f" median {wall:.2f} s, max {max(walls):.2f} s"
    )
    print(
        f"  under python -X importtime: {traced_wall:.2f} s, of which imports {imports / 1e6:.2f} s"
        f" ({imports / 1e6 / traced_wall:.0%})"
    )
    heavy = sorted(by_package.items(), key=lambda kv: -kv[1])[:10]
    print("  import time by package: " + ", ".join(f"{n} {us / 1e6:.2f}s" for n, us in heavy))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--briefs", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--engines", default="sqlite,postgres")
    ap.add_argument(
        "--keep",
        type=Path,
        help="keep the SQLite archive in this directory (and reuse it when it is there)",
    )
    ap.add_argument("--no-cli", action="store_true")
    args = ap.parse_args()
    if not FEEDS.is_dir():
        print(f"skipped: {FEEDS} is absent (../shared ships beside the repository)")
        return 0
    sources = load_sources()
    print(f"{len(sources)} feed entries from {FEEDS}")
    engines = args.engines.split(",")
    if "sqlite" in engines:
        with tempfile.TemporaryDirectory() as tmp:
            where = args.keep or Path(tmp)
            where.mkdir(parents=True, exist_ok=True)
            db = where / "bench-search.db"
            if not args.keep:
                db.unlink(missing_ok=True)
            url = f"sqlite+aiosqlite:///{db}"
            asyncio.run(run_engine(url, args.briefs, args.rounds, sources, reuse=True))
            if not args.no_cli:
                cli(db)
    if "postgres" in engines:
        if not pg_reachable():
            print("\npostgresql: skipped, nothing listens on 127.0.0.1:5432")
            return 0
        name = f"koreapage_bench_{os.getpid()}"
        asyncio.run(admin(f'CREATE DATABASE "{name}"'))
        try:
            url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
            asyncio.run(run_engine(url, args.briefs, args.rounds, sources))
        finally:
            asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    return 0


if __name__ == "__main__":
    sys.exit(main())
