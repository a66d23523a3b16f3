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
# An institution named as an event's host ("a forum hosted by the Combined Forces Command",
# "한미연합사 주최로 열린 포럼") is the venue, not the subject, likewise.
_ATTRIBUTION_AFTER = re.compile(
    r"[’']?s?\s*(?:\([A-Z]+\)\s*)?(?:spokes(?:man|woman|person)|said|says|announced|told|stated|"
    r"statement|officials? said|press release)\b|\)?\s?(?:주최|주관)",
    re.IGNORECASE,
)
_ATTRIBUTION_BEFORE = re.compile(
    r"(?:according to|(?:hosted|organi[sz]ed|sponsored|convened) by) (?:the )?$", re.IGNORECASE
)
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
    r"\b(?:puppets?|imperialists?|imperialism|warmongers?|warmongering|traitors?)\b|"
    r"괴뢰|미제(?:국주의)?|호전광|북침",
    re.IGNORECASE,
)
# Other US allies: "the alliance" in a sentence that names one of them and not South Korea
# is theirs ("the U.S. ambassador said the alliance with Japan was stronger than ever").
_OTHER_ALLIES = re.compile(
    r"\b(?:Japan(?:ese)?|Tokyo|Philippines?|Philippine|Manila|Australian?|Canberra|NATO|"
    r"Taiwan(?:ese)?|Taipei|Israel[i]?|Britain|British|UK|Germany|German|Europe(?:an)?|"
    r"Ukrain(?:e|ian)|Russia(?:n)?|Moscow)\b|일본|日|필리핀|호주|나토|대만|이스라엘|영국|독일|"
    r"유럽|우크라이나|러시아"
)
# The two acting together: "Biden and Yoon agreed to coordinate", "정상회담에서 합의".
_JOINT_ACTION = re.compile(
    r"\b(?:agree[ds]?|agreement|pledge[ds]?|vow(?:ed|s)?|coordinat\w+|consult(?:ed|ations?)|"
    r"cooperat\w+|reaffirm\w*|sign(?:ed|s)?|summit|joint statement|jointly|held talks|"
    r"hold talks|talks between)\b|합의|공조|정상회담|공동성명|협의|공동 대응|약속",
    re.IGNORECASE,
)
# Pyongyang reacting: "North Korea condemned the drills", "KCNA said", "북한은 … 비난했다".
# The alliance matters named are what it reacts to, not what the post reports the allies do.
_NORTH_SPEAKS = re.compile(
    r"\b(?:North Korea|Pyongyang|the North|KCNA|Korean Central News Agency|Rodong Sinmun|"
    r"Kim Jong[ -]?[Uu]n|Kim Yo[ -]?[Jj]ong|North Korean (?:state )?media|the North's military)"
    r"(?:'s|’s)?\b[^.;]{0,60}?\b(?:said|says|warned|warns|condemned|condemns|denounced|"
    r"denounces|slammed|slams|threatened|threatens|accused|accuses|criticized|criticizes|"
    r"blasted|vowed|vows|claimed|claims|called (?:it|them|the)|rejected|demanded|demands|"
    r"demanding|(?:a stream of |its )?(?:criticism|condemnation|denunciation)s?)\b|"
    r"(?:북한|北|북측|김정은|김여정|조선중앙통신|노동신문)[은는이가도의]?[^.]{0,60}?"
    r"(?:비난|규탄|위협|경고|반발|비판|협박)"
)

# A headline about Pyongyang ("Kim's sister steps up messages to Washington"): in such a post
# a sentence that reports condemnation ("… the drills and the alliance, criticism that made
# up most of the messages") is the North's reaction even where it does not name the North.
_NORTH_ACTOR = re.compile(
    r"\b(?:North Korea|N\. ?Korea|Pyongyang|Kim Jong[ -]?[Uu]n|Kim Yo[ -]?[Jj]ong|KCNA)|"
    r"북한|北|김정은|김여정|조선중앙통신|노동신문"
)
_CONDEMNATION = re.compile(
    r"\b(?:condemn\w*|denounc\w*|slam(?:s|med)?|blast(?:s|ed)?|criticiz\w*|criticis\w*)\b|"
    r"비난|규탄|비판",
    re.IGNORECASE,
)


# Sports vocabulary: in a match report "South Korea beat the U.S." names rivals, not allies.
# Only unambiguous words (not "goal", "match", "final", "friendly", which policy copy uses too).
_SPORTS = re.compile(
    r"\b(?:football|soccer|baseball|basketball|volleyball|Olympics?|World Cup|tournament|"
    r"scor(?:ed|es|ing)|coach(?:ed|es)?|head coach|halftime|half-time|innings|pitcher|"
    r"semifinals?|quarterfinals?|medals?|FIFA|striker|midfielder|goalkeeper|stadium|"
    r"figure skat\w+|athletes?)\b|"
    r"축구|야구|농구|배구|올림픽|월드컵|국가대표팀|득점|경기장|메달|결승전|준결승|선수단",
    re.IGNORECASE,
)
SPORTS_DOC = 3  # distinct sports words that make a post a sports report
# Entertainment: a K-pop "US tour" after "Seoul shows" is not the alliance.
_ENTERTAINMENT = re.compile(
    r"\b(?:K-?pop|K-?drama|idols?|concerts?|albums?|Billboard|Netflix|box office|"
    r"films?|movies?|actors?|actress(?:es)?|singers?|rappers?|boy band|girl group|fans|"
    r"fandom|world tour|music video|streaming|Grammys?|Oscars?|premiere|episodes?|"
    r"BTS|BLACKPINK|agency's artists|entertainment)\b|"
    r"케이팝|K팝|아이돌|콘서트|앨범|빌보드|넷플릭스|드라마|영화|배우|가수|팬덤|음원|"
    r"걸그룹|보이그룹|예능|스트리밍|데뷔",
    re.IGNORECASE,
)


# A term that names Korea itself ("U.S. Forces Korea", "주한미군", "Ulchi Freedom Shield") is
# Korea's wherever it stands; any other alliance term in a sentence about another ally and not
# South Korea ("Japan's host-nation support", "NATO burden sharing") is that ally's.
_NAMES_KOREA = re.compile(
    r"Korea|\bROK\b|KORUS|Humphreys|Yongsan|Pyeongtaek|Seongju|Osan|Kunsan|Ulchi|"
    r"주한|한미|한국|韓|평택|용산|성주|오산|군산|을지"
)


# What marks a sentence as background to the post's subject: the past recalled ("the first
# talks since the THAAD row of 2017"), a comparison ("by comparison, Seoul pays …", "한국이
# 주한미군 주둔을 위해 부담하는 금액보다 많다").
ASIDE = re.compile(
    r"\b(?:since|by comparison|compared (?:with|to)|in contrast|unlike|recalled|years ago|"
    r"(?:in|of|since) (?:19|20)\d\d|(?:the|a) (?:former|previous|earlier)|"
    r"than (?:what )?(?:South Korea|Seoul|Korea)\b)|"
    r"이후|당시|과거|비교하면|비해|(?:19|20)\d\d년|보다 ?(?:많|적|크|높|낮|작)",
    re.IGNORECASE,
)


# A year recalls the past only where the post names a later one elsewhere (its dateline, its
# news): "2024년 8월 훈련에서 … 포함하기로 합의했다" in a post dated 2024 is a plan, not a look
# back. A post naming no other year keeps the year as background ("the THAAD row of 2017").
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d\d)(?!\d)")
_ASIDE_YEAR = re.compile(r"\b(?:in|of|since) ((?:19|20)\d\d)\b|((?:19|20)\d\d)년", re.IGNORECASE)
_ASIDE_WORDS = re.compile(
    r"\b(?:since|by comparison|compared (?:with|to)|in contrast|unlike|recalled|years ago|"
    r"(?:the|a) (?:former|previous|earlier)|than (?:what )?(?:South Korea|Seoul|Korea)\b)|"
    r"이후|당시|과거|비교하면|비해|보다 ?(?:많|적|크|높|낮|작)",
    re.IGNORECASE,
)


def is_aside(doc: Doc, index: int) -> bool:
    """The sentence tells background: the past recalled or a comparison (see ASIDE)."""
    text = doc.sentences[index].text
    if _ASIDE_WORDS.search(text):
        return True
    years = [int(m.group(1) or m.group(2)) for m in _ASIDE_YEAR.finditer(text)]
    if not years:
        return False
    later = doc.latest_year(excluding=index)
    return later is None or min(years) < later


# A context issue named only as the threat an alliance matter answers ("troops stationed to
# defend against North Korea", "북한의 핵위협에 대한 … 확장억제", "북한의 위협 등 안보 상황")
# sets the scene: the post is about the answer, not about the North.
_THREAT_AFTER = re.compile(
    r"(?:'s|’s)\s(?:[\w-]+\s){0,2}?(?:threats?|provocations?|aggression)\b|"
    r"[의이가]?\s?(?:\S+\s){0,3}?\S*?(?:위협|도발)|"
    r"[의이가에]?\s?(?:\S+\s){0,3}?\S*?에\s?(?:대응|대비|맞서)",
    re.IGNORECASE,
)
_THREAT_BEFORE = re.compile(
    r"\b(?:defen[cs]e|defend(?:ing)?|deter(?:s|ring|rence)?|protect(?:ing|ion)?)"
    r"(?:\s[\w-]+){0,2}\sagainst\s(?:the\s|a\s)?$|\bthreats?\s(?:from|posed by)\s(?:the\s)?$",
    re.IGNORECASE,
)


def named_as_threat(text: str, term: str) -> bool:
    """Every mention of `term` in the sentence names it as the threat or adversary."""
    found = False
    start = text.find(term)
    while start >= 0:
        end = start + len(term)
        if not (
            _THREAT_AFTER.match(text, end, min(len(text), end + 30))
            or _THREAT_BEFORE.search(text, max(0, start - 40), start)
        ):
            return False
        found = True
        start = text.find(term, end)
    return found


def names_korea(term: str) -> bool:
    """The matched term names Korea itself ("U.S. Forces Korea", "주한미군")."""
    return bool(_NAMES_KOREA.search(term))


def _is_place_of_voices(text: str, m: re.Match[str]) -> bool:
    if m.group(0).lower() not in _CAPITALS:
        return False
    return bool(_VOICES_IN.search(text, max(0, m.start() - 30), m.start()))


_HANGUL = re.compile(r"[가-힣]")


def _hangul_pattern(term: str) -> str:
    """A Korean term matches inside a word (particles attach: "주한미군을", "한미연합훈련"),
    with or without the spaces and middle dots Korean writers put between its parts. Korean
    spacing of compounds varies by paper ("미군기지" / "미군 기지", "작전통제권" / "작전
    통제권"): a part of three syllables or more matches with a space between any two."""
    parts = [p for p in re.split(r"[\s\-·]+", term) if p]
    return r"[\s\-·]*".join(_spaced(p) for p in parts)


def _spaced(part: str) -> str:
    if len(part) < 3 or not all("가" <= c <= "힣" for c in part):
        return re.escape(part)
    return " ?".join(part)


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


def _scoped(regex: str) -> str:
    """A user's regex as one alternative: its leading global flags ("(?i)") become local
    ("(?i:…)"), which Python allows inside a larger pattern."""
    m = re.match(r"\(\?([aiLmsux]+)\)", regex)
    if m:
        return f"(?{m.group(1)}:{regex[m.end() :]})"
    return f"(?:{regex})"


@dataclass(frozen=True, slots=True)
class TermSet:
    """One list of terms, compiled for a fast scan.

    Plain terms are indexed by the first two letters of their first word: a scan of a text
    (`Scan`) lists where each two-letter word start is, and only the terms that could start
    there are tried, longest first (one big alternation tried at every word was the analysis's
    largest cost on full-length articles). Regex terms run on their own; Korean terms only
    over text with Hangul in it.
    """

    plain: dict[str, tuple[re.Pattern[str], ...]]
    patterns: tuple[re.Pattern[str], ...] = ()
    korean: tuple[re.Pattern[str], ...] = ()

    @classmethod
    def of(cls, terms: tuple[str, ...]) -> TermSet:
        plain: dict[str, list[re.Pattern[str]]] = {}
        compiled: list[re.Pattern[str]] = []
        korean: list[re.Pattern[str]] = []
        hangul: list[str] = []
        for t in sorted(terms, key=len, reverse=True):  # longest first: whole phrases win
            if not t.startswith("re:") and _HANGUL.search(t):
                hangul.append(_hangul_pattern(t))
                continue
            pat, exact, is_raw = _term_pattern(t)
            if is_raw:
                (korean if _HANGUL.search(pat) else compiled).append(re.compile(_scoped(pat)))
                continue
            flags = 0 if exact else re.IGNORECASE
            if not t[:1].isalnum():  # not at a word start: matched the slow way
                compiled.append(re.compile(r"(?<![\w$])(?:" + pat + ")", flags))
                continue
            # Two letters when the term's first word has them ("us", "th"), else one ("u" for
            # "U.S.", whose second character may be written differently).
            key = t[:2].lower() if t[1:2].isalnum() else t[:1].lower()
            plain.setdefault(key, []).append(re.compile(pat, flags))
        if hangul:
            korean.append(re.compile("(?:" + "|".join(hangul) + ")", re.IGNORECASE))
        return cls({k: tuple(v) for k, v in plain.items()}, tuple(compiled), tuple(korean))

    def finditer(self, text: str | Scan) -> list[re.Match[str]]:
        """Matches in a text: for the plain terms, the longest at each word start, never one
        inside another; then each regex term's matches."""
        scan = text if isinstance(text, Scan) else Scan(text)
        found: list[re.Match[str]] = []
        starts = sorted({p for key in self.plain for p in scan.index.get(key, ())})
        last_end = -1
        for pos in starts:
            if pos < last_end:
                continue
            two = scan.text[pos : pos + 2].lower()
            best: re.Match[str] | None = None
            for rx in self.plain.get(two, ()) + self.plain.get(two[:1], ()):
                m = rx.match(scan.text, pos)
                if m and (best is None or m.end() > best.end()):
                    best = m
            if best is not None:
                found.append(best)
                last_end = best.end()
        for pat in self.patterns + (self.korean if scan.korean else ()):
            found.extend(pat.finditer(scan.text))
        return found


_WORD_START = re.compile(r"(?<![\w$])\w")


class Scan:
    """A text with the positions of its word starts, by their first two letters (lower
    case), shared by every term set matched against it."""

    __slots__ = ("index", "korean", "text")  # index: "us" → [positions], "u" → [positions]

    def __init__(self, text: str) -> None:
        self.text = text
        self.korean = bool(_HANGUL.search(text))
        index: dict[str, list[int]] = {}
        for m in _WORD_START.finditer(text):
            p = m.start()
            two = text[p : p + 2].lower()
            index.setdefault(two, []).append(p)
            index.setdefault(two[:1], []).append(p)
        self.index = index


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
    names: TermSet | None = None  # the issue's terms that only name an institution


@dataclass(frozen=True, slots=True)
class Lexicon:
    issues: tuple[IssueMatcher, ...]
    us: TermSet
    rok: TermSet
    bilateral: TermSet
    alliance: TermSet
    elsewhere: TermSet


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
                TermSet.of(i.names) if i.names else None,
            )
            for i in taxonomy.issues
        ),
        us=TermSet.of(taxonomy.actors.us),
        rok=TermSet.of(taxonomy.actors.rok),
        bilateral=TermSet.of(taxonomy.actors.bilateral),
        alliance=TermSet.of(taxonomy.actors.alliance),
        elsewhere=TermSet.of(taxonomy.actors.elsewhere),
    )


@dataclass(frozen=True, slots=True)
class Hit:
    issue: str
    tier: str  # "strong" | "normal" | "weak"
    term: str
    sentence: int
    attribution: bool
    name: bool = False  # a term that only names the issue's institution ("USFK")


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
    # Written in Pyongyang's voice ("puppet", "imperialists") or reporting it ("North Korea
    # condemned the drills").
    hostile: bool = False
    sports: bool = False  # names a sport, a score or a coach (set only in a sports report)
    joint: bool = False  # a verb of acting together ("agreed", "pledged", "합의")
    other_ally: bool = False  # names another US ally (Japan, NATO, …)

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
    language: str = "en"
    # Distinct sports and entertainment words: a match report or a K-pop story names the US
    # and Korea for other reasons than the alliance.
    offtopic: int = 0
    # The year the post was published, when known (the dateline is cleaned out of the text).
    year: int | None = None

    @property
    def has_us(self) -> bool:
        return any(s.us or s.bilateral for s in self.sentences)

    @property
    def has_rok(self) -> bool:
        return any(s.rok or s.bilateral for s in self.sentences)

    def body(self) -> list[Sentence]:
        return [s for s in self.sentences if not s.is_title]

    def latest_year(self, excluding: int = -1) -> int | None:
        """The latest year named in the post outside sentence `excluding` (its dateline too)."""
        years = [
            int(m.group(1))
            for s in self.sentences
            if s.index != excluding
            for m in _YEAR.finditer(s.text)
        ]
        if self.year is not None:
            years.append(self.year)
        return max(years, default=None)

    @property
    def length(self) -> float:
        """Length in English-word equivalents: a Korean word (eojeol) carries its particles
        and endings, so a Korean article has fewer, fuller words than its English version."""
        return self.words * (KOREAN_WORD_FACTOR if self.language == "ko" else 1.0)


LEAD_SENTENCES = 3
KOREAN_WORD_FACTOR = 1.7


def _blank(text: str, spans: list[re.Match[str]]) -> str:
    """`text` with each span replaced by as many spaces (offsets stay valid)."""
    if not spans:
        return text
    chars = list(text)
    for m in spans:
        chars[m.start() : m.end()] = " " * (m.end() - m.start())
    return "".join(chars)


def build_doc(
    title: str, blocks: list[tuple[str, bool, int]], lexicon: Lexicon, language: str = "en"
) -> Doc:
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
    raw_joined = "\n".join(joined_parts)
    # Another alliance's phrases are nobody's evidence here.
    joined = _blank(raw_joined, lexicon.elsewhere.finditer(Scan(raw_joined)))
    scan = Scan(joined)

    def where(offset: int) -> int:
        return bisect_right(starts, offset) - 1

    for m in lexicon.us.finditer(scan):
        if not _is_place_of_voices(joined, m):
            sentences[where(m.start())].us = True
    for m in lexicon.rok.finditer(scan):
        if not _is_place_of_voices(joined, m):
            sentences[where(m.start())].rok = True
    for m in _JOINT_ACTION.finditer(joined):
        sentences[where(m.start())].joint = True
    for m in _OTHER_ALLIES.finditer(joined):
        sentences[where(m.start())].other_ally = True
    for pattern in (_HOSTILE_VOICE, _NORTH_SPEAKS):
        for m in pattern.finditer(joined):
            sentences[where(m.start())].hostile = True
    sports = list(_SPORTS.finditer(joined))
    sport_words = {m.group(0).lower() for m in sports}
    if len(sport_words) >= SPORTS_DOC:
        for m in sports:
            sentences[where(m.start())].sports = True
    show_words = {m.group(0).lower() for m in _ENTERTAINMENT.finditer(joined)}
    for m in lexicon.bilateral.finditer(scan):
        sentences[where(m.start())].bilateral = True
    for m in lexicon.alliance.finditer(scan):
        sentences[where(m.start())].alliance_word = True
    head = sentences[0]
    if _NORTH_ACTOR.search(head.text) and not (
        (head.us and head.rok) or head.bilateral or head.alliance_word
    ):
        for sent in sentences[1:]:
            if _CONDEMNATION.search(sent.text):
                sent.hostile = True
    hits: list[Hit] = []
    theirs = {s.index for s in sentences if s.other_ally and not (s.rok or s.bilateral)}
    for issue in lexicon.issues:
        korea_only = issue.kind == "alliance" and issue.anchor
        # Spans already claimed by this issue, disjoint and sorted: a bisect finds overlaps
        # (a scan of every earlier span was quadratic on long texts).
        starts_c: list[int] = []
        ends_c: list[int] = []
        names = {m.span() for m in issue.names.finditer(scan)} if issue.names else set()
        for tier, termset in (
            ("strong", issue.strong),
            ("normal", issue.normal),
            ("weak", issue.weak),
        ):
            for m in termset.finditer(scan):
                a, b = m.span()
                k = bisect_right(starts_c, a)
                if (k and ends_c[k - 1] > a) or (k < len(starts_c) and starts_c[k] < b):
                    continue  # inside a longer match
                starts_c.insert(k, a)
                ends_c.insert(k, b)
                if korea_only and where(a) in theirs and not _NAMES_KOREA.search(m.group(0)):
                    continue
                attribution = bool(
                    _ATTRIBUTION_AFTER.match(joined, b, min(len(joined), b + 40))
                    or _ATTRIBUTION_BEFORE.search(joined, max(0, a - 20), a)
                )
                hits.append(Hit(issue.id, tier, m.group(0), where(a), attribution, (a, b) in names))
    words = sum(word_count(s.text) for s in sentences[1:])
    return Doc(sentences, hits, words, language, len(sport_words) + len(show_words))
