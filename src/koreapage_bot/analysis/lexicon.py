"""Compiled term matchers for the taxonomy, and a document split into weighted sentences."""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache

from koreapage_bot.analysis.taxonomy import Taxonomy
from koreapage_bot.analysis.text import word_count

# A mention followed by one of these, or preceded by "according to", names a source of a quote
# rather than the subject of the post ("U.S. Forces Korea said in a statement").
# No "^": `match(text, pos)` anchors at pos, while "^" would only match at a line start.
_ATTRIBUTION_AFTER = re.compile(
    r"[’']?s?\s*(?:\([A-Z]+\)\s*)?(?:spokes(?:man|woman|person)|said|says|announced|told|stated|"
    r"statement|officials? said|press release)\b",
    re.IGNORECASE,
)
_ATTRIBUTION_BEFORE = re.compile(r"according to (?:the )?$", re.IGNORECASE)
# A capital named as where commentators sit ("analysts in Seoul", "some in Washington") is a
# place, not the government acting.
_CAPITALS = frozenset({"seoul", "washington"})
_VOICES_IN = re.compile(
    r"\b(?:analysts?|experts?|observers?|commentators?|critics?|scholars?|academics?|pundits?|"
    r"watchers?|residents?|people|many|some|few|others|voices|reporters?|journalists?|"
    r"investors?|traders?|fans?|tourists?|visitors?|students?)\s+(?:in|from|based in)\s+$",
    re.IGNORECASE,
)
# North Korea's own voice: in "the U.S. imperialists and the puppet South Korean clique" the
# two are named as Pyongyang's enemies, not as allies acting together.
_HOSTILE_VOICE = re.compile(
    r"\b(?:puppets?|imperialists?|imperialism|warmongers?|warmongering|traitors?)\b",
    re.IGNORECASE,
)


# Sports vocabulary: in a match report "South Korea beat the U.S." names rivals, not allies.
# Only unambiguous words (not "goal", "match", "final", "friendly", which policy copy uses too).
_SPORTS = re.compile(
    r"\b(?:football|soccer|baseball|basketball|volleyball|Olympics?|World Cup|tournament|"
    r"scor(?:ed|es|ing)|coach(?:ed|es)?|head coach|halftime|half-time|innings|pitcher|"
    r"semifinals?|quarterfinals?|medals?|FIFA|striker|midfielder|goalkeeper|stadium)\b",
    re.IGNORECASE,
)
SPORTS_DOC = 3  # distinct sports words that make a post a sports report


def _is_place_of_voices(text: str, m: re.Match[str]) -> bool:
    if m.group(0).lower() not in _CAPITALS:
        return False
    return bool(_VOICES_IN.search(text, max(0, m.start() - 30), m.start()))


def _term_pattern(term: str) -> tuple[str, bool, bool]:
    """(regex source, case-sensitive?, raw regex?) for one term.

    Plain terms get no leading boundary here: the caller puts one lookbehind in front of the
    whole alternation, so mid-word positions fail before any alternative is tried.
    """
    if term.startswith("re:"):
        return term[3:], False, True
    letters = [c for c in term if c.isalpha()]
    acronym = bool(letters) and all(c.isupper() for c in letters) and len(letters) >= 2
    parts = [p for p in re.split(r"[\s\-]+", term) if p]
    body = r"[\s\-]+".join(re.escape(p) for p in parts)
    if term[-1].isalpha() and not acronym:
        # "battery" -> "batteries": the plural of a consonant + y ending replaces the y.
        if len(parts[-1]) > 2 and term[-1] == "y" and term[-2].lower() not in "aeiou":
            body = body[:-1] + r"(?:y|ies)"
        else:
            body += r"(?:s|es)?"
    if term[-1].isalnum():
        body += r"(?!\w)"
    return body, acronym, False


@dataclass(frozen=True, slots=True)
class TermSet:
    """One list of terms compiled into (at most) three alternations."""

    patterns: tuple[re.Pattern[str], ...]

    @classmethod
    def of(cls, terms: tuple[str, ...]) -> TermSet:
        sens: list[str] = []
        insens: list[str] = []
        raw: list[str] = []
        for t in sorted(terms, key=len, reverse=True):  # longest first: whole phrases win
            pat, exact, is_raw = _term_pattern(t)
            (raw if is_raw else sens if exact else insens).append(pat)
        compiled: list[re.Pattern[str]] = []
        if sens:
            compiled.append(re.compile(r"(?<![\w$])(?:" + "|".join(sens) + ")"))
        if insens:
            compiled.append(re.compile(r"(?<![\w$])(?:" + "|".join(insens) + ")", re.IGNORECASE))
        if raw:
            compiled.append(re.compile("|".join(f"(?:{r})" for r in raw)))
        return cls(tuple(compiled))

    def finditer(self, text: str) -> list[re.Match[str]]:
        found: list[re.Match[str]] = []
        for pat in self.patterns:
            found.extend(pat.finditer(text))
        return found


@dataclass(frozen=True, slots=True)
class IssueMatcher:
    id: str
    label: str
    kind: str
    anchor: bool
    evidence: bool
    strong: TermSet
    normal: TermSet
    weak: TermSet


@dataclass(frozen=True, slots=True)
class Lexicon:
    issues: tuple[IssueMatcher, ...]
    us: TermSet
    rok: TermSet
    bilateral: TermSet
    alliance: TermSet


@lru_cache(maxsize=8)
def compile_lexicon(taxonomy: Taxonomy) -> Lexicon:
    return Lexicon(
        issues=tuple(
            IssueMatcher(
                i.id,
                i.label,
                i.kind,
                i.anchor,
                i.evidence,
                TermSet.of(i.strong_terms),
                TermSet.of(i.terms),
                TermSet.of(i.weak_terms),
            )
            for i in taxonomy.issues
        ),
        us=TermSet.of(taxonomy.actors.us),
        rok=TermSet.of(taxonomy.actors.rok),
        bilateral=TermSet.of(taxonomy.actors.bilateral),
        alliance=TermSet.of(taxonomy.actors.alliance),
    )


@dataclass(frozen=True, slots=True)
class Hit:
    issue: str
    tier: str  # "strong" | "normal" | "weak"
    term: str
    sentence: int
    attribution: bool


@dataclass(slots=True)
class Sentence:
    text: str
    index: int  # 0 = the title
    is_title: bool
    is_heading: bool
    lead: bool  # among the first body sentences
    para: int = -1  # paragraph number in the body (-1: the title)
    us: bool = False
    rok: bool = False
    bilateral: bool = False
    alliance_word: bool = False
    hostile: bool = False  # written in Pyongyang's voice ("puppet", "imperialists")
    sports: bool = False  # names a sport, a score or a coach (set only in a sports report)

    @property
    def weight(self) -> float:
        if self.is_title:
            return 2.5
        if self.lead:
            return 1.5
        return 0.8 if self.is_heading else 1.0


@dataclass(slots=True)
class Doc:
    """A title and a cleaned body as sentences, with actor flags and issue hits."""

    sentences: list[Sentence]
    hits: list[Hit]
    words: int

    @property
    def has_us(self) -> bool:
        return any(s.us or s.bilateral for s in self.sentences)

    @property
    def has_rok(self) -> bool:
        return any(s.rok or s.bilateral for s in self.sentences)

    def body(self) -> list[Sentence]:
        return [s for s in self.sentences if not s.is_title]


LEAD_SENTENCES = 3


def build_doc(title: str, blocks: list[tuple[str, bool, int]], lexicon: Lexicon) -> Doc:
    """`blocks` are (sentence text, is_heading, paragraph number) of the body in order."""
    sentences: list[Sentence] = [Sentence(title.strip(), 0, True, False, False)]
    body_seen = 0
    for text, heading, para in blocks:
        lead = not heading and body_seen < LEAD_SENTENCES
        if not heading:
            body_seen += 1
        sentences.append(Sentence(text, len(sentences), False, heading, lead, para))
    # One pass per term set over the joined text; map match offsets back to sentences.
    joined_parts: list[str] = []
    starts: list[int] = []
    pos = 0
    for s in sentences:
        starts.append(pos)
        joined_parts.append(s.text)
        pos += len(s.text) + 1
    joined = "\n".join(joined_parts)

    def where(offset: int) -> int:
        return bisect_right(starts, offset) - 1

    for m in lexicon.us.finditer(joined):
        if not _is_place_of_voices(joined, m):
            sentences[where(m.start())].us = True
    for m in lexicon.rok.finditer(joined):
        if not _is_place_of_voices(joined, m):
            sentences[where(m.start())].rok = True
    for m in _HOSTILE_VOICE.finditer(joined):
        sentences[where(m.start())].hostile = True
    sports = list(_SPORTS.finditer(joined))
    if len({m.group(0).lower() for m in sports}) >= SPORTS_DOC:
        for m in sports:
            sentences[where(m.start())].sports = True
    for m in lexicon.bilateral.finditer(joined):
        sentences[where(m.start())].bilateral = True
    for m in lexicon.alliance.finditer(joined):
        sentences[where(m.start())].alliance_word = True
    hits: list[Hit] = []
    for issue in lexicon.issues:
        # Spans already claimed by this issue, disjoint and sorted: a bisect finds overlaps
        # (a scan of every earlier span was quadratic on long texts).
        starts_c: list[int] = []
        ends_c: list[int] = []
        for tier, termset in (
            ("strong", issue.strong),
            ("normal", issue.normal),
            ("weak", issue.weak),
        ):
            for m in termset.finditer(joined):
                a, b = m.span()
                k = bisect_right(starts_c, a)
                if (k and ends_c[k - 1] > a) or (k < len(starts_c) and starts_c[k] < b):
                    continue  # inside a longer match
                starts_c.insert(k, a)
                ends_c.insert(k, b)
                attribution = bool(
                    _ATTRIBUTION_AFTER.match(joined, b, min(len(joined), b + 40))
                    or _ATTRIBUTION_BEFORE.search(joined, max(0, a - 20), a)
                )
                hits.append(Hit(issue.id, tier, m.group(0), where(a), attribution))
    words = sum(word_count(s.text) for s in sentences[1:])
    return Doc(sentences, hits, words)
