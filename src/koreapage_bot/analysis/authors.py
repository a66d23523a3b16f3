"""Who wrote it: a chain of sources, normalized, never invented, persons before site names.

Chain: feed entry author (dc:creator) → page metadata (meta author, JSON-LD) → bylines the
normaliser took out of the text ("By …" before a dateline, "BY NAME [e-mail]", a name above
its e-mail, Reuters' "(Reporting by …)" without the editors, Korean "홍길동 기자") → a byline
near the top ("By …") → a name line above the date → the closing bio → the author segment of
the URL (/author/jane-doe/) → the feed's own author.
The first candidate that names a person wins; with none, a team that signs the page ("Political
News Team"); an outlet or agency never does (none is better than a wrong author), so otherwise
the author is unknown (None).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from urllib.parse import unquote, urlsplit

from koreapage_bot.analysis.noise import _BYLINE, Cleaned
from koreapage_bot.analysis.normalize import BYLINE_DATE, KOREAN_POSTS, KOREAN_REPORTER
from koreapage_bot.analysis.text import wordset

_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
_HANDLE = re.compile(r"\(?@\w+\)?")
_ROLE = re.compile(
    r"^(?:staff|senior|chief|special|contributing|guest|associate|managing|political|"
    r"diplomatic|defense|defence|foreign|national|white house|seoul|washington|tokyo)?\s*"
    r"(?:writer|reporter|correspondent|editor|contributor|columnist|analyst|bureau chief|"
    r"staff writer|staff reporter|intern)s?$",
    re.IGNORECASE,
)
# Words that mark an organization, a site or a section rather than a person.
_ORG_WORDS = wordset(
    """team desk staff news newsroom editorial editors editor press agency online times post
    herald daily journal magazine institute center centre foundation council university school
    reuters yonhap afp ap upi bloomberg kcna newsis news1 kyodo xinhua efe epa dpa tass nhk
    cnn bbc voa rfa nknews hankyoreh chosun joongang donga hankook kyunghyang arirang kbs mbc
    sbs jtbc ytn mbn admin administrator webmaster site blog page
    media network group service services bureau office ministry department korea korean
    diplomat report review tribune world global international association society channel
    wire radio tv television the
    jazeera guardian telegraph economist politico axios newsweek forbes nikkei asahi mainichi
    yomiuri sankei jiji straits scmp msnbc cnbc npr pbs nbc abc cbs huffpost buzzfeed
    breitbart dailymail wsj nyt interfax sputnik bernama antara anadolu kuna menafn
    newswire businesswire prnewswire gazette chronicle observer guardian examiner courier
    today stripes"""
)
# Words that open or close a byline line but never name a person ("Posted Friday", "Updated
# Monday", "Read More"): a date or a label glued to the line is not a name.
_NOT_NAME_WORDS = wordset(
    """january february march july september october november december
    feb mar apr jun jul aug sep sept oct nov dec monday tuesday wednesday thursday friday
    saturday sunday posted updated published modified last read more share print home photo
    photos video videos opinion analysis commentary editorial column latest top trending
    related stories story articles article comments comment subscribe newsletter contact about
    us north south asia pacific america american foreign national security policy
    defense defence military politics economy business world alliance forces army navy
    facebook twitter linkedin whatsapp telegram kakaotalk pinterest reddit instagram youtube
    email e-mail"""
)
_GENERIC = frozenset(
    {"admin", "administrator", "webmaster", "editor", "guest", "anonymous", "unknown", "staff"}
)
_PARTICLES = frozenset({"de", "van", "von", "der", "bin", "al", "da", "di", "le", "la", "du"})
_URL_AUTHOR_SEGMENTS = frozenset(
    {
        "author",
        "authors",
        "columns",
        "columnist",
        "columnists",
        "writers",
        "writer",
        "by",
        "people",
        "profile",
        "profiles",
        "staff",
        "contributors",
        "contributor",
    }
)


# Ranks and honorifics before a name ("Sgt. (Ret.) Tom Alvarez", "Dr. Jane Kim") are not
# part of it.
_TITLE_PREFIX = re.compile(
    r"^(?:(?:the\s+)?(?:dr|prof|professor|gen|general|lt|lieutenant|col|colonel|maj|major|capt|"
    r"captain|cmdr|commander|adm|admiral|sgt|sergeant|cpl|brig|amb|ambassador|rep|sen|gov|"
    r"mr|mrs|ms|rev|hon)\.?\s+|\(\s*ret(?:\.|ired)?\s*\)\s*|ret(?:\.|ired)\s+)+",
    re.IGNORECASE,
)


# One syllable of romanized Korean ("hyun", "joo", "gyum"): in an all-capital byline
# ("LEE HYUN-JOO") the syllable after a given name's hyphen is written in lower case.
_KOREAN_SYLLABLE = re.compile(
    r"(?:kk|tt|pp|ss|jj|ch|[gkndrlmbpsjhtcyw])?"
    r"(?:yae|yeo|wae|you|ae|ya|eo|ye|wa|oe|yo|wo|we|wi|yu|eu|ui|oo|ou|ee|a|e|o|u|i)"
    r"(?:ng|[kntlmpgb])?",
    re.IGNORECASE,
)


def _title_case(name: str) -> str:
    words = []
    for word in name.split():
        head, *rest = word.split("-")
        parts = [head.capitalize()]
        parts += [p.lower() if _KOREAN_SYLLABLE.fullmatch(p) else p.capitalize() for p in rest]
        words.append("-".join(parts))
    return " ".join(words)


# Korean bylines: "홍길동 기자", "워싱턴=홍길동 특파원", "[서울신문 홍길동 기자]".
_KOREAN_ROLE = re.compile(rf"\s*(?:{KOREAN_REPORTER}|PD)\b.*$|\s*(?:기자|특파원)$")
_KOREAN_NAME = re.compile(r"[가-힣]{2,4}")
# An outlet or a desk in the name's place ("한빛일보 기자", "정치부 기자"): never a person.
_KOREAN_NOT_A_NAME = re.compile(
    r"(?:일보|신문|뉴스|방송|경제|투데이|데일리|타임스|통신|미디어|저널|닷컴|매일|팀|데스크|취재반|"
    r"편집국|보도국)$|^(?:연합|뉴시스|뉴스원|한겨레|경향|국민|동아|조선|중앙|매경|한경|노컷|"
    r"정치부|사회부|경제부|국제부|외신부|산업부|문화부|체육부|사진부|편집부|전국부|지방부|"
    r"금융부|증권부|디지털부|온라인부|영상부|기획부|취재부|뉴스부|외교안보부|통일외교부|"
    r"전문|선임|객원|인턴|수습|사진|영상|디지털|온라인|취재|기획|특별|사회|정치|경제|국제)$"
)


_KOREAN_POST = re.compile(rf"^(?:{KOREAN_POSTS})$")


def _korean_person(name: str) -> bool:
    return (
        bool(_KOREAN_NAME.fullmatch(name))
        and not _KOREAN_NOT_A_NAME.search(name)
        and not _KOREAN_POST.match(name)
    )


def _korean_author(text: str) -> str | None:
    """The person in a Korean byline: the 2-4 syllable name before the role word."""
    text = _EMAIL.sub(" ", text)
    text = re.sub(r"[\[\]()<>]", " ", text).strip()
    text = text.rsplit("=", 1)[-1].strip()  # "워싱턴=홍길동 특파원": a place before the name
    text = _KOREAN_ROLE.sub("", text).strip()
    words = text.split()
    if not words:
        return None
    if len(words) >= 2 and _KOREAN_POST.match(words[-1]):
        words = words[:-1]  # "홍길동 워싱턴 특파원": the post after the name
    # "홍길동·김철수 기자": several reporters.
    names = [n for n in re.split(r"[·,]\s*", words[-1]) if n]
    if not names or not all(_korean_person(n) and not n.startswith("기자") for n in names):
        return None
    return ", ".join(names)


def _split_names(raw: str) -> list[str]:
    parts = re.split(r"\s*(?:,|;|&|\b[Aa][Nn][Dd]\b|\||/| - | – | — |·|•)\s*", raw)
    return [p.strip(" .:-") for p in parts if p and p.strip(" .:-")]


# A date (and time) glued to or set beside a name: "Jane Roe16 August 2013",
# "Jane Roe | Aug. 16, 2013 10:30", "Jane Roe 2013-08-16", "on August 16, 2013".
_DATE_IN_BYLINE = re.compile(BYLINE_DATE)
_LABEL_WORDS = (
    r"(?:Contributing Writer|Contributing Editor|Staff Writer|Staff Reporter|Senior Writer|"
    r"Author|Writer|Reporter|Contributor|Columnist|Correspondent)"
)
# A role after the name with the post or beat before it: "Jane Roe, Gyeonggi Correspondent
# and Tom Park, Washington Correspondent".
_POSTED_ROLE = re.compile(
    r",\s*(?:[A-Z][\w'’\-]*\s+){1,3}(?:Correspondent|Bureau Chief|Reporter|Writer|Editor)s?\b"
)
# "Jane RoeAuthor", "Jane Roe Author", "AuthorJane Roe": a page's label beside the name.
_LABEL_AFTER = re.compile(
    rf"(?:(?<=[a-z])|\s+){_LABEL_WORDS}s?(?=$|[\s,|/·•\-–—])|(?<=[a-z])author$|(?<=[a-z])(?:Contributing|Staff|Senior|Chief|Special)$"
)
_LABEL_BEFORE = re.compile(
    r"^(?:(?:Author|Writer|Reporter|Columnist|By)(?=[A-Z][a-z])|"
    r"(?:Staff |Senior )?(?:Reporter|Correspondent|Writer|Columnist)\s*:?\s+(?=[A-Z][a-z]))"
)
# AP prints the name in capitals before the agency: "JANE ROE Associated Press".
_CAPS_THEN_WORDS = re.compile(r"(?<=[A-Z]{2}) (?=[A-Z][a-z])")


def normalize_author(raw: str | None) -> str | None:
    """Strip "By", e-mail addresses, handles, dates, labels and job titles; keep every author
    named; where persons are named beside an outlet ("Jane Roe - Example Times"), only them."""
    if not raw:
        return None
    text = " ".join(raw.split())
    bare = _EMAIL.sub("", text)
    if len(re.findall(r"[가-힣]", bare)) > len(re.findall(r"[A-Za-z]", bare)):
        return _korean_author(text)
    text = _LABEL_BEFORE.sub("", text)
    m = _BYLINE.match(text)
    if m:
        text = m.group(1)
    text = _EMAIL.sub(" ", text)
    text = _HANDLE.sub(" ", text)
    text = re.sub(r"\(\s*\)|\[\s*\]|<\s*>|\bmailto:", " ", text)
    text = _DATE_IN_BYLINE.sub(" | ", text)
    text = _POSTED_ROLE.sub(" | ", text)
    text = _LABEL_AFTER.sub(" | ", text)
    text = _CAPS_THEN_WORDS.sub(" | ", text)
    text = re.sub(r"\s+", " ", text).strip(" ,;|-–—:")
    m = _BYLINE.match(text)  # "16 August 2013 by Jane Roe"
    if m:
        text = m.group(1)
    names: list[str] = []
    for part in _split_names(text):
        if _ROLE.match(part) or part.lower() in _GENERIC:
            continue
        bare = _TITLE_PREFIX.sub("", part).strip()
        if len(bare.split()) >= 2:  # never strip a rank down to a lone surname
            part = bare
        if part.isupper() and len(part) > 3:
            part = _title_case(part)
        if part not in names:
            names.append(part)
    people = [n for n in names if _looks_like_person(n)]
    if not people:
        # a single given name only where no full name is there: beside "Jane Roe", the
        # capitalized words of an outlet ("STARS AND STRIPES") are no one
        people = [n for n in names if _single_name(n)]
    if people:
        names = people  # the outlet or desk beside a person is not an author
    if not names:
        return None
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1]


def _name_token(tok: str) -> bool:
    low = tok.lower().strip(".")
    if low in _ORG_WORDS or low in _NOT_NAME_WORDS or low in _GENERIC:
        return False
    if "." in tok.strip(".") or any(c.isdigit() for c in tok):
        return False
    return tok[0].isupper() or low in _PARTICLES


def _looks_like_person(name: str) -> bool:
    if _KOREAN_NAME.fullmatch(name):
        # a Korean name: family name and given name in 2-4 syllables, not an outlet or desk
        return _korean_person(name)
    tokens = name.split()
    if not 2 <= len(tokens) <= 5:
        return False
    return all(_name_token(tok) for tok in tokens)


def _single_name(name: str) -> bool:
    """A byline of one name ("Posted … by Mina"): a capitalized word, not an acronym, an
    outlet or a label."""
    return (
        bool(re.fullmatch(r"[A-Z][a-z'’\-]{2,20}", name))
        and _name_token(name)
        and name.lower() not in _ROLE_WORDS
    )


_ROLE_WORDS = wordset(
    "writer reporter correspondent editor contributor columnist analyst intern author staff"
)


def is_person(author: str | None) -> bool:
    if not author:
        return False
    names = re.split(r", | and ", author)
    return all(_looks_like_person(n) for n in names)


def acceptable(author: str | None) -> bool:
    """Names people: full names, or a single given name the byline states outright."""
    if not author:
        return False
    names = re.split(r", | and ", author)
    return all(_looks_like_person(n) or _single_name(n) for n in names)


def author_from_url(url: str | None) -> str | None:
    """`/author/jane-doe/` or `/columns/jane-doe/` → "Jane Doe"."""
    if not url:
        return None
    segments = [unquote(s) for s in urlsplit(url).path.split("/") if s]
    for a, b in itertools.pairwise(segments):
        if a.lower() in _URL_AUTHOR_SEGMENTS and re.fullmatch(r"[a-z]+(?:[-_][a-z]+){1,3}", b):
            name = " ".join(w.capitalize() for w in re.split(r"[-_]", b))
            if _looks_like_person(name):
                return name
    return None


def bio_author(cleaned: Cleaned) -> str | None:
    if cleaned.bio is None or not cleaned.bio.name:
        return None
    return ", ".join([cleaned.bio.name, *cleaned.bio.others])


def name_line_authors(cleaned: Cleaned) -> list[str]:
    """Name lines above the date count only when they name people: with no "By" to go on, a
    name of two or three words, and not the opening line (a headline: "Allies Open Drills")."""
    opening = cleaned.body[0] if cleaned.body else None
    found = []
    for line in cleaned.name_lines:
        author = normalize_author(line)
        names = re.split(r", | and ", author) if author else []
        if line != opening and is_person(author) and all(len(n.split()) <= 3 for n in names):
            found.append(line)
    return found


# A page signed by a team of its own ("Political News Team", "Editorial Team") names that team
# as its author; an outlet or an agency ("Yonhap", "The Example Times") never is one.
_TEAM = re.compile(r"^(?:[A-Z][\w'’]*\s){0,3}(?:Team|Desk|Newsroom)$")


# Words of headings and section labels that a name alone on its line never holds.
_HEADING_WORDS = wordset(
    """new old big top best more latest breaking live update updates special report reports
    week day year talks deal plan costs cost troops troop alliance allies summit drills war
    peace power talk future past time life world city state country nation people party
    analysis opinion essay review notes note brief briefing letter letters recent feature
    features posts popular most viewed editor editors pick picks choice more stories video"""
)


def name_alone_authors(cleaned: Cleaned) -> list[str]:
    """A name alone on its line counts only when it is clearly a person's: two or three
    words, none a heading word or a word the text uses in lower case ("Troop Costs"), and a
    name the text does not otherwise mention."""
    lower = set(re.findall(r"(?<![\w'’\-])[a-z][a-z'’\-]+", cleaned.text))
    # A name the text talks about (a leader in a tag list, a source) is not its byline.
    others = "\n".join(p for p in cleaned.body if p not in cleaned.name_alone)
    found = []
    for line in cleaned.name_alone:
        author = normalize_author(line)
        if not author or not is_person(author) or not 2 <= len(author.split()) <= 3:
            continue
        words = [w.lower() for w in re.split(r"[\s\-]+", author) if w]
        if any(w in _HEADING_WORDS or w in lower for w in words):
            continue
        if re.search(rf"\b{re.escape(author.split()[-1])}\b", others):
            continue
        found.append(line)
    return found


def choose_author(candidates: Iterable[str | None]) -> str | None:
    """The first candidate naming a person; else a team that signs the page; else None: an
    outlet or an agency is never an author (none is better than a wrong one)."""
    normalized = [a for a in (normalize_author(c) for c in candidates) if a]
    for a in normalized:
        if acceptable(a):
            return a
    return next((a for a in normalized if _TEAM.match(a)), None)


def find_author(
    *,
    entry_author: str | None,
    page_author: str | None,
    cleaned: Cleaned,
    url: str | None,
    feed_author: str | None,
    text_bylines: Sequence[str] = (),
    maybe_bylines: Sequence[str] = (),
) -> str | None:
    """`text_bylines` are bylines in a form that names the author ("By …", "홍길동 기자");
    `maybe_bylines` count only where they name a person ("Name, staff reporter")."""
    return choose_author(
        [
            entry_author,
            page_author,
            *text_bylines,
            *(b for b in maybe_bylines if is_person(normalize_author(b))),
            *cleaned.bylines,
            *name_line_authors(cleaned),
            bio_author(cleaned),
            *name_alone_authors(cleaned),
            *cleaned.trailer_authors,
            author_from_url(url),
            feed_author,
        ]
    )
