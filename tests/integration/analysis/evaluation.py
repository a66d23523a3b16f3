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
- summaries of the items marked relevant: `summary_checks` flags, per summary, a sentence
  that is a dateline or agency tag, a photo caption or credit, site boilerplate, a fragment
  (no closing punctuation, under four words, a lower-case start), a dangling opener
  ("However,", "He", "이는" first, or after a sentence that is not the one before it in the
  text), a summary sharing no content word with the title (`off_title`), a first sentence
  sharing fewer than two (`weak_anchor`: the headline's central fact is not up front), and
  one over 600 characters.
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
from koreapage_bot.analysis.text import split_sentences, wordset
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


# People credited only with "additional reporting" (a wire story reposted without its byline).
_ADDITIONAL_CREDIT = re.compile(r"Additional reporting by ([^;)\]\n]+)", re.IGNORECASE)


def labelled_author(item: Item) -> str | None:
    """The labelled author under one convention for every set: the byline's people, never
    those credited only with "additional reporting" (the convention of the fresh blind sets
    of issue 9; articles-2.jsonl listed them as authors on four Reuters items, and counting
    them either way there while the fresh sets count them as invented would score the same
    form both ways)."""
    raw = cast(str | None, item.raw.get("author"))
    extra: set[str] = set()
    for m in _ADDITIONAL_CREDIT.finditer(str(item.raw.get("text") or "")):
        for name in re.split(r",|\band\b", m.group(1)):
            extra.add(_fold(re.sub(r"\s+(?:in|at|from)\s+.*$", "", name.strip())))
    if not raw or not extra:
        return raw
    kept = [n for n in re.split(r",\s*|\s+and\s+", raw) if n.strip() and _fold(n) not in extra]
    return ", ".join(kept) or None


def author_visible(item: Item) -> bool:
    """Every gold name is in the input (for an outlet-prefixed Korean gold, "CBS노컷뉴스 오수정",
    the name after the outlet)."""
    names = author_names(labelled_author(item))
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
# A checker that needs no reader: each flag is a form a summary sentence must never take.
# It reads the summary, the title and the input text; it does not reuse the product's own
# noise rules (normalize.py, noise.py), so a form those rules miss is counted here.

# A dateline or agency tag: "SEOUL, Jan. 2 (Yonhap) --", "(MENAFN- …) TOKYO, May 23 (KUNA) --",
# "WASHINGTON --", a Reuters repost's bare "WASHINGTON U.S. President …", "[서울=뉴시스]",
# "(세종=연합뉴스) 홍길동 기자 =".
_AGENCIES = r"(?:Yonhap|Reuters|AP|AFP|KUNA|UPI|Xinhua|Kyodo|Bloomberg|dpa|ANI|IANS|EFE|MENAFN)"
_DATELINE = re.compile(
    rf"\b[A-Z][A-Z .,'-]{{2,}}(?:,\s*[A-Z][a-z]{{2,4}}\.?\s*\d{{1,2}})?\s*\({_AGENCIES}\)\s*[-–—]|"
    rf"\b[A-Z][a-z]+,\s*[A-Z][a-z]{{2,4}}\.?\s*\d{{1,2}}\s*\({_AGENCIES}\)|"
    r"\(MENAFN\b|"
    r"^(?:[A-Z]{3,}[ ,]*){1,3}(?:[-–—]{1,2}\s|,\s+[A-Z][a-z]{2,3}\.?\s+\d)|"
    r"^(?:SEOUL|WASHINGTON|TOKYO|BEIJING|PYONGYANG|UNITED NATIONS|NEW YORK|LONDON|MOSCOW|"
    r"SINGAPORE|HONOLULU|BUSAN|SEJONG|PANMUNJOM)\b|"
    r"[\[【][^\]】]{0,20}=[^\]】]{0,20}[\]】]|\([가-힣]+\s*=\s*[가-힣A-Za-z0-9]+\)|"
    r"[가-힣]+=\s?[가-힣]{2,4}\s?(?:기자|특파원)"
)
# A photo caption or credit: "(Yonhap)" or "(AP Photo/…)" closing the sentence, "file photo",
# "pictured", "(left)", "사진=", "/연합뉴스".
_CAPTION = re.compile(
    rf"\({_AGENCIES}(?:\s?Photo)?(?:/[^)]*)?\)\s*$|"
    r"\((?:EPA|Getty Images|Newsis|News1|KCNA)[^)]*\)\s*$|"
    r"\b(?:file photo|photo (?:courtesy|provided|shows)|pictured|in this (?:photo|picture|image)|"
    r"this (?:photo|picture|image) (?:shows|taken)|photo by|courtesy of|Getty Images|AP Photo)\b|"
    r"\((?:L|R|C|left|right|center|second from (?:left|right)|from left)\)|"
    r"(?<=\w), (?:left|right|center|second from (?:left|right)|from left),|"
    r", (?:Jan|Feb|March|April|May|June|July|Aug|Sept?|Oct|Nov|Dec)[a-z]*\.? \d{1,2}, \d{4}\.$|"
    r"사진=|\(사진\)|\[사진\]|제공=|자료사진|사진 제공|\((?:왼쪽|오른쪽|가운데)\)|"
    r"/(?:뉴스1|연합뉴스|뉴시스)\b",
    re.IGNORECASE,
)
# Site furniture: copyright lines, calls to subscribe or share, "Related articles".
_BOILERPLATE = re.compile(
    r"all rights reserved|©|\(c\) \d{4}|\bcopyright\b|may not be (?:published|reproduced|"
    r"redistributed|rewritten)|\bsubscribe\b|\bsubscription\b|\bnewsletter\b|\bsign up\b|"
    r"click here|read more|related articles?|become a member|support our journalism|"
    r"\badvertisement\b|share this|follow us|무단\s?전재|재배포\s?금지|구독|기사\s?제보|저작권자",
    re.IGNORECASE,
)
# An opener that needs the sentence before it: a connective or an anaphor.
_DANGLING = re.compile(
    r"^(?:However|But|So|Also|Meanwhile|Moreover|Furthermore|In addition|Still|Instead|Yet|"
    r"Besides|Nevertheless|Therefore|Thus|Then|As part of this|As a result|"
    r"(?:This|That|These|Those)(?! (?:year|week|month|time|morning|afternoon|evening)\b)|"
    r"It|They|He|She|His|Her|Their|Its|Such|The graph|The chart|The move|The decision|"
    r"The remarks|The comments)\b|"
    r"^(?:그러나|하지만|이에|이는|이와|이를|또한|그는|그녀는|그러면서|이어|이같이|이처럼|반면|따라서)"
)
_EXPLETIVE_IT = re.compile(
    r"^It(?:'s|’s| is| was| has been| will be| would be| remains| seems)(?: not)?(?: \w+){1,4}? "
    r"(?:that|whether|if|how|why|when|what)\b"
)
_TERMINAL = re.compile(r"[.!?。]['\"”’)\]]*$|다$")
_WORD = re.compile(r"[A-Za-z][A-Za-z\-]{2,}|[가-힣]{2,}|\d[\d,.]*")
_TITLE_STOP = wordset(
    "the and for with from that this says said over after amid into about will its has have are "
    "was were not but more than"
)
SUMMARY_FLAGS = (
    "over_600",
    "dateline",
    "caption",
    "boilerplate",
    "fragment",
    "dangling",
    "off_title",
    "weak_anchor",
)


def _content_words(text: str) -> set[str]:
    # Korean words carry particles ("주한미군을"): compare their first two syllables.
    words = {w.lower() for w in _WORD.findall(text)} - _TITLE_STOP
    return {w[:2] if w[0] >= "가" else w for w in words}


def _squash(text: str) -> str:
    return " ".join(text.split())


# Two pieces glued into one: a list number inside the sentence ("… 계획이다.❾ 기업경영 …"),
# a Korean sentence end run into the next word, a heading run into its text ("Talks stallThe").
# A sentence end followed by a lower-case word is a fragment run into the sentence before.
_GLUED = re.compile(
    r"[❶-❿①-⑳■▲▶◆●※]|다\.(?=[^\s\"'”’)\]])|[a-z]{3}[A-Z][a-z]+ [a-z]|"
    r"(?<=[a-z0-9]{2})(?<!Inc)(?<!Co)(?<!Corp)(?<!Ltd)(?<!etc)(?<!vs)(?<!approx)\. [a-z]"
)


def _fragment(sentence: str) -> bool:
    s = sentence.strip()
    first = s.lstrip("\"'“‘(")[:1]
    return (
        not _TERMINAL.search(s)
        or bool(_GLUED.search(s))
        or s.endswith(("…", "..."))
        or len(s.split()) < 4
        or (first.isalpha() and first.islower())
    )


def summary_checks(title: str, summary: str, source: str = "") -> dict[str, bool]:
    """Flags (True = the fault is present) for one summary. `source` is the input text: a
    sentence opening with a connective is dangling unless it follows, in the source, the
    summary sentence before it."""
    sentences = split_sentences(summary.strip())
    src = _squash(source)
    title_words = _content_words(title)
    dangling = False
    for i, sent in enumerate(sentences):
        if not _DANGLING.match(sent) or _EXPLETIVE_IT.match(sent):
            continue
        if i == 0:
            dangling = True
            continue
        prev, here = _squash(sentences[i - 1]), _squash(sent)
        at = src.find(prev)
        # Only what can be checked is flagged: both sentences found, not adjacent.
        if at >= 0 and src.find(here) >= 0 and not src[at + len(prev) :].lstrip().startswith(here):
            dangling = True
    first = _content_words(sentences[0]) if sentences else set()
    return {
        "empty": not summary.strip(),
        "over_600": len(summary) > 620,
        "dateline": any(_DATELINE.search(s) for s in sentences),
        "caption": any(_CAPTION.search(s) for s in sentences),
        "boilerplate": any(_BOILERPLATE.search(s) for s in sentences),
        "fragment": any(_fragment(s) for s in sentences),
        "dangling": dangling,
        "off_title": bool(title_words) and not (title_words & _content_words(summary)),
        "weak_anchor": bool(title_words) and len(title_words & first) < min(2, len(title_words)),
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
    summaries: int = 0  # of items marked relevant (the briefs that are posted)
    summary_flags: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    # Every item's summary, relevant or not: more texts for the checker.
    summaries_all: int = 0
    summary_flags_all: dict[str, int] = field(default_factory=lambda: defaultdict(int))

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
        gold_author = labelled_author(it)
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
        if out.get("summary") is not None:
            title = str(it.raw.get("title") or "")
            checks = summary_checks(title, out["summary"], it.raw["text"])
            fig.summaries_all += 1
            if relevant:
                fig.summaries += 1
            for flag, bad in checks.items():
                if not bad:
                    continue
                fig.summary_flags_all[flag] += 1
                if relevant:
                    fig.summary_flags[flag] += 1
                if note is not None:
                    kept = "" if relevant else " (not relevant)"
                    note.append(f"{it.id} summary {flag}{kept}: {out['summary'][:160]!r}")
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
        total.summaries_all += f.summaries_all
        for k, v in f.summary_flags.items():
            total.summary_flags[k] += v
        for k, v in f.summary_flags_all.items():
            total.summary_flags_all[k] += v
    return total
