"""Turn what a user typed into a safe full-text query for each backend.

Users type `cost sharing`, `"cost sharing" usfk`, `THAAD -china` or stray punctuation; none of
it may reach the FTS grammar raw (an unbalanced quote is an FTS5 syntax error).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(r"[\w][\w'’.-]*", re.UNICODE)


@dataclass(frozen=True, slots=True)
class SearchTerms:
    phrases: tuple[tuple[str, ...], ...]  # each phrase is a sequence of words
    excluded: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.phrases


def _words(text: str) -> list[str]:
    words = []
    for raw in _TOKEN.findall(text):
        word = raw.strip(".'’-").replace("’", "'")
        if word.lower().endswith("'s"):  # "Seoul's" finds Seoul, as PostgreSQL's stemmer does
            word = word[:-2]
        if word:
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


def websearch_query(terms: SearchTerms, any_term: bool = False) -> str:
    """Text for PostgreSQL's websearch_to_tsquery, which never raises on user input."""
    parts = [(" ".join(p) if len(p) == 1 else '"' + " ".join(p) + '"') for p in terms.phrases]
    query = (" or " if any_term else " ").join(parts)
    for word in terms.excluded:
        query += f" -{word}"
    return query
