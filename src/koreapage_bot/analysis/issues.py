"""Which key issues a post is really about: salience from title, frequency and position.

Each sentence that names an issue adds the weight of its strongest term (strong 1.5, plain 1,
weak 0.5), more in the title and the lead; a sentence naming several alliance issues shares its
credit; a mention that only attributes a quote ("USFK said") counts for little. An issue is
kept when its points reach a floor that grows with the length of the post, so a single word
deep in a long article is not an issue of the post, while a short excerpt's one clear mention
is (see `_kept`). Alliance issues come first (they are the subject), then the context issues
(North Korea, China, Japan), each group most salient first.

Context issues: the policy. Key issues are what a reader scans to decide whether to open the
post, and what `/issues/north-korea` lists. Nearly every alliance story names North Korea,
many name China or Japan; a tag on all of them would tell the reader nothing. So a context
issue is listed when the post says something about it, not when it sets the scene:
- in a short excerpt (up to SHORT_POST words), one clear mention: an excerpt is the part of
  the story its editor chose, every sentence of it counts;
- in a full-length post, it is named in two sentences or more, and either the post is framed
  by it (it is in the title or the lead: "drills postponed to mend inter-Korean ties"), or it
  is a thread of its own: CONTEXT_FLOOR length floors of points, CONTEXT_SHARE of the main
  alliance issue's points, and CONTEXT_SENTENCES of the body's sentences (a 250-sentence
  report naming China in eight is not about China's role);
- background words never count ("Japan" alone, a Japanese leader's name: not the trilateral).
The eval-dev annotator sometimes tags a context issue on one background mention of a long
article, or on no mention at all ("adversaries"); this policy does not follow those labels,
and its figures there say so.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

from koreapage_bot.analysis.lexicon import Doc, Hit, Lexicon, is_aside, named_as_threat
from koreapage_bot.domain import KeyIssue

TIER_WEIGHT = {"strong": 1.5, "normal": 1.0, "weak": 0.5}
ATTRIBUTION_FACTOR = 0.3
EXTRA_HIT = 0.25  # each further mention in the same sentence
MAX_EXTRA = 2
SHORT_POST = 400  # words: an excerpt rather than an article
SINGLE_FLOOR = 1.6  # an alliance issue in one body sentence: this many length floors
CONTEXT_FLOOR = 2.0  # a context issue outside the opening: this many length floors
CONTEXT_SHARE = 0.3  # and this share of the main alliance issue's points
CONTEXT_SENTENCES = 0.05  # and named in this share of the body's sentences
SECONDARY_SHARE = 0.5  # a sentence's credit for an issue that is not its main one
SPREAD_BONUS = 0.15  # per further paragraph that names the issue (up to 4)
# An alliance issue that is itself about a context issue's relations: where it is a key issue
# and the post names the context at all, that context is a key issue too (GSOMIA is the
# Japan-South Korea pact inside the trilateral).
CARRIES = {"gsomia": "japan-trilateral"}


@dataclass(frozen=True, slots=True)
class IssueScore:
    id: str
    label: str
    kind: str
    points: float
    sentences: int  # sentences naming it by more than a background word or a quote's source
    terms: tuple[str, ...]
    opening: bool  # a strong term in the title or the lead
    # Named outright: in the title, or by a strong term that is not just a quote's source.
    named: bool = False
    # Named by more than background words ("Japan" is not the trilateral, "troops" not USFK).
    plain: bool = False
    # Mentioned in the title or the lead (any term).
    up_front: bool = False
    # A context issue named in a sentence that also names an alliance issue ("USFK deters
    # North Korea"): tied to the alliance matter rather than background.
    with_alliance: bool = False
    # Named in a sentence where the US, South Korea or "the allies" act on it.
    acted_on: bool = False
    # Named by a term that says what is done to the issue, not only by its institution's
    # name ("USFK staged a drill" names the command; "USFK will cut a battalion" is the issue).
    topic: bool = False
    # Named by more than a background word in the headline: one such mention is the post's
    # subject. (Not the lede: it lists what a summit covered, "summits and exercises".)
    headline: bool = False
    # Every sentence naming it tells background: "the first talks since the THAAD row of
    # 2017", "by comparison, …".
    aside: bool = False
    # A context issue named only as the threat an alliance matter answers ("troops stationed
    # to defend against North Korea", "북한의 위협 등 안보 상황"): it sets the scene.
    threat_only: bool = False


def length_floor(words: float) -> float:
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
    plain: dict[str, bool] = defaultdict(bool)
    topic: dict[str, bool] = defaultdict(bool)
    headline: dict[str, bool] = defaultdict(bool)
    up_front: dict[str, bool] = defaultdict(bool)
    terms: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    raw: dict[int, dict[str, float]] = {}
    # Sentences that name the issue by more than a background word or a quote's source.
    telling: dict[int, set[str]] = defaultdict(set)
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
                if h.tier != "weak":
                    plain[issue_id] = True
                    # The command itself named up front ("USFK commander says …") features
                    # it; troops named, even in the headline ("pay $10 billion for U.S.
                    # troops"), do not.
                    featured = h.tier == "strong" and in_opening and not h.attribution
                    topic[issue_id] = topic[issue_id] or not h.name or featured
                    if idx == 0 and not h.attribution:
                        headline[issue_id] = True
                    if in_opening:
                        up_front[issue_id] = True
                    if not h.attribution:
                        telling[idx].add(issue_id)
        raw[idx] = values
    with_alliance: set[str] = set()
    acted_on: set[str] = set()
    foreground: set[str] = set()
    not_threat: set[str] = set()
    for idx, named_here in telling.items():
        if not is_aside(doc, idx):
            foreground.update(named_here)
        text = doc.sentences[idx].text
        for issue_id in named_here:
            if kinds[issue_id] == "alliance":
                continue
            hits = [h for h in by_sentence[idx][issue_id] if h.tier != "weak"]
            if not all(named_as_threat(text, h.term) for h in hits):
                not_threat.add(issue_id)
    for idx, values in raw.items():
        sent = doc.sentences[idx]
        if sent.us or sent.rok or sent.bilateral or sent.alliance_word:
            acted_on.update(telling[idx])
        if any(kinds[i] == "alliance" for i in telling[idx]):
            with_alliance.update(i for i in telling[idx] if kinds[i] != "alliance")
        sentence = doc.sentences[idx]
        # A sentence naming several alliance issues belongs to the post's main one among them
        # ("pay $5 billion for US troops" is about cost sharing); the others get half.
        # An issue here only by its institution's name ("the cost of stationing American
        # troops") does not take the sentence; one named by a strong term of its own ("troops
        # stay, and OPCON returns") is the sentence's point too and keeps its credit.
        alliance = [i for i in values if kinds[i] == "alliance"]
        topical = [i for i in alliance if any(not h.name for h in by_sentence[idx][i])]
        main = max(topical or alliance, key=lambda i: totals[i]) if alliance else None
        for issue_id, value in values.items():
            strong = any(
                h.tier == "strong" and not h.attribution for h in by_sentence[idx][issue_id]
            )
            if kinds[issue_id] == "alliance" and issue_id != main and not strong:
                value *= SECONDARY_SHARE
            points[issue_id] += value * sentence.weight
            if issue_id in telling[idx]:
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
            plain[i],
            up_front[i],
            i in with_alliance,
            i in acted_on,
            topic[i],
            headline[i],
            i not in foreground,
            kinds[i] != "alliance" and count[i] > 0 and i not in not_threat,
        )
        for i in points
    ]


def key_issues(doc: Doc, lexicon: Lexicon) -> tuple[KeyIssue, ...]:
    """The issues the post is about: see the module docstring, and `_kept`."""
    scores = score_issues(doc, lexicon)
    floor = length_floor(doc.length)
    top_alliance = max((s.points for s in scores if s.kind == "alliance"), default=0.0)
    short = doc.length <= SHORT_POST
    body = sum(1 for s in doc.sentences if not s.is_title)
    kept = [s for s in scores if _kept(s, floor, top_alliance, short, body)]
    ids = {s.id for s in kept}
    for issue_id, context in CARRIES.items():
        # Japan named in a post about the Japan-Korea pact: the post is about Japan-Korea
        # relations inside the trilateral, however the text names Japan.
        if issue_id in ids and context not in ids:
            kept.extend(s for s in scores if s.id == context)
    kept.sort(key=lambda s: (s.kind != "alliance", -s.points))
    # Scores are relative to the main alliance issue (context issues can be mentioned more).
    top = max((s.points for s in kept if s.kind == "alliance"), default=0.0) or max(
        (s.points for s in kept), default=1.0
    )
    return tuple(KeyIssue(s.id, s.label, round(min(1.0, s.points / top), 3), s.terms) for s in kept)


def _kept(s: IssueScore, floor: float, top_alliance: float, short: bool, body: int) -> bool:
    """An issue of the post, not a mention in passing.

    Every issue needs its points to reach the length floor and more than background words
    ("Japan" alone is not the trilateral), and more than the name of the issue's institution
    (`names` in the taxonomy: "USFK staged a drill", "28,500 U.S. troops are stationed" name
    the troops; a cut, a move, a base is the issue), unless that name is a strong term in the
    title or the lead. An alliance issue is then kept on its own merits, never relative to a
    bigger one (a document on tariffs, troops, OPCON and deterrence has four issues): in two
    sentences or more; in one, where that sentence is the headline, or a strong term in the
    lead, or a strong term where the allies act on it ("Trump ruled out cutting the U.S.
    troops stationed in Korea") that does not recall the past or compare ("the first talks
    since the THAAD row of 2017"): that is a mention in passing. A context issue (North
    Korea, China, Japan) in a long article is background unless more than one sentence
    names it and it is in the title or the lead or has weight of its own beside the alliance
    issues; in a short excerpt, where every sentence counts, one clear mention is enough.
    """
    if s.points < floor or not s.plain or not s.topic:
        return False
    if s.kind == "alliance":
        if s.sentences >= 2:
            return True
        # One sentence: the post's point where it is the headline's or the lede's, or a
        # strong term in the opening; deeper down, a sentence where the allies act on it
        # ("Trump ruled out reducing the U.S. forces stationed in Korea") unless it recalls
        # the past or compares ("the first talks since the THAAD dispute"): a mention in
        # passing, however strong the term.
        if s.headline or s.opening:
            return True
        return s.named and not s.aside and (s.acted_on or s.points >= SINGLE_FLOOR * floor)
    if s.threat_only and not s.up_front:
        return False
    if short:
        return True
    if s.sentences < 2:
        return False
    if s.up_front:
        return True
    return (
        s.points >= CONTEXT_FLOOR * floor
        and s.points >= CONTEXT_SHARE * top_alliance
        and s.sentences >= CONTEXT_SENTENCES * body
    )
