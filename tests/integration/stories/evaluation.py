"""The story matcher on labelled real reports: loading, the held-out split, fitting, scoring.

Used by bench/eval_stories.py (prints the figures, `--fit` prints the model) and by
test_story_eval.py (guards the figures). No text of ../shared is copied into the project:
tests/fixtures/stories/labels.toml holds only keys and story assignments.

- Items: the eval-dev articles with a full date and the dated entries of ../shared/feeds (see
  labels.toml for what is left out), each analysed by the product's own analyzer, so the
  matcher reads what a stored brief carries (title, summary, cleaned text, key issues,
  language). Each item's time is its publication date.
- Split, fixed before any tuning: a story (or a lone item) is HELD OUT when sha256 of its name
  (or key) is odd. The development part is the rest plus the invented reports of
  tests/fixtures/stories/reports.toml (training only: the real labelled set holds no Korean-
  English pair on its development side).
- Figures: each part is replayed in publication order through `StoryIndex` (72-hour window),
  as the bot would store it; then every pair of items of the part within 72 hours of each
  other is counted: same story in the labels and in the replay (tp), only in the replay (fp),
  only in the labels (fn). Pairs inside a `[[related]]` group count neither way.
- Fitting (development part only): the replay also records, for each new item, its pair
  features against every earlier item of the window (with the window's document frequencies,
  as the bot computes them); a logistic regression is fitted on those pairs, one for pairs in
  one language and one on the language-neutral features (every pair, its text features
  masked, so it learns what a Korean-English pair can show); weights keep the sign their
  feature can only have (similarity up, conflicts and distance down). The threshold: the
  middle of the longest run of thresholds within one wrong pair of the fewest on the
  development part (one pair of a few dozen is noise).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from koreapage_bot.analysis.pipeline import OfflineAnalyzer
from koreapage_bot.domain import ArticleInput
from koreapage_bot.ingest.parse import parse_feed_sync
from koreapage_bot.stories.features import Features, StoryText, features
from koreapage_bot.stories.matcher import (
    CROSS_FEATURES,
    DEFAULT_WINDOW,
    FEATURE_NAMES,
    Models,
    PairModel,
    StoryIndex,
)

REPO = Path(__file__).resolve().parents[3]
SHARED = (REPO / ".." / "shared").resolve()
FIXTURES = REPO / "tests" / "fixtures" / "stories"
LABELS = FIXTURES / "labels.toml"
REPORTS = FIXTURES / "reports.toml"

# The sign each weight may take (0: either). Similarity can only argue for one story,
# conflicts and distance only against; the fit keeps them so on a small training set.
SIGNS = {
    "text": 1,
    "title": 1,
    "names": 1,
    "numbers_shared": 1,
    "numbers_conflict": -1,
    "dates_shared": 1,
    "dates_conflict": -1,
    "issues": 1,
    "hours": -1,
    "same_source": 0,
    "template": -1,
    "thin": -1,
}
L2 = 1.0
THRESHOLDS = [round(0.5 + 0.01 * i, 2) for i in range(50)]


@dataclass(frozen=True, slots=True)
class Item:
    key: str
    story: str  # the labelled story (a lone item: its own key)
    held_out: bool
    text: StoryText

    @property
    def features(self) -> Features:
        return _features(self)


_FEATURES: dict[str, Features] = {}


def _features(item: Item) -> Features:
    found = _FEATURES.get(item.key)
    if found is None:
        found = _FEATURES[item.key] = features(item.text)
    return found


@dataclass(frozen=True, slots=True)
class Labels:
    stories: dict[str, str]  # item key -> story name
    related: tuple[frozenset[str], ...]
    skip_feeds: frozenset[str]
    tagesschau: str
    tagesschau_days: tuple[str, str]

    def story(self, key: str) -> str:
        return self.stories.get(key, key)

    def ignored(self, a: str, b: str) -> bool:
        return self.story(a) != self.story(b) and any(a in g and b in g for g in self.related)


def held_out(name: str) -> bool:
    return int(hashlib.sha256(name.encode()).hexdigest(), 16) % 2 == 1


def load_labels(path: Path = LABELS) -> Labels:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    stories = {key: s["name"] for s in data["story"] for key in s["items"]}
    sources = data["sources"]
    days = sources["tagesschau_days"]
    return Labels(
        stories=stories,
        related=tuple(frozenset(r["items"]) for r in data.get("related", ())),
        skip_feeds=frozenset(sources["skip_feeds"]),
        tagesschau=sources["tagesschau"],
        tagesschau_days=(days[0], days[-1]),
    )


def _analysed(
    analyzer: OfflineAnalyzer, article: ArticleInput, at: datetime, source: int
) -> StoryText:
    analysis = analyzer.analyze_now(article)
    return StoryText(
        title=article.title,
        summary=analysis.summary,
        text=analysis.text,
        language=analysis.language,
        at=at,
        issues=tuple(k.id for k in analysis.key_issues),
        source=source,
    )


def load_real(labels: Labels, shared: Path = SHARED) -> list[Item]:
    """The labelled real items (analysed; about ten seconds)."""
    analyzer = OfflineAnalyzer()
    outlets: dict[str, int] = {}
    items: list[Item] = []

    def add(key: str, outlet: str, article: ArticleInput, at: datetime) -> None:
        source = outlets.setdefault(outlet, len(outlets) + 1)
        story = labels.story(key)
        text = _analysed(analyzer, article, at, source)
        items.append(Item(key, story, held_out(story), text))

    for name in ("articles.jsonl", "articles-2.jsonl"):
        for line in (shared / "eval-dev" / name).read_text(encoding="utf-8").splitlines():
            raw = json.loads(line)
            day = raw.get("date") or ""
            if len(day) != 10:
                continue  # no full date: it cannot be placed in a window
            at = datetime.fromisoformat(day).replace(tzinfo=UTC)
            url = str(raw.get("url") or "")
            outlet = raw.get("publisher") or (url.split("/")[2] if url.count("/") >= 2 else url)
            article = ArticleInput(
                id=raw["id"],
                title=raw.get("title") or "",
                text=raw["text"],
                url=raw.get("url"),
                published=at,
                author=raw.get("author"),
            )
            add(f"eval-dev:{raw['id']}", str(outlet), article, at)
    low, high = labels.tagesschau_days
    for path in sorted((shared / "feeds").iterdir()):
        if path.suffix not in (".xml", ".rss", ".atom", ".rdf") or path.name in labels.skip_feeds:
            continue
        try:
            parsed = parse_feed_sync(path.read_bytes(), None, None)
        except Exception:
            continue  # a feed the parser refuses has nothing to label
        for entry in parsed.entries:
            if entry.published is None:
                continue
            if path.name == labels.tagesschau and not (
                low <= entry.published.date().isoformat() <= high
            ):
                continue
            article = ArticleInput(
                id=entry.key,
                title=entry.title,
                html=entry.content or entry.summary,
                url=entry.url,
                published=entry.published,
                author=entry.author,
                feed_title=parsed.title,
            )
            add(f"feed:{path.name}:{entry.key}", path.name, article, entry.published)
    return items


def load_reports(path: Path = REPORTS) -> list[Item]:
    """The invented reports (development part only)."""
    analyzer = OfflineAnalyzer()
    outlets: dict[str, int] = {}
    items = []
    for raw in tomllib.loads(path.read_text(encoding="utf-8"))["report"]:
        at = datetime.fromisoformat(raw["published"].replace("Z", "+00:00"))
        source = 1000 + outlets.setdefault(raw["outlet"], len(outlets))
        article = ArticleInput(id=raw["key"], title=raw["title"], text=raw["text"], published=at)
        text = _analysed(analyzer, article, at, source)
        items.append(Item(f"fixture:{raw['key']}", f"fixture:{raw['story']}", False, text))
    return items


# -- replay and scoring ----------------------------------------------------------------------


@dataclass
class Replay:
    stories: dict[str, int]  # item key -> story id given by the index
    rows: list[tuple[list[float], bool, bool]]  # pair features, same story (label), cross


def replay(
    items: Sequence[Item],
    models: Models,
    labels: Labels | None = None,
    *,
    window: timedelta = DEFAULT_WINDOW,
    record: bool = False,
) -> Replay:
    """Store `items` in publication order through a StoryIndex, as the bot does; with
    `record`, also the pair features of each new item against the window before it."""
    index = StoryIndex(models, window)
    ordered = sorted(items, key=lambda i: (i.features.at, i.key))
    by_id: dict[int, Item] = {}
    stories: dict[str, int] = {}
    rows: list[tuple[list[float], bool, bool]] = []
    for n, item in enumerate(ordered, start=1):
        feats = item.features
        index.expire(feats.at)
        if record:
            for entry in index.entries():
                other = by_id[entry.brief_id]
                if labels is not None and labels.ignored(item.key, other.key):
                    continue
                if abs(other.features.at - feats.at) > window:
                    continue
                cross = other.features.language != feats.language
                rows.append((index.pair(feats, entry), item.story == other.story, cross))
        match = index.best(feats)
        story = match.story_id if match else n
        stories[item.key] = story
        by_id[n] = item
        index.add(n, story, feats)
    return Replay(stories, rows)


@dataclass(frozen=True, slots=True)
class Figures:
    tp: int
    fp: int
    fn: int
    false_pairs: tuple[tuple[str, str], ...]
    missed_pairs: tuple[tuple[str, str], ...]

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def pairwise(
    items: Sequence[Item],
    stories: dict[str, int],
    labels: Labels,
    window: timedelta = DEFAULT_WINDOW,
) -> Figures:
    tp = fp = fn = 0
    false_pairs: list[tuple[str, str]] = []
    missed: list[tuple[str, str]] = []
    for a, b in itertools.combinations(items, 2):
        if abs(a.features.at - b.features.at) > window or labels.ignored(a.key, b.key):
            continue
        truth = a.story == b.story
        given = stories[a.key] == stories[b.key]
        if truth and given:
            tp += 1
        elif given:
            fp += 1
            false_pairs.append((a.key, b.key))
        elif truth:
            fn += 1
            missed.append((a.key, b.key))
    return Figures(tp, fp, fn, tuple(false_pairs), tuple(missed))


def evaluate(items: Sequence[Item], models: Models, labels: Labels) -> Figures:
    return pairwise(items, replay(items, models).stories, labels)


# -- fitting --------------------------------------------------------------------------------


def _logistic(x: np.ndarray, y: np.ndarray, signs: Sequence[int]) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression, classes balanced, weights kept to their signs
    (projected gradient descent)."""
    w = np.zeros(x.shape[1])
    b = 0.0
    positives = max(1.0, float(y.sum()))
    negatives = max(1.0, float(len(y) - y.sum()))
    sample = np.where(y == 1, len(y) / (2 * positives), len(y) / (2 * negatives))
    sign = np.array(signs, dtype=float)
    for _ in range(6000):
        p = 1.0 / (1.0 + np.exp(-(x @ w + b)))
        g = (p - y) * sample
        w -= 0.5 * (x.T @ g / len(y) + L2 * w / len(y))
        b -= 0.5 * float(g.mean())
        w = np.where(sign > 0, np.maximum(w, 0.0), np.where(sign < 0, np.minimum(w, 0.0), w))
    return w, b


def _model(rows: Iterable[tuple[list[float], bool]], cross: bool) -> PairModel:
    data = list(rows)
    x = np.array([r[0] for r in data], dtype=float)
    y = np.array([1.0 if r[1] else 0.0 for r in data])
    if cross:
        keep = np.array([name in CROSS_FEATURES for name in FEATURE_NAMES], dtype=float)
        x = x * keep
    signs = [SIGNS[name] for name in FEATURE_NAMES]
    w, b = _logistic(x, y, signs)
    if cross:
        w = w * np.array([name in CROSS_FEATURES for name in FEATURE_NAMES], dtype=float)
    return PairModel(tuple(round(float(v), 4) for v in w), round(b, 4), 0.5)


Row = tuple[list[float], bool, bool]  # pair features, same story (label), cross-language

NEVER = PairModel((0.0,) * len(FEATURE_NAMES), -50.0, 0.5)  # every item its own story


def pair_rows(part: Sequence[Item], labels: Labels) -> list[Row]:
    """The training pairs of one labelled part, replayed on its own (a part's window holds only
    its items: the 2016 wire reports and the 2025 Korean news do not share rarities)."""
    return replay(part, Models(NEVER, NEVER), labels, record=True).rows


def fit_rows(rows: Sequence[Row]) -> tuple[PairModel, PairModel]:
    """The two logistic models fitted on training pairs (threshold not yet chosen)."""
    same = _model(((x, y) for x, y, cross in rows if not cross), cross=False)
    masked = _model(((x, y) for x, y, _ in rows), cross=True)
    return same, masked


def fit_weights(dev: Sequence[Item], labels: Labels) -> tuple[PairModel, PairModel]:
    """The two logistic models fitted on the development items (threshold not yet chosen)."""
    return fit_rows(pair_rows(dev, labels))


def with_threshold(same: PairModel, cross: PairModel, threshold: float) -> Models:
    return Models(
        PairModel(same.weights, same.bias, threshold),
        PairModel(cross.weights, cross.bias, threshold),
    )


def summed(figures: Iterable[Figures]) -> Figures:
    parts = list(figures)
    return Figures(
        sum(f.tp for f in parts),
        sum(f.fp for f in parts),
        sum(f.fn for f in parts),
        tuple(p for f in parts for p in f.false_pairs),
        tuple(p for f in parts for p in f.missed_pairs),
    )


def evaluate_parts(parts: Sequence[Sequence[Item]], models: Models, labels: Labels) -> Figures:
    """Each part replayed on its own, the figures added up."""
    return summed(evaluate(part, models, labels) for part in parts)


def fit(
    parts: Sequence[Sequence[Item]], labels: Labels
) -> tuple[Models, list[tuple[float, Figures]]]:
    """Models fitted on the development parts (each replayed on its own), and the development
    figures per threshold."""
    same, cross = fit_rows([row for part in parts for row in pair_rows(part, labels)])
    return choose_threshold(parts, same, cross, labels)


def choose_threshold(
    parts: Sequence[Sequence[Item]], same: PairModel, cross: PairModel, labels: Labels
) -> tuple[Models, list[tuple[float, Figures]]]:
    """The threshold for fitted weights, from the development figures per threshold."""
    curve = [(t, evaluate_parts(parts, with_threshold(same, cross, t), labels)) for t in THRESHOLDS]
    # Wrong pairs (joined wrong or missed) per threshold; with a few dozen positive pairs one
    # pair is noise: every threshold within one wrong pair of the fewest is as good, and the
    # middle of the longest run of them is the farthest from both edges.
    fewest = min(f.fp + f.fn for _, f in curve)
    good = [t for t, f in curve if f.fp + f.fn <= fewest + 1]
    runs: list[list[float]] = []
    for t in good:
        if runs and abs(t - runs[-1][-1] - 0.01) < 1e-6:
            runs[-1].append(t)
        else:
            runs.append([t])
    chosen = max(runs, key=len)
    return with_threshold(same, cross, chosen[len(chosen) // 2]), curve


# -- committed training pairs of the v2 tuning part ------------------------------------------
#
# The v2 texts stay outside the project, but the shipped model is fitted on them too. Their
# pair features (numbers only, no text) are committed in V2_ROWS, so a checkout without
# ../stories-eval can still refit the shipped weights from ../shared plus these rows;
# test_story_eval.py checks the rows against the texts where ../stories-eval is present.

V2_ROWS = FIXTURES / "v2_tuning_rows.json"


def save_rows(rows: Sequence[Row], excluded: Iterable[str], path: Path = V2_ROWS) -> None:
    """`excluded`: development keys the v2 set labels (scored there, so left out of the old
    development part when fitting)."""
    data = {
        "features": list(FEATURE_NAMES),
        "excluded_development_keys": sorted(excluded),
        "rows": [[[round(v, 6) for v in x], y, c] for x, y, c in rows],
    }
    path.write_text(json.dumps(data, separators=(",", ":")) + "\n", encoding="utf-8")


def load_rows(path: Path = V2_ROWS) -> tuple[list[Row], frozenset[str]]:
    """The committed v2 training pairs and the development keys left out of the old part."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if data["features"] != list(FEATURE_NAMES):
        raise ValueError(f"{path} holds other features: rerun bench/eval_stories.py --fit")
    rows = [(list(x), bool(y), bool(c)) for x, y, c in data["rows"]]
    return rows, frozenset(data["excluded_development_keys"])


# -- the second labelled set (stories-eval v2, kept outside the project) ----------------------
#
# Real reports read from public news repositories (texts transcribed outside the project, in
# ../stories-eval: items.jsonl, refs.toml, SPLIT.md), plus eval-dev articles it names by key.
# Split by event, written down before any scoring (SPLIT.md): an event is held out when
# sha256("stories-v2:" + event) is odd.

EXTERNAL = (REPO / ".." / "stories-eval").resolve()


def held_out_v2(event: str) -> bool:
    return int(hashlib.sha256(f"stories-v2:{event}".encode()).hexdigest(), 16) % 2 == 1


def load_v2(root: Path = EXTERNAL, shared: Path = SHARED) -> tuple[list[Item], Labels]:
    """The v2 items (analysed) and their labels; ([], empty labels) when the set is absent."""
    items_path = root / "items.jsonl"
    if not items_path.is_file():
        return [], Labels({}, (), frozenset(), "", ("", ""))
    refs = tomllib.loads((root / "refs.toml").read_text(encoding="utf-8"))
    analyzer = OfflineAnalyzer()
    outlets: dict[str, int] = {}
    stories: dict[str, str] = {}
    items: list[Item] = []

    def add(key: str, event: str, outlet: str, article: ArticleInput, at: datetime) -> None:
        source = 2000 + outlets.setdefault(outlet, len(outlets))
        stories[key] = event
        text = _analysed(analyzer, article, at, source)
        items.append(Item(key, event, held_out_v2(event), text))

    for line in items_path.read_text(encoding="utf-8").splitlines():
        raw = json.loads(line)
        at = datetime.fromisoformat(raw["published"].replace("Z", "+00:00"))
        article = ArticleInput(id=raw["key"], title=raw["title"], text=raw["text"], published=at)
        add(raw["key"], raw["event"], raw["outlet"], article, at)
    wanted = {r["key"].removeprefix("eval-dev:"): r["event"] for r in refs.get("ref", ())}
    for name in ("articles.jsonl", "articles-2.jsonl"):
        path = shared / "eval-dev" / name
        if not path.is_file():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            raw = json.loads(line)
            if raw["id"] not in wanted:
                continue
            at = datetime.fromisoformat(raw["date"]).replace(tzinfo=UTC)
            article = ArticleInput(
                id=raw["id"], title=raw.get("title") or "", text=raw["text"], published=at
            )
            add(f"eval-dev:{raw['id']}", wanted[raw["id"]], str(raw.get("publisher")), article, at)
    related = tuple(frozenset(r["items"]) for r in refs.get("related", ()))
    return items, Labels(stories, related, frozenset(), "", ("", ""))


def merged(old: Labels, v2: Labels) -> Labels:
    """The old labels with the v2 set's (for fitting on both development parts at once)."""
    return Labels(
        stories=old.stories | v2.stories,
        related=old.related + v2.related,
        skip_feeds=old.skip_feeds,
        tagesschau=old.tagesschau,
        tagesschau_days=old.tagesschau_days,
    )
