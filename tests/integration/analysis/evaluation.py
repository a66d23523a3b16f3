"""Scoring the analysis on ../shared/eval-dev (both files) through the `analyze` JSONL contract.

Used by bench/eval_analysis.py (which prints the tables) and by test_eval_dev.py (which guards
the development part against regressions). No text of ../shared is copied into the project.

The split is fixed: in each file the line with 0-based index i is HELD OUT when
i % 5 == 4, all others are the development part. Per-item results (errors, summaries) are
only ever produced for development items; the held-out part is reported as totals.

What is counted, per part (dev / held-out), language (en / ko) and kind (excerpt / full):
- relevance F1: `label_alliance` true is positive, false negative; "borderline" items are
  left out of relevance and key-issue scoring (the annotator could not decide; either answer
  is acceptable) and only counted in `n` and as "borderline marked relevant".
- key-issue micro-F1 on the items labelled true: the gold set is the taxonomy ids among the
  labels (articles-2) or the free-text labels mapped as devset.LABEL_TO_ISSUE maps them
  (articles.jsonl); free-text tags with no taxonomy id ("US-Japan alliance", "K-pop") are
  ignored.
- authors: on items whose gold author is set and whose name is visible in the title or text
  given to the analyzer (a name that is only in the page's front matter cannot be found), the
  share named right. Names compare without case, spacing, a dateline prefix ("세종=") or an
  outlet before the name ("CBS노컷뉴스 오수정" ~ "오수정"), and as sets of people ("A, B and C").
  Invented: any author given where the gold author is null.
- summaries: simple checks that need no reader (length, sentence count, a dateline or agency
  tag left in, a dangling opener, the first sentence sharing words with the title).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from koreapage_bot.analysis.jsonl import analyze_jsonl
from koreapage_bot.analysis.pipeline import OfflineAnalyzer
from koreapage_bot.analysis.text import wordset
from tests.integration.analysis.devset import LABEL_TO_ISSUE
from tests.integration.analysis.keyword_baseline import keyword_verdict

FILES = ("articles.jsonl", "articles-2.jsonl")
HELD_OUT_EVERY = 5
HELD_OUT_REMAINDER = 4
TAXONOMY_IDS = frozenset(
    {
        "cost-sharing",
        "gsomia",
        "usfk",
        "trade",
        "missile-defense",
        "opcon",
        "extended-deterrence",
        "exercises",
        "north-korea",
        "china",
        "japan-trilateral",
    }
)


@dataclass(frozen=True, slots=True)
class Item:
    file: str
    index: int
    raw: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.raw["id"])

    @property
    def part(self) -> str:
        return "held-out" if self.index % HELD_OUT_EVERY == HELD_OUT_REMAINDER else "dev"

    @property
    def language(self) -> str:
        return str(self.raw.get("language") or "en")

    @property
    def kind(self) -> str:
        return "excerpt" if self.raw.get("text_is_excerpt", True) else "full"

    @property
    def label(self) -> object:
        return self.raw["label_alliance"]

    def gold_issues(self) -> set[str]:
        out: set[str] = set()
        for tag in cast(list[str], self.raw.get("key_issues") or []):
            if tag in TAXONOMY_IDS:
                out.add(tag)
            elif LABEL_TO_ISSUE.get(tag):
                out.add(cast(str, LABEL_TO_ISSUE[tag]))
        return out

    def input_line(self) -> str:
        """The item as `koreapage-bot analyze` reads it; the author is withheld (it is measured)."""
        obj: dict[str, object] = {
            "id": self.id,
            "title": self.raw.get("title") or "",
            "text": self.raw["text"],
        }
        if self.raw.get("url"):
            obj["url"] = self.raw["url"]
        if self.raw.get("date"):
            obj["published"] = self.raw["date"]
        return json.dumps(obj, ensure_ascii=False)


def load(shared: Path, parts: Iterable[str] = ("dev", "held-out")) -> list[Item]:
    wanted = set(parts)
    items: list[Item] = []
    for name in FILES:
        lines = (shared / "eval-dev" / name).read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(line for line in lines if line.strip()):
            item = Item(name, i, json.loads(line))
            if item.part in wanted:
                items.append(item)
    return items


async def run(items: list[Item], analyzer: OfflineAnalyzer | None = None) -> dict[str, Any]:
    """id → the JSON object `analyze` printed for it (a result or an error line)."""
    analyzer = analyzer or OfflineAnalyzer()
    out: dict[str, Any] = {}
    ids = [it.id for it in items]
    async with analyzer:
        n = 0
        async for line in analyze_jsonl((it.input_line() for it in items), analyzer):
            obj = json.loads(line)
            out[str(obj.get("id") if obj.get("id") is not None else ids[n])] = obj
            n += 1
    return out


# --- authors --------------------------------------------------------------------------------


def _fold(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip().casefold()


def author_names(author: str | None) -> list[str]:
    if not author:
        return []
    text = _fold(author)
    text = text.rsplit("=", 1)[-1]  # "세종= 장재진", "워싱턴=김은중": a dateline prefix
    text = re.sub(r"\s*(?:기자|특파원)$", "", text)
    return [p.strip() for p in re.split(r",|;|&| and ", text) if p.strip()]


def same_author(got: str | None, gold: str | None) -> bool:
    a, b = author_names(got), author_names(gold)
    if not a or not b or len(a) != len(b):
        return not a and not b
    # An outlet before the person's name in the gold ("cbs노컷뉴스 오수정") is not the author.
    return all(x == y or y.endswith(" " + x) for x, y in zip(sorted(a), sorted(b), strict=True))


def author_visible(item: Item) -> bool:
    """Every gold name is in the input (for an outlet-prefixed Korean gold, "CBS노컷뉴스 오수정",
    the name after the outlet)."""
    names = author_names(cast(str | None, item.raw.get("author")))
    if not names:
        return False
    hay = re.sub(r"\s+", "", _fold(f"{item.raw.get('title') or ''}\n{item.raw['text']}"))

    def seen(name: str) -> bool:
        if re.sub(r"\s+", "", name) in hay:
            return True
        last = name.split(" ")[-1]
        return " " in name and bool(re.fullmatch(r"[가-힣]{2,4}", last)) and last in hay

    return all(seen(n) for n in names)


# --- summaries ------------------------------------------------------------------------------

_DATELINE = re.compile(r"\b[A-Z]{3,}[A-Z ,.]*\b[^.]{0,30}\((?:Yonhap|Reuters|AP|AFP|KUNA|UPI)\)")
_DANGLING = re.compile(
    r"^(?:However|But|So|Also|Meanwhile|This|These|That|Those|It|They|He|She|The graph|"
    r"As part of this|In addition|Moreover|Still|Instead|그러나|하지만|이에|이는|이와|또한|그는)\b"
)
_SENT_END = re.compile(r"(?<=[.!?。])\s+|(?<=다\.)")
_WORD = re.compile(r"[A-Za-z][A-Za-z\-]{2,}|[가-힣]{2,}|\d[\d,.]*")
_TITLE_STOP = wordset(
    "the and for with from that this says said over after amid into about will its has have are "
    "was were not but more than"
)


def summary_checks(title: str, summary: str) -> dict[str, bool]:
    sentences = [s for s in _SENT_END.split(summary.strip()) if s.strip()]
    title_words = {w.lower() for w in _WORD.findall(title)} - _TITLE_STOP
    first = {w.lower() for w in _WORD.findall(sentences[0])} if sentences else set()
    # Korean words carry particles ("주한미군을"): compare their first two syllables.
    tw = {w[:2] if w[0] >= "가" else w for w in title_words}
    fw = {w[:2] if w[0] >= "가" else w for w in first}
    return {
        "empty": not summary.strip(),
        "over_600": len(summary) > 620,
        "dateline": bool(_DATELINE.search(summary)),
        "dangling_first": bool(sentences and _DANGLING.match(sentences[0])),
        "title_anchor": not tw or len(tw & fw) >= min(2, len(tw)),
    }


# --- tallies --------------------------------------------------------------------------------


def f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp else (1.0 if not (fp or fn) else 0.0)


@dataclass
class Figures:
    n: int = 0
    rel: list[int] = field(default_factory=lambda: [0, 0, 0])  # tp, fp, fn
    issue: list[int] = field(default_factory=lambda: [0, 0, 0])
    kw_rel: list[int] = field(default_factory=lambda: [0, 0, 0])
    kw_issue: list[int] = field(default_factory=lambda: [0, 0, 0])
    authors_right: int = 0
    authors_total: int = 0
    invented: int = 0
    hidden_byline_given: int = 0  # gold author not visible in the text, yet one was given
    borderline: int = 0
    borderline_relevant: int = 0
    errors_out: int = 0  # lines `analyze` answered with an error
    summaries: int = 0
    summary_flags: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    @property
    def relevance_f1(self) -> float:
        return f1(*self.rel)

    @property
    def issue_f1(self) -> float:
        return f1(*self.issue)

    @property
    def author_accuracy(self) -> float:
        return self.authors_right / self.authors_total if self.authors_total else 1.0


def _add(counts: list[int], gold: set[str], got: set[str]) -> None:
    counts[0] += len(gold & got)
    counts[1] += len(got - gold)
    counts[2] += len(gold - got)


def _rel(counts: list[int], label: object, relevant: bool) -> None:
    if label is True:
        counts[0 if relevant else 2] += 1
    elif label is False and relevant:
        counts[1] += 1


def tally(
    items: list[Item], outputs: dict[str, Any], errors: list[str] | None = None
) -> dict[tuple[str, str, str], Figures]:
    """Figures per (part, language, kind). `errors` receives per-item notes for dev items only."""
    groups: dict[tuple[str, str, str], Figures] = defaultdict(Figures)
    for it in items:
        fig = groups[(it.part, it.language, it.kind)]
        out = outputs.get(it.id, {})
        note = errors if (errors is not None and it.part == "dev") else None
        fig.n += 1
        if "error" in out:
            fig.errors_out += 1
            if note is not None:
                note.append(f"{it.id}: analyze answered an error: {out['error']}")
        relevant = bool(out.get("relevant"))
        got = {k["id"] for k in out.get("key_issues", [])}
        kw_relevant, kw_issues = keyword_verdict(str(it.raw.get("title") or ""), it.raw["text"])
        _rel(fig.rel, it.label, relevant)
        _rel(fig.kw_rel, it.label, kw_relevant)
        if it.label == "borderline":
            fig.borderline += 1
            fig.borderline_relevant += relevant
        if it.label is True:
            gold = it.gold_issues()
            _add(fig.issue, gold, got)
            _add(fig.kw_issue, gold, kw_issues)
            if note is not None and gold != got:
                note.append(
                    f"{it.id} issues: extra {sorted(got - gold)} missing {sorted(gold - got)}"
                )
        if note is not None and it.label in (True, False) and relevant != it.label:
            what = "missed" if it.label else "false alarm"
            note.append(f"{it.id} {what} ({out.get('relevance')}): {it.raw.get('title')}")
        gold_author = cast(str | None, it.raw.get("author"))
        got_author = cast(str | None, out.get("author"))
        if gold_author and author_visible(it):
            fig.authors_total += 1
            if same_author(got_author, gold_author):
                fig.authors_right += 1
            elif note is not None:
                note.append(f"{it.id} author: want {gold_author!r} got {got_author!r}")
        elif gold_author and got_author and not same_author(got_author, gold_author):
            fig.hidden_byline_given += 1
            if note is not None:
                note.append(f"{it.id} hidden author: want {gold_author!r} got {got_author!r}")
        elif not gold_author and got_author:
            fig.invented += 1
            if note is not None:
                note.append(f"{it.id} invented author {got_author!r}")
        if relevant and out.get("summary") is not None:
            fig.summaries += 1
            for flag, bad in summary_checks(str(it.raw.get("title") or ""), out["summary"]).items():
                if flag == "title_anchor":
                    bad = not bad
                if bad:
                    fig.summary_flags[flag] += 1
                    if note is not None:
                        note.append(f"{it.id} summary {flag}: {out['summary'][:160]!r}")
    return groups


def merge(figs: Iterable[Figures]) -> Figures:
    total = Figures()
    for f in figs:
        total.n += f.n
        for name in ("rel", "issue", "kw_rel", "kw_issue"):
            acc, part = getattr(total, name), getattr(f, name)
            for k in range(3):
                acc[k] += part[k]
        total.authors_right += f.authors_right
        total.authors_total += f.authors_total
        total.invented += f.invented
        total.hidden_byline_given += f.hidden_byline_given
        total.borderline += f.borderline
        total.borderline_relevant += f.borderline_relevant
        total.errors_out += f.errors_out
        total.summaries += f.summaries
        for k, v in f.summary_flags.items():
            total.summary_flags[k] += v
    return total
