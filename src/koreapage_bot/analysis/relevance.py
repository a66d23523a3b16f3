"""Is the post about the US-ROK alliance? A score in [0, 1] and the evidence for it.

Evidence is counted sentence by sentence, and weighted (title 2.5x, lead 1.5x):
- an alliance issue's strong term ("USFK", "THAAD", "Special Measures Agreement"): 2 points;
- an alliance issue's plain term in a sentence that names the US or South Korea: 1 point
  (0.4 when the sentence names neither but the post names both);
- the US and South Korea named together in a sentence ("Seoul and Washington"): 1 point;
- "alliance"/"allies" where the US or South Korea is named: 1 point;
- North Korea where the US and South Korea are named together (policy toward Pyongyang
  with Seoul part of it): 1 point.
A post that never names the United States (or never names South Korea) keeps only a small
part of its points: without both actors it is not about their alliance. Points are divided by
the square root of the length in 500-word units, so a long article needs more than one passing
mention; the score is 1 - exp(-points / SCALE).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

from koreapage_bot.analysis.lexicon import Doc, Lexicon

SCALE = 6.0
NO_US_FACTOR = 0.15
NO_ROK_FACTOR = 0.3
NK_TOGETHER = 1.0  # North Korea where the US and South Korea are named together


@dataclass(frozen=True, slots=True)
class Relevance:
    score: float
    points: float
    why: tuple[str, ...]


def _quote(terms: dict[str, int], n: int = 4) -> str:
    top = sorted(terms.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
    return ", ".join(f"{t!r}×{c}" if c > 1 else repr(t) for t, c in top)


def score_relevance(doc: Doc, lexicon: Lexicon) -> Relevance:
    kinds = {m.id: m.kind for m in lexicon.issues}
    labels = {m.id: m.label for m in lexicon.issues}
    anchors = {m.id for m in lexicon.issues if m.anchor}
    has_us, has_rok = doc.has_us, doc.has_rok
    hits_by_sentence: dict[int, list[tuple[str, str, str, bool]]] = defaultdict(list)
    for h in doc.hits:
        hits_by_sentence[h.sentence].append((h.issue, h.tier, h.term, h.attribution))
    points = 0.0
    title_points = 0.0
    strong_terms: dict[str, int] = defaultdict(int)
    issue_terms: dict[str, int] = defaultdict(int)
    issue_ids: dict[str, float] = defaultdict(float)
    together = 0
    alliance_words = 0
    for s in doc.sentences:
        p = 0.0
        actor = s.us or s.rok or s.bilateral
        for issue, tier, term, attribution in hits_by_sentence.get(s.index, []):
            factor = 0.3 if attribution else 1.0
            if kinds[issue] == "alliance":
                if tier == "strong" and issue not in anchors:
                    tier = "normal"  # names the issue, but the US role must be shown
                if tier == "strong":
                    gain = 2.0
                    strong_terms[term] += 1
                elif tier == "normal" and actor:
                    gain = 1.0
                    issue_terms[term] += 1
                elif tier == "normal" and has_us and has_rok:
                    gain = 0.4
                else:
                    gain = 0.0
                p += gain * factor
                issue_ids[issue] += gain * factor
            elif issue == "north-korea" and ((s.us and s.rok) or s.bilateral):
                p += NK_TOGETHER / max(1, len(hits_by_sentence[s.index]))
        if (s.us and s.rok) or s.bilateral:
            p += 1.0
            together += 1
        if s.alliance_word and (actor or (has_us and has_rok)):
            p += 1.0
            alliance_words += 1
        points += p * s.weight
        if s.is_title:
            title_points = p * s.weight
    raw = points
    why: list[str] = []
    if not has_us and not strong_terms:
        points *= NO_US_FACTOR
        why.append("the United States is never named")
    if not has_rok and not strong_terms:
        points *= NO_ROK_FACTOR
        why.append("South Korea is never named")
    length = max(1.0, doc.words / 500.0)
    norm = points / math.sqrt(length)
    score = 1.0 - math.exp(-norm / SCALE)
    if title_points:
        why.insert(0, f"alliance evidence in the title ({title_points:.1f} points)")
    if strong_terms:
        why.append(f"alliance terms: {_quote(strong_terms)}")
    if issue_terms:
        why.append(f"issue terms beside US/ROK actors: {_quote(issue_terms)}")
    if together:
        why.append(f"the US and South Korea named together in {together} sentence(s)")
    if alliance_words:
        why.append(f"'alliance'/'allies' in {alliance_words} sentence(s)")
    top = sorted(issue_ids.items(), key=lambda kv: -kv[1])
    if top and top[0][1] > 0:
        why.append("mostly about: " + ", ".join(labels[i] for i, v in top[:2] if v > 0))
    if not why or raw == 0:
        why.append("no alliance evidence: no US-ROK actors or alliance issue terms together")
    why.append(f"{raw:.1f} points over {doc.words} words → score {score:.2f}")
    return Relevance(round(score, 4), norm, tuple(why))
