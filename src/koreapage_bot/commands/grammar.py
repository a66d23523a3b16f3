"""The text grammar shared by Slack and the console: `/briefs latest 5 usfk`, `/feeds add <url>`.

`parse(group, text)` turns what follows the slash command into one typed command value, or raises
`GrammarError` carrying a short usage line. Issue ids are only normalised (lower case) here; the
command service checks them against the taxonomy.
"""

from __future__ import annotations

import difflib
import re
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar

GROUPS = ("briefs", "feeds")
# The most briefs one answer lists (latest, search, digest), on every platform and the CLI:
# a Discord message holds at most 10 embeds.
BRIEFS_MAX = 10
# The CLI lists more than a chat message shows (`briefs latest|search --limit`).
CLI_MAX = 100
LATEST_MIN, LATEST_MAX, LATEST_DEFAULT = 1, BRIEFS_MAX, 5
# A count has at most this many digits (leading zeros aside); a longer number is out of range
# without being converted (Python refuses int() of more than 4300 digits).
_COUNT_DIGITS = 6
CLIP = 40  # how much of a user's input a reply quotes back


class GrammarError(ValueError):
    """Malformed command text. `message` says what is wrong; `usage` is the one-line form of
    the sub-command (or the group's usage when the sub-command itself is unknown)."""

    def __init__(self, message: str, usage: str, group: str, command: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.usage = usage
        self.group = group
        self.command = command

    def __str__(self) -> str:
        return f"{self.message}\nUsage: {self.usage}" if self.usage else self.message


# --- command values ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Help:
    name: ClassVar[str] = "help"
    group: str = "briefs"
    topic: str | None = None  # a sub-command name for `help search`


@dataclass(frozen=True, slots=True)
class Latest:
    name: ClassVar[str] = "latest"
    count: int = LATEST_DEFAULT
    issue: str | None = None


@dataclass(frozen=True, slots=True)
class Search:
    name: ClassVar[str] = "search"
    query: str  # normalised; quoted phrases kept in straight double quotes: '"cost sharing" usfk'
    terms: tuple[str, ...]  # the same words/phrases without quotes: ("cost sharing", "usfk")

    @property
    def text(self) -> str:
        """The query without quotes, for display or engines without phrase syntax."""
        return " ".join(self.terms)


@dataclass(frozen=True, slots=True)
class Issue:
    name: ClassVar[str] = "issue"
    issue_id: str


@dataclass(frozen=True, slots=True)
class Show:
    name: ClassVar[str] = "show"
    brief_id: str


@dataclass(frozen=True, slots=True)
class Subscribe:
    name: ClassVar[str] = "subscribe"
    issues: tuple[str, ...] = ()  # empty: every relevant brief
    digest_time: str | None = None  # "HH:MM", 24 h
    digest_tz: str | None = None  # IANA name, canonical case; None: the service's default
    per_brief: bool = True  # False with --no-posts (digest only)
    # --every-report: a post per report even of a story the channel has; --per-story: back to
    # one message per story (updated as reports come); None: as it was.
    every_report: bool | None = None


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    name: ClassVar[str] = "unsubscribe"


@dataclass(frozen=True, slots=True)
class Subscriptions:
    name: ClassVar[str] = "subscriptions"


@dataclass(frozen=True, slots=True)
class Digest:
    name: ClassVar[str] = "digest"


@dataclass(frozen=True, slots=True)
class FeedsAdd:
    name: ClassVar[str] = "feeds add"
    url: str


@dataclass(frozen=True, slots=True)
class FeedsRemove:
    name: ClassVar[str] = "feeds remove"
    feed: str  # an id ("12") or a URL, as typed; the service resolves it


@dataclass(frozen=True, slots=True)
class FeedsList:
    name: ClassVar[str] = "feeds list"


Command = (
    Help
    | Latest
    | Search
    | Issue
    | Show
    | Subscribe
    | Unsubscribe
    | Subscriptions
    | Digest
    | FeedsAdd
    | FeedsRemove
    | FeedsList
)

_Parser = Callable[[str, str, str], Command]

# --- usage ------------------------------------------------------------------------------------

_USAGE: dict[str, dict[str, tuple[str, str]]] = {
    "briefs": {
        "latest": (
            "latest [n] [issue]",
            f"the latest briefs (n {LATEST_MIN}–{LATEST_MAX}, default {LATEST_DEFAULT})",
        ),
        "search": ('search <words or "a phrase">', "full-text search, best match first"),
        "issue": ("issue <issue id>", "recent briefs on one key issue"),
        "show": ("show <brief id>", "one brief in full"),
        "subscribe": (
            "subscribe [issues] [--digest HH:MM [Zone]] [--no-posts] [--every-report]",
            "post here (admin)",
        ),
        "unsubscribe": ("unsubscribe", "stop posting briefs here (admins)"),
        "subscriptions": ("subscriptions", "this channel's subscription and its state"),
        "digest": ("digest", "briefs since the last digest for this channel"),
        "help": ("help [command]", "this help"),
    },
    "feeds": {
        "add": ("add <url>", "follow a new feed (admins)"),
        "remove": ("remove <feed id>", "stop following a feed (admins)"),
        "list": ("list", "the feeds followed and their state"),
        "help": ("help", "this help"),
    },
}

_ALIASES: dict[str, dict[str, str]] = {
    "briefs": {
        "?": "help",
        "-h": "help",
        "--help": "help",
        "find": "search",
        "sub": "subscribe",
        "unsub": "unsubscribe",
        "subs": "subscriptions",
    },
    "feeds": {
        "?": "help",
        "-h": "help",
        "--help": "help",
        "rm": "remove",
        "delete": "remove",
        "ls": "list",
    },
}


def _check_group(group: str) -> str:
    g = group.strip().lower().lstrip("/")
    if g not in _USAGE:
        raise ValueError(f"unknown command group {group!r}; expected one of {GROUPS}")
    return g


def usage_line(group: str, command: str, prefix: str = "/") -> str:
    """One sub-command's form, e.g. `/briefs latest [n] [issue]`."""
    g = _check_group(group)
    form, _ = _USAGE[g][command]
    return f"{prefix}{g} {form}"


def usage(group: str, prefix: str = "/") -> str:
    """Every sub-command of `group`, one short line each."""
    g = _check_group(group)
    return "\n".join(f"{prefix}{g} {form} — {what}" for form, what in _USAGE[g].values())


def topic_usage(group: str, topic: str, prefix: str = "/") -> str:
    """One sub-command's form and what it does (`help search`)."""
    g = _check_group(group)
    form, what = _USAGE[g][topic]
    return f"{prefix}{g} {form} — {what}"


def commands(group: str) -> tuple[str, ...]:
    """The sub-command names of `group`, in usage order."""
    return tuple(_USAGE[_check_group(group)])


# --- tokenising -------------------------------------------------------------------------------

_QUOTES = {"\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00ab": '"', "\u00bb": '"'}
# Slack formats links and mentions as <target|label> or <target>; keep the target for URLs.
_SLACK_ANGLE = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")
_DASHES = re.compile(r"^[\u2013\u2014\u2212]+")  # "—digest" from auto-corrected "--digest"


def _unslack(text: str) -> str:
    def repl(m: re.Match[str]) -> str:
        target, label = m.group(1), m.group(2)
        if target.startswith(("http://", "https://", "mailto:")):
            return target
        if target.startswith(("@", "#")):  # <@U123|name>, <#C123|general>
            return target[0] + (label or target[1:])
        if target.startswith("!"):  # <!here>, <!channel>
            return "@" + (label or target[1:]).lstrip("@")
        return label or target

    text = _SLACK_ANGLE.sub(repl, text)
    # Slack escapes &, <, > in command text; undo it after the angle forms are resolved.
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _normalise(text: str | None) -> str:
    if not text:
        return ""
    for curly, straight in _QUOTES.items():
        text = text.replace(curly, straight)
    return _unslack(text).replace("\u00a0", " ").strip()


def _tokens(text: str) -> list[tuple[str, bool]]:
    """Split on whitespace; double quotes group words. Returns (token, was_quoted). An unclosed
    quote runs to the end of the text."""
    out: list[tuple[str, bool]] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        if text[i] == '"':
            end = text.find('"', i + 1)
            end = n if end == -1 else end
            phrase = " ".join(text[i + 1 : end].split())
            if phrase:
                out.append((phrase, True))
            i = end + 1
            continue
        j = i
        while j < n and not text[j].isspace() and text[j] != '"':
            j += 1
        out.append((text[i:j], False))
        i = j
    return out


def _words(tokens: list[tuple[str, bool]]) -> list[str]:
    return [t for t, _ in tokens]


# --- parsing ----------------------------------------------------------------------------------


def parse(group: str, text: str | None) -> Command:
    """Parse what follows `/briefs` or `/feeds`. Raises GrammarError on malformed input and
    ValueError for an unknown group."""
    g = _check_group(group)
    body = _normalise(text)
    parts = body.split(maxsplit=1)
    head = parts[0] if parts else ""
    rest = parts[1].strip() if len(parts) > 1 else ""
    sub = _DASHES.sub("--", head).lower()
    if g == "briefs" and sub == "feeds":  # `/briefs feeds add <url>` from a single entry point
        return parse("feeds", rest)
    sub = _ALIASES[g].get(sub, sub)
    if sub in ("", "help"):
        return _help(g, rest)
    if sub not in _USAGE[g]:
        hint = difflib.get_close_matches(sub, list(_USAGE[g]), n=1, cutoff=0.6)
        shown = clip(head)
        more = f" — did you mean `{hint[0]}`?" if hint else ""
        raise GrammarError(f"Unknown command `{shown}`{more}", usage(g), g, None)
    parser = _BRIEFS[sub] if g == "briefs" else _FEEDS[sub]
    return parser(g, sub, rest)


def clip(text: str, limit: int = CLIP) -> str:
    """What a reply quotes of a user's input: at most `limit` characters."""
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def small_int(word: str, max_digits: int = _COUNT_DIGITS) -> int | None:
    """`word` (optional sign, digits) as an int when it has at most `max_digits` significant
    digits, else None: the length is checked before int() reads it."""
    digits = word.lstrip("+-").lstrip("0")
    if len(digits) > max_digits:
        return None
    value = int(digits or "0")  # the zeros stripped: int() never reads a long string
    return -value if word.startswith("-") else value


def _fail(group: str, command: str, message: str) -> GrammarError:
    return GrammarError(message, usage_line(group, command), group, command)


def _help(group: str, rest: str) -> Help:
    topic = rest.split()[0].lower() if rest.split() else None
    if topic is not None:
        topic = _ALIASES[group].get(topic, topic)
        if topic not in _USAGE[group]:
            topic = None
    return Help(group=group, topic=topic)


_INT = re.compile(r"[+-]?\d+")
_NUMBER = re.compile(r"[+-]?(\d+[.,]\d*|[.,]\d+)")


def _latest(group: str, sub: str, rest: str) -> Latest:
    count: int | None = None
    issue: str | None = None
    for word in _words(_tokens(rest)):
        if _NUMBER.fullmatch(word) and not _INT.fullmatch(word):
            raise _fail(group, sub, "n must be a whole number.")
        if _INT.fullmatch(word):
            if count is not None:
                raise _fail(group, sub, "Give at most one number.")
            value = small_int(word)
            if value is None or not LATEST_MIN <= value <= LATEST_MAX:
                raise _fail(group, sub, f"n must be between {LATEST_MIN} and {LATEST_MAX}.")
            count = value
        else:
            if issue is not None:
                raise _fail(group, sub, "Give at most one issue.")
            issue = _issue_id(word)
    return Latest(count=LATEST_DEFAULT if count is None else count, issue=issue)


def _search(group: str, sub: str, rest: str) -> Search:
    tokens = _tokens(rest)
    if not tokens:
        raise _fail(group, sub, "Say what to search for.")
    terms = tuple(t for t, _ in tokens)
    query = " ".join(f'"{t}"' if quoted else t for t, quoted in tokens)
    return Search(query=query, terms=terms)


def _one_arg(group: str, sub: str, rest: str, what: str) -> str:
    words = _words(_tokens(rest))
    if not words:
        raise _fail(group, sub, f"Give {what}.")
    if len(words) > 1:
        raise _fail(group, sub, f"Give exactly one {what.removeprefix('a ').removeprefix('an ')}.")
    return words[0]


def _no_args(group: str, sub: str, rest: str) -> None:
    if rest:
        raise _fail(group, sub, f"`{sub}` takes no arguments.")


def _issue(group: str, sub: str, rest: str) -> Issue:
    return Issue(_issue_id(_one_arg(group, sub, rest, "an issue id")))


def _show(group: str, sub: str, rest: str) -> Show:
    brief = _one_arg(group, sub, rest, "a brief id").lstrip("#")
    if not brief:
        raise _fail(group, sub, "Give a brief id.")
    return Show(brief)


def _issue_id(word: str) -> str:
    return word.strip().lstrip("#").lower()


_TIME = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")


def time_of_day(text: str) -> str | None:
    """`text` as "HH:MM" (24 h, "8:00" -> "08:00"), or None when it is not a time of day."""
    m = _TIME.fullmatch(text.strip())
    return f"{int(m.group(1)):02d}:{m.group(2)}" if m else None


_DIGEST_FLAGS = ("--digest", "digest")
_NO_POSTS = ("--no-posts", "--noposts", "no-posts")
_EVERY_REPORT = ("--every-report", "--everyreport", "every_report:true", "every-report")
_PER_STORY = ("--per-story", "--perstory", "every_report:false", "per-story")


def _subscribe(group: str, sub: str, rest: str) -> Subscribe:
    # Commas separate issues as well as spaces: "gsomia, usfk" and "gsomia,usfk" both work.
    words = [w for w in re.split(r"[\s,]+", rest.replace('"', " ")) if w]
    words = [_DASHES.sub("--", w) for w in words]
    issues: list[str] = []
    digest_time: str | None = None
    digest_tz: str | None = None
    per_brief = True
    every_report: bool | None = None
    i = 0
    while i < len(words):
        word = words[i]
        low = word.lower()
        if low in _DIGEST_FLAGS or low.startswith("--digest="):
            if digest_time is not None:
                raise _fail(group, sub, "Give one digest time.")
            if "=" in low:
                value: str | None = word.split("=", 1)[1]
            else:
                i += 1
                value = words[i] if i < len(words) else None
            digest_time = time_of_day(value or "")
            if digest_time is None:
                raise _fail(group, sub, "A digest needs a time of day as HH:MM (24 h).")
            if i + 1 < len(words) and (zone := _time_zone(words[i + 1])) is not None:
                digest_tz = zone
                i += 1
            elif i + 1 < len(words) and "/" in words[i + 1]:
                raise _fail(group, sub, f"Unknown time zone `{words[i + 1]}` (use Area/City).")
        elif low in _NO_POSTS:
            per_brief = False
        elif low in _EVERY_REPORT or low in _PER_STORY:
            if every_report is not None and every_report != (low in _EVERY_REPORT):
                raise _fail(group, sub, "Give --every-report or --per-story, not both.")
            every_report = low in _EVERY_REPORT
        elif low.startswith("-"):
            raise _fail(group, sub, f"Unknown option `{word}`.")
        else:
            issue = _issue_id(word)
            if issue and issue not in issues:
                issues.append(issue)
        i += 1
    if not per_brief and digest_time is None:
        raise _fail(group, sub, "--no-posts needs --digest HH:MM (or nothing would be posted).")
    return Subscribe(tuple(issues), digest_time, digest_tz, per_brief, every_report)


@lru_cache(maxsize=1)
def _zones() -> dict[str, str]:
    try:
        names = zoneinfo.available_timezones()
    except Exception:  # no tz database: only UTC can be named
        names = set()
    zones = {name.lower(): name for name in names if "/" in name}
    zones.update({"utc": "UTC", "gmt": "UTC", "z": "UTC"})
    return zones


def _time_zone(word: str) -> str | None:
    """Canonical zone name when `word` is an Area/City zone or UTC; None otherwise.

    Bare words other than UTC are not read as zones ("Japan" and "ROK" are zone aliases but also
    plausible issue ids), so `subscribe --digest 08:00 japan` subscribes to the issue."""
    return _zones().get(word.lower())


def _feeds_add(group: str, sub: str, rest: str) -> FeedsAdd:
    return FeedsAdd(_one_arg(group, sub, rest, "a feed URL"))


def _feeds_remove(group: str, sub: str, rest: str) -> FeedsRemove:
    feed = _one_arg(group, sub, rest, "a feed id").lstrip("#")
    if not feed:
        raise _fail(group, sub, "Give a feed id.")
    return FeedsRemove(feed)


def _simple(cls: type[Unsubscribe | Subscriptions | Digest | FeedsList]) -> _Parser:
    def parse_simple(group: str, sub: str, rest: str) -> Command:
        _no_args(group, sub, rest)
        return cls()

    return parse_simple


_BRIEFS: dict[str, _Parser] = {
    "latest": _latest,
    "search": _search,
    "issue": _issue,
    "show": _show,
    "subscribe": _subscribe,
    "unsubscribe": _simple(Unsubscribe),
    "subscriptions": _simple(Subscriptions),
    "digest": _simple(Digest),
}
_FEEDS: dict[str, _Parser] = {
    "add": _feeds_add,
    "remove": _feeds_remove,
    "list": _simple(FeedsList),
}
