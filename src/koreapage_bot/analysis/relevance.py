"""Is the post about the US-ROK alliance? A score in [0, 1] and the evidence for it.

Evidence is counted sentence by sentence, and weighted (title 2.5x, lead 1.5x):
- an alliance issue's strong term ("USFK", "THAAD", "Special Measures Agreement"): 2 points;
- an alliance issue's plain term in a sentence that names the US or South Korea: 1 point
  when the other party is named in the sentence or its paragraph, 0.6 when it is not ("US
  tariffs on Chinese goods"), 0.4 when the sentence names neither but the post names both;
- a plain term of an `evidence` context issue (the US-Japan-ROK trilateral) in a post naming
  both: as above where the sentence names the US, 0.3 where it does not;
- the US and South Korea named together in a sentence ("Seoul and Washington"): 1 point;
- "alliance"/"allies" where the US or South Korea is named: 1 point;
- North Korea where the US and South Korea are named together (policy toward Pyongyang
  with Seoul part of it): 1 point.
Sentences in Pyongyang's voice ("U.S. imperialists and their puppets") name the two as its
enemies, and a sports report's "South Korea beat the U.S." names them as rivals: such sentences
earn no "together" points. "Analysts in Seoul" names a place, not an actor
(lexicon.py).
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
ONE_SIDED = 0.6  # a plain issue term beside one party, the other named nowhere near
CONTEXT_NEAR = 0.3  # a trilateral term in a sentence without the US, in a post naming both


@dataclass(frozen=True, slots=True)
class Relevance:
    score: float
    points: float
    why: tuple[str, ...]


def _quote(terms: dict[str, int], n: int = 4) -> str:
    top = sorted(terms.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
    return ", ".join(f"{t!r}×{c}" if c > 1 else repr(t) for t, c in top)


def _partners(doc: Doc) -> dict[int, tuple[bool, bool]]:
    """(US named, ROK named) around each sentence: its paragraph, or the title and the lead
    paragraph for the title, so "the US" in one sentence and "Seoul" in the next pair up."""
    by_para: dict[int, tuple[bool, bool]] = {}
    for s in doc.sentences:
        us, rok = by_para.get(s.para, (False, False))
        by_para[s.para] = (us or s.us or s.bilateral, rok or s.rok or s.bilateral)
    body_paras = sorted(p for p in by_para if p >= 0)
    if body_paras:
        t_us, t_rok = by_para[-1]
        l_us, l_rok = by_para[body_paras[0]]
        by_para[-1] = (t_us or l_us, t_rok or l_rok)
    return by_para


def _named_in_passing(doc: Doc, rok: bool) -> bool:
    """The party appears in a single body sentence, outside the title and the lead."""
    where = [s for s in doc.sentences if (s.rok if rok else s.us) or s.bilateral]
    return len(where) == 1 and not where[0].is_title and not where[0].lead


def score_relevance(doc: Doc, lexicon: Lexicon) -> Relevance:
    kinds = {m.id: m.kind for m in lexicon.issues}
    labels = {m.id: m.label for m in lexicon.issues}
    anchors = {m.id for m in lexicon.issues if m.anchor}
    evidence = {m.id for m in lexicon.issues if m.evidence}
    has_us, has_rok = doc.has_us, doc.has_rok
    partners = _partners(doc)
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
        pair = ((s.us and s.rok) or s.bilateral) and not s.sports
        para_us, para_rok = partners[s.para]
        # A plain term beside one party only ("US tariffs on Chinese goods") is about the
        # alliance when the other party is named nearby.
        plain = 1.0 if pair or (para_us and para_rok) else ONE_SIDED
        for issue, tier, term, attribution in hits_by_sentence.get(s.index, []):
            factor = 0.3 if attribution else 1.0
            if kinds[issue] == "alliance":
                if tier == "strong" and issue not in anchors:
                    tier = "normal"  # names the issue, but the US role must be shown
                if tier == "strong":
                    gain = 2.0
                    strong_terms[term] += 1
                elif tier == "normal" and actor:
                    gain = plain
                    issue_terms[term] += 1
                elif tier == "normal" and has_us and has_rok:
                    gain = 0.4
                else:
                    gain = 0.0
                p += gain * factor
                issue_ids[issue] += gain * factor
            elif issue in evidence and tier != "weak" and has_us and has_rok:
                # The trilateral is an alliance matter where the US takes part in it.
                p += (plain if s.us or s.bilateral else CONTEXT_NEAR) * factor
                issue_terms[term] += 1
            elif issue == "north-korea" and pair and not s.hostile:
                p += NK_TOGETHER / max(1, len(hits_by_sentence[s.index]))
        if pair and not s.hostile:
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
    # Named once, deep in the post ("exporters in South Korea and Taiwan would welcome it"):
    # a bystander rather than a party, so halfway to never named.
    for named, factor, who in (
        (has_us, NO_US_FACTOR, "the United States"),
        (has_rok, NO_ROK_FACTOR, "South Korea"),
    ):
        if named and not strong_terms and _named_in_passing(doc, who == "South Korea"):
            points *= (1.0 + factor) / 2
            why.append(f"{who} is named only in passing")
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
