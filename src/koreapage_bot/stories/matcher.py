"""Story matching: which story of the last few days (if any) a new brief reports.

`StoryIndex` holds the features of the briefs of the window (72 hours by default) and an
inverted index of their terms, names and numbers. Matching a new brief:

1. candidates: the briefs that share its rarer keys (a key held by more than `COMMON_SHARE` of
   the window, like "alliance" or "Seoul", picks no one), ranked by the summed rarity of what
   they share; the best `MAX_CANDIDATES` go on;
2. each candidate pair is scored by a logistic model over what the two share: title and lead
   similarity (TF-IDF cosine, the window's own document frequencies), shared names (weighted by
   rarity), shared or conflicting quantities and dates, key issues, hours apart, same outlet.
   A Korean and an English report have no words in common: their pair is scored by a second
   model that reads only the language-neutral features;
3. the brief joins the story of its best-scoring candidate when that score reaches the model's
   threshold; else it starts a story.

The weights and thresholds (stories/model.py) are fitted on labelled real reports, not chosen
by hand: bench/eval_stories.py --fit. The index is plain Python and built for one writer (the
caller serialises `match` and `add`).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from koreapage_bot.stories.features import Features

# A key's weight: how rare it is in the window (inverse document frequency).
_Idf = Callable[[str], float]

DEFAULT_WINDOW = timedelta(hours=72)
COMMON_SHARE = 0.05  # keys held by more of the window than this do not propose candidates
MIN_COMMON = 8  # ... unless the window is small
MAX_CANDIDATES = 32
MAX_QUERY_KEYS = 32  # of a new brief's keys, the rarest this many look for candidates
IDF_FLOOR_DOCS = 200  # document frequencies are read as if the window held at least this many
THIN_TERMS = 40  # distinct terms below which an item counts as thin
NAMES_FLOOR = 20.0  # about four rare names: the least a pair's names are measured against
# A title word an outlet uses in this share of its window's titles (and in at least
# TEMPLATE_MIN of them) is its template ("tagesschau in 100 Sekunden", "Slack (NASDAQ:WORK)
# ... Sells ... Stock"), not the story's.
TEMPLATE_SHARE = 0.5
TEMPLATE_MIN = 5

FEATURE_NAMES = (
    "text",
    "title",
    "names",
    "numbers_shared",
    "numbers_conflict",
    "dates_shared",
    "dates_conflict",
    "issues",
    "hours",
    "same_source",
    "template",
    "thin",
)
# What a Korean-English pair can be scored on (the rest are zero for it).
CROSS_FEATURES = frozenset(FEATURE_NAMES) - {"text", "title", "same_source", "template"}


@dataclass(frozen=True, slots=True)
class PairModel:
    """Logistic weights over FEATURE_NAMES and the probability at which a pair is one story."""

    weights: tuple[float, ...]
    bias: float
    threshold: float

    def probability(self, x: Sequence[float]) -> float:
        z = self.bias + sum(w * v for w, v in zip(self.weights, x, strict=True))
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))


@dataclass(frozen=True, slots=True)
class Models:
    same: PairModel  # both in one language
    cross: PairModel  # a Korean and an English report (or any two languages)


@dataclass(frozen=True, slots=True)
class Match:
    story_id: int
    brief_id: int  # the member it matched best
    score: float


@dataclass
class _Entry:
    brief_id: int
    story_id: int
    features: Features
    norm: float = 0.0  # of its rarity-weighted term vector, as rarities were when it came


class StoryIndex:
    """The window's briefs, their stories and an inverted index of their keys."""

    def __init__(self, models: Models, window: timedelta = DEFAULT_WINDOW) -> None:
        self.models = models
        self.window = window
        self._entries: dict[int, _Entry] = {}
        self._postings: dict[str, set[int]] = defaultdict(set)
        # Per outlet: its distinct titles in the window (a title republished counts once: a
        # repeat is one story, not a template), and in how many of them each word is.
        self._source_titles: dict[int, dict[frozenset[str], int]] = defaultdict(
            lambda: defaultdict(int)
        )
        self._source_words: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        # Rarity of each key, kept while the window has changed by less than a hundredth:
        # scoring the candidates of one brief asks for the same keys many times, and a
        # rarity barely moves when one brief of thousands comes or goes (for a small window
        # every change counts, so there the figures are exact).
        self._idf_cache: dict[str, float] = {}
        self._idf_at = 0
        self._version = 0  # counts changes to the window
        self._newest = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, brief_id: object) -> bool:
        return brief_id in self._entries

    @property
    def newest_id(self) -> int:
        """The highest brief id ever filed (those after it are what the store has new)."""
        return self._newest

    def add(self, brief_id: int, story_id: int, feats: Features) -> None:
        if brief_id in self._entries:
            self._entries[brief_id].story_id = story_id
            return
        entry = _Entry(brief_id, story_id, feats)
        self._entries[brief_id] = entry
        self._newest = max(self._newest, brief_id)
        for key in feats.index_keys():
            self._postings[key].add(brief_id)
        if feats.source is not None:
            titles = self._source_titles[feats.source]
            titles[feats.title_terms] += 1
            if titles[feats.title_terms] == 1:
                words = self._source_words[feats.source]
                for term in feats.title_terms:
                    words[term] += 1
        self._changed()
        # Kept as it is: rarities drift slowly, and recomputing every candidate's norm at
        # every match would cost more than the rest of the match.
        entry.norm = norm(feats.tf, self._idf)

    def remove(self, brief_id: int) -> None:
        entry = self._entries.pop(brief_id, None)
        if entry is None:
            return
        self._changed()
        source = entry.features.source
        if source is not None:
            titles = self._source_titles[source]
            title = entry.features.title_terms
            titles[title] -= 1
            if not titles[title]:
                del titles[title]
                words = self._source_words[source]
                for term in title:
                    words[term] -= 1
                    if not words[term]:
                        del words[term]
            if not titles:
                del self._source_titles[source], self._source_words[source]
        for key in entry.features.index_keys():
            posting = self._postings.get(key)
            if posting is not None:
                posting.discard(brief_id)
                if not posting:
                    del self._postings[key]

    def expire(self, now: datetime) -> int:
        """Forget briefs older than the window before `now`; how many went."""
        oldest = now - self.window
        old = [b for b, e in self._entries.items() if e.features.at < oldest]
        for brief_id in old:
            self.remove(brief_id)
        return len(old)

    def _changed(self) -> None:
        self._version += 1
        if self._version - self._idf_at >= self._tolerance():
            self._idf_cache.clear()
            self._idf_at = self._version

    def _tolerance(self) -> int:
        """Changes to the window after which cached rarities are read again."""
        return max(1, len(self._entries) // 100)

    def story_of(self, brief_id: int) -> int | None:
        entry = self._entries.get(brief_id)
        return entry.story_id if entry else None

    # -- matching ----------------------------------------------------------------------------

    def _idf(self, key: str) -> float:
        found = self._idf_cache.get(key)
        if found is None:
            n = max(len(self._entries), IDF_FLOOR_DOCS)
            found = math.log((n + 1) / (len(self._postings.get(key, ())) + 1)) + 1.0
            self._idf_cache[key] = found
        return found

    def candidates(self, feats: Features) -> list[_Entry]:
        n = len(self._entries)
        if not n:
            return []
        common = max(MIN_COMMON, COMMON_SHARE * n)
        held = []
        for key in set(feats.index_keys()):
            posting = self._postings.get(key)
            if posting and len(posting) <= common:
                held.append((len(posting), key, posting))
        # The rarest keys say most about which briefs could be the same story; a long tail of
        # middling words would only cost time.
        held.sort(key=lambda h: (h[0], h[1]))
        scores: dict[int, float] = defaultdict(float)
        for _, key, posting in held[:MAX_QUERY_KEYS]:
            weight = self._idf(key)
            for brief_id in posting:
                scores[brief_id] += weight
        ranked = sorted(scores, key=scores.__getitem__, reverse=True)
        out: list[_Entry] = []
        for brief_id in ranked:
            entry = self._entries[brief_id]
            if abs(entry.features.at - feats.at) <= self.window:
                out.append(entry)
                if len(out) >= MAX_CANDIDATES:
                    break
        return out

    def score(self, a: Features, b: Features) -> float:
        """The probability that `a` and `b` report one story."""
        cross = a.language != b.language
        model = self.models.cross if cross else self.models.same
        template = 0.0 if cross else self._template(a, b)
        return model.probability(pair_features(a, b, self._idf, cross=cross, template=template))

    def pair(self, feats: Features, entry: _Entry, own_norm: float | None = None) -> list[float]:
        """A new brief and a brief of the window as FEATURE_NAMES values, as `best` scores
        them (the window's rarities; the window brief's norm from when it came)."""
        cross = entry.features.language != feats.language
        if cross:
            return pair_features(feats, entry.features, self._idf, cross=True)
        own = norm(feats.tf, self._idf) if own_norm is None else own_norm
        return pair_features(
            feats,
            entry.features,
            self._idf,
            norms=(own, entry.norm),
            template=self._template(feats, entry.features),
        )

    def _template(self, a: Features, b: Features) -> float:
        """Of the title words two briefs of one outlet share, the share that is the outlet's
        template (0 for two outlets)."""
        if a.source is None or a.source != b.source:
            return 0.0
        shared = a.title_terms & b.title_terms
        if not shared:
            return 0.0
        words = self._source_words.get(a.source, {})
        common = max(TEMPLATE_MIN, TEMPLATE_SHARE * len(self._source_titles.get(a.source, ())))
        return sum(1 for t in shared if words.get(t, 0) >= common) / len(shared)

    def entries(self) -> list[_Entry]:
        return list(self._entries.values())

    def best(self, feats: Features) -> Match | None:
        """The story `feats` belongs to, or None for a story of its own."""
        best: Match | None = None
        own = norm(feats.tf, self._idf)
        for entry in self.candidates(feats):
            cross = entry.features.language != feats.language
            model = self.models.cross if cross else self.models.same
            p = model.probability(self.pair(feats, entry, own))
            if p >= model.threshold and (best is None or p > best.score):
                best = Match(entry.story_id, entry.brief_id, p)
        return best


def norm(tf: dict[str, float], idf: _Idf) -> float:
    return math.sqrt(sum((w * idf(t)) ** 2 for t, w in tf.items()))


def _cosine(
    a: dict[str, float],
    b: dict[str, float],
    idf: _Idf,
    norms: tuple[float, float] | None = None,
) -> float:
    """Cosine of two term-weight vectors (1 + log count) weighted by rarity."""
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    dot = 0.0
    for term, weight in small.items():
        other = large.get(term)
        if other is not None:
            w = idf(term)
            dot += weight * other * w * w
    if dot == 0.0:
        return 0.0
    na, nb = norms if norms is not None else (norm(a, idf), norm(b, idf))
    return min(1.0, dot / (na * nb)) if na and nb else 0.0


def _weighted_jaccard(a: frozenset[str], b: frozenset[str], idf: _Idf) -> float:
    """Shared keys over all keys, each weighted by its rarity; two items that name little
    (only "Trump", say) share little however alike those few names are."""
    union = a | b
    if not union:
        return 0.0
    shared = sum(idf(k) for k in a & b)
    return shared / max(sum(idf(k) for k in union), NAMES_FLOOR)


def pair_features(
    a: Features,
    b: Features,
    idf: _Idf,
    *,
    cross: bool = False,
    norms: tuple[float, float] | None = None,
    template: float = 0.0,
) -> list[float]:
    """The pair as FEATURE_NAMES values (text features zero for a cross-language pair);
    `norms`: the two term vectors' norms when the caller has them; `template`: the share of
    their shared title words that is their outlet's template (StoryIndex knows it)."""
    # Within one language the capitalised words count as names too (names.py cannot know
    # them all); across two, only what names.py knows in both.
    names_a, names_b = (a.known, b.known) if cross else (a.named, b.named)
    shared_numbers = len(a.numbers & b.numbers)
    shared_dates = _near_dates(a.dates, b.dates)
    hours = abs((a.at - b.at).total_seconds()) / 3600
    values = {
        "text": 0.0 if cross else _cosine(a.tf, b.tf, idf, norms),
        "title": 0.0 if cross else _title_overlap(a.title_terms, b.title_terms),
        "names": _weighted_jaccard(names_a, names_b, idf),
        "numbers_shared": float(min(shared_numbers, 3)),
        "numbers_conflict": float(bool(a.numbers and b.numbers and not shared_numbers)),
        "dates_shared": float(shared_dates > 0),
        # Only days near publication can disagree about the event's day (see Features).
        "dates_conflict": float(
            bool(a.event_days and b.event_days and not _near_days(a.event_days, b.event_days))
        ),
        "issues": _plain_jaccard(a.issues, b.issues),
        "hours": math.log1p(hours),
        "same_source": 0.0 if cross else float(a.source is not None and a.source == b.source),
        "template": 0.0 if cross else template,
        # How little the shorter of the two says: a bare templated item ("Episode of 10:33")
        # matches its siblings word for word and tells nothing about its event.
        "thin": max(0.0, 1.0 - min(len(a.terms), len(b.terms)) / THIN_TERMS),
    }
    return [values[name] for name in FEATURE_NAMES]


def _near_dates(a: frozenset[str], b: frozenset[str]) -> int:
    """Dates of `a` within a day of one of `b` (Washington's Tuesday is Seoul's Wednesday)."""
    if not a or not b:
        return 0
    days_b = [date.fromisoformat(d) for d in b]
    return sum(1 for d in a if any(abs((date.fromisoformat(d) - e).days) <= 1 for e in days_b))


def _near_days(a: frozenset[date], b: frozenset[date]) -> bool:
    return any(abs((d - e).days) <= 1 for d in a for e in b)


def _title_overlap(a: frozenset[str], b: frozenset[str]) -> float:
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def _plain_jaccard(a: Iterable[str], b: Iterable[str]) -> float:
    sa, sb = set(a), set(b)
    union = len(sa | sb)
    return len(sa & sb) / union if union else 0.0
