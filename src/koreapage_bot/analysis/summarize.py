"""Extractive summary: 2-3 central, informative sentences, no near-duplicates, ≤ ~600 chars.

Sentences are scored by TF-IDF cosine to the document centroid, plus a lead bias, overlap with
the title, a bonus for naming the post's key issues (each issue once: the summary should cover
the issues rather than repeat one) and a small one for figures. Page noise never gets here:
the candidates come from the cleaned body, and headings, fragments and questions are skipped.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

from koreapage_bot.analysis.lexicon import Doc, Sentence
from koreapage_bot.analysis.text import wordset

MAX_CHARS = 600
MAX_SENTENCES = 3
DUPLICATE_COSINE = 0.5
TITLE_WEIGHT = 0.25
LEAD_BONUS = 0.1  # the first sentence; decays with position
FIGURE_BONUS = 0.08  # amounts, percentages: concrete facts
ISSUE_BONUS = 0.1  # names one of the post's key issues
COVER_BONUS = 0.15  # names a key issue not yet covered by the summary

_TOKEN = re.compile(r"[a-z][a-z'\-]+|\d[\d,.]*")
_STOP = wordset(
    """a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each few for
    from further had has have having he her here hers herself him himself his how i if in into
    is it its itself just me more most my myself no nor not now of off on once only or other our
    ours out over own same she should so some such than that the their theirs them then there
    these they this those through to too under until up very was we were what when where which
    while who whom why will with would you your said says say told one two new last year years
    week month monday tuesday wednesday thursday friday saturday sunday would could may might
    must shall"""
)
# "SEOUL, Aug. 14 (UPI) -- ", "CAMP HUMPHREYS, South Korea — ": a dateline, not content.
_DATELINE = re.compile(
    r"^[A-Z][A-Z.'\- ]{1,30}[A-Z.](?:,\s*[A-Z][\w.]*(?:\s[A-Z][\w.]*){0,2})?"
    r"(?:,?\s*[A-Z][a-z]{2,4}\.?\s+\d{1,2})?(?:\s*\([A-Za-z]+\))?\s*(?:—|–|--|-)\s+"
)
_FIGURE = re.compile(r"\$\s?\d|\d+(?:\.\d+)?\s?(?:%|percent|billion|million|trillion)|\b\d{2,}\b")


def tokens(text: str) -> list[str]:
    out = []
    for t in _TOKEN.findall(text.lower()):
        t = t.strip("'-")
        if len(t) < 2 or t in _STOP:
            continue
        if len(t) > 4 and t.endswith("s") and not t.endswith("ss"):
            t = t[:-1]  # a light plural fold is enough for centrality
        out.append(t)
    return out


def _vector(counts: Counter[str], idf: dict[str, float]) -> dict[str, float]:
    vec = {t: (1.0 + math.log(c)) * idf.get(t, 1.0) for t, c in counts.items()}
    norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
    return {t: v / norm for t, v in vec.items()}


def _cos(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b.get(t, 0.0) for t, v in a.items())


def _candidate(s: Sentence) -> bool:
    text = s.text
    if s.is_title or s.is_heading or len(text) < 40 or len(text) > 450:
        return False
    if not re.search(r"[.!\"”’]$", text):  # cut mid-sentence, or a caption
        return False
    if text.endswith("?") or text[0].islower():
        return False
    return len(text.split()) >= 6


def summarize(
    doc: Doc,
    issue_ids: Sequence[str] = (),
    max_chars: int = MAX_CHARS,
    max_sentences: int = MAX_SENTENCES,
) -> str:
    body = doc.body()
    cands = [s for s in body if _candidate(s)]
    if not cands:
        cands = [s for s in body if len(s.text) >= 20 and not s.is_heading] or body
        if not cands:
            return ""
    toks = {s.index: Counter(tokens(s.text)) for s in body}
    n = max(1, len(body))
    df: Counter[str] = Counter()
    for c in toks.values():
        df.update(c.keys())
    idf = {t: math.log((n + 1) / (d + 1)) + 1.0 for t, d in df.items()}
    vectors = {i: _vector(c, idf) for i, c in toks.items() if c}
    centroid_counts: Counter[str] = Counter()
    for c in toks.values():
        centroid_counts.update(c)
    centroid = _vector(centroid_counts, idf)
    title_vec = _vector(Counter(tokens(doc.sentences[0].text)), idf)
    issue_of: dict[int, set[str]] = {}
    wanted = list(issue_ids[:3])
    for h in doc.hits:
        if h.issue in wanted:
            issue_of.setdefault(h.sentence, set()).add(h.issue)
    order = {s.index: k for k, s in enumerate(body)}
    base: dict[int, float] = {}
    for s in cands:
        vec = vectors.get(s.index, {})
        pos = order[s.index]
        score = _cos(vec, centroid) + TITLE_WEIGHT * _cos(vec, title_vec)
        score += LEAD_BONUS / (1.0 + 0.5 * pos)
        score += FIGURE_BONUS if _FIGURE.search(s.text) else 0.0
        score += ISSUE_BONUS if issue_of.get(s.index) else 0.0
        base[s.index] = score

    chosen: list[Sentence] = []
    covered: set[str] = set()
    used = 0
    pool = list(cands)
    while pool and len(chosen) < max_sentences:

        def gain(s: Sentence, covered: set[str] = covered) -> float:
            new = issue_of.get(s.index, set()) - covered
            bonus = sum(COVER_BONUS * (1.0 - 0.25 * wanted.index(i)) for i in new)
            return base[s.index] + bonus

        pool.sort(key=gain, reverse=True)
        picked = None
        for s in pool:
            vec = vectors.get(s.index, {})
            if any(_cos(vec, vectors.get(c.index, {})) > DUPLICATE_COSINE for c in chosen):
                continue
            if used + len(s.text) + (1 if chosen else 0) > max_chars:
                continue
            picked = s
            break
        if picked is None:
            break
        chosen.append(picked)
        used += len(picked.text) + (1 if len(chosen) > 1 else 0)
        covered |= issue_of.get(picked.index, set())
        pool = [s for s in pool if s is not picked]
    if not chosen:
        first = cands[0].text
        return first if len(first) <= max_chars else first[: max_chars - 1].rsplit(" ", 1)[0] + "…"
    chosen.sort(key=lambda s: order[s.index])
    return " ".join(tidy(s.text) for s in chosen)


def tidy(sentence: str) -> str:
    sentence = _DATELINE.sub("", sentence)
    sentence = re.sub(r"(?<!\.)\.\.(?!\.)", ".", sentence)
    return sentence[:1].upper() + sentence[1:]
