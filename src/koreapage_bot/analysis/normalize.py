"""Normalise real page text before anything reads it: one paragraph a line, page furniture out.

Pages reach the analysis in many shapes: hard-wrapped statements and PDF text (a line break
inside every sentence), wire copy whose slug, headline, editor's notes, byline and dateline
are glued to the first sentence (`(LEAD) …(ATTN: …)By Kim Ji-won SEOUL, Jan. 2 (Yonhap) --`),
photo captions glued to the body (`… on Monday. (Yonhap)The ministry said`), Korean press
credits (`(서울=연합뉴스) 홍길동 기자 =`, `▲ 사진 설명`, `사진=뉴시스`), agency tags
(`(MENAFN- …)`), bullets, and subscription, survey or translation boilerplate.

`normalize_page` applies the rules of `RULES` (a table: each rule names the page form it
handles, a pattern and what to do with a match) in order, after rejoining hard-wrapped lines.
Bylines it finds are taken out of the text and returned for the author step. Every change is
recorded, so a position in the normalised text maps back to the text as received
(`Normalized.origin`): evidence quoted from the normalised text can be located in the source.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field

# --- offsets --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Map:
    """One pass's edits: new-text segment starts, and where each came from in the old text.
    A copied segment maps position by position; a replaced one maps to its old span."""

    new_starts: tuple[int, ...]
    old_starts: tuple[int, ...]
    old_ends: tuple[int, ...]
    copied: tuple[bool, ...]

    def back(self, pos: int, end: bool = False) -> int:
        """The old position of new position `pos`; an `end` (exclusive) maps through the
        character before it, so a span never grows over what was removed after it."""
        if end:
            if pos <= 0:
                return 0
            k = bisect_right(self.new_starts, pos - 1) - 1
            if self.copied[k]:
                return self.old_starts[k] + pos - self.new_starts[k]
            return self.old_ends[k]
        k = bisect_right(self.new_starts, pos) - 1
        if k < 0:
            return 0
        if self.copied[k]:
            return min(self.old_starts[k] + pos - self.new_starts[k], self.old_ends[k])
        return self.old_starts[k]


def _apply(text: str, edits: list[tuple[int, int, str]]) -> tuple[str, _Map]:
    """Apply non-overlapping (start, end, replacement) edits; overlapping ones are skipped."""
    edits.sort(key=lambda e: (e[0], e[1]))
    out: list[str] = []
    new_starts: list[int] = []
    old_starts: list[int] = []
    old_ends: list[int] = []
    copied: list[bool] = []
    pos = 0
    size = 0

    def seg(piece: str, a: int, b: int, is_copy: bool) -> None:
        nonlocal size
        new_starts.append(size)
        old_starts.append(a)
        old_ends.append(b)
        copied.append(is_copy)
        out.append(piece)
        size += len(piece)

    for start, end, repl in edits:
        if start < pos:
            continue  # overlaps an edit already applied
        if start > pos:
            seg(text[pos:start], pos, start, True)
        seg(repl, start, end, False)
        pos = end
    if pos < len(text) or not new_starts:
        seg(text[pos:], pos, len(text), True)
    return "".join(out), _Map(tuple(new_starts), tuple(old_starts), tuple(old_ends), tuple(copied))


# --- the rules ------------------------------------------------------------------------------

_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
_AGENCY = (
    r"(?:Yonhap|Reuters|AP|AFP|UPI|EPA|KUNA|Xinhua|Kyodo|Bernama|ANI|IANS|PTI|Anadolu|"
    r"NK News|Korea Herald|Korea Times|dpa|TASS|Sputnik|VOA|RFA|CNA|Bloomberg)"
)
# Cities that open wire stories ("SEOUL South Korea will…", Reuters' form without a dash).
_DATELINE_CITIES = (
    r"SEOUL|WASHINGTON|TOKYO|BEIJING|PYONGYANG|BUSAN|INCHEON|PAJU|PYEONGTAEK|OSAN|"
    r"PANMUNJOM|SEJONG|JEJU|NEW YORK|UNITED NATIONS|LONDON|MOSCOW|PARIS|BERLIN|BRUSSELS|"
    r"GENEVA|VIENNA|SINGAPORE|HONG KONG|TAIPEI|SHANGHAI|MANILA|HANOI|BANGKOK|JAKARTA|"
    r"CANBERRA|SYDNEY|NEW DELHI|HONOLULU|GUAM|OKINAWA|DANDONG|VLADIVOSTOK|ULAANBAATAR|KYIV|"
    r"CAMP HUMPHREYS|CAMP DAVID|HIROSHIMA|OSAKA|NINGBO|DUBAI|DOHA|RIYADH"
)
_CITY = r"(?:[A-Z][A-Z.'\-]+(?: [A-Z][A-Z.'\-]+){0,2})"
# "on May 23 (local time)" is a date in a sentence, not a dateline's agency.
_NOT_A_TIME = r"(?!(?:local|Korea|Seoul|Washington|Tokyo) time\b|(?:KST|EST|EDT|GMT|UTC|ET|PT)\b)"
# "Seoul, May 23 (Yonhap) --": a city in title case, only before a date and an agency.
_TITLE_CITY = r"(?:[A-Z][a-z]+(?: [A-Z][a-z]+)?)"
_COUNTRY = r"(?:,\s*(?:South |North )?[A-Z][a-z]+(?: [A-Z][a-z]+)?)"
_DASH = r"(?:--+|—-?|–|-)"
_NAME = r"[A-Z][\w'’.\-]*(?:\s+[A-Z][\w'’.\-]*){1,3}"
_EMAIL = r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+"
# Cities where Korean papers post correspondents ("홍길동 워싱턴 특파원"): never a name.
KOREAN_POSTS = (
    "워싱턴|뉴욕|베이징|도쿄|파리|런던|모스크바|베를린|브뤼셀|제네바|상하이|홍콩|하노이|방콕|"
    "자카르타|뉴델리|실리콘밸리|로스앤젤레스|시카고|토론토|시드니|두바이|카이로|예루살렘|타이베이|"
    "싱가포르|선양|오사카|부산|대구|광주|대전|인천|울산|세종|제주|춘천|수원|창원|전주|청주|유엔|"
    # Overseas Korean outlets (Korean-American radio, VOA, RFA) post correspondents in Seoul.
    "서울|평양|워싱턴DC|LA|엘에이|샌프란시스코|애틀랜타|하와이|밴쿠버|프랑크푸르트|단둥"
)
# The roles after a Korean reporter's name (longest first, so "전문기자" is not "전문" + 기자).
KOREAN_REPORTER = (
    "전문기자|선임기자|객원기자|인턴기자|수습기자|사진기자|영상기자|대기자|기자|특파원|통신원|"
    "논설위원|논설실장|논설주간|주필|칼럼니스트|편집위원"
)
_KOREAN_SIGNER = (
    "명예교수|초빙교수|겸임교수|석좌교수|교수|선임연구위원|수석연구위원|연구위원|책임연구원|"
    "연구원|원장|소장|논설위원|논설실장|주필|칼럼니스트|편집위원|객원논설위원|대기자|전문기자|"
    "전\\s?[가-힣]{1,6}대사|대사|변호사"
)
_CREDIT_BY = r"(?:Additional )?(?:[Rr]eporting|[Ww]riting|[Cc]ompiled|[Ee]diting) [Bb]y "
# Several names: "JANE ROE AND LEE HA-NA", "Jane Roe, Lee Ha-na".
_NAMES = rf"{_NAME}(?:(?:,\s*|\s+(?:and|AND|&)\s+){_NAME}){{0,3}}"
# A romanized Korean name with a capital after its hyphen: "Choe Sang-Hun".
_HYPHEN_NAME = r"[A-Z][a-z]+ [A-Z][a-z]+-[A-Z][a-z]+"
# A name in title case, two or three words (a letter glued after it starts a label).
_TITLE_NAME = (
    r"[A-Z][a-z'’\-]+(?: (?!(?:Staff|Senior|Contributing|Chief|Special)\b)[A-Z][a-z'’\-]+){1,2}"
)
_LABEL = (
    r"(?:Contributing Writer|Contributing Editor|Staff Writer|Staff Reporter|Senior Writer|"
    r"Author|AUTHOR|Writer|Reporter|Contributor|Columnist|Correspondent|(?<=[a-z])author)"
)
_MONTH_NAME = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)(?:[a-z]{0,6})\.?"
# A date set beside a byline, with its time: "16 August 2013", "Aug. 16, 2013 10:30 KST",
# "2013-08-16", "2013.08.16", "08/16/2013". Also read by the author step.
BYLINE_DATE = (
    r"(?:\b(?:on|updated|posted|published|Updated|Posted|Published)\s*:?\s+)?"
    r"(?:\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*\.?,?\s+)?"
    rf"(?:\d{{1,2}}(?:st|nd|rd|th)?\s*{_MONTH_NAME},?\s*\d{{4}}|"
    rf"{_MONTH_NAME}\s*\d{{1,2}}(?:st|nd|rd|th)?,?\s*\d{{4}}|"
    r"\d{4}[-./]\d{1,2}[-./]\d{1,2}\.?|\d{1,2}/\d{1,2}/\d{2,4})"
    r"(?:,?\s*(?:at\s+)?\d{1,2}:\d{2}(?::\d{2})?(?:\s*[AaPp]\.?[Mm]\.?)?(?:\s*[A-Z]{2,4})?)?"
)
_CREDIT_WORDS = (
    r"(?:Yonhap|Reuters|AP|AFP|EPA|UPI|Newsis|News1|Xinhua|Kyodo|Getty Images|"
    r"(?:AP|AFP|EPA|Yonhap|Reuters|Xinhua) Photo(?:/[^()\n]{1,40})?|Photo: [^()\n]{1,40}|"
    r"Joint Press Corps|Korea Herald DB|KCNA|Pool|pool|Photo|photo|Courtesy of [^()]{2,40}|"
    r"[^()\n]{1,40}/(?:The Korea Herald|Korea JoongAng Daily|Yonhap|Reuters|AP|AFP|EPA|"
    r"Getty Images|Newsis|News1)|[A-Za-z]+/AGENCE FRANCE-PRESSE[^()]{0,40}|"
    r"[^()\n]{0,30}(?:GETTY IMAGES|Getty Images)[^()\n]{0,20})"
)


# Korean family names, for a reporter's name glued to the desk it works for.
_KOREAN_SURNAMES = (
    "김이박최정강조윤장임한오서신권황안송류유전홍고문양손배백허남심노하곽성차주우구민진나지엄"
    "채원천방공현함변염여추도소석선설마길연위표명기반라왕금옥육인맹제모탁국어은편용예경봉사"
)


@dataclass(frozen=True, slots=True)
class Rule:
    """One page form. `action`: "drop" the match, "space" (insert a space at the match),
    "break" (a paragraph break at the match), "byline" (drop it and keep group 1 as a
    byline; "maybe-byline" when the form alone does not prove it names a person),
    "caption" (drop the match and the caption before it in its paragraph), "sentence" (drop
    the match and the sentence it ends), "whole-sentence" (drop the sentence the match is
    in), "strip" (drop what precedes group 1), "note-byline" (keep group 1 as a byline and
    the text as it is). `check`, when
    set, must accept the match for the rule to apply."""

    form: str
    pattern: re.Pattern[str]
    action: str
    check: Callable[[re.Match[str]], bool] | None = None
    needle: str = ""  # a text without it cannot match: the rule is skipped (speed)


def _rule(
    form: str,
    action: str,
    pattern: str,
    check: Callable[[re.Match[str]], bool] | None = None,
    needle: str = "",
) -> Rule:
    return Rule(form, re.compile(pattern, re.MULTILINE), action, check, needle)


# A press release's contact block names whom to call, not who wrote it.
_CONTACT_LABEL = re.compile(
    r"(?:contacts?|inquiries|enquiries|for more information|press office|media relations)"
    r"\s*:?\s*$",
    re.IGNORECASE,
)


def _email_of_name(m: re.Match[str]) -> bool:
    """The address belongs to the name before it: its local part holds a part of the name
    ("sanjaykumar@", "minsikyoon@") or its initials ("mjh@" for Moon Joon-hyun); and the
    name is not under a contact label ("Media contact:")."""
    above = m.string[: m.start()].rstrip("\n").rsplit("\n", 1)[-1]
    if _CONTACT_LABEL.search(above):
        return False
    local = re.sub(r"[^a-z]", "", m.group(0).split("@")[0].lower().rsplit(None, 1)[-1])
    parts = [w for w in re.split(r"[\s\-]+", m.group(1).lower()) if w]
    if any(len(w) >= 3 and w in local for w in parts):
        return True
    return len(parts) >= 2 and "".join(w[0] for w in parts) == local


def _glued_heading(m: re.Match[str]) -> bool:
    """Only where a page glues its deck: the opening line, after several words and no
    sentence end (so "his LinkedIn profile" in the body is left alone)."""
    if "\n" in m.string[: m.start()]:
        return False
    head = m.string[: m.start()]
    return len(head) <= 250 and len(head.split()) >= 4 and not re.search(r"[.!?]", head)


def _signed_off(m: re.Match[str]) -> bool:
    """A sign-off names the reporter beside an outlet, a role or an e-mail, not alone."""
    before = m.string[m.start() : m.start(1)].strip()
    after = m.string[m.end(1) :]
    return bool(before) or bool(re.match(r"[ \t]?(?:기자|특파원)|[ \t]*[\[(<]", after))


def _a_caption(m: re.Match[str]) -> bool:
    """A caption describes the photo ("…하고 있다.", "왼쪽부터 …") or is credited with a
    slash, and is not the text's last paragraph (where a reporter signs off)."""
    line = m.string[m.string.rfind("\n", 0, m.start()) + 1 : m.start()]
    slash = "/" in m.group(0)
    return slash or bool(re.search(r"있다\.|(?:왼쪽|오른쪽)(?:부터|에서)|가운데", line))


def _not_a_korean_particle(m: re.Match[str]) -> bool:
    return m.string[m.end() : m.end() + 1] not in set("가이은는을를의에와과도로")


RULES: tuple[Rule, ...] = (
    # Wire editors' notes and agency tags: never content.
    _rule(
        "editor's note",
        "drop",
        r"\((?:LEAD|\d+(?:st|nd|rd|th) LD|URGENT|News Focus|News Analysis|Yonhap Interview|"
        r"Yonhap Feature|Yonhap Special|Photo|Graphic|Video|ATTN:[^)]{0,200}|"
        r"EDITORIAL from [^)]{0,80}|END|MENAFN-[^)]{0,80}|\w+ ?- ?MENAFN[^)]{0,80})\)",
    ),
    # A sentence glued to the next one: "to South Korea.The captured soldiers".
    _rule("glued sentences", "space", r"(?<=[a-z0-9%”’)])[.!?](?=[A-Z“‘][a-z])"),
    _rule("glued after a quote", "space", r"(?<=[a-z0-9][.!?][”’\"])(?=[A-Z][a-z])"),
    _rule("glued Korean sentences", "space", r"(?<=[가-힣])[.!?](?=[가-힣A-Z0-9\[(“‘])"),
    # A heading glued to the first sentence: "… further refinement neededLast week, the …".
    _rule(
        "heading glued to the text",
        "break",
        r"(?<=[a-z]{3})(?=[A-Z][a-z]+,? [a-z])",
        _glued_heading,
    ),
    # A heading glued to its byline: "… on cost of aggressionBy Lee Minji SEOUL, …".
    _rule("glued byline", "break", r"(?<=[a-z'’)]{2})(?=(?:By|BY) [A-Z][\w'’\-]+ [A-Z])"),
    # Bylines that move to the author step.
    _rule(
        "byline before a dateline",
        "byline",
        rf"(?:^|(?<=\s))(?:By|BY) ({_NAME})\s+(?={_CITY}{_COUNTRY}?,? (?:{_MONTH} \d|\())",
    ),
    _rule(
        "byline with e-mail (anywhere)",
        "byline",
        rf"(?:^|(?<=[.!?”\"] ))[ \t]*(?:By|BY) ({_NAMES})\s*[\[(<]?\s*{_EMAIL}\s*[\])>]?\s*$",
        None,
        "@",
    ),
    # The closing byline glued to the last sentence, its address cut short or hidden by the
    # page ("… in January.BY JANE ROE [ [email protected]").
    _rule(
        "byline glued to the last sentence",
        "byline",
        rf"(?<=[a-z0-9)][.!?])[ \t]*(?:By|BY) ({_NAMES})[ \t]*[\[(<][ \t]*"
        rf"(?:{_EMAIL}|\[?email[ \t]protected\]?)?[ \t]*[\])>]?[ \t]*$",
    ),
    # The page's date stamp, then the byline and the outlet it first ran in:
    # "October 27, 2005|By Jane Roe, The Example Post." ("By" names the author).
    _rule(
        "date, then By and the name",
        "byline",
        rf"^{BYLINE_DATE}[ \t]*[|·•/\-–—]?[ \t]*(?:By|BY)[ \t]+({_NAMES}"
        r"(?:,[ \t]*(?:The )?[A-Z][\w.&'’\-]*(?:[ \t][A-Z][\w.&'’\-]*){0,3})?)\.?[ \t]*$",
    ),
    # An English page of a Korean outlet with the byline in Hangul: "… 11:28 By 홍길동".
    _rule(
        "By and a Korean name",
        "byline",
        r"(?:^|(?<=\s))(?:By|BY)[ \t]+([가-힣]{2,4})[ \t]*$",
    ),
    # Writers on their own line right above the agency's tag: "Jane Roe and Tom Park" /
    # "(Bloomberg) -- …".
    _rule(
        "names above an agency tag",
        "byline",
        rf"^((?:{_TITLE_NAME})(?:(?:,[ \t]*|[ \t]+and[ \t]+)(?:{_TITLE_NAME})){{0,3}})[ \t]*\n"
        rf"(?=[ \t]*(?:{_CITY}{_COUNTRY}?,?[ \t]*(?:{_MONTH}[ \t]*\d{{1,2}}[ \t]*)?)?"
        rf"\({_AGENCY}\)[ \t]*{_DASH})",
    ),
    # A broadcast report's sign-off: "… on Sunday. Jane Roe, Example News." — the reporter
    # beside a broadcaster's name, closing the text.
    _rule(
        "broadcast sign-off with the broadcaster",
        "byline",
        r"(?:^|(?<=[.!?”\"] ))([A-Z][a-z'’]+(?: [A-Z][a-z'’]+(?:-[A-Za-z][a-z'’]+)?){1,2}),"
        r"[ \t]*(?:[A-Z][\w&'’\-]*[ \t]){0,3}(?:News|TV|Television|Radio)"
        r"(?:,[ \t]*[A-Z][a-z]+)?\.?[ \t]*$",
    ),
    # A report's own citation line names its authors before the quoted title: "Preferred
    # citation: Jane Roe, “Title” …", "Cite as: Jane Roe and Tom Park, "Title"".
    _rule(
        "citation line",
        "note-byline",
        rf"(?:^|(?<=\s))(?:[Pp]referred [Cc]itation|[Cc]ite (?:this|as)[^:\n]{{0,20}}|"
        rf"[Ss]uggested [Cc]itation)[ \t]*:[ \t]*({_NAMES}),?[ \t]*[“\"‘]",
    ),
    _rule(
        "name above or beside an e-mail",
        "byline",
        rf"^({_NAME})[ \t]*\n?[ \t]*[\[(<]?{_EMAIL}[\])>]?[ \t]*$",
        _email_of_name,
        "@",
    ),
    # A page's label or the date beside the name, glued or set apart: "Jane RoeAuthor",
    # "Jane Roe16 August 2013", "Jane Roe | 2013-08-16", "August 16, 2013 Jane Roe".
    _rule(
        "name with a label or a date",
        "maybe-byline",
        rf"^(?:(?:By|Authors?|Writers?)\s*:?\s*)?({_TITLE_NAME})"
        rf"(?:[ \t]*[,|·•/\-–—]?[ \t]*(?:{_LABEL}|{BYLINE_DATE}))+[ \t]*$",
    ),
    # The name and the agency or paper it writes for: "Jane Roe | Reuters".
    _rule(
        "name beside its outlet",
        "maybe-byline",
        rf"^(?:>>[ \t]*)?(?:By\s+)?({_TITLE_NAME}|{_HYPHEN_NAME})"
        rf"(?:[ \t]*[|·•/,][ \t]*|(?<=[a-z])(?=The [A-Z]))(?:{_AGENCY}|Associated Press|"
        r"(?:The )?(?:[A-Z][\w.&'’\-]*\s){0,3}(?:Times|Post|Herald|Daily|News|Journal|Tribune|"
        r"Review|Monitor|Diplomat|Observer|Gazette|Press))[ \t]*$",
    ),
    _rule(
        "name, staff reporter",
        "maybe-byline",
        rf"(?:^|(?<=[.!?”\"] ))(?:By )?([A-Z][\w'’.\-]+(?: [A-Z][\w'’.\-]+){{1,3}}?)"
        r"\s*(?:[,/|\-–—]\s*|\s)(?:(?:The )?(?:[A-Z][\w.&'’\-]*\s+){0,4}?)?"
        r"(?:[Ss]taff |[Ss]enior |[Cc]hief |[Ss]pecial |[Cc]ontributing )?"
        r"(?:[Rr]eporter|[Ww]riter|[Cc]orrespondent|[Cc]olumnist)"
        rf"\s*(?:[\[(<]?\s*{_EMAIL}\s*[\])>]?)?\s*$",
    ),
    # "By Jane Roe" as a sentence of its own closing a line ("… dig in. By Jane Roe",
    # "SEOUL (AP) — By Jane Roe"): only where it names a person.
    _rule(
        "By and a name closing a line",
        "maybe-byline",
        rf"(?<=[.!?”\"—–)] )[ \t]*(?:By|BY) ({_NAMES})[ \t]*$",
    ),
    _rule(
        "label glued before a name",
        "maybe-byline",
        rf"^(?:Author|Writer|Reporter|Columnist)({_TITLE_NAME})[ \t]*$",
    ),
    _rule(
        "date before a name",
        "maybe-byline",
        rf"^{BYLINE_DATE}[ \t]*[,|·•/\-–—]?[ \t]*(?:[Bb]y\s+)?({_TITLE_NAME})[ \t]*$",
    ),
    # Korean writer and photographer: "글 홍길동 기자 사진 김철수 기자" — the writer is the
    # author; a photographer alone ("사진 김철수 기자") is not.
    _rule(
        "Korean writer and photographer credit",
        "byline",
        r"(?:^|(?<=\s))글\s*[=:]?\s*([가-힣]{2,4})\s?기자\s*[,/·]?\s*"
        r"(?:사진|촬영)\s*[=:]?\s*[가-힣]{2,4}\s?기자\b",
    ),
    # A photo caption and its dated credit glued to the next paragraph: "… 세워져 있다.
    # 2022.8.18/뉴스1 ⓒ News1 홍길동 기자주한미군 …" — the caption and the photographer go.
    _rule(
        "Korean caption with a dated credit glued to the text",
        "sentence",
        r"(?<=있다\.)[ \t]*\d{4}\.\d{1,2}\.\d{1,2}\.?[ \t]*/[ \t]*[가-힣A-Za-z0-9]{2,10}[ \t]*"
        r"(?:ⓒ[ \t]*[A-Za-z0-9가-힣]+[ \t]*)?(?:[가-힣]{2,4}[ \t]?기자)?(?=[가-힣\[“\"(])",
    ),
    _rule(
        "Korean photographer credit",
        "drop",
        r"(?<![·ㆍ/,])(?:사진|촬영|영상|그래픽)(?:기자)?\s*[=:]?\s*[가-힣]{2,4}\s?(?:기자|특파원)\b"
        r"(?:\s*[(\[<]?\s*" + _EMAIL + r"\s*[)\]>]?)?",
    ),
    # "홍길동 워싱턴 특파원": the correspondent's post after the name.
    _rule(
        "Korean correspondent with a post",
        "byline",
        r"(?:^|(?<=[\s\[(/]))([가-힣]{2,4})\s+(?:" + KOREAN_POSTS + r"|[가-힣A-Za-z]{1,8}"
        r"(?:뉴스|부|팀|센터|국|데스크|일보|신문|방송|경제|타임스|통신|데일리|투데이|미디어|저널))"
        r"\s?(?:특파원|지국장|기자)\b\s*"
        r"(?:[(\[<]?\s*" + _EMAIL + r"\s*[)\]>]?)?",
    ),
    # Broadcast scripts (KBS, MBC, YTN, VOA, RFA): the anchor hands over to the reporter in a
    # fixed formula of the present or of a report ("홍길동 기자가 보도합니다.", "서울에서 홍길동
    # 기자가 만났습니다.", "홍길동 기자의 보도입니다."); a sentence that only mentions a
    # reporter ("홍길동 기자가 처음 보도했다.") is not this formula.
    _rule(
        "Korean broadcast hand-over to the reporter",
        "byline",
        r"(?:^|(?<=\s))([가-힣]{2,4})\s?(?:기자|특파원|통신원)(?:가\s+(?:[가-힣]{1,6}\s+)?"
        r"(?:보도합니다|전합니다|전해\s?드립니다|보도해\s?드립니다|취재했습니다|만났습니다|"
        r"알아봤습니다|알아보았습니다|정리했습니다|짚어봤습니다|짚어\s?봅니다|들어봤습니다|"
        r"다녀왔습니다|전해\s?왔습니다|[가-힣]{0,4}\s?[봤왔갔았었였]습니다)|"
        r"의\s+(?:보도|리포트|취재)입니다)\.?[ \t]*",
        None,
        "니다",
    ),
    # The hand-over as a sentence of its own: "워싱턴에서 홍길동 특파원입니다."
    _rule(
        "Korean broadcast hand-over sentence",
        "byline",
        r"(?:^|(?<=[.!?]\s))[ \t]*(?:[가-힣]{1,8}[ \t]+){0,2}?([가-힣]{2,4})[ \t]?(?:기자|특파원)"
        r"입니다\.[ \t]*",
        None,
        "니다",
    ),
    # A transcript without sentence ends: the hand-over ("이어서 베이징 홍길동 특파원입니다") or
    # the anchor's call to the reporter ("홍길동 기자, 자세한 소식 전해주시죠", "홍길동 특파원
    # 연결해 …") names the reporter; the words stay, as the sentence cannot be told apart.
    _rule(
        "Korean broadcast hand-over inside a transcript",
        "note-byline",
        r"(?:^|(?<=\s))([가-힣]{2,4})[ \t]?(?:기자|특파원)(?:입니다(?=[.\s\[]|$)|"
        r",[ \t]*[^.?!\n]{0,30}?(?:전해\s?주시죠|전해\s?주십시오|전해\s?주세요|말씀해\s?주시죠)|"
        r"[ \t]+연결(?:해|합니다|하겠습니다|해\s?보겠습니다))",
    ),
    # The reporter's sign-off at the end of a broadcast script: "YTN 홍길동[hong@example.kr]
    # 입니다.", "한빛방송 뉴스 홍길동입니다.", "워싱턴에서 홍길동 특파원이었습니다." — with an
    # outlet, a role or an e-mail beside the name, so a speaker's "홍길동입니다" is not one.
    _rule(
        "Korean broadcast sign-off",
        "byline",
        r"(?:^|(?<=[.!?다]\s))[ \t]*(?:[가-힣]{1,8}에서[ \t]+)?"
        r"(?:(?:[A-Z]{2,5}|[가-힣A-Za-z0-9]{1,8}(?:뉴스|방송|통신|TV))[ \t]*){0,2}"
        r"(?:뉴스[ \t]*)?(?:[가-힣]{1,8}에서[ \t]+)?([가-힣]{2,4})[ \t]?"
        r"(?:기자|특파원)?[ \t]*(?:[\[(<][ \t]*" + _EMAIL + r"[ \t]*[\])>])?[ \t]*"
        r"(?:입니다|(?:이)?었습니다|였습니다)\.?[ \t]*$",
        _signed_off,
        "니다",
    ),
    # A record's author field: "저자 홍길동", "필자: 홍길동·김철수" (archives, think tanks),
    # "기자 홍길동" alone on its line.
    _rule(
        "Korean author field",
        "byline",
        r"^[ \t]*(?:저자|필자|글쓴이|집필|작성자|기자명|기자|글|글·사진)[ \t]*[:：=]?[ \t]*"
        r"((?:[가-힣]{2,4}[ \t]*[,·][ \t]*){0,3}[가-힣]{2,4})[ \t]*$",
    ),
    # "홍길동(hong@example.kr)": a Korean name with its e-mail closes the article.
    _rule(
        "Korean name with e-mail",
        "byline",
        r"(?:^|(?<=[다.!?”\"] ))[ \t]*([가-힣]{2,4})[ \t]*(?:[(\[<][ \t]*"
        + _EMAIL
        + r"[ \t]*[)\]>]"
        r"|" + _EMAIL + r")[ \t]*$",
        None,
        "@",
    ),
    # Korean bylines: "(서울=연합뉴스) 홍길동 기자 =", "[이데일리 홍길동 기자]",
    # "홍길동 기자 a@b.kr",
    # "세종=홍길동 기자", "[춘천 홍길동 기자]".
    # After an agency's dateline every word before "기자 =" is a reporter's name.
    _rule(
        "Korean agency dateline and bylines",
        "byline",
        r"[(\[【](?!사진|자료사진|그래픽)(?:[가-힣]+\s*=\s*)[가-힣A-Za-z0-9]+[)\]】]\s*"
        r"((?:[가-힣]{2,4}[ ·,]\s?){0,3}[가-힣]{2,4})\s?(?:기자|특파원)\s*=\s*",
    ),
    # "(서울=연합뉴스)", "[워싱턴=뉴시스]", "【서울=뉴시스】".
    _rule(
        "Korean agency dateline",
        "drop",
        r"[(\[【](?!사진|자료사진|그래픽)(?:[가-힣]+\s*=\s*)[가-힣A-Za-z0-9]+[)\]】]\s*",
    ),
    # A photo caption ("…하고 있다.") closed by its place and photographer: "… 인사말을 하고
    # 있다. 평택=홍길동 기자" — the photographer, never the author.
    _rule(
        "Korean caption closed by a place and the photographer",
        "sentence",
        r"(?<=있다\.)[ \t]*[가-힣]{1,8}[ \t]*=[ \t]*[가-힣]{2,4}[ \t]?기자\b[ \t]*[|ㅣ｜]?",
        None,
        "=",
    ),
    _rule(
        "Korean byline after a place",
        "byline",
        r"(?:^|(?<=[\s\[(【〔]))[가-힣]{1,8}\s*=\s*([가-힣]{2,4})\s?(?:기자|특파원|통신원)\b\s*",
    ),
    # A photo's credit closes its caption, which sits above the body: "… 설명하고 있다. 왼쪽부터
    # …. 홍길동 기자" or "… 모여들었다. /홍길동 기자" on a paragraph that is not the last — the
    # photographer, never the author.
    _rule(
        "Korean caption closed by the photographer",
        "sentence",
        r"(?:(?<=[.)])[ \t]*|(?<=[.)다])[ \t]*/[ \t]*)[가-힣]{2,4}[ \t]?기자[ \t]*$(?=\n.)",
        _a_caption,
        "기자",
    ),
    # Several reporters, one line each with an address, close the article.
    _rule(
        "Korean reporters' lines with e-mail",
        "byline",
        r"^((?:[가-힣]{2,4}[ \t]?기자[ \t]*[(\[<]?[ \t]*" + _EMAIL + r"[ \t]*[)\]>]?[ \t]*\n){1,3}"
        r"[가-힣]{2,4}[ \t]?기자[ \t]*[(\[<]?[ \t]*" + _EMAIL + r"[ \t]*[)\]>]?)[ \t]*$",
        None,
        "@",
    ),
    # The outlet between the name and the role, an address after: "홍길동 한빛경제 기자 a@b.kr".
    _rule(
        "Korean name, outlet, role and e-mail",
        "byline",
        r"(?:^|(?<=\s))([가-힣]{2,4})[ \t]+[가-힣A-Za-z]{2,12}[ \t]?(?:기자|특파원)[ \t]*"
        r"[(\[<]?[ \t]*" + _EMAIL + r"[ \t]*[)\]>]?[ \t]*$",
        None,
        "@",
    ),
    # A list page's excerpt closes with its reporter in brackets: "… 첫 경기... [홍길동]".
    _rule(
        "Korean reporter in brackets closing the text",
        "byline",
        rf"(?<=\s)\[([{_KOREAN_SURNAMES}][가-힣]{{2}})\][ \t]*\Z",
    ),
    # The page's stamp, then the reporter: "입력 2024.03.04 10:11 홍길동 기자 …".
    _rule(
        "Korean stamp, then the reporter",
        "byline",
        r"(?:입력|수정|등록|승인|기사입력)[ \t]*:?[ \t]*\d{4}[.\-/]\d{1,2}[.\-/]\d{1,2}\.?[ \t]*"
        r"(?:\d{1,2}:\d{2}(?::\d{2})?)?[ \t]*[|ㅣ｜]?[ \t]*([가-힣]{2,4})[ \t]?(?:"
        + KOREAN_REPORTER
        + r")(?![가-힣])[ \t]*",
    ),
    _rule(
        "Korean byline",
        "byline",
        r"(?:^|(?<=[\s\[(/|ㅣ｜【〔▶►■]))(?:[가-힣A-Za-z()]{1,12}\s*=\s*)?((?:[가-힣]{2,4}[·,]\s?){0,3}"
        r"[가-힣]{2,4})\s?(?:" + KOREAN_REPORTER + r")\s*"
        r"(?:=\s*|(?=[\])】〕])|(?:\(?\s*" + _EMAIL + r"\s*\)?)|$|"
        # the page's stamp or link after the byline: "홍길동 기자 입력 2024.03.04",
        # "홍길동 기자 다른기사 보기"
        r"(?=(?:[|ㅣ｜/][ \t]*)?(?:입력|수정|승인|등록|기사입력|업데이트|\d{4}[.\-/년])|"
        r"다른\s?기사|기사\s?더\s?보기|https?://))",
    ),
    # A column's or contribution's signature on its own line: "홍길동 한빛대 국제대학원 교수",
    # "<홍길동 한빛연구원 선임연구위원>", "홍길동 논설위원".
    _rule(
        "Korean columnist or contributor line",
        "byline",
        r"^[ \t]*[<\[(〈]?[ \t]*([가-힣]{2,4})(?:[ \t]+[가-힣A-Za-z·]{1,15}){0,3}?[ \t]*"
        r"(?:" + _KOREAN_SIGNER + r")[ \t]*[>\])〉]?[ \t]*(?:[(<]?" + _EMAIL + r"[)>]?)?[ \t]*$",
    ),
    # Korean captions are mostly in the present progressive ("…하고 있다.") and close with a
    # credit: the credit and that sentence go, not the paragraph (an article's last line may
    # end with the agency's name too).
    _rule(
        "Korean caption sentence with its credit",
        "sentence",
        r"(?<=있다\.)[ \t]*(?:(?:/[ \t]*)?(?:(?:로이터|AP|AFP|EPA|UPI|신화|교도|타스)\s*)?"
        r"(?:연합뉴스|뉴시스|뉴스1)[ \t]*$|[\[(]\s*(?:사진|자료사진)\s*=\s*[^\])\n]{1,30}[\])]|"
        r"\d{4}\.\d{1,2}\.\d{1,2}\.?[ \t]*(?:/[ \t]*[^\n]{1,60}|[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+"
        r"[^\n]{0,40})?$|[\[(][^\])\n]{0,20}(?:제공|재판매 및 DB 금지)[^\])\n]{0,20}[\])])",
    ),
    _rule(
        "Korean caption after its credit",
        "drop",
        r"^[ \t]*[\[(]\s*(?:사진|자료사진)\s*=\s*[^\])\n]{1,30}[\])][ \t]*[^\n]{5,200}?있다\."
        r"(?=\s|$)",
    ),
    # Broadcast script cues: "<앵커>", "【 앵커멘트 】", "앵커 :", the interviewee's caption line
    # ("▶ 인터뷰 : 홍길동 / 한빛대 교수") and the crew credits ("(영상취재: … / 영상편집: …)").
    _rule(
        "Korean broadcast cue",
        "drop",
        r"[<\[【〈]\s*(?:앵커(?:\s?멘트)?|리포트|기자|인터뷰|녹취|현장음|자막|스탠드업|클로징)\s*"
        r"[>\]】〉]\s*|^[ \t]*(?:앵커|기자|리포트|진행자)[ \t]*[:：][ \t]*|"
        r"^[ \t]*▶?[ \t]*(?:인터뷰|녹취|싱크|현장음|전화\s?인터뷰)[ \t]*[:：][^\n]*$|"
        r"[(\[][ \t]*(?:영상취재|영상편집|촬영기자|영상\s?디자인|그래픽|편집)[ \t]*[:：]"
        r"[^)\]\n]{1,80}[)\]]",
    ),
    _rule("Korean label in brackets", "drop", r"\[[^\]\n]{0,30}[가-힣][^\]\n]{0,30}\]\s*|\[\s*\]"),
    # Reuters' closing credit: the writers are bylines, the editors are not.
    _rule(
        "agency reporting credit",
        "byline",
        r"(?:^|(?<=[.!?”\"] ))[ \t]*[(\[](" + _CREDIT_BY + r"[^()\[\]\n]{3,400})[)\]][ \t]*$",
    ),
    # Without parentheses only with its editors, so a sentence is never read as one.
    _rule(
        "agency reporting credit on its own line",
        "byline",
        r"^[ \t]*(" + _CREDIT_BY + r"[^\n;]{3,200};[ \t]*(?:[Ee]diting|[Ee]dited) [Bb]y "
        r"[^\n]{3,100}?)\.?[ \t]*$",
    ),
    _rule(
        "agency contribution credit",
        "drop",
        r"(?:^|(?<=[.!?] ))(?:The )?[A-Z][\w.&' ]{1,40} contributed to this (?:report|story)\.",
    ),
    # Photo captions: a credit in parentheses right before the body goes on, with the caption.
    # A credit alone on its line is an agency tag: it goes, the paragraph above stays.
    _rule("credit alone on a line", "drop", rf"^[ \t]*\(\s*{_CREDIT_WORDS}\s*\)[ \t]*$"),
    _rule(
        "photo caption with credit",
        "caption",
        rf"[ \t]*\(\s*{_CREDIT_WORDS}\s*\)[ \t]*(?=[A-Z“\"]|$)",
    ),
    # A credit alone on its line closes the caption line above it ("… on March 31.\nREUTERS").
    _rule(
        "photo caption above a credit line",
        "drop",
        r"^[^\n]{10,300}\n(?:REUTERS|Reuters|AP|AP Photo|AFP|AFP via Getty Images|Getty Images|"
        r"EPA|EPA-EFE|Yonhap|YONHAP|NEWSIS|News1|Xinhua|Kyodo|KCNA via KNS|Pool|POOL)"
        r"(?:/[^\n]{1,40})?[ \t]*$",
    ),
    _rule("Korean photo caption (▲)", "drop", r"^\s*▲[^\n]*$"),
    _rule(
        "photo credit closing a caption",
        "caption",
        r"[ \t]*\b(?:(?:Photo|Image|File photo|Photograph) (?:by|courtesy of)|(?:Photo|Image)"
        r"\s?[:\-–—]|Courtesy of|Provided by) [^\n.|]{2,60}$",
    ),
    # "… in Pyeongtaek. [YONHAP]", "[JOINT PRESS CORPS]", "[Ministry of National Defense]".
    _rule(
        "bracketed credit closing a caption",
        "caption",
        rf"(?<=[.!?”\"])[ \t]*\[\s*(?:{_CREDIT_WORDS}|[A-Z][A-Z0-9 .,&'\-]{{2,40}}|"
        r"Photo:? [^\]\n]{1,40}|[A-Z][\w.&'\-]*(?: (?:of|and|for|the|[A-Z][\w.&'\-]*)){1,6})"
        r"\s*\][ \t]*$",
    ),
    # "… in Pyeongtaek. REUTERS/Kim Hong-Ji": an agency and its photographer.
    _rule(
        "agency photographer credit",
        "caption",
        r"(?<=[.!?”\"])[ \t]+(?:REUTERS|AFP|EPA(?:-EFE)?|AP|YONHAP|NEWSIS|XINHUA|KYODO)"
        r"/[A-Z][^\n/]{1,40}$",
    ),
    # "This file photo shows …", "In this photo released by …": a caption by its opening.
    _rule(
        "caption sentence",
        "drop",
        r"(?:^|(?<=[.!?] ))(?:This|In this|In a) (?:undated )?(?:file |handout )?"
        r"(?:photo|picture|image|photograph)\b[^\n]*?(?<![A-Z])\.(?=\s+[A-Z“\"]|[ \t]*$)",
    ),
    # People placed in the picture: "Biden, right, and Yoon shake hands …", "(L)".
    _rule(
        "caption with positions",
        "whole-sentence",
        r"(?<=\w), (?:left|right|center|centre|second from (?:left|right)|from left),|"
        r"(?<=\w) \((?:left|right|center|centre|L|R|C)\)",
    ),
    # An agency caption's place and date: "… in Pyeongtaek, South Korea, March 3, 2024."
    _rule(
        "caption ending with a place and a date",
        "whole-sentence",
        rf"(?<=[a-z]), {_MONTH} \d{{1,2}}, \d{{4}}\.(?=\s|$)",
    ),
    _rule("slide counter", "drop", r"^\d{1,2} of \d{1,2}\s*\|\s*"),
    _rule(
        "photo credit opening a line",
        "drop",
        r"^(?:Photo|Image|Video) (?:by|courtesy of|:) [^|\n]{1,80}?(?:\d+ of \d+ )?\|\s*",
    ),
    _rule(
        "Korean photo credit",
        "drop",
        r"[\[(]\s*(?:사진|그래픽|자료사진|자료|제공)\s*=\s*[^\])\n]{1,30}[\])]\s*|"
        r"(?:사진|그래픽|자료사진)\s*=\s*[가-힣A-Za-z0-9·]+(?:\s*제공)?\s*",
    ),
    _rule(
        "Korean caption credit glued to the body",
        "caption",
        r"(?<=[다.] )(?:(?:로이터|AP|AFP|EPA|UPI|신화|교도|타스)\s*)?(?:연합뉴스|뉴시스|뉴스1)"
        r"(?=[가-힣“\"‘'])",
        _not_a_korean_particle,
    ),
    # Datelines (the agency's location stamp, not content).
    _rule(
        "dateline with date and agency",
        "drop",
        rf"(?:^|(?<=\s))(?:(?:{_CITY}|{_TITLE_CITY})(?:/{_CITY})?{_COUNTRY}?,?\s+)?{_MONTH}\s+"
        rf"\d{{1,2}}\s*\(\s*(?:{_AGENCY}|{_NOT_A_TIME}[A-Za-z][\w .\-]{{1,25}})\s*\)\s*{_DASH}*\s*",
    ),
    _rule(
        "dateline with a dash",
        "drop",
        rf"^{_CITY}(?:/{_CITY})?{_COUNTRY}?\s*(?:\({_AGENCY}\))?\s*{_DASH}\s*(?=[A-Z\"“])",
    ),
    _rule(
        "wire city dateline",
        "drop",
        rf"^(?:(?:{_DATELINE_CITIES})(?:/(?:{_DATELINE_CITIES}))*{_COUNTRY}?:?|"
        r"[A-Z]{3,}(?: [A-Z]{3,})?,\s*(?:South Korea|North Korea|Japan|China|Korea)) "
        r"(?=[A-Z\"“(])",
    ),
    # Boilerplate.
    _rule(
        "translation note",
        "drop",
        r"This article was originally written in Korean[^.]*\.(?:\s*It was then edited[^.]*\.)?"
        r"(?:\s*All AI-assisted translations[^.]*\.)?",
    ),
    _rule("copyright line", "drop", r"^[^\n]{0,40}(?:©|ⓒ|Copyright ©?\s*\d{4})[^\n]*$"),
    _rule(
        "Korean notice or copyright",
        "drop",
        r"(?:※[^\n]*$|^[^\n]{0,80}(?:무단\s*전재|재배포\s*금지|저작권자)[^\n]*$)",
    ),
    _rule(
        "subscription, membership or survey prompt",
        "drop",
        r"^[^\n]{0,120}(?:[Bb]ecome an? (?:member|subscriber|patron|supporter)|"
        r"[Ss]ubscribe (?:now|today|to (?:continue|read|unlock|get))|"
        r"[Aa]lready a (?:member|subscriber)|[Tt]o continue reading|"
        r"(?:article|content|story) is (?:only )?(?:for|available to) (?:subscribers|members)|"
        r"reached your (?:free )?(?:article|story) limit|[Ss]upport (?:our|independent) journalism|"
        r"[Tt]ake (?:our|this|a short|the) (?:reader )?survey|[Hh]elp us improve|"
        r"[Ll]og in to (?:read|continue)|[Uu]nlock (?:this|full) (?:article|access)|"
        r"[Dd]onate (?:now|today)|[Mm]ake a (?:donation|contribution))[^\n]{0,200}$",
    ),
    _rule("teaser cut off before a link", "sentence", r"(?:\.\.\.|…)\s*https?://\S+", None, "http"),
    _rule("e-mail alone", "drop", rf"^\s*[\[(<]?{_EMAIL}[\])>]?\s*$", None, "@"),
    _rule("trailing e-mail", "drop", rf"(?<=[.!?”\"다]) ?{_EMAIL}\s*$", None, "@"),
    # Blog templates' comment counters and prompts: '0 Responses to "Title"', 'Post a Comment'.
    _rule(
        "comment counter or prompt",
        "drop",
        r"^[ \t]*(?:(?:\d+|No) (?:[Rr]esponses?|[Cc]omments?|[Rr]epl(?:y|ies))(?: (?:to|on) "
        r"[\"“][^\n]{1,200}[\"”])?:?|Post a [Cc]omment|Leave a [Rr]eply|Add a [Cc]omment|"
        r"Newer Post|Older Post)[ \t]*$",
    ),
    _rule("click prompt", "drop", r"^\s*[Cc]lick here\b[^\n]{0,120}$"),
    # Bullets: the marker goes, the item stays (headings markers too).
    # Numbered items of a year-in-review list ("… 계획이다.❾ 기업경영 …") too.
    _rule("inline section marker", "break", r"(?<=[.!?”\"다])\s*(?=[■◆●▶❶-❿①-⑳]\s?\S)"),
    _rule(
        "bullet marker",
        "strip",
        r"^[ \t]*(?:[•●○◦▪■□◆◇►▶➤✓✔*·❶-❿①-⑳]|[-–—](?=\s)|\d{1,2}[.)](?=\s+[A-Z가-힣]))[ \t]*"
        r"(\S)",
    ),
)

_WRAP_END = re.compile(r"[.!?:;\"”’)\]。]$|[다요]\.?$")
_BULLET_START = re.compile(r"^\s*(?:[•●○◦▪■□◆◇►▶➤✓✔*·▲❶-❿①-⑳]|[-–—]\s|\d{1,2}[.)]\s)")


@dataclass(frozen=True, slots=True)
class Normalized:
    text: str  # one paragraph a line
    bylines: tuple[str, ...]  # bylines taken out of the text ("By …", "홍길동 기자")
    # Taken out too, but the form alone does not prove a person ("Name, staff reporter").
    maybe_bylines: tuple[str, ...]
    removed: tuple[tuple[str, str], ...]  # (form, text) of what the rules took out
    maps: tuple[_Map, ...] = field(default=(), repr=False)

    def origin(self, start: int, end: int) -> tuple[int, int]:
        """The span of the text as received that [start, end) of `text` came from."""
        a, b = start, end
        for m in reversed(self.maps):
            a, b = m.back(a), m.back(b, end=True)
        return a, b


def _rejoin_wrapped(text: str) -> list[tuple[int, int, str]]:
    """Edits that turn hard-wrapped lines into paragraphs.

    A line break is a wrap when the next line starts in lower case (or with a digit) after a
    line that does not end a sentence, when the line ends with a hyphenated word, or when the
    block's lines are of a fixed width (PDF and statement text) and this line fills it.
    """
    edits: list[tuple[int, int, str]] = []
    blocks = [(m.start(), m.group(0)) for m in re.finditer(r"(?:[^\n]|\n(?!\s*\n))+", text)]
    for base, block in blocks:
        lines = block.split("\n")
        if len(lines) < 2:
            continue
        lengths = [len(ln.strip()) for ln in lines]
        width = max(lengths)
        full = [n for n in lengths[:-1] if n >= 0.75 * width]
        fixed_width = len(lines) >= 3 and 40 <= width <= 130 and len(full) >= 0.6 * (len(lines) - 1)
        pos = base
        for i, line in enumerate(lines[:-1]):
            end = pos + len(line)
            nxt = lines[i + 1].lstrip()
            cur = line.rstrip()
            pos = end + 1
            if not cur or not nxt or _BULLET_START.match(nxt):
                continue
            hyphen = cur.endswith("-") and nxt[:1].islower() and not cur.endswith(" -")
            lower = (nxt[:1].islower() or nxt[:1].isdigit()) and not _WRAP_END.search(cur)
            filled = fixed_width and len(cur) >= 0.75 * width and not _WRAP_END.search(cur)
            if hyphen:
                edits.append((end, end + 1, ""))  # "extended-" + "deterrence" stays hyphenated
            elif lower or filled:
                edits.append((end, end + 1, " "))
    return edits


_SPACES = re.compile(r"[ \t\f\v\u00a0\u2009\u202f\u3000]+")
_ZERO_WIDTH = re.compile(r"[\u200b\u200c\u200d\u2060\ufeff]")
_MD_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)\s*\|?")
_BROKEN_LINK = re.compile(
    r"(?:&\w+=)?https?://\s?\S+(?:\s*['\"]?\s*target=['\"]?_?\w+['\"]?\s*>)?", re.IGNORECASE
)
_STRAY_TAG = re.compile(r"</?[a-zA-Z][^<>]{0,200}>")


def _skeleton(text: str) -> tuple[str, list[int]]:
    """Lower-case letters and digits of `text`, with each one's position."""
    chars: list[str] = []
    where: list[int] = []
    for i, c in enumerate(text):
        if c.isalnum():
            chars.append(c.lower())
            where.append(i)
    return "".join(chars), where


def _title_prefix(text: str, title: str) -> tuple[int, int, int] | None:
    """(0, where the headline starts, its end): the span from the start of the text through
    the headline repeated there (wire copy prints slug, headline and notes before the
    dateline), or None."""
    tkey, _ = _skeleton(title)
    if len(tkey) < 12:
        return None
    head = text[:700]
    hkey, where = _skeleton(head)
    k = hkey.find(tkey)
    if k < 0 or where[k] > 160:
        return None
    end = where[k + len(tkey) - 1] + 1
    while end < len(head) and head[end] in "'’\"”)]?!.":
        end += 1
    # The lead may open with the headline's words ("Allies agree on troop costs after …"):
    # only a headline that stands apart from what follows is dropped.
    after = text[end:].lstrip(" \t")
    if not after.strip() or after[0].islower() or after[0] in ",;:":
        return None
    return 0, where[k], end


class _Pass:
    """Runs edit passes over a text and keeps their offset maps."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.maps: list[_Map] = []

    def run(self, edits: list[tuple[int, int, str]]) -> None:
        if edits:
            self.text, m = _apply(self.text, edits)
            self.maps.append(m)


# A sentence end, not an initial ("U.S.") or a title or month ("Col. Lee", "Aug. 21").
_SENTENCE_END = re.compile(
    r"(?<![A-Z])"
    r"(?<!\bCol)(?<!\bGen)(?<!\bLt)(?<!\bMaj)(?<!\bSgt)(?<!\bMr)(?<!\bMrs)"
    r"(?<!\bMs)(?<!\bDr)(?<!\bAdm)(?<!\bCapt)(?<!\bCmdr)(?<!\bGov)(?<!\bSen)"
    r"(?<!\bRep)(?<!\bSt)(?<!\bNo)(?<!\bJan)(?<!\bFeb)(?<!\bMar)(?<!\bApr)"
    r"(?<!\bAug)(?<!\bSep)(?<!\bSept)(?<!\bOct)(?<!\bNov)(?<!\bDec)"
    r"(?<!\bPvt)(?<!\bCpl)(?<!\bJr)(?<!\bSr)(?<!\bvs)(?<!\bProf)(?<!\bAmb)"
    r"[.!?][\"”’]?(?=\s+[A-Z“\"‘]|[ \t]*$)",
    re.M,
)


def _sentence_around(text: str, a: int, b: int) -> tuple[int, int]:
    """The sentence holding text[a:b]: from the end of the one before (or the line start) to
    its own end (or the line end), looking at most 300 characters either way."""
    line = text.rfind("\n", 0, a) + 1
    lo = max(line, a - 300)
    ends = [m.end() for m in _SENTENCE_END.finditer(text, lo, a)]
    start = ends[-1] if ends else lo
    line_end = text.find("\n", b)
    hi = min(len(text) if line_end < 0 else line_end, b + 300)
    m = _SENTENCE_END.search(text, b, hi)
    return start, m.end() if m else hi


def _caption_start(text: str, at: int) -> int:
    """Where the caption ending at `at` starts: its paragraph's start, or the end of the
    sentence before it when that is nearer (a caption is one or two sentences)."""
    para = text.rfind("\n", 0, at) + 1
    window = text[para:at]
    if len(window) <= 400:
        return para
    ends = [m.end() for m in re.finditer(r"[.!?][\"”’]?\s+(?=[A-Z“\"])", window)]
    ends = [e for e in ends if e < len(window) - 20]
    return para + ends[-1] if ends else at


_CREDIT_NAME = re.compile(r"[A-Z][\w'’.\-]*(?: (?:[A-Z][\w'’.\-]*|de|van|von|bin|al|da)){0,3}")


def _reuters_credit(credit: str) -> str | None:
    """`Reporting by A and B; Writing by C; Editing by D` → "By A, B and C" (editors and
    additional reporters are not authors)."""
    found: dict[str, list[str]] = {"reporting": [], "writing": [], "additional": []}
    for part in re.split(r"\s*;\s*|\.\s+(?=[A-Z][a-z]+ by)", credit):
        m = re.match(
            r"(Additional )?([Rr]eporting|[Ww]riting|[Cc]ompiled) [Bb]y (.+)", part.strip()
        )
        if not m:
            continue
        names = re.split(r"\s*,\s*|\s+and\s+", m.group(3).strip(" ."))
        names = [re.sub(r"\s+(?:in|at|from)\s+.*$", "", n).strip() for n in names]
        # Only names: "the Seoul bureau" or a stray sentence is no one.
        names = [n for n in names if _CREDIT_NAME.fullmatch(n)]
        if m.group(2).lower() == "writing":
            kind = "writing"
        elif m.group(1):
            kind = "additional"
        else:
            kind = "reporting"  # "Reporting by", "Compiled by"
        found[kind].extend(n for n in names if n)
    # The reporters and the writer. "Additional reporting" credits contributors to a story
    # someone else wrote (a repost often drops that byline): they are never the author.
    names = found["reporting"] + found["writing"]
    if not names:
        return None
    return "By " + (names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1])


def normalize_page(raw: str, title: str = "") -> Normalized:
    """Normalise `raw` (text as received); `title` lets a repeated headline be dropped."""
    p = _Pass(raw.replace("\r\n", "\n").replace("\r", "\n"))
    removed: list[tuple[str, str]] = []
    bylines: list[str] = []
    maybe: list[str] = []
    # Characters and leaked markup first, so later patterns see plain text.
    p.run(
        [(m.start(), m.end(), "") for m in _ZERO_WIDTH.finditer(p.text)]
        + [(m.start(), m.end(), " ") for m in _MD_IMAGE.finditer(p.text)]
    )
    p.run(
        [(m.start(), m.end(), " ") for m in _STRAY_TAG.finditer(p.text)]
        + [(m.start(), m.end(), " ") for m in _SPACES.finditer(p.text) if m.group(0) != " "]
    )
    p.run(_rejoin_wrapped(p.text))
    # Blank lines have done their work (paragraph ends): one paragraph a line from here.
    p.run([(m.start(), m.end(), "\n") for m in re.finditer(r"\n[ \t]*(?:\n[ \t]*)+", p.text)])
    p.run([(m.start(), m.end(), "") for m in re.finditer(r"^[ \t]+", p.text, re.M)])
    if title.strip():
        # Wire copy prints slug, headline and notes before the dateline.
        span = _title_prefix(p.text, _title_without_notes(title))
        if span is not None:
            start, head, end = span
            # A byline set above the headline goes with it, but to the author step.
            _prefix_bylines(p.text[start:head], p.text[end:], bylines, maybe)
            removed.append(("headline repeated above the body", p.text[start:end]))
            p.run([(start, end, "")])
    # A broadcaster's excerpt may open with the desk and the reporter and no headline at all
    # ("정치홍길동" / the first sentence).
    first, _, rest = p.text.partition("\n")
    desk = _DESK_AND_NAME.fullmatch(first.strip())
    if desk and rest and desk.group(1) not in rest:
        bylines.append(desk.group(1) + " 기자")
        removed.append(("desk and reporter opening the text", first.strip()))
        p.run([(0, len(first) + 1, "")])
    for rule in RULES:
        if rule.needle and rule.needle not in p.text:
            continue
        edits: list[tuple[int, int, str]] = []
        for m in rule.pattern.finditer(p.text):
            if rule.check is not None and not rule.check(m):
                continue
            a, b = m.span()
            if rule.action == "space":
                edits.append((b, b, " "))
            elif rule.action == "break":
                edits.append((a, b, "\n"))
            elif rule.action == "strip":
                edits.append((a, m.start(1), ""))
            elif rule.action == "note-byline":
                byline = _byline(m.group(1))
                if byline:
                    bylines.append(byline)
            elif rule.action in ("byline", "maybe-byline"):
                byline = _byline(m.group(1))
                if byline:
                    (bylines if rule.action == "byline" else maybe).append(byline)
                removed.append((rule.form, m.group(0).strip()))
                edits.append((a, b, "\n" if "\n" in m.group(0) else " "))
            elif rule.action == "sentence":
                line = p.text.rfind("\n", 0, a) + 1
                ends = list(re.finditer(r"[.!?][\"”’]?\s", p.text[max(line, a - 300) : a]))
                start = max(line, a - 300) + ends[-1].end() if ends else max(line, a - 300)
                removed.append((rule.form, p.text[start:b].strip()))
                edits.append((start, b, ""))
            elif rule.action == "whole-sentence":
                start, end = _sentence_around(p.text, a, b)
                removed.append((rule.form, p.text[start:end].strip()))
                edits.append((start, end, ""))
            elif rule.action == "caption":
                start = _caption_start(p.text, a)
                removed.append((rule.form, p.text[start:b].strip()))
                edits.append((start, b, "\n" if start > 0 and p.text[start - 1] != "\n" else ""))
            else:
                if m.group(0).strip():
                    removed.append((rule.form, m.group(0).strip()))
                edits.append((a, b, " " if a > 0 and b < len(p.text) else ""))
        p.run(edits)
    p.run([(m.start(), m.end(), " ") for m in _BROKEN_LINK.finditer(p.text)])
    # Spaces around line ends and empty lines.
    p.run([(m.start(), m.end(), " ") for m in re.finditer(r"[ \t]{2,}", p.text)])
    p.run([(m.start(), m.end(), "") for m in re.finditer(r"^[ \t]+|[ \t]+$", p.text, re.M)])
    p.run([(m.start(), m.end(), "\n") for m in re.finditer(r"\n{2,}", p.text)])
    p.run([(m.start(), m.end(), "") for m in re.finditer(r"^\n+|\n+$", p.text)])
    return Normalized(p.text, tuple(bylines), tuple(maybe), tuple(removed), tuple(p.maps))


# A broadcaster's page opens with the desk and the reporter above the headline, often glued:
# "문화연예홍길동", "정치 홍길동 기자".
_DESK_AND_NAME = re.compile(
    r"(?:정치|경제|사회|국제|문화|연예|문화연예|스포츠|생활|과학|IT|IT과학|전국|지역|북한|통일|"
    r"통일외교|외교|외교안보|국방|사건사고|건강|교육|환경|법조|산업|금융|부동산|기획|탐사)"
    rf"[ \t]?([{_KOREAN_SURNAMES}][가-힣]{{2}})(?:[ \t]?기자)?"
)


def _prefix_bylines(prefix: str, rest: str, bylines: list[str], maybe: list[str]) -> None:
    """Bylines among the lines above a repeated headline (`rest` is the text after it): the
    desk and the reporter — a name the text does not use again, so a topic tag ("사회양극화")
    is not read as one — a "By" line, or any byline form of `RULES`."""
    if not prefix.strip():
        return
    for line in prefix.split("\n"):
        m = _DESK_AND_NAME.fullmatch(line.strip())
        if m and m.group(1) not in rest:
            bylines.append(m.group(1) + " 기자")
        elif re.fullmatch(r"(?:By|BY) [A-Z][^\n]{2,80}", line.strip()):
            bylines.append(line.strip())
    found = normalize_page(prefix)
    bylines.extend(found.bylines)
    maybe.extend(found.maybe_bylines)


def _byline(raw: str) -> str | None:
    raw = raw.strip()
    if re.match(_CREDIT_BY, raw):
        return _reuters_credit(raw)
    if re.search(r"[가-힣]", raw):
        # a block of reporters' lines keeps their names only
        raw = re.sub(rf"[(\[<]?\s*{_EMAIL}\s*[)\]>]?|(?<=[가-힣])\s?기자\b", " ", raw).strip()
        return "·".join(re.split(r"[\s·,]+", raw)) + " 기자"
    return "By " + raw


def _title_without_notes(title: str) -> str:
    return RULES[0].pattern.sub(" ", title)


def clean_title(title: str) -> str:
    """The headline without wire notes ("(LEAD)", "(URGENT)") or a trailing site name."""
    title = " ".join(_title_without_notes(title).split())
    return re.sub(r"\s+[|\-–—]\s+[^|\-–—]{2,40}$", "", title) if len(title) > 40 else title
