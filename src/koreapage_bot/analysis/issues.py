"""Which key issues a post is really about: salience from title, frequency and position.

Each sentence that names an issue adds the weight of its strongest term (strong 1.5, plain 1,
weak 0.5), more in the title and the lead; a sentence naming several alliance issues shares its
credit; a mention that only attributes a quote ("USFK said") counts for little. An issue is
kept when its points reach a floor that grows with the length of the post, so a single word
deep in a long article is not an issue of the post, while a short excerpt's one clear mention
is. Alliance issues come first (they are the subject), then the context issues (North Korea,
China, Japan), each group most salient first.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

from koreapage_bot.analysis.lexicon import Doc, Hit, Lexicon
from koreapage_bot.domain import KeyIssue

TIER_WEIGHT = {"strong": 1.5, "normal": 1.0, "weak": 0.5}
ATTRIBUTION_FACTOR = 0.3
EXTRA_HIT = 0.25  # each further mention in the same sentence
MAX_EXTRA = 2
RELATIVE_FLOOR = 0.2  # an alliance issue needs this share of the top alliance issue's points
SECONDARY_SHARE = 0.5  # a sentence's credit for an issue that is not its main one
SPREAD_BONUS = 0.15  # per further paragraph that names the issue (up to 4)


@dataclass(frozen=True, slots=True)
class IssueScore:
    id: str
    label: str
    kind: str
    points: float
    sentences: int
    terms: tuple[str, ...]
    opening: bool  # a strong term in the title or the lead
    # Named outright: in the title, or by a strong term that is not just a quote's source.
    named: bool = False


def length_floor(words: int) -> float:
    return max(1.0, math.sqrt(words / 400.0))


def score_issues(doc: Doc, lexicon: Lexicon) -> list[IssueScore]:
    kinds = {m.id: m.kind for m in lexicon.issues}
    labels = {m.id: m.label for m in lexicon.issues}
    by_sentence: dict[int, dict[str, list[Hit]]] = defaultdict(lambda: defaultdict(list))
    for h in doc.hits:
        by_sentence[h.sentence][h.issue].append(h)
    points: dict[str, float] = defaultdict(float)
    count: dict[str, int] = defaultdict(int)
    paras: dict[str, set[int]] = defaultdict(set)
    opening: dict[str, bool] = defaultdict(bool)
    named: dict[str, bool] = defaultdict(bool)
    terms: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    raw: dict[int, dict[str, float]] = {}
    totals: dict[str, float] = defaultdict(float)
    for idx, issues in by_sentence.items():
        values: dict[str, float] = {}
        for issue_id, hits in issues.items():
            best = max(TIER_WEIGHT[h.tier] for h in hits)
            extra = EXTRA_HIT * min(MAX_EXTRA, len({h.term.lower() for h in hits}) - 1)
            factor = ATTRIBUTION_FACTOR if all(h.attribution for h in hits) else 1.0
            values[issue_id] = (best + extra) * factor
            totals[issue_id] += values[issue_id]
            for h in hits:
                terms[issue_id][h.term] += 1
                in_opening = doc.sentences[idx].lead or idx == 0
                if h.tier == "strong" and not h.attribution and in_opening:
                    opening[issue_id] = True
                if idx == 0 or (h.tier == "strong" and not h.attribution):
                    named[issue_id] = True
        raw[idx] = values
    for idx, values in raw.items():
        sentence = doc.sentences[idx]
        # A sentence naming several alliance issues belongs to the post's main one among them
        # ("pay $5 billion for US troops" is about cost sharing); the others get half.
        alliance = [i for i in values if kinds[i] == "alliance"]
        main = max(alliance, key=lambda i: totals[i]) if alliance else None
        for issue_id, value in values.items():
            if kinds[issue_id] == "alliance" and issue_id != main:
                value *= SECONDARY_SHARE
            points[issue_id] += value * sentence.weight
            count[issue_id] += 1
            paras[issue_id].add(sentence.para)
    return [
        IssueScore(
            i,
            labels[i],
            kinds[i],
            # Spread: an issue discussed across the post outweighs one paragraph's aside.
            points[i] * (1.0 + SPREAD_BONUS * min(4, len(paras[i]) - 1)),
            count[i],
            tuple(t for t, _ in sorted(terms[i].items(), key=lambda kv: -kv[1])[:3]),
            opening[i],
            named[i],
        )
        for i in points
    ]


def key_issues(doc: Doc, lexicon: Lexicon) -> tuple[KeyIssue, ...]:
    scores = score_issues(doc, lexicon)
    floor = length_floor(doc.words)
    # The subject may be an evidence issue (a Camp David summit): an alliance issue named in
    # passing beside it ("...and military exercises") is held to the same relative floor.
    subject = {m.id for m in lexicon.issues if m.kind == "alliance" or m.evidence}
    top_alliance = max((s.points for s in scores if s.id in subject), default=0.0)
    kept = [
        s
        for s in scores
        if s.points >= floor
        and (s.kind != "alliance" or s.opening or s.points >= RELATIVE_FLOOR * top_alliance)
        # One sentence with a plain term ("...reduce the burden on U.S. forces") is a passing
        # mention; an issue named outright (title, "USFK", "THAAD") may be one sentence's point.
        and (s.kind != "alliance" or s.named or s.sentences >= 2)
    ]
    kept.sort(key=lambda s: (s.kind != "alliance", -s.points))
    # Scores are relative to the main alliance issue (context issues can be mentioned more).
    top = max((s.points for s in kept if s.kind == "alliance"), default=0.0) or max(
        (s.points for s in kept), default=1.0
    )
    return tuple(KeyIssue(s.id, s.label, round(min(1.0, s.points / top), 3), s.terms) for s in kept)
