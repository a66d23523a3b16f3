"""Dates as feeds and pages really write them, read into aware UTC datetimes.

One parser for the poller (feed entries) and `koreapage-bot analyze` (the `published` field):
ISO 8601 in full or reduced precision (`2019-09-17T08:00+09:00`, `2019-09`, `2019`),
RFC 822/2822 with the zones Asian and European feeds use (`KST`, `+09:00`, `GMT+9`) and
month names in several languages, slashed and dotted dates (`2019/9/17`, `2019.09.17`,
`2019. 9. 17.`), Korean dates (`2019년 9월 17일 오후 3시 20분`) and English month names
(`Sept. 17, 2019`, `17 September 2019`). A date is never a reason to lose an article:
`parse_date` answers None for anything it cannot read, and callers keep the item without it.
Naive times are taken as UTC.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

_COLON_OFFSET = re.compile(r"([+-]\d{2}):(\d{2})$")
# "GMT+9", "UTC+09:00", "GMT-0330": an offset written after a zone name.
_NAMED_OFFSET = re.compile(r"\b(?:GMT|UTC|UT)\s*([+-])(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)
# Zone names email.utils does not know but feeds use (it knows the US ones, UT, UTC, GMT, Z).
_ZONE_NAMES = {
    "KST": "+0900", "JST": "+0900", "HKT": "+0800", "SGT": "+0800", "PHT": "+0800",
    "CST8": "+0800", "IST": "+0530", "WIB": "+0700", "ICT": "+0700", "BST": "+0100",
    "CET": "+0100", "CEST": "+0200", "MET": "+0100", "MEST": "+0200", "EET": "+0200",
    "EEST": "+0300", "WET": "+0000", "WEST": "+0100", "MSK": "+0300", "AEST": "+1000",
    "AEDT": "+1100", "ACST": "+0930", "AWST": "+0800", "NZST": "+1200", "NZDT": "+1300",
}  # fmt: skip
# Month abbreviations of Portuguese, Spanish, German and French feeds that write RFC 822
# dates in their own language ("Seg, 24 Set 2018 ...").
_FOREIGN_MONTHS = {
    "fev": "Feb", "abr": "Apr", "mai": "May", "ago": "Aug", "set": "Sep", "out": "Oct",
    "dez": "Dec", "ene": "Jan", "dic": "Dec", "mär": "Mar", "mrz": "Mar", "okt": "Oct",
    "janv": "Jan", "févr": "Feb", "mars": "Mar", "avr": "Apr", "juin": "Jun", "juil": "Jul",
    "août": "Aug", "sept": "Sep", "déc": "Dec",
}  # fmt: skip
_MONTH_NUMBER = {
    m: n
    for n, names in enumerate(
        (
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
        ),
        start=1,
    )
    for m in names
}
_LEADING_DAY = re.compile(r"^[^\W\d]+\.?,\s*")
# Labels pages put before a date: "Updated: ", "입력 ", "Published on ".
_LABEL = re.compile(
    r"^(?:(?:updated|published|posted|modified|date|입력|수정|등록|기사입력|승인)\s*(?:on\s*)?:?\s*)+",
    re.IGNORECASE,
)
_REDUCED_ISO = re.compile(r"^(\d{4})(?:-(\d{1,2}))?$")
_SLASHED = re.compile(
    r"^(\d{4})\s*[/.]\s*(\d{1,2})\s*[/.]\s*(\d{1,2})\.?"
    r"(?:[ T]+(?:(오전|오후)\s*)?(\d{1,2}):(\d{2})(?::(\d{2}))?)?\s*"
    r"(?:(Z|[+-]\d{2}:?\d{2}|KST|UTC|GMT))?$",
    re.IGNORECASE,
)
_KOREAN = re.compile(
    r"^(\d{4})\s*년\s*(\d{1,2})\s*월(?:\s*(\d{1,2})\s*일)?(?:\s*\([^)]*\))?"
    r"(?:\s*(오전|오후)?\s*(\d{1,2})\s*(?:시|:)\s*(?:(\d{1,2})\s*분?)?)?\s*$"
)
_MONTH_FIRST = re.compile(
    r"^([A-Za-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})"
    r"(?:,?\s+(?:at\s+)?(\d{1,2}):(\d{2})\s*([ap]\.?m\.?)?)?",
    re.IGNORECASE,
)
_DAY_FIRST = re.compile(r"^(\d{1,2})\s+([A-Za-z]{3,9})\.?,?\s+(\d{4})\b")


def utcnow() -> datetime:
    """Now, as an aware UTC datetime: the clock every component defaults to."""
    return datetime.now(UTC)


def parse_date(text: str) -> datetime | None:
    """An aware UTC datetime, or None when the text is not a date this module can read."""
    text = _LABEL.sub("", " ".join(text.split()))
    if not text:
        return None
    for parse in _PARSERS:
        try:
            value = parse(text)
        except (ValueError, TypeError, IndexError, OverflowError):
            continue
        if value is not None:
            if value.tzinfo is None:
                value = value.replace(tzinfo=UTC)
            return value.astimezone(UTC)
    return None


def _iso(text: str) -> datetime | None:
    if len(text) < 10 or not text[:4].isdigit() or text[4] != "-":
        return None
    text = text.replace("Z", "+00:00").replace("z", "+00:00")
    text = re.sub(r"\s+([+-]\d{2}:?\d{2})$", r"\1", text)  # "2024-03-12 14:33:00 +0900"
    return datetime.fromisoformat(text.replace(" ", "T", 1) if "T" not in text else text)


def _reduced_iso(text: str) -> datetime | None:
    m = _REDUCED_ISO.match(text)
    if m is None:
        return None
    return datetime(int(m.group(1)), int(m.group(2) or 1), 1)


def _rfc822(text: str) -> datetime | None:
    fixed = _COLON_OFFSET.sub(r"\1\2", text)  # "+09:00" (Korea Herald) -> "+0900"
    named = _NAMED_OFFSET.search(fixed)
    if named:
        sign, hours, minutes = named.group(1), int(named.group(2)), named.group(3) or "00"
        fixed = fixed[: named.start()] + f"{sign}{hours:02d}{minutes}"
    zone = fixed.rsplit(" ", 1)[-1].strip("()").upper()
    if zone in _ZONE_NAMES:
        fixed = fixed.rsplit(" ", 1)[0] + " " + _ZONE_NAMES[zone]
    try:
        return parsedate_to_datetime(fixed)
    except (ValueError, TypeError, IndexError):
        pass
    words = _LEADING_DAY.sub("", fixed).split(" ")
    if len(words) > 1 and words[1].lower().rstrip(".") in _FOREIGN_MONTHS:
        words[1] = _FOREIGN_MONTHS[words[1].lower().rstrip(".")]
        return parsedate_to_datetime(" ".join(words))
    return None


def _hour(hour: int, half: str | None) -> int:
    if half in ("오후",) or (half and half.lower().startswith("p")):
        return hour % 12 + 12
    if half in ("오전",) or (half and half.lower().startswith("a")):
        return hour % 12
    return hour


def _zone(text: str | None) -> timezone | None:
    if not text or text.upper() in ("Z", "UTC", "GMT"):
        return UTC if text else None
    if text.upper() == "KST":
        return timezone(timedelta(hours=9))
    m = re.fullmatch(r"([+-])(\d{2}):?(\d{2})", text)
    if m is None:
        return None
    delta = timedelta(hours=int(m.group(2)), minutes=int(m.group(3)))
    return timezone(-delta if m.group(1) == "-" else delta)


def _slashed(text: str) -> datetime | None:
    m = _SLASHED.match(text)
    if m is None:
        return None
    y, mo, d, half, h, mi, s, zone = m.groups()
    value = datetime(int(y), int(mo), int(d), _hour(int(h or 0), half), int(mi or 0), int(s or 0))
    tz = _zone(zone)
    return value.replace(tzinfo=tz) if tz else value


def _korean(text: str) -> datetime | None:
    m = _KOREAN.match(text)
    if m is None:
        return None
    y, mo, d, half, h, mi = m.groups()
    kst = timezone(timedelta(hours=9))  # a Korean date is Korean time
    return datetime(
        int(y), int(mo), int(d or 1), _hour(int(h or 0), half), int(mi or 0), tzinfo=kst
    )


def _month_name(text: str) -> datetime | None:
    m = _MONTH_FIRST.match(_LEADING_DAY.sub("", text))
    if m:
        month = _MONTH_NUMBER.get(m.group(1).lower())
        if month is None:
            return None
        hour = _hour(int(m.group(4) or 0), m.group(6))
        return datetime(int(m.group(3)), month, int(m.group(2)), hour, int(m.group(5) or 0))
    m = _DAY_FIRST.match(_LEADING_DAY.sub("", text))
    if m:
        month = _MONTH_NUMBER.get(m.group(2).lower())
        if month is None:
            return None
        return datetime(int(m.group(3)), month, int(m.group(1)))
    return None


_PARSERS: tuple[Callable[[str], datetime | None], ...] = (
    _iso,
    _reduced_iso,
    _slashed,
    _korean,
    _rfc822,
    _month_name,
)
