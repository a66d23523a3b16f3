"""Full-text search over briefs: what a user typed, made safe, and ranked on each backend.

Users type `cost sharing`, `"cost sharing" usfk`, `THAAD -china` or stray punctuation; none of
it may reach the FTS grammar raw (an unbalanced quote is an FTS5 syntax error).

Ranking only what can be shown. A word that nine briefs in ten contain matches ~90,000 briefs
of a 100,000-brief archive; scoring them all to show ten costs a tenth of a second or more.
So each query takes its newest WINDOW matches, a cheap walk in id order that each engine's
index gives (FTS5 rowids; the primary key and the GIN index on PostgreSQL), and ranks those
exactly. When a query matches fewer than WINDOW briefs (rare names, GSOMIA) every match is
ranked; when it matches many, the strongest of the recent ones come first. "Newest" is the
order briefs were stored, which is how the archive grows (a feed added later brings its back
catalogue in as new); `latest` orders by published date instead.

When no brief has every term, any term will do (OR); then each term draws its own newest
matches, so a rare term's matches are all ranked even beside a very common one.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import RowMapping, text
from sqlalchemy.ext.asyncio import AsyncConnection

from koreapage_bot.store.rows import BRIEF_COLUMNS

WINDOW = 300  # matches ranked per query (or per term, for the any-term fallback)

_TOKEN = re.compile(r"[\w][\w'’.-]*", re.UNICODE)
_FTS_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)  # what FTS5's unicode61 tokenizer keeps


@dataclass(frozen=True, slots=True)
class SearchTerms:
    phrases: tuple[tuple[str, ...], ...]  # each phrase is a sequence of words
    excluded: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.phrases

    def groups(self, any_term: bool) -> list[SearchTerms]:
        """What candidates are drawn from: the whole query when every term must match; each
        phrase (keeping the exclusions) when any may."""
        if not any_term:
            return [self]
        return [SearchTerms((phrase,), self.excluded) for phrase in self.phrases]


@dataclass(frozen=True, slots=True)
class SearchPage:
    """Which results to show: `limit` from `offset`, best first (or `newest` first), only
    briefs on one key `issue` when given."""

    limit: int = 10
    offset: int = 0
    newest: bool = False
    issue: str | None = None


def window(groups: int, page: SearchPage | None = None) -> int:
    """Newest matches ranked per group: WINDOW for one or two, then a shared budget of twice
    WINDOW (a long query with no brief matching every word would otherwise rank thousands);
    a later page (the web archive) widens it to reach that page."""
    base = WINDOW if groups <= 2 else max(2 * WINDOW // groups, WINDOW // 6, 1)
    return base if page is None or not page.offset else max(base, page.offset + page.limit)


def _words(text: str) -> list[str]:
    words = []
    for raw in _TOKEN.findall(text):
        word = raw.strip(".'’-").replace("’", "'")
        if word.lower().endswith("'s"):  # "Seoul's" finds Seoul, as PostgreSQL's stemmer does
            word = word[:-2]
        if _FTS_TOKEN.search(word):  # "___" has nothing an index could hold
            words.append(word.lower())
    return words


def parse_query(query: str) -> SearchTerms:
    phrases: list[tuple[str, ...]] = []
    excluded: list[str] = []
    # Quoted phrases first; an unbalanced quote just ends at the end of the text.
    parts = re.split(r'"', query)
    for i, part in enumerate(parts):
        if i % 2 == 1:
            words = _words(part)
            if words:
                phrases.append(tuple(words))
            continue
        for chunk in part.split():
            if chunk.startswith("-") and len(chunk) > 1:
                excluded.extend(_words(chunk[1:]))
            else:
                phrases.extend((w,) for w in _words(chunk))
    return SearchTerms(tuple(phrases), tuple(excluded))


def _fts5_quote(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


def fts5_query(terms: SearchTerms, any_term: bool = False) -> str:
    """All terms (AND) by default; `any_term` widens to OR when AND finds nothing."""
    joiner = " OR " if any_term else " AND "
    parts = [_fts5_quote(" ".join(p)) for p in terms.phrases]
    query = "(" + joiner.join(parts) + ")"
    for word in terms.excluded:
        query += " NOT " + _fts5_quote(word)
    return query


def fts5_rank_query(terms: SearchTerms, weightless: frozenset[str] = frozenset()) -> str:
    """The words of the wanted phrases, each on its own, for scoring matches already found.

    bm25 weighs each phrase of its query by how many briefs contain it, which it counts over
    the whole index on every call: for a phrase of two common words that means checking word
    positions in ~80,000 briefs (~20 ms). Scored by its words, a phrase match costs a lookup of
    two document counts; the phrase itself still decides what matches. Exclusions score nothing
    (no match contains them) and are left out for the same reason.

    `weightless` words (in half the archive or more: bm25 clamps their IDF to 1e-6, so they
    add nothing to a score that another word carries) are left out too while another word
    remains: counting "korea" costs a walk of ~90,000 postings per query. When every word is
    weightless all stay, so the order is bm25's own."""
    tokens = dict.fromkeys(tok for p in terms.phrases for w in p for tok in _FTS_TOKEN.findall(w))
    weighed = [tok for tok in tokens if tok not in weightless] or list(tokens)
    return " AND ".join(_fts5_quote(tok) for tok in weighed)


def fts5_tokens(terms: SearchTerms) -> list[str]:
    return list(
        dict.fromkeys(tok for p in terms.phrases for w in p for tok in _FTS_TOKEN.findall(w))
    )


def sqlite_varint(data: bytes) -> int:
    """The leading SQLite varint of `data` (big-endian 7-bit groups; a ninth byte is whole)."""
    value = 0
    for i, byte in enumerate(data[:9]):
        if i == 8:
            return (value << 8) | byte
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value
    return value


class WordCounts:
    """How many briefs contain a word, and how many there are, remembered for `ttl` seconds
    (a count costs FTS5 a walk of the word's postings). Used only to leave out of bm25 the
    words its IDF clamp ignores anyway (`fts5_rank_query`); a margin over the clamp's half
    (COMMON_SHARE) keeps a count a few minutes old on the safe side."""

    COMMON_SHARE = 0.6

    def __init__(self, ttl: float = 600.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._clock = clock
        self._counts: dict[str, tuple[int, float]] = {}
        self._rows: tuple[int, float] | None = None

    async def weightless(self, conn: AsyncConnection, words: Sequence[str]) -> frozenset[str]:
        if len(words) < 2:
            return frozenset()  # one word is ranked by itself whatever its weight
        now = self._clock()
        if self._rows is None or now - self._rows[1] > self._ttl:
            # bm25's own row count: the first number of FTS5's averages record (row 1 of its
            # data table), read without scanning anything.
            block = (
                await conn.execute(text("SELECT block FROM briefs_fts_data WHERE id = 1"))
            ).scalar_one_or_none()
            self._rows = (sqlite_varint(bytes(block)) if block else 0, now)
        rows = self._rows[0]
        common = set()
        for word in words:
            hit = self._counts.get(word)
            if hit is None or now - hit[1] > self._ttl:
                found = await conn.execute(
                    text("SELECT count(*) FROM briefs_fts WHERE briefs_fts MATCH :w"),
                    {"w": _fts5_quote(word)},
                )
                hit = (int(found.scalar_one()), now)
                if len(self._counts) > 4096:  # a bound, not an LRU: rarely reached
                    self._counts.clear()
                self._counts[word] = hit
            if rows and hit[0] >= self.COMMON_SHARE * rows:
                common.add(word)
        return frozenset(common)


def websearch_query(terms: SearchTerms, any_term: bool = False) -> str:
    """Text for PostgreSQL's websearch_to_tsquery, which never raises on user input."""
    parts = [(" ".join(p) if len(p) == 1 else '"' + " ".join(p) + '"') for p in terms.phrases]
    query = (" or " if any_term else " ").join(parts)
    for word in terms.excluded:
        query += f" -{word}"
    return query


def _column_list() -> str:
    return ", ".join(f"briefs.{c.name}" for c in BRIEF_COLUMNS)


# -- SQLite: FTS5 ----------------------------------------------------------------------------


_ON_ISSUE = "rowid IN (SELECT brief_id FROM brief_issues WHERE issue_id = :issue)"


def _sqlite_statement(groups: int, page: SearchPage) -> str:
    # Per group: `hits` are the newest WINDOW matches, in FTS5's own rowid order (it stops
    # after WINDOW, scoring nothing). `scored` gives them their bm25 (the `rank` column, with
    # the weights the migration configured), reading only the rowid range the hits span; `+`
    # keeps the IN test outside FTS5, which would otherwise restart (and recount bm25's
    # document frequencies) once per id. Only the ten best rows are then read from briefs.
    ctes = []
    for i in range(groups):
        ctes.append(
            f"hits{i}(id) AS (SELECT rowid FROM briefs_fts WHERE briefs_fts MATCH :match{i} "
            + (f"AND {_ON_ISSUE} " if page.issue else "")
            + "ORDER BY rowid DESC LIMIT :window)"
        )
        ctes.append(
            f"scored{i}(id, score) AS (SELECT rowid, rank FROM briefs_fts "
            f"WHERE briefs_fts MATCH :words{i} "
            f"AND rowid >= (SELECT min(id) FROM hits{i}) "
            f"AND rowid <= (SELECT max(id) FROM hits{i}) "
            f"AND +rowid IN (SELECT id FROM hits{i}))"
        )
    union = " UNION ALL ".join(f"SELECT id, score FROM scored{i}" for i in range(groups))
    # bm25 adds up over phrases, so a brief found by several terms sums their scores (as an
    # OR query's bm25 would). Lower is better; among equals, the newer brief first.
    ctes.append(
        f"top(id, score) AS (SELECT id, sum(score) AS score FROM ({union}) "
        "GROUP BY id ORDER BY score, id DESC LIMIT :limit OFFSET :offset)"
    )
    order = "top.score, briefs.id DESC"
    return (
        "WITH " + ", ".join(ctes) + f" SELECT {_column_list()} FROM top "
        f"JOIN briefs ON briefs.id = top.id ORDER BY {order}"
    )


def _sqlite_by_date(groups: int, page: SearchPage) -> str:
    # Newest first by date is a list, not a ranking: walk ix_briefs_sort and keep the briefs
    # that match (a common word stops after a page; a rare word's few matches are sorted).
    matching = " UNION ".join(
        f"SELECT rowid FROM briefs_fts WHERE briefs_fts MATCH :match{i}" for i in range(groups)
    )
    on_issue = f" AND briefs.{_ON_ISSUE.replace('rowid', 'id', 1)}" if page.issue else ""
    return (
        f"SELECT {_column_list()} FROM briefs WHERE briefs.id IN ({matching}){on_issue} "
        "ORDER BY briefs.sort_at DESC, briefs.id DESC LIMIT :limit OFFSET :offset"
    )


async def search_sqlite(
    conn: AsyncConnection,
    terms: SearchTerms,
    page: SearchPage,
    any_term: bool,
    counts: WordCounts | None = None,
) -> Sequence[RowMapping]:
    groups = terms.groups(any_term)
    params: dict[str, Any] = {
        "window": window(len(groups), page),
        "limit": page.limit,
        "offset": page.offset,
    }
    if page.issue:
        params["issue"] = page.issue
    for i, group in enumerate(groups):
        params[f"match{i}"] = fts5_query(group)
        weightless: frozenset[str] = frozenset()
        if counts is not None and not page.newest:
            weightless = await counts.weightless(conn, fts5_tokens(group))
        params[f"words{i}"] = fts5_rank_query(group, weightless)
    if page.newest:
        statement = text(_sqlite_by_date(len(groups), page)).columns(*BRIEF_COLUMNS)
    else:
        statement = text(_sqlite_statement(len(groups), page)).columns(*BRIEF_COLUMNS)
    return (await conn.execute(statement, params)).mappings().all()


# -- PostgreSQL: a generated tsvector with a GIN index ---------------------------------------

_PG_MATCH = "search_vector @@ websearch_to_tsquery('english', :query)"
_PG_ON_ISSUE = " AND id IN (SELECT brief_id FROM brief_issues WHERE issue_id = :issue)"


def _pg_newest_sql(issue: bool) -> str:
    on_issue = _PG_ON_ISSUE if issue else ""
    return (
        f"SELECT id FROM briefs WHERE id > :lo AND {_PG_MATCH}{on_issue} ORDER BY id DESC LIMIT :n"
    )


def _pg_slice_sql(issue: bool) -> str:
    on_issue = _PG_ON_ISSUE if issue else ""
    return f"SELECT id FROM briefs WHERE id > :lo AND id <= :hi AND {_PG_MATCH}{on_issue}"


async def _pg_newest(
    conn: AsyncConnection, query: str, top: int, wanted: int, issue: str | None = None
) -> list[int]:
    """The newest `wanted` briefs matching `query`, in slices of ids, newest slice first.

    One statement cannot do it at every frequency: walking the primary key backwards and
    testing each row suits a word most briefs contain (a few hundred rows read) but reads the
    whole table for a rare one; the GIN index suits a rare word but fetches every match of a
    common one. So the first slice is the newest 4 × `wanted` briefs, where either way costs
    little and the planner picks; if it holds fewer matches than wanted, the next slice is
    sized from the density seen so far and asked for all its matches with no order, so that
    the planner reaches for the GIN index (ANDed with the id range) rather than test rows one
    by one. A common word costs one small slice, a rare one a few scans of short GIN posting
    lists."""
    extra = {"issue": issue} if issue else {}
    span = 4 * wanted
    lo = max(top - span, 0)
    newest_sql, slice_sql = text(_pg_newest_sql(bool(issue))), text(_pg_slice_sql(bool(issue)))
    rows = await conn.execute(newest_sql, {"lo": lo, "query": query, "n": wanted, **extra})
    found = [row[0] for row in rows]
    while len(found) < wanted and lo > 0:
        seen = top - lo
        needed = wanted - len(found)
        # Enough ids for 1.5x what is missing at the density seen so far; at least as many as
        # seen (so the range doubles, whatever the estimate), 8x the last slice while matches
        # are too few to estimate from (a rare word then takes a few steps at most).
        estimate = needed * seen * 3 // (2 * len(found)) if found else 0
        span = max(estimate, seen if len(found) >= 16 else span * 8)
        hi, lo = lo, max(lo - span, 0)
        rows = await conn.execute(slice_sql, {"lo": lo, "hi": hi, "query": query, **extra})
        found.extend(sorted((row[0] for row in rows), reverse=True)[:needed])
    return found


async def search_postgres(
    conn: AsyncConnection, terms: SearchTerms, page: SearchPage, any_term: bool
) -> Sequence[RowMapping]:
    # The slices' plans depend on how common the words are, which the planner reads from the
    # column statistics only when it plans with the actual query text; a cached generic plan
    # (asyncpg prepares statements) would use one plan for every word. set_config(..., true)
    # is SET LOCAL: for this transaction only. The same round trip reads the newest id and
    # which groups keep any word once PostgreSQL drops its stop words ("the", "of").
    if page.newest:
        return await _pg_by_date(conn, terms, page, any_term)
    queries = [websearch_query(group) for group in terms.groups(any_term)]
    lexemes = ", ".join(
        f"numnode(websearch_to_tsquery('english', :q{i}))" for i in range(len(queries))
    )
    first = (
        await conn.execute(
            text(
                "SELECT set_config('plan_cache_mode', 'force_custom_plan', true), "
                f"(SELECT max(id) FROM briefs), {lexemes}"
            ),
            {f"q{i}": q for i, q in enumerate(queries)},
        )
    ).one()
    top, nodes = first[1], first[2:]
    if top is None:
        return []
    ids: dict[int, None] = {}
    for query, n in zip(queries, nodes, strict=True):
        if n:
            wanted = window(len(queries), page)
            newest = await _pg_newest(conn, query, int(top), wanted, page.issue)
            ids.update(dict.fromkeys(newest))
    if not ids:
        return []
    # ts_rank_cd on the candidates only, and the rows shown read in the same statement.
    statement = text(
        f"SELECT {_column_list()} FROM briefs WHERE briefs.id = ANY(:ids) ORDER BY "
        "ts_rank_cd(briefs.search_vector, websearch_to_tsquery('english', :query)) DESC, "
        "briefs.id DESC LIMIT :limit OFFSET :offset"
    ).columns(*BRIEF_COLUMNS)
    params = {
        "ids": list(ids),
        "query": websearch_query(terms, any_term),
        "limit": page.limit,
        "offset": page.offset,
    }
    return (await conn.execute(statement, params)).mappings().all()


async def _pg_by_date(
    conn: AsyncConnection, terms: SearchTerms, page: SearchPage, any_term: bool
) -> Sequence[RowMapping]:
    # Newest first by date is a list, not a ranking: the planner walks ix_briefs_sort for a
    # common word and the GIN index for a rare one.
    on_issue = _PG_ON_ISSUE.replace(" id IN", " briefs.id IN", 1) if page.issue else ""
    statement = text(
        f"SELECT {_column_list()} FROM briefs WHERE {_PG_MATCH}{on_issue} "
        "ORDER BY briefs.sort_at DESC, briefs.id DESC LIMIT :limit OFFSET :offset"
    ).columns(*BRIEF_COLUMNS)
    params: dict[str, Any] = {
        "query": websearch_query(terms, any_term),
        "limit": page.limit,
        "offset": page.offset,
    }
    if page.issue:
        params["issue"] = page.issue
    return (await conn.execute(statement, params)).mappings().all()
