"""Is the post about the US-ROK alliance? A score in [0, 1] and the sentences that carry it.

Evidence is counted sentence by sentence, and weighted (title 2.5x, lead 1.5x):
- an alliance issue's strong term ("USFK", "THAAD", "Special Measures Agreement", "주한미군"):
  2 points;
- an alliance issue's plain term in a sentence that names the US or South Korea: 1 point
  when the other party is named in the sentence or its paragraph, 0.6 when it is not ("US
  tariffs on Chinese goods"), 0.4 when the sentence names neither but the post names both;
- a plain term of an `evidence` context issue (the US-Japan-ROK trilateral) in a post naming
  both: as above where the sentence names the US, 0.3 where it does not;
- the US and South Korea named together in a sentence: 1 point where the sentence shows an
  alliance matter (an alliance issue's term, "alliance"/"allies", a phrase naming the two as
  a pair: "Seoul and Washington", "US-ROK", "한미", or the two acting together: "agreed",
  "pledged", "합의"), otherwise LOOSE_PAIR: a court report
  naming "a South Korean court" and "an American", or a North Korea story quoting "South
  Korean and U.S. officials", names both without being about their alliance;
- "alliance"/"allies" where the US or South Korea is named in the sentence or its paragraph,
  unless the sentence names another ally and not South Korea ("the alliance with Japan"):
  1 point;
- North Korea where the US and South Korea are named together on an alliance matter (policy
  toward Pyongyang with Seoul part of it): 1 point.

What does not count, or counts less:
- another alliance ("the U.S.-Japan alliance", "U.S. Forces Japan") is blanked before matching
  (taxonomy `elsewhere`); captions and credits are gone before (normalize.py);
- sentences in Pyongyang's voice or reporting it ("U.S. imperialists and their puppets",
  "North Korea condemned the drills", or in a post headlined on Pyongyang, any sentence
  reporting condemnation) earn no "together" points and half the issue points: the alliance
  matter is what the North reacts to;
- a sports report's "South Korea beat the U.S." names rivals; a post with many sports or
  entertainment words (a K-pop "US tour" after "Seoul shows") keeps OFFTOPIC_FACTOR of its
  points unless a strong alliance term is in it;
- trade told without any security matter (no other alliance issue, no "alliance") is a market
  story: its trade points count TRADE_ALONE, and the post's points MARKET_STORY, unless the
  trade agreement itself ("KORUS") is up front or a thread of the post (`market_story`);
- a strong term is the alliance's only beside South Korea (in its paragraph, or a Korean
  place in its sentence): "OPCON" in US Army doctrine, NATO "burden sharing" count as plain
  terms; an alliance term in a sentence about another ally and not Korea is that ally's
  (lexicon.py);
- a strong term once, outside the title and opening of a post longer than an excerpt, does
  not lift the checks below; evidence only in sentences that compare or recall the past
  ("by comparison, Seoul pays … toward USFK") counts SINGLE_SENTENCE;
- evidence in a single sentence of a long post, with no strong term, is a passing mention:
  points count SINGLE_SENTENCE;
- a post that never names the United States (or never names South Korea) keeps only a small
  part of its points; one named only once, deep in the post, is halfway to never named;
- a full-length post whose title and opening say nothing of the alliance, and whose alliance
  evidence fills only a small share of its body, mentions the alliance rather than being about
  it (a summit with China recalling THAAD, a policy brief on ties with Britain that names the
  US alliance among others): points count OFF_LEAD. News puts its subject in the headline and
  the lead; analysis states it in the opening; a thread that is neither up front nor a fair
  share of the text is a side remark.

Points are divided by the square root of the length in 500-word units, so a long article
needs more than one passing mention; the score is 1 - exp(-points / SCALE). The decision
(`decide`) also needs a key issue, or enough alliance language to call the post a general
alliance story.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from koreapage_bot.analysis.lexicon import ASIDE, LEAD_SENTENCES, Doc, Lexicon, names_korea
from koreapage_bot.domain import KeyIssue

SCALE = 6.0
NO_US_FACTOR = 0.15
NO_ROK_FACTOR = 0.3
NK_TOGETHER = 1.0  # North Korea where the US and South Korea are named together
LOOSE_PAIR = 0.25  # both named, but on no alliance matter
ONE_SIDED = 0.6  # a plain issue term beside one party, the other named nowhere near
CONTEXT_NEAR = 0.3  # a trilateral term in a sentence without the US, in a post naming both
HOSTILE_FACTOR = 0.5  # issue points in a sentence in (or reporting) Pyongyang's voice
OFFTOPIC_WORDS = 4  # distinct sports/entertainment words that make a post off-topic
OFFTOPIC_FACTOR = 0.5
TRADE_ALONE = 0.5
MARKET_STORY = 0.3  # a trade story with no security matter: see `market_story`
SINGLE_SENTENCE = 0.5
SINGLE_SENTENCE_WORDS = 150  # shorter posts may make their point in one sentence
GENERAL_ALLIANCE_SENTENCES = 2  # "alliance" sentences that make a general alliance story
LONG_POST = 400  # words: a full-length article rather than an excerpt
OPENING_SHARE = 0.1  # the opening of a long post: its first tenth (at least the lead)
OFF_LEAD = 0.5  # alliance evidence neither in the title nor the opening …
OFF_LEAD_SHARE = 0.25  # … and in less than this share of the body's sentences


@dataclass(frozen=True, slots=True)
class Relevance:
    score: float
    points: float
    why: tuple[str, ...]
    # Sentence index → points it earned, and the alliance issues it earned them for.
    evidence: dict[int, float] = field(default_factory=dict)
    issue_evidence: dict[int, dict[str, float]] = field(default_factory=dict)
    alliance_sentences: tuple[int, ...] = ()  # "alliance"/"allies" beside US/ROK actors
    strong: bool = False  # a strong alliance term is in the post
    # The two named together on an alliance matter ("Washington and Seoul agreed …").
    pair_sentences: tuple[int, ...] = ()
    # Sentences with alliance evidence (an issue's points, "alliance" beside the allies, the
    # two together on an alliance matter), not a loose co-mention.
    substantive: tuple[int, ...] = ()


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


def opening(doc: Doc) -> set[int]:
    """Indices of the title and the opening body sentences: the lead, or the first tenth of
    a long text (an analysis states its subject over more sentences than a wire story)."""
    body = [s.index for s in doc.sentences if not s.is_title and not s.is_heading]
    n = max(LEAD_SENTENCES, math.ceil(OPENING_SHARE * len(body)))
    return {0, *body[:n]}


def off_lead(doc: Doc, substantive: Sequence[int]) -> bool:
    """A long post whose title and opening carry no alliance evidence, with little of it in
    the body: the alliance is a side remark, not the subject (see the module docstring)."""
    if doc.length <= LONG_POST or not substantive:
        return False
    if set(substantive) & opening(doc):
        return False
    body = sum(1 for s in doc.sentences if not s.is_title and not s.is_heading)
    return len(substantive) < OFF_LEAD_SHARE * max(1, body)


def score_relevance(doc: Doc, lexicon: Lexicon) -> Relevance:
    kinds = {m.id: m.kind for m in lexicon.issues}
    anchors = {m.id for m in lexicon.issues if m.anchor}
    evidence = {m.id for m in lexicon.issues if m.evidence}
    has_us, has_rok = doc.has_us, doc.has_rok
    partners = _partners(doc)
    hits_by_sentence: dict[int, list[tuple[str, str, str, bool]]] = defaultdict(list)
    for h in doc.hits:
        hits_by_sentence[h.sentence].append((h.issue, h.tier, h.term, h.attribution))
    # Trade with no security matter anywhere in the post is a market story.
    security = any(
        kinds[h.issue] == "alliance" and h.issue != "trade" and h.tier != "weak" for h in doc.hits
    ) or any(s.alliance_word for s in doc.sentences)
    points = 0.0
    title_points = 0.0
    strong_terms: dict[str, int] = defaultdict(int)
    strong_sentences: set[int] = set()
    issue_terms: dict[str, int] = defaultdict(int)
    together = 0
    per_sentence: dict[int, float] = {}
    per_issue: dict[int, dict[str, float]] = defaultdict(dict)
    allied_sentences: list[int] = []
    pair_sentences: list[int] = []
    for s in doc.sentences:
        p = 0.0
        actor = s.us or s.rok or s.bilateral
        pair = ((s.us and s.rok) or s.bilateral) and not s.sports
        para_us, para_rok = partners[s.para]
        # A plain term beside one party only ("US tariffs on Chinese goods") is about the
        # alliance when the other party is named nearby.
        plain = 1.0 if pair or (para_us and para_rok) else ONE_SIDED
        voice = HOSTILE_FACTOR if s.hostile else 1.0
        alliance_gain = 0.0
        for issue, tier, term, attribution in hits_by_sentence.get(s.index, []):
            factor = (0.3 if attribution else 1.0) * voice
            if issue == "trade" and not security:
                factor *= TRADE_ALONE
            gain = 0.0
            if kinds[issue] == "alliance":
                if tier == "strong" and issue not in anchors:
                    tier = "normal"  # names the issue, but the US role must be shown
                if tier == "strong" and not (para_rok or names_korea(s.text)):
                    # "OPCON" in US Army doctrine, NATO "burden sharing": the term is the
                    # alliance's only beside South Korea.
                    tier = "normal"
                if tier == "strong":
                    gain = 2.0
                    strong_terms[term] += 1
                    strong_sentences.add(s.index)
                elif tier == "normal" and actor:
                    gain = plain
                    issue_terms[term] += 1
                elif tier == "normal" and has_us and has_rok:
                    gain = 0.4
            elif issue in evidence and tier != "weak" and has_us and has_rok:
                # The trilateral is an alliance matter where the US takes part in it.
                gain = plain if s.us or s.bilateral else CONTEXT_NEAR
                issue_terms[term] += 1
            if gain:
                p += gain * factor
                alliance_gain += gain * factor
                bucket = per_issue[s.index]
                bucket[issue] = bucket.get(issue, 0.0) + gain * factor
        # "The alliance" beside another ally and not South Korea is that ally's.
        theirs = s.other_ally and not (s.rok or s.bilateral)
        allied = s.alliance_word and not theirs and (actor or (para_us and para_rok))
        on_alliance = alliance_gain > 0 or allied or s.bilateral or s.joint
        if pair and not s.hostile:
            p += 1.0 if on_alliance else LOOSE_PAIR
            together += 1
            if on_alliance:
                pair_sentences.append(s.index)
            if on_alliance and any(h[0] == "north-korea" for h in hits_by_sentence[s.index]):
                p += NK_TOGETHER / max(1, len(hits_by_sentence[s.index]))
        if allied:
            p += 1.0
            allied_sentences.append(s.index)
        if p:
            per_sentence[s.index] = p * s.weight
        points += p * s.weight
        if s.is_title:
            title_points = p * s.weight
    raw = points
    why: list[str] = []
    # A strong term once, deep in a post ("by comparison, Seoul pays … toward USFK") names
    # the alliance without making it the subject: it does not lift the checks below.
    strong = bool(strong_sentences) and (
        len(strong_sentences) >= 2
        or bool(strong_sentences & opening(doc))
        or doc.length <= SINGLE_SENTENCE_WORDS
    )
    if strong_terms and not strong:
        why.append("a strong alliance term comes up only once, not up front")
    if not has_us and not strong:
        points *= NO_US_FACTOR
        why.append("the United States is never named")
    if not has_rok and not strong:
        points *= NO_ROK_FACTOR
        why.append("South Korea is never named")
    # Named once, deep in the post ("exporters in South Korea and Taiwan would welcome it"):
    # a bystander rather than a party, so halfway to never named.
    for named, factor, who in (
        (has_us, NO_US_FACTOR, "the United States"),
        (has_rok, NO_ROK_FACTOR, "South Korea"),
    ):
        if named and not strong and _named_in_passing(doc, who == "South Korea"):
            points *= (1.0 + factor) / 2
            why.append(f"{who} is named only in passing")
    if doc.offtopic >= OFFTOPIC_WORDS and not strong:
        points *= OFFTOPIC_FACTOR
        why.append("a sports or entertainment story")
    on_issue = [i for i in per_sentence if per_issue.get(i) or i in allied_sentences]
    substantive = sorted({*on_issue, *pair_sentences})
    if len(on_issue) <= 1 and not strong and doc.length > SINGLE_SENTENCE_WORDS:
        points *= SINGLE_SENTENCE
        why.append("the alliance comes up in one sentence only")
    elif market_story(doc, security, per_issue):
        points *= MARKET_STORY
        why.append("trade told as a market story, with no security matter")
    elif substantive and all(ASIDE.search(doc.sentences[i].text) for i in substantive):
        points *= SINGLE_SENTENCE
        why.append("the alliance comes up only as background: a comparison or the past")
    elif off_lead(doc, substantive):
        points *= OFF_LEAD
        why.append("the alliance is in neither the title nor the opening: a side thread")
    length = max(1.0, doc.length / 500.0)
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
    if allied_sentences:
        why.append(f"'alliance'/'allies' in {len(allied_sentences)} sentence(s)")
    if not why or raw == 0:
        why.append("no alliance evidence: no US-ROK actors or alliance issue terms together")
    why.append(f"{raw:.1f} points over {doc.words} words → score {score:.2f}")
    return Relevance(
        round(score, 4),
        norm,
        tuple(why),
        per_sentence,
        dict(per_issue),
        tuple(allied_sentences),
        strong,
        tuple(pair_sentences),
        tuple(substantive),
    )


def market_story(doc: Doc, security: bool, per_issue: dict[int, dict[str, float]]) -> bool:
    """Tariffs, exports, the won: trade evidence with no security matter anywhere in the post,
    and the trade agreement itself ("KORUS") neither up front nor a thread of the post. The
    convention: trade counts as the alliance where it is told as part of the security
    relationship, or where the bilateral agreement is the subject."""
    if security or not any("trade" in v for v in per_issue.values()):
        return False
    agreement = {h.sentence for h in doc.hits if h.issue == "trade" and h.tier == "strong"}
    return len(agreement) < 2 and not agreement & opening(doc)


def general_alliance_story(doc: Doc, rel: Relevance) -> bool:
    """Enough alliance language, with no alliance issue standing out, to call the post a
    general alliance story: "alliance" beside US/ROK actors, or the two acting together
    ("Washington and Seoul agreed …"), in the title or in several sentences; in a long post,
    in its opening too."""
    sentences = set(rel.alliance_sentences) | set(rel.pair_sentences)
    if doc.length > LONG_POST and not sentences & (opening(doc) - {0}):
        # A long post's lead restates what its headline is about; an alliance remark in the
        # headline that the lead does not take up is a quote, not the story's subject.
        return False
    return len(sentences) >= GENERAL_ALLIANCE_SENTENCES or any(
        doc.sentences[i].is_title for i in sentences
    )


QUOTE_CHARS = 220
MAX_QUOTES = 3


def _quoted(text: str) -> str:
    text = " ".join(text.split())
    if len(text) > QUOTE_CHARS:
        text = text[: QUOTE_CHARS - 1].rsplit(" ", 1)[0] + "…"
    return f"“{text}”"


def explain(
    doc: Doc,
    rel: Relevance,
    issues: Sequence[KeyIssue],
    relevant: bool,
    general: bool,
) -> tuple[str, ...]:
    """`why`: the verdict, then the one to three sentences that carry it, quoted, each with
    the key issue it supports. Built from `issues`, so it never names an issue the brief
    does not list."""
    score = f"score {rel.score:.2f}"
    if relevant and not general:
        head = f"relevant ({score}): about " + "; ".join(k.label for k in issues[:3])
    elif relevant:
        head = f"relevant ({score}): a general alliance story, no single alliance issue stands out"
        if issues:
            head += " (context: " + "; ".join(k.label for k in issues[:3]) + ")"
    else:
        reasons = [w for w in rel.why if not w.endswith(f"→ {score}") and "points" not in w]
        blocking = [
            w
            for w in reasons
            if "never named" in w
            or "in passing" in w
            or "sports" in w
            or "market story" in w
            or "one sentence" in w
            or "only as background" in w
            or "nor the opening" in w
            or "no alliance evidence" in w
        ]
        why = blocking[0] if blocking else "too little alliance evidence for its length"
        if rel.score >= 0.5 and not general:
            why = "no alliance issue and too little alliance language for a general story"
        head = f"not relevant ({score}): {why}"
    quotes: list[str] = []
    used: dict[int, list[str]] = {}
    if relevant:
        for k in issues[:MAX_QUOTES]:
            best = _best_sentence(doc, rel, k.id)
            if best is not None:
                used.setdefault(best, []).append(k.label)
        if general or not used:
            ranked = sorted(rel.evidence.items(), key=lambda kv: -kv[1])
            for idx, _ in ranked:
                if idx in rel.alliance_sentences or idx in rel.pair_sentences:
                    used.setdefault(idx, []).append("the alliance in general")
                    break
    for idx in sorted(used)[:MAX_QUOTES]:
        place = " (title)" if doc.sentences[idx].is_title else ""
        quotes.append(f"{_quoted(doc.sentences[idx].text)}{place} — {'; '.join(used[idx])}")
    return (head, *quotes)


def _best_sentence(doc: Doc, rel: Relevance, issue_id: str) -> int | None:
    """The sentence that gave `issue_id` the most alliance evidence; for a context issue, the
    most weighted sentence naming it, preferring one that is alliance evidence too."""
    scored = [(v.get(issue_id, 0.0), i) for i, v in rel.issue_evidence.items() if issue_id in v]
    if scored:
        return max(scored)[1]
    named = {h.sentence for h in doc.hits if h.issue == issue_id and h.tier != "weak"}
    if not named:
        return None
    return max(
        named,
        key=lambda i: (rel.evidence.get(i, 0.0), doc.sentences[i].weight, -i),
    )
