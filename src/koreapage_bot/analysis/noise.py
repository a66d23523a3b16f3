"""Strip page noise from article text: navigation, captions and credits, share and comment
prompts, subscription blurbs, datelines, duplicated paragraphs, bylines and the author bio.

Bylines and the bio are returned separately: the author step reads them, the summary never does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from koreapage_bot.analysis.text import paragraphs

# Whole lines that are site chrome.
_NAV_LINE = re.compile(
    r"^(?:skip to (?:main )?content|skip to navigation|main menu|menu|search|home|<< ?home|"
    r"subscribe(?: now)?|sign in|sign up|log ?in|register|connect with us|"
    r"hi,? what are you looking for\??|trending(?: stories| now)?|recent (?:features|posts)|"
    r"related(?: articles| stories| posts| content)?|read more|read next|more stories|"
    r"advertisement|sponsored|listen live|listen|get short url|"
    r"share(?: this)?(?: article| post| story)?|"
    r"tweet|print|e-?mail|comments?|\d+ comments?|post a comment|leave a (?:comment|reply)|"
    r"click to comment|add comment|show comments|newer post|older post|next post|previous post|"
    r"back to top|tags?:.*|filed under:.*|categories:.*|posted in .*|cast & crew|"
    r"\[[a-z ]+\]|•\s*\w+(?: \w+)?|[|•·\-–—\s]+|"
    # Korean portals' chrome: related and most-read lists, share and subscribe buttons,
    # reaction counters ("좋아요 0 훈훈해요 0 …").
    r"관련\s?기사|많이 본 (?:뉴스|기사)|인기\s?기사|주요\s?뉴스|이 기사를 추천합니다|기사\s?추천|"
    r"(?:카카오톡|페이스북|트위터|네이버|밴드|링크)?\s?(?:공유|구독)하기|댓글(?:\s?\d+)?|"
    r"(?:[가-힣]{2,5}요\s?\d+\s?){2,})$",
    re.IGNORECASE,
)
# After one of these the rest of the page is the comment section or the footer.
_END_OF_ARTICLE = re.compile(
    r"^(?:leave a (?:comment|reply)|post a comment|click to comment|\d+ comments?|comments|"
    r"your email address will not be published.*|you may also like|more from .{0,40}|"
    r"about the author|related (?:articles|stories|posts))$",
    re.IGNORECASE,
)
# Lines that contain one of these (and are short enough to be a caption or blurb) are noise.
_NOISE_INSIDE = re.compile(
    r"photo courtesy|courtesy photo|\(photo by|\bphoto by\b|\bphotos? credit|^credit:|"
    r"getty images|\bap photo\b|/ ?(?:reuters|yonhap|afp|ap|upi|newsis|epa)\b|"
    r"\((?:yonhap|reuters|afp|ap|upi|epa)\)$|"
    r"\((?:[A-Z][\w.'’\-]+ ){1,3}[A-Z][\w.'’\-]+ ?/ ?[A-Z][\w .&'’\-]+\)$|"
    r"©|\ball rights reserved\b|your email address will not be published|"
    r"required fields are marked|"
    r"sign up for (?:our|the)|subscribe to (?:our|the)?|\bnewsletter\b|follow us on|"
    r"share (?:this )?on (?:facebook|twitter|x)|for more articles like this|\[login to see\]|"
    r"^updated:? \d|^\d+ of \d+ \||^tag archive|^source / |\bclick here\b|\bjavascript\b|"
    r"^(?:file )?photo:|^in this (?:file )?photo|^image:|^watch .{0,60} on (?:netflix|youtube)|"
    r"^read more:|^have a (?:news )?tip\b|download (?:the|our) app|"
    r"^the views expressed (?:here |in this (?:article|column) )?are|"
    r"기사\s?제보|보도자료\s|무단\s?전재|재배포\s?금지|구독하세요|채널에서 구독",
    re.IGNORECASE,
)
_CREDIT_ONLY = re.compile(
    r"^(?:[A-Z][\w.\-]*(?: [A-Z][\w.\-]*){0,4} ?/ ?)+(?:[A-Z][\w.\-]*(?: [\w.\-]+){0,3})$"
)
_MONTHS = (
    "jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec|january|february|march|april|june|"
    "july|august|september|october|november|december"
)
_DATE_TOKENS = re.compile(
    rf"\b(?:{_MONTHS}|mon|tue|wed|thu|fri|sat|sun|monday|tuesday|wednesday|thursday|friday|"
    r"saturday|sunday|updated|published|posted|am|pm|gmt|utc|kst|est|edt|et|sast|bst|cet|on|at)\b\.?|"
    r"\d+|[/:,|+\-.()]",
    re.IGNORECASE,
)
_BYLINE = re.compile(
    r"^(?:by|written by|words by|story by|reporting by|authors?(?:[`'’]s name)?|posted by)"
    r"\s*:?\s+(.+)$",
    re.IGNORECASE,
)
# WordPress-style "Posted on July 21, 2025 by Mina": the name after a date.
_DATED_BYLINE = re.compile(
    r"^(?:posted|published|updated|written)\s+(?:on\s+)?(.{4,40}?)\s+by\s+(.{2,60})$",
    re.IGNORECASE,
)
# A byline without "By": newsletters and blogs put the author's name on its own line right
# above the date ("Jane Roe and Kim Min-su" / "Oct 20, 2025").
_NAMES_LINE = re.compile(
    r"^[A-Z][\w'’.\-]+(?:\s+[A-Z][\w'’.\-]+){1,3}"
    r"(?:(?:,\s*|\s+and\s+|\s*&\s*)[A-Z][\w'’.\-]+(?:\s+[A-Z][\w'’.\-]+){1,3})*$"
)
# A bio opens with a person's name; "The People Power Party is expected to …" is not one.
_NOT_A_PERSON = re.compile(
    r"^(?:The|This|That|These|Those|A|An|It|Its|Their|Our|His|Her)\b|"
    r"\b(?:Party|Ministry|Government|Committee|Office|Command|Army|Navy|Agency|Service|"
    r"Company|Group|Bank|Association|Council|Assembly|Court|House|Department|University)\b"
)
_TEAM_LINE = re.compile(
    r"^(?:[A-Z][\w'’]*\s){0,3}(?:Team|Desk|Staff|Bureau|Editors|Newsroom|Correspondents?)$"
)
_NAME_LINE = re.compile(r"^[A-Z][\w'’.\-]+(?:\s+(?:[A-Z][\w'’.\-]+|de|van|von|bin|al|da|di)){1,3}$")
# "Jane Kim is a fellow …", also without an article: "… is director of …", "… is senior
# fellow …" (the caller still requires a bio word such as fellow or director).
_NAME_IS_A = re.compile(
    r"^((?:[A-Z][\w'’.\-]+\s){1,3}[A-Z][\w'’.\-]+)\s+(?:is|was|serves as)\s+"
    r"(?:a|an|the|[a-z][\w\-]*|[A-Z][a-z]+)\b"
)
_BIO_VERB = re.compile(r"^(?:is|was|has|serves|works|writes|holds|teaches|covers)\b")
_BIO_WORDS_CLOSING = re.compile(
    r"\b(?:advis[eo]r|associate|chair|president|founder|co-founder|expert|specialist|"
    r"previously (?:served|worked)|formerly|former\s+\w+|serves? on|is based in)\b",
    re.IGNORECASE,
)
_BIO_WORDS = re.compile(
    r"\b(?:student|fellow|professor|researcher|director|analyst|writer|journalist|editor|author|"
    r"correspondent|reporter|contributor|candidate|scholar|lecturer|graduate|intern|columnist|"
    r"his research|her research|research interests|can be (?:found|reached)|follow (?:him|her))\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Bio:
    name: str | None  # the name line above the bio, or the name the bio opens with
    text: str
    # Co-authors' bios that follow it ("Joe Byrne is a Research Fellow …"), in order.
    others: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Cleaned:
    body: list[str]  # paragraphs kept, in order
    headings: frozenset[int]  # indexes into body of short heading lines (no sentence punctuation)
    bylines: tuple[str, ...]  # raw byline lines ("By …") near the top
    trailer_authors: tuple[str, ...]  # "Author's name …" / "… Team" lines at the end
    bio: Bio | None
    removed: tuple[str, ...] = field(default=())
    # A name line right above the date near the top: a byline if the name is a person's.
    name_lines: tuple[str, ...] = ()
    # A name alone on its line near the top or at the end, or above a role or agency line
    # ("Jane Roe" / "Senior Fellow, Asia Program"): a byline only if clearly a person's name.
    name_alone: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return "\n".join(self.body)


def _norm(line: str) -> str:
    return re.sub(r"[^\w]+", " ", line.lower()).strip()


def is_dateline(line: str) -> bool:
    if len(line) > 80:
        return False
    if not re.search(rf"\d|\b(?:{_MONTHS})\b", line, re.IGNORECASE):
        return False
    rest = _DATE_TOKENS.sub(" ", line).split()
    return len(rest) == 0


def _is_heading(line: str) -> bool:
    return len(line.split()) <= 12 and not re.search(r"[.!?:;\"”’)]$", line)


def _bio_at(lines: list[str], i: int) -> tuple[Bio, int] | None:
    """A closing bio starting at line i: a name line then "<Name> is a …", or one paragraph."""
    line = lines[i]
    if _NAME_LINE.match(line) and i + 1 < len(lines):
        nxt = lines[i + 1]
        names = line.split()
        for opener in (line, names[0], names[-1], "He", "She", "They"):
            if nxt.startswith((opener + " ", opener + "’s", opener + "'s")):
                after = nxt[len(opener) :].lstrip(" ’'s").lstrip()
                if _BIO_VERB.match(after) or _BIO_WORDS.search(nxt):
                    return Bio(line, nxt), i + 2
    m = _NAME_IS_A.match(line)
    # A person introduced and then quoted is a source, not the author.
    quoted = re.search(r"[\"“”]|\b(?:said|says|told)\b", line)
    if m and len(line) < 700 and not _NOT_A_PERSON.search(m.group(1)) and not quoted:
        # Broader job words ("senior adviser", "previously served") only in the closing lines,
        # so a body paragraph about an official never cuts the article short.
        closing = len(lines) - i <= 3
        if _BIO_WORDS.search(line) or (closing and _BIO_WORDS_CLOSING.search(line)):
            return Bio(m.group(1), line), i + 1
    return None


def clean(text: str, title: str = "") -> Cleaned:
    """Split `text` into paragraphs and drop page noise. See the module docstring."""
    lines = paragraphs(text)
    title_key = _norm(title)
    kept: list[str] = []
    removed: list[str] = []
    bylines: list[str] = []
    trailers: list[str] = []
    name_lines: list[str] = []
    seen: set[str] = set()
    bio: Bio | None = None
    # Captions: a line right before or after a bare credit line ("POOL New / Reuters").
    credit_idx = {
        i
        for i, ln in enumerate(lines)
        if len(ln) < 100
        and ((_CREDIT_ONLY.match(ln) and " / " in ln) or re.match(r"(?i)^(?:credit|photo):", ln))
    }
    caption_prefixes = [_norm(ln) for ln in lines if _NOISE_INSIDE.search(ln) and len(ln) < 500]
    body_started = False
    n = len(lines)
    i = 0
    while i < n:
        line = lines[i]
        key = _norm(line)
        i += 1
        if not key:
            removed.append(line)
            continue
        if _END_OF_ARTICLE.match(line) and (body_started or i > n // 2):
            removed.extend(lines[i - 1 :])
            break
        if key == title_key or key in seen:
            removed.append(line)
            continue
        bm = _BYLINE.match(line)
        # "Author's name …" anywhere; "By …" only near the top (not a film's credits).
        if (
            bm
            and len(line.split()) <= 14
            and not re.search(r"[.!?]$", line)
            and (line.lower().startswith("author") or (i - 1 < max(8, n // 3)))
        ):
            bylines.append(line)
            removed.append(line)
            continue
        dm = _DATED_BYLINE.match(line)
        if dm and is_dateline(dm.group(1)) and i - 1 < max(8, n // 3):
            bylines.append("By " + dm.group(2))
            removed.append(line)
            continue
        # Not "before the body": a newsletter's dek (a full sentence) may sit above the name.
        # Only recorded: a capitalized headline above a date looks the same, and may be the
        # title; the author step keeps the line only if it names people.
        if i < n and i - 1 < 8 and _NAMES_LINE.match(line) and is_dateline(lines[i]):
            name_lines.append(line)
        if i - 1 >= n - 2 and _TEAM_LINE.match(line):
            trailers.append(line)
            removed.append(line)
            continue
        if body_started and i - 1 >= n // 2:
            found = _bio_at(lines, i - 1)
            if found is not None:
                bio = found[0]
                # Several authors close with one bio each.
                others: list[str] = []
                nxt = _bio_at(lines, found[1]) if found[1] < n else None
                while nxt is not None and len(others) < 5:
                    if nxt[0].name and nxt[0].name != bio.name:
                        others.append(nxt[0].name)
                    nxt = _bio_at(lines, nxt[1]) if nxt[1] < n else None
                if others:
                    bio = Bio(bio.name, bio.text, tuple(others))
                removed.extend(lines[i - 1 :])
                break
        if (
            _NAV_LINE.match(line)
            or (_NOISE_INSIDE.search(line) and len(line) < 500)
            or is_dateline(line)
            or (i - 1) in credit_idx
            or (i in credit_idx and len(line) < 300)
            or (_is_heading(line) and " / " in line)
            or (_is_heading(line) and line.count("|") >= 1)
            or any(p.startswith(key) and p != key for p in caption_prefixes if len(key) > 30)
        ):
            removed.append(line)
            continue
        if not body_started and _is_heading(line) and len(line.split()) <= 4:
            removed.append(line)  # section labels and menus above the article
            continue
        seen.add(key)
        kept.append(line)
        if not _is_heading(line):
            body_started = True
    alone = _names_alone(lines, title_key)
    if bio is None:
        kept, bio = _bio_sentence(kept)
    headings = frozenset(j for j, ln in enumerate(kept) if _is_heading(ln))
    return Cleaned(
        kept,
        headings,
        tuple(bylines),
        tuple(trailers),
        bio,
        tuple(removed),
        tuple(name_lines),
        alone,
    )


# A line under the name that says who the person is: a role, a title, or the agency.
_ROLE_LINE = re.compile(
    r"^(?:(?:The )?Associated Press|AP|Reuters|AFP|Yonhap(?: News Agency)?|Bloomberg|"
    r"(?:[\w.&'’\-]+ ){0,4}(?:writer|reporter|correspondent|editor|columnist|contributor|"
    r"fellow|professor|researcher|director|analyst|scholar|lecturer|chair|president|"
    r"student|journalist)s?\b.{0,80})$",
    re.IGNORECASE,
)
# A signature ("— Jane Roe") or a name with its handle ("Jane Roe (@janeroe)") too.
_NAME_ALONE = re.compile(
    r"^(?:[—–\-]\s*)?((?:[A-Z][a-z'’\-]+|[A-Z][A-Z'’\-]+|[A-Z]\.)(?: (?:[A-Z][a-z'’\-]+|"
    r"[A-Z][A-Z'’\-]+|[A-Z]\.|de|van|von|bin|al|da)){1,2})(?:\s*\(?@\w+\)?)?$"
)


def _names_alone(lines: list[str], title_key: str) -> tuple[str, ...]:
    """Name lines in the byline's places: among the first four lines (the opening one only
    when a title was given: else it may be the headline) or the last two, or a line above a
    role or agency line near either end."""
    n = len(lines)
    found: list[str] = []
    for i, line in enumerate(lines):
        if not _NAME_ALONE.match(line) or _norm(line) == title_key or _NAV_LINE.match(line):
            continue
        above_role = (
            i + 1 < n
            and len(lines[i + 1]) <= 120
            and bool(_ROLE_LINE.match(lines[i + 1]))
            and (i < 6 or i >= n - 4)
        )
        # The opening line is the headline when no title was given.
        if above_role or (i <= 3 and (i > 0 or title_key)) or (i >= n - 2 and i > 0):
            found.append(line)
    return tuple(found)


# A bio sentence in the text: "Dr. Jane Roe is a senior fellow at the Example Institute."
_BIO_SENTENCE = re.compile(
    r"(?:^|(?<=[.!?] )|(?<=[Aa]uthor: )|(?<=[Aa]uthors: ))"
    r"((?:(?:Dr|Mr|Mrs|Ms|Prof)\.\s+)?(?:[A-Z][\w'’\-]+\s){1,3}"
    r"[A-Z][\w'’\-]+)\s+(?:is|was|serves as)\s+(?:a|an|the)?\s*(?:[\w\-]+\s+){0,3}?"
    r"(?:fellow|professor|researcher|director|analyst|journalist|correspondent|reporter|"
    r"columnist|contributor|scholar|lecturer|student|candidate|editor|writer)s?\s+"
    r"(?:at|of|with|in|for|on)\s+[^.!?]*?\b[A-Z][^.!?]*[.!?]"
)
_BIO_MORE = re.compile(
    r"\s*(?:He|She|They|His|Her|Their)\s+(?:is|was|has|holds|previously|also|served|writes|"
    r"covers|can|research|focus|work)[^.!?]*[.!?]"
)


def _bio_sentence(kept: list[str]) -> tuple[list[str], Bio | None]:
    """An author's bio sentence anywhere in the text (a page's bio box may sit mid-text):
    taken out, and read as the author only when the person is not also a source (the name
    appears nowhere else, and the sentence quotes no one)."""
    text = "\n".join(kept)
    for j, para in enumerate(kept):
        for m in _BIO_SENTENCE.finditer(para):
            name = m.group(1)
            sentence = m.group(0)
            if _NOT_A_PERSON.search(re.sub(r"^(?:Dr|Mr|Mrs|Ms|Prof)\.\s+", "", name)):
                continue
            if re.search(r"[\"“”]|\b(?:said|says|told|according to)\b", sentence):
                continue
            surname = name.split()[-1]
            elsewhere = text.replace(sentence, " ")
            if re.search(rf"\b{re.escape(surname)}\b", elsewhere):
                continue
            end = m.end()
            more = _BIO_MORE.match(para, end)
            while more is not None:
                end = more.end()
                more = _BIO_MORE.match(para, end)
            before = re.sub(r"(?i)\babout the authors?:?\s*$", "", para[: m.start()])
            rest = (before + para[end:]).strip()
            body = kept[:j] + ([rest] if rest else []) + kept[j + 1 :]
            return body, Bio(name, para[m.start() : end].strip())
    return kept, None
