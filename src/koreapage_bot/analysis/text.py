"""Plain text from HTML, and a sentence splitter that knows English news abbreviations."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser


def wordset(words: str) -> frozenset[str]:
    """A set from whitespace-separated words (keeps long word lists readable)."""
    return frozenset(words.split())


_BLOCK_TAGS = wordset(
    "p div br li ul ol h1 h2 h3 h4 h5 h6 blockquote section article header footer tr table "
    "figure figcaption pre hr dd dt dl main aside nav"
)
_SKIP_TAGS = wordset("script style noscript template svg iframe form button select")


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip_depth += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    """Visible text of an HTML fragment or page, one paragraph per block element."""
    parser = _TextCollector()
    try:
        parser.feed(markup)
        parser.close()
    except Exception:  # malformed markup: fall back to stripping tags
        return normalize_text(html.unescape(re.sub(r"<[^>]*>", " ", markup)))
    return normalize_text("".join(parser.parts))


# Leftovers of broken inline HTML that some pages leak into their text, e.g.
# `&to=http:// example.org/a.html ' target=_blank>Washington`.
_BROKEN_LINK = re.compile(
    r"(?:&\w+=)?https?://\s?\S+(?:\s*['\"]?\s*target=['\"]?_?\w+['\"]?\s*>)?", re.IGNORECASE
)
_STRAY_TAG = re.compile(r"</?[a-zA-Z][^<>]{0,200}>")
_MD_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)\s*\|?")


def normalize_text(text: str) -> str:
    """Unify whitespace and line breaks; drop leaked markup. Paragraphs end up one a line."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    text = text.replace("\u200b", "").replace("\ufeff", "")
    text = _MD_IMAGE.sub(" ", text)
    text = _BROKEN_LINK.sub(" ", text)
    text = _STRAY_TAG.sub(" ", text)
    lines = [re.sub(r"[ \t\f\v]+", " ", line).strip() for line in text.split("\n")]
    return "\n".join(line for line in lines if line)


def paragraphs(text: str) -> list[str]:
    """Non-empty lines of normalized text."""
    return [line for line in normalize_text(text).split("\n") if line]


# --- sentences ---------------------------------------------------------------------------

# Abbreviations that never end a sentence (the next word belongs to the same sentence).
_NON_TERMINAL = wordset(
    """mr mrs ms dr prof gen lt col maj capt cmdr cmdr adm sgt cpl pvt rep reps sen sens gov
    pres supt st mt ft rev hon amb sec gen brig messrs jan feb mar apr jun jul aug sep sept oct
    nov dec no nos vol vols fig figs art arts ch sect approx dept est vs v cf al e.g i.e
    ph.d b.a m.a"""
)
# Abbreviations that may end a sentence: a boundary only when a typical sentence opener follows.
_MAY_END = wordset("u.s u.k u.n e.u u.s.a d.c a.m p.m inc corp co ltd jr sr etc bros")
_OPENERS = wordset(
    """the a an it he she they we i you this that these those in on at but and however
    meanwhile also as for if when while after before his her their its there some many most
    still yet so since although though despite with without officials analysts critics
    according under during one two three both such what why how who last next earlier later
    now then today"""
)
_CANDIDATE = re.compile(r"[.!?\u2026]+[\"'”’)\]]*(?=\s+)")
_WORD_BEFORE = re.compile(r"([^\s\"'“‘(\[]+)$")
_NEXT_WORD = re.compile(r"\s+[\"'“‘(\[]*([^\s]+)")


def _is_boundary(block: str, end: int) -> bool:
    """Is the punctuation run ending at `end` (exclusive) a sentence end?"""
    nxt = _NEXT_WORD.match(block, end)
    if nxt is None:
        return False
    next_word = nxt.group(1)
    first = next_word[0]
    if first.islower() or first in ",;:-–—":
        return False
    punct_start = end
    while punct_start > 0 and block[punct_start - 1] in ".!?\u2026\"'”’)]":
        punct_start -= 1
    run = block[punct_start:end]
    if "!" in run or "?" in run or "\u2026" in run:
        return True
    # A bounded window: searching from 0 made a 200 KB one-line paragraph quadratic.
    before = _WORD_BEFORE.search(block, max(0, punct_start - 80), punct_start + 1)
    token = before.group(1).lower().rstrip(".") if before else ""
    bare = token.lstrip("\"'“‘([")
    clean_next = next_word.strip("\"'“”‘’()[],.;:").lower()
    if bare in _NON_TERMINAL:
        return False
    if bare in _MAY_END:
        return clean_next in _OPENERS
    if len(bare) == 1 and bare.isalpha():  # an initial: "S. Korea", "John F. Kennedy"
        return False
    if re.fullmatch(r"(?:[a-z]\.)+[a-z]", bare):  # other dotted initialisms: "N.K."
        return clean_next in _OPENERS
    return not (first.isdigit() and bare in {"no", "nos", "vol", "art", "p", "pp"})


def split_sentences(text: str) -> list[str]:
    """Split text into sentences. Line breaks always end a sentence."""
    out: list[str] = []
    for block in text.split("\n"):
        block = block.strip()
        if not block:
            continue
        start = 0
        for m in _CANDIDATE.finditer(block):
            if _is_boundary(block, m.end()):
                piece = block[start : m.end()].strip()
                if piece:
                    out.append(piece)
                start = m.end()
        tail = block[start:].strip()
        if tail:
            out.append(tail)
    return out


_WORD = re.compile(r"[A-Za-z][A-Za-z'’\-]*|\d[\d,.]*|[가-힣]+")


def word_count(text: str) -> int:
    """Words, Korean eojeol (a word with its particles) counted as one."""
    return len(_WORD.findall(text))


_HANGUL = re.compile(r"[가-힣]")
_LATIN = re.compile(r"[A-Za-z]")
KOREAN_SHARE = 0.3  # of letters: Korean press quotes English names and acronyms freely


def detect_language(text: str) -> str:
    """ "ko" when Hangul makes up a fair share of the letters, else "en" (the bot reads the
    English and Korean press; other languages are read with the English rules)."""
    sample = text[:20_000]
    hangul = len(_HANGUL.findall(sample))
    latin = len(_LATIN.findall(sample))
    return "ko" if hangul and hangul >= KOREAN_SHARE * (hangul + latin) else "en"
