"""What the story matcher reads from a brief: words, names, numbers and dates of its title and
lead, in forms that compare across outlets and, where they can, across languages.

- `terms`: the title and lead as index terms, counted: English words (lowercased, common
  words dropped, plural and tense endings cut), Korean as character bigrams of each word
  without its particle (bigrams match however a paper spaces or inflects a compound), other
  scripts as words. Title terms count twice.
- `concepts`: names and fixed terms (stories/names.py) as language-neutral ids, plus the
  brief's key issues ("i:usfk").
- `numbers`: quantities normalised across notations ("$700 billion" = "7,000억 달러" =
  7e11; "1,500 shares" = 1500), years and days of the month left out.
- `dates`: the days an item names (Dec. 29, 12월 29일, "said Monday", "29일"), resolved against
  its publication date.

Pure functions, no I/O; about a millisecond a brief.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache

from koreapage_bot.analysis.text import wordset
from koreapage_bot.stories.names import CONCEPTS

LEAD_CHARS = 1200  # of the body, after the title and summary: where a report states its event
EVENT_DAYS_BACK = 3  # a day named this many days before publication, or later, can be the event's

_STOP = wordset(
    """
    a an the and or but if of to in on at by for from with without about as into onto over
    under after before than then this that these those it its is are was were be been being
    has have had do does did will would shall should can could may might must not no nor so
    such too very just also only even still yet more most less least much many some any each
    every all both few other another own same which who whom whose what when where why how
    he she they we you i his her their our your my me him them us up down out off again
    there here said says say told tell according per via amid among between through during
    while new one two three year years day days week weeks month months time times monday
    tuesday wednesday thursday friday saturday sunday today yesterday tomorrow mr ms mrs dr
    """
)
# Korean endings that attach to a noun (longest first).
_PARTICLES = tuple(
    sorted(
        wordset(
            "에서는 에서도 으로는 으로도 에게서 에서 으로 에게 까지 부터 처럼 보다 라는 이라는 "
            "은 는 이 가 을 를 의 에 와 과 도 만 로 께"
        ),
        key=len,
        reverse=True,
    )
)
_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")
_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_HAN = re.compile(r"[\u4e00-\u9fff]")

_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ]
    )
    for m in names
}
_MONTH_WORD = "|".join(sorted(_MONTHS, key=len, reverse=True))
_EN_DATE = re.compile(
    rf"\b({_MONTH_WORD})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?!\s*(?:,\s*)?\d{{3}}\b(?!\d))|"
    rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+({_MONTH_WORD})\b",
    re.IGNORECASE,
)
_ISO_DATE = re.compile(r"(?<!\d)(\d{4})[-./](\d{1,2})[-./](\d{1,2})(?!\d)")
_KO_DATE = re.compile(r"(?:(\d{1,2})\s*월\s*)?(\d{1,2})\s*일(?![가-힣]{0,1}간)")
_WEEKDAYS = {
    w: i for i, w in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday"))
} | {"sunday": 6}
_EN_WEEKDAY = re.compile(r"\b(?:on\s+|said\s+|last\s+)(" + "|".join(_WEEKDAYS) + r")\b", re.I)
_KO_WEEKDAY_PAREN = re.compile(r"\((월|화|수|목|금|토|일)\)")

_SCALE_EN = {
    "trillion": 1e12,
    "tn": 1e12,
    "billion": 1e9,
    "bn": 1e9,
    "million": 1e6,
    "mn": 1e6,
    "thousand": 1e3,
}
_NUMBER = re.compile(
    r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?"
    r"(?:\s*(trillion|billion|million|thousand|bn|mn)\b)?"
    r"\s*(%|percent|pct|퍼센트)?",
    re.IGNORECASE,
)
# Korean numbers written with units: 1조5천200억, 2만8천500명, 7,000억 달러, 612억.
_KO_BIG = {"조": 1e12, "억": 1e8, "만": 1e4}
_KO_SMALL = {"천": 1e3, "백": 1e2}
_KO_NUMBER = re.compile(
    r"(?<![\d.,])(?:\d[\d,]*(?:\.\d+)?\s?[조억만천백]\s?)+(?:\d[\d,]*(?![\d,]*\s?[조억만천백]))?"
)
_KO_PART = re.compile(r"(\d[\d,]*(?:\.\d+)?)\s?([조억만천백])")
# Ordinals tell rounds and meetings apart ("second round", "제13차", "5th meeting").
_ORDINAL_WORDS = (
    "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth "
    "thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth"
)
_EN_ORDINAL_WORDS = {w: i + 1 for i, w in enumerate(re.findall(r"\w+", _ORDINAL_WORDS))}
_EN_ORDINAL = re.compile(
    r"\b(?:(\d{1,3})(?:st|nd|rd|th)|("
    + "|".join(_EN_ORDINAL_WORDS)
    + r"))\s+(?:round|meeting|session|plenary|summit|talks|phase|congress|edition|"
    r"anniversary|test|launch|conference|dialogue|forum|SMA|Special|Security|Nuclear|Strategic)",
    re.IGNORECASE,
)
_KO_ORDINAL = re.compile(
    r"(?:제\s?(\d{1,3})\s?(?:차|회|기)|(\d{1,3})\s?(?:차\s|차$|차[가-힣]|번째|회째))"
)


@dataclass(frozen=True, slots=True)
class StoryText:
    """A brief as the matcher sees it."""

    title: str
    summary: str
    text: str  # the cleaned body (only its lead is read)
    language: str
    at: datetime  # published, else stored
    issues: tuple[str, ...] = ()
    source: int | None = None  # the feed


@dataclass(frozen=True, slots=True)
class Features:
    at: datetime
    language: str
    source: int | None
    terms: dict[str, int]  # index term -> count (title terms twice)
    tf: dict[str, float]  # index term -> 1 + log(count): its weight before rarity
    title_terms: frozenset[str]
    concepts: frozenset[str]  # names.py concepts ("p:brunson") and key issues ("i:usfk")
    names: frozenset[str]  # capitalised words of Latin-script text ("fdi", "menendez")
    numbers: frozenset[str]
    dates: frozenset[str]
    # Derived (set in __post_init__), in the form pairs are compared: concepts as index keys
    # ("#p:brunson"), the same with the capitalised words ("@fdi"), key issues.
    known: frozenset[str] = field(init=False)
    named: frozenset[str] = field(init=False)
    issues: frozenset[str] = field(init=False)
    # The days it names near its own publication: the days its event can be on. A report's
    # background ("indicted on Dec. 3", "launched July 2") names older days that say nothing
    # against another report of the same event naming only today.
    event_days: frozenset[date] = field(init=False)

    def __post_init__(self) -> None:
        known = frozenset("#" + c for c in self.concepts if not c.startswith("i:"))
        object.__setattr__(self, "known", known)
        object.__setattr__(self, "named", known | {"@" + n for n in self.names})
        object.__setattr__(self, "issues", frozenset(c for c in self.concepts if c[:2] == "i:"))
        today = self.at.date()
        days = (date.fromisoformat(d) for d in self.dates)
        recent = frozenset(d for d in days if -EVENT_DAYS_BACK <= (d - today).days <= 1)
        object.__setattr__(self, "event_days", recent)

    def index_keys(self) -> Iterable[str]:
        """Everything the candidate index files this brief under."""
        yield from self.terms
        yield from self.named
        yield from ("=" + n for n in self.numbers)


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "")


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    """A light English stem: enough that "launches", "launched" and "launch" (or "force" and
    "forces") meet."""
    if len(word) <= 4 or not word.isalpha():
        return word
    if word.endswith("ies"):
        word = word[:-3] + "y"
    elif word.endswith(("sses", "shes", "ches", "xes", "zes")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    return word[:-1] if word.endswith("e") and len(word) > 4 else word


def _strip_particle(word: str) -> str:
    if len(word) >= 3:
        for particle in _PARTICLES:
            if word.endswith(particle) and len(word) - len(particle) >= 2:
                return word[: -len(particle)]
    return word


def terms_of(text: str) -> list[str]:
    """Index terms of `text` in reading order (see the module docstring)."""
    out: list[str] = []
    for token in _TOKEN.findall(normalise(text).lower()):
        token = token.replace("’", "'")
        if _HANGUL.search(token):
            # Hangul words, possibly glued to digits or Latin ("5-17공중기병대대"): the
            # Hangul run as bigrams (a lone syllable says too little), the rest as a word.
            for run in re.findall(r"[\uac00-\ud7a3]+|[^\uac00-\ud7a3]+", token):
                if _HANGUL.match(run):
                    stem = _strip_particle(run)
                    out.extend(stem[i : i + 2] for i in range(len(stem) - 1))
                elif _keep(run):
                    out.append(_stem(run))
        elif _HAN.search(token):
            out.extend(ch for ch in token if not ch.isspace())
        else:
            if token.endswith("'s"):
                token = token[:-2]
            if _keep(token):
                out.append(_stem(token))
    return out


_ORDINAL = re.compile(r"\d+(?:st|nd|rd|th)?")


def _keep(word: str) -> bool:
    # Numbers are compared as quantities, dates as dates; month names say nothing more.
    return (
        len(word) > 1
        and word not in _STOP
        and word not in _MONTHS
        and _ORDINAL.fullmatch(word) is None
    )


# -- concepts ----------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _concept_patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str], dict[str, str]]:
    """(acronyms, case-sensitive; English words, case-insensitive; Korean, inside words;
    surface form -> concept id)."""
    by_form: dict[str, str] = {}
    acronyms: list[str] = []
    english: list[str] = []
    korean: list[str] = []
    for concept, (en_forms, ko_forms) in CONCEPTS.items():
        for form in en_forms:
            if _HANGUL.search(form) or _HAN.search(form):
                korean.append(form)
                by_form[form] = concept
            elif form.replace(".", "").isupper() and len(form) <= 8:
                acronyms.append(form)
                by_form[form] = concept
            else:
                english.append(form.lower())
                by_form[form.lower()] = concept
        for form in ko_forms:
            korean.append(form)
            by_form[form] = concept

    def alternation(forms: list[str]) -> str:
        return "|".join(re.escape(f) for f in sorted(set(forms), key=len, reverse=True))

    acronym = re.compile(rf"(?<![\w.])(?:{alternation(acronyms)})(?![\w])")
    words = re.compile(rf"(?<![\w-])(?:{alternation(english)})(?![\w-])", re.IGNORECASE)
    hangul = re.compile(alternation(korean))
    return acronym, words, hangul, by_form


def concepts_of(text: str) -> set[str]:
    acronym, words, hangul, by_form = _concept_patterns()
    text = normalise(text)
    found = {by_form[m.group(0)] for m in acronym.finditer(text)}
    found.update(by_form[m.group(0).lower()] for m in words.finditer(text))
    found.update(by_form[m.group(0)] for m in hangul.finditer(text))
    return found


_NAME = re.compile(r"(?<![\w'’])([A-Z][a-zA-Z]+|[A-Z]{2,}[a-z]?)(?![\w'’])")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;\"“”‘’(\[\n—–-]\s*)$")
_NOT_NAMES = wordset(
    """
    the a an and but or in on at by for of to from with as it its he she they we you i this
    that these those there here his her their our my mr mrs ms dr gen lt col sen rep gov
    president minister said says according after before while when where what who how why
    monday tuesday wednesday thursday friday saturday sunday january february march april may
    june july august september october november december jan feb mar apr jun jul aug sep sept
    oct nov dec lead update updated breaking photo video read more related news editorial
    est edt pst gmt utc kst am pm
    """
)
# "Explosion in Jakarta Leaves at Least 1 Dead - New York Times": an aggregator's title ends
# with the outlet's name, which says nothing about the event (and joins every item of that
# outlet); a dash and at most five words at the very end.
_OUTLET_SUFFIX = re.compile(r"\s+[-–—|]\s+(?:[\w.&'’]+\s?){1,5}$")


# A wire's update markers ("(종합2보)", "[속보]", "[뉴욕증시-1보]", "(LEAD)", "(2nd LD)",
# "UPDATE 2-") say which version of a story this is, not which story: left in, they make every
# update of one outlet look alike and a flash unlike its fuller version.
_UPDATE_MARKER = re.compile(
    r"[\[(](?:[^\])]{0,8}(?:종합|속보|\d보)[^\])]{0,4}"
    r"|LEAD|URGENT|\d+(?:st|nd|rd|th) LD|UPDATE \d*|BREAKING)[\])]|^UPDATE \d+-",
    re.IGNORECASE,
)


def event_title(title: str) -> str:
    """The title without an aggregator's trailing outlet name or a wire's update marker."""
    text = _UPDATE_MARKER.sub(" ", normalise(title)).strip()
    stripped = _OUTLET_SUFFIX.sub("", text)
    return stripped if len(stripped) >= 12 else text


def headline_case(title: str) -> bool:
    """Most words capitalised ("Jakarta Attacks Kill at Least 2, Officials Say"): then a
    capital says nothing about a name."""
    words = [w for w in re.findall(r"[A-Za-z][\w'’-]*", title) if len(w) > 3]
    return len(words) >= 3 and sum(w[0].isupper() for w in words) >= 0.75 * len(words)


def names_of(text: str) -> set[str]:
    """Capitalised words and acronyms of Latin-script text, not at a sentence's start: the
    people, places and bodies an English (or other Latin-script) report names, whether or not
    names.py knows them. Compared within one language only."""
    text = normalise(text)
    found: set[str] = set()
    for m in _NAME.finditer(text):
        word = m.group(1)
        if word.lower() in _NOT_NAMES:
            continue
        if _SENTENCE_START.search(text[max(0, m.start() - 3) : m.start()]) and not word.isupper():
            continue
        found.add(_stem(word.lower()))
    return found


# -- numbers and dates -------------------------------------------------------------------------


def _quantity(m: re.Match[str]) -> str | None:
    whole, frac, scale, percent = m.groups()
    digits = whole.replace(",", "")
    value = float(f"{digits}.{frac}" if frac else digits)
    if scale:
        value *= _SCALE_EN[scale.lower()]
    elif percent is None:
        if "," not in whole and not frac and 1900 <= value <= 2100:
            return None  # a year
        if value < 32 and not frac:
            return None  # a day, an ordinal, a small count: too common to tell stories apart
    return _number_key(value, bool(percent))


def _number_key(value: float, percent: bool = False) -> str | None:
    if value == 0:
        return None
    text = f"{value:.3g}"
    return text + "%" if percent else text


def _korean_quantity(text: str) -> float:
    total = section = 0.0
    end = 0
    for part in _KO_PART.finditer(text):
        number = float(part.group(1).replace(",", ""))
        unit = part.group(2)
        if unit in _KO_SMALL:
            section += number * _KO_SMALL[unit]
        else:
            total += (section + number) * _KO_BIG[unit]
            section = 0.0
        end = part.end()
    rest = text[end:].strip().replace(",", "")
    if rest:
        section += float(rest)
    return total + section


def numbers_of(text: str) -> set[str]:
    """Quantities and ordinals (as "#2") of `text`, in one notation for every language."""
    text = normalise(text)
    text = _ISO_DATE.sub(" ", text)
    text = _EN_DATE.sub(" ", text)
    text = _KO_DATE.sub(" ", text)
    found: set[str] = set()
    for m in _EN_ORDINAL.finditer(text):
        found.add(f"#{int(m.group(1)) if m.group(1) else _EN_ORDINAL_WORDS[m.group(2).lower()]}")
    for m in _KO_ORDINAL.finditer(text):
        found.add(f"#{int(m.group(1) or m.group(2))}")
    text = _EN_ORDINAL.sub(" ", text)
    text = _KO_ORDINAL.sub(" ", text)
    for m in _KO_NUMBER.finditer(text):
        if (key := _number_key(_korean_quantity(m.group(0)))) is not None:
            found.add(key)
    text = _KO_NUMBER.sub(" ", text)
    found.update(q for m in _NUMBER.finditer(text) if (q := _quantity(m)) is not None)
    return found


def _resolve(month: int | None, day: int, around: date, late: bool = False) -> date | None:
    """The day `month`/`day` most likely means in a report published on `around`: this year,
    or last year when that would be more than two months ahead; a bare day of the month is
    this month's, or last month's when it has not come yet."""
    try:
        if month is None:
            tomorrow = around + timedelta(days=1)
            if late and day == tomorrow.day:
                # Stamped late in the UTC day, a report may name its own (Seoul) day: "28일"
                # in a brief published at 16:30 UTC on the 27th is the 28th, not last month's.
                return tomorrow
            if day > around.day:
                first = around.replace(day=1) - timedelta(days=1)
                return first.replace(day=day) if day <= first.day else None
            return around.replace(day=day)
        candidate = date(around.year, month, day)
    except ValueError:
        return None
    if candidate - around > timedelta(days=60):
        try:
            candidate = date(around.year - 1, month, day)
        except ValueError:
            return None
    return candidate


def dates_of(text: str, published: datetime) -> set[str]:
    text = normalise(text)
    around = published.date()
    found: set[date] = set()
    for m in _ISO_DATE.finditer(text):
        try:
            found.add(date(int(m.group(1)), int(m.group(2)), int(m.group(3))))
        except ValueError:
            continue
    text = _ISO_DATE.sub(" ", text)
    for m in _EN_DATE.finditer(text):
        if m.group(1):
            month, day = _MONTHS[m.group(1).lower()], int(m.group(2))
        else:
            month, day = _MONTHS[m.group(4).lower()], int(m.group(3))
        if resolved := _resolve(month, day, around):
            found.add(resolved)
    for m in _KO_DATE.finditer(text):
        ko_month = int(m.group(1)) if m.group(1) else None
        if ko_month is not None and not 1 <= ko_month <= 12:
            continue
        if resolved := _resolve(ko_month, int(m.group(2)), around, published.hour >= 12):
            found.add(resolved)
    for m in _EN_WEEKDAY.finditer(text):
        # The last such day, or tomorrow's: a report dated in UTC may speak of Seoul's day.
        ahead = (_WEEKDAYS[m.group(1).lower()] - around.weekday()) % 7
        found.add(
            around + timedelta(days=1) if ahead == 1 else around - timedelta(days=(7 - ahead) % 7)
        )
    return {d.isoformat() for d in found}


# -- one brief ---------------------------------------------------------------------------------


def lead_of(item: StoryText) -> str:
    return f"{event_title(item.title)}\n{item.summary}\n{item.text[:LEAD_CHARS]}"


def features(item: StoryText) -> Features:
    title = event_title(item.title)
    title_terms = terms_of(title)
    counts = Counter(title_terms)
    counts.update(title_terms)  # the title counts twice
    lead = lead_of(item)
    counts.update(terms_of(f"{item.summary}\n{item.text[:LEAD_CHARS]}"))
    concepts = concepts_of(lead) | {f"i:{issue}" for issue in item.issues}
    return Features(
        at=item.at,
        language=(item.language or "en").split("-")[0].lower(),
        source=item.source,
        terms=dict(counts),
        tf={t: 1.0 + math.log(c) for t, c in counts.items()},
        title_terms=frozenset(title_terms),
        concepts=frozenset(concepts),
        # A headline-case title capitalises every word: its names are read from the lead.
        names=frozenset(names_of(lead if not headline_case(title) else lead[len(title) :])),
        numbers=frozenset(numbers_of(lead)),
        dates=frozenset(dates_of(lead, item.at)),
    )


def overlap(a: Sequence[str] | frozenset[str], b: Sequence[str] | frozenset[str]) -> float:
    """Jaccard of two sets (0 when both are empty)."""
    sa, sb = set(a), set(b)
    union = len(sa | sb)
    return len(sa & sb) / union if union else 0.0
