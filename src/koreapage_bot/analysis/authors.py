"""Who wrote it: a chain of sources, normalized, never invented, persons before site names.

Chain: feed entry author (dc:creator) → page metadata (meta author, JSON-LD) → bylines the
normaliser took out of the text ("By …" before a dateline, "BY NAME [e-mail]", a name above
its e-mail, Reuters' "(Reporting by …)" without the editors, Korean "홍길동 기자") → a byline
near the top ("By …") → a name line above the date → the closing bio → the author segment of
the URL (/author/jane-doe/) → the feed's own author.
The first candidate that names a person wins; if none does, the first non-empty one (a desk or
team name) is used; otherwise the author is unknown (None).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from urllib.parse import unquote, urlsplit

from koreapage_bot.analysis.noise import _BYLINE, Cleaned
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
    reuters yonhap afp ap upi bloomberg kcna admin administrator webmaster site blog page
    media network group service services bureau office ministry department korea korean
    diplomat report review tribune world global international association society channel
    wire radio tv television the"""
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
_KOREAN_ROLE = re.compile(
    r"\s*(?:선임기자|객원기자|기자|특파원|통신원|논설위원|칼럼니스트|대기자|PD)\b.*$|\s*(?:기자|특파원)$"
)
_KOREAN_NAME = re.compile(r"[가-힣]{2,4}")


def _korean_author(text: str) -> str | None:
    """The person in a Korean byline: the 2-4 syllable name before the role word."""
    text = _EMAIL.sub(" ", text)
    text = re.sub(r"[\[\]()<>]", " ", text).strip()
    text = text.rsplit("=", 1)[-1].strip()  # "워싱턴=홍길동 특파원": a place before the name
    text = _KOREAN_ROLE.sub("", text).strip()
    words = text.split()
    if not words:
        return None
    # "홍길동·김철수 기자": several reporters.
    names = [n for n in re.split(r"[·,]\s*", words[-1]) if n]
    if not names or not all(_KOREAN_NAME.fullmatch(n) and not n.startswith("기자") for n in names):
        return None
    return ", ".join(names)


def _split_names(raw: str) -> list[str]:
    parts = re.split(r"\s*(?:,|;|&|\band\b|\|| - | – | — )\s*", raw)
    return [p.strip(" .:-") for p in parts if p and p.strip(" .:-")]


def normalize_author(raw: str | None) -> str | None:
    """Strip "By", e-mail addresses, handles and job titles; keep every author named."""
    if not raw:
        return None
    text = " ".join(raw.split())
    bare = _EMAIL.sub("", text)
    if len(re.findall(r"[가-힣]", bare)) > len(re.findall(r"[A-Za-z]", bare)):
        return _korean_author(text)
    m = _BYLINE.match(text)
    if m:
        text = m.group(1)
    text = _EMAIL.sub(" ", text)
    text = _HANDLE.sub(" ", text)
    text = re.sub(r"\(\s*\)|\[\s*\]|<\s*>|\bmailto:", " ", text)
    text = re.sub(r"\s+", " ", text).strip(" ,;|-–—:")
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
    if not names:
        return None
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1]


def _looks_like_person(name: str) -> bool:
    if _KOREAN_NAME.fullmatch(name):
        return True  # a Korean name: family name and given name in 2-4 syllables
    tokens = name.split()
    if not 2 <= len(tokens) <= 5:
        return False
    for tok in tokens:
        low = tok.lower().strip(".")
        if low in _ORG_WORDS or "." in tok.strip(".") or any(c.isdigit() for c in tok):
            return False
        if not (tok[0].isupper() or low in _PARTICLES):
            return False
    return True


def is_person(author: str | None) -> bool:
    if not author:
        return False
    names = re.split(r", | and ", author)
    return all(_looks_like_person(n) for n in names)


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


def choose_author(candidates: Iterable[str | None]) -> str | None:
    """First candidate naming a person; else the first non-empty one; else None."""
    normalized = [a for a in (normalize_author(c) for c in candidates) if a]
    for a in normalized:
        if is_person(a):
            return a
    return normalized[0] if normalized else None


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
            *cleaned.trailer_authors,
            author_from_url(url),
            feed_author,
        ]
    )
