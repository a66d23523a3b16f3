"""The key-issue taxonomy (config/issues.toml): loading, validation, the packaged default."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

ISSUE_KINDS = ("alliance", "context")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class TaxonomyError(ValueError):
    """The taxonomy file is missing, unreadable or malformed. The message names file and key."""


@dataclass(frozen=True, slots=True)
class Issue:
    id: str
    label: str
    description: str
    terms: tuple[str, ...]
    strong_terms: tuple[str, ...] = ()
    weak_terms: tuple[str, ...] = ()
    kind: str = "alliance"  # "context" issues never make a post relevant on their own
    anchor: bool = True  # strong terms prove the alliance by themselves (GSOMIA does not)
    # A context issue whose plain terms also count as alliance evidence where the US is named
    # (the US-Japan-ROK trilateral is an alliance matter; Japan alone is not).
    evidence: bool = False
    # Terms (among the issue's own) that only name an institution of the issue ("USFK", "the
    # Combined Forces Command"): evidence of the alliance, but the post is about the issue
    # only where another of its terms says what is done to it (a cut, a transfer).
    names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Actors:
    us: tuple[str, ...]
    rok: tuple[str, ...]
    bilateral: tuple[str, ...]
    alliance: tuple[str, ...]
    # Phrases about another alliance ("the U.S.-Japan alliance", "U.S. Forces Japan"), blanked
    # before matching so they are never evidence of the US-ROK one.
    elsewhere: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Taxonomy:
    issues: tuple[Issue, ...]
    actors: Actors
    source: str = "<packaged default>"
    _by_id: dict[str, Issue] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_id.update({i.id: i for i in self.issues})

    def get(self, issue_id: str) -> Issue | None:
        return self._by_id.get(issue_id)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(i.id for i in self.issues)


def _default_text() -> tuple[str, str]:
    ref = resources.files("koreapage_bot").joinpath("defaults/issues.toml")
    return ref.read_text(encoding="utf-8"), "<packaged default issues.toml>"


def load_taxonomy(path: Path | None = None) -> Taxonomy:
    """Load and validate a taxonomy file; `None` loads the one packaged with the bot.

    A file without an `[actors]` table borrows the packaged actors, so a user's file can
    list issues only.
    """
    if path is None:
        text, source = _default_text()
        return parse_taxonomy(text, source)
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise TaxonomyError(f"{source}: cannot read the issue taxonomy: {exc}") from exc
    return parse_taxonomy(text, source)


def parse_taxonomy(text: str, source: str = "<string>") -> Taxonomy:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TaxonomyError(f"{source}: not valid TOML: {exc}") from exc
    raw_issues = data.get("issue")
    if not isinstance(raw_issues, list) or not raw_issues:
        raise TaxonomyError(f"{source}: key 'issue' must be a non-empty array of [[issue]] tables")
    issues: list[Issue] = []
    seen: set[str] = set()
    for n, raw in enumerate(raw_issues, start=1):
        where = f"{source}: [[issue]] #{n}"
        if not isinstance(raw, dict):
            raise TaxonomyError(f"{where}: must be a table")
        issue = _parse_issue(raw, where)
        if issue.id in seen:
            raise TaxonomyError(f"{where}: key 'id': duplicate id {issue.id!r}")
        seen.add(issue.id)
        issues.append(issue)
    raw_actors = data.get("actors")
    if raw_actors is None:
        if source.startswith("<packaged"):
            raise TaxonomyError(f"{source}: key 'actors' is missing")
        actors = load_taxonomy(None).actors
    else:
        actors = _parse_actors(raw_actors, f"{source}: [actors]")
    return Taxonomy(issues=tuple(issues), actors=actors, source=source)


def _str(raw: dict[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = raw.get(key, default)
    if not isinstance(value, str) or not value.strip():
        raise TaxonomyError(f"{where}: key {key!r} must be a non-empty string")
    return value.strip()


def _terms(raw: dict[str, Any], key: str, where: str, required: bool = False) -> tuple[str, ...]:
    value = raw.get(key, [] if not required else None)
    if not isinstance(value, list) or not all(isinstance(t, str) and t.strip() for t in value):
        raise TaxonomyError(f"{where}: key {key!r} must be a list of non-empty strings")
    for term in value:
        if term.startswith("re:"):
            try:
                re.compile(term[3:])
            except re.error as exc:
                raise TaxonomyError(f"{where}: key {key!r}: bad regex {term!r}: {exc}") from exc
    return tuple(t.strip() for t in value)


def _parse_issue(raw: dict[str, Any], where: str) -> Issue:
    issue_id = _str(raw, "id", where)
    if not _ID.match(issue_id):
        raise TaxonomyError(
            f"{where}: key 'id': {issue_id!r} must be lower-case letters, digits, '-'"
        )
    where = f"{where} ({issue_id})"
    kind = raw.get("kind", "alliance")
    if kind not in ISSUE_KINDS:
        raise TaxonomyError(f"{where}: key 'kind' must be one of {', '.join(ISSUE_KINDS)}")
    anchor = raw.get("anchor", True)
    if not isinstance(anchor, bool):
        raise TaxonomyError(f"{where}: key 'anchor' must be true or false")
    evidence = raw.get("evidence", False)
    if not isinstance(evidence, bool):
        raise TaxonomyError(f"{where}: key 'evidence' must be true or false")
    known = {
        "id",
        "label",
        "description",
        "terms",
        "strong_terms",
        "weak_terms",
        "kind",
        "anchor",
        "evidence",
        "names",
    }
    unknown = set(raw) - known
    if unknown:
        raise TaxonomyError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    issue = Issue(
        id=issue_id,
        label=_str(raw, "label", where),
        description=_str(raw, "description", where, default=raw.get("label")),
        terms=_terms(raw, "terms", where, required=True),
        strong_terms=_terms(raw, "strong_terms", where),
        weak_terms=_terms(raw, "weak_terms", where),
        kind=kind,
        anchor=anchor,
        evidence=evidence,
        names=_terms(raw, "names", where),
    )
    own = {*issue.terms, *issue.strong_terms, *issue.weak_terms}
    stray = [t for t in issue.names if t not in own]
    if stray:
        raise TaxonomyError(f"{where}: key 'names': {stray[0]!r} is not one of the issue's terms")
    if not (issue.terms or issue.strong_terms):
        raise TaxonomyError(f"{where}: key 'terms': at least one term is needed")
    return issue


def _parse_actors(raw: Any, where: str) -> Actors:
    if not isinstance(raw, dict):
        raise TaxonomyError(f"{where}: must be a table")
    return Actors(
        us=_terms(raw, "us", where, required=True),
        rok=_terms(raw, "rok", where, required=True),
        bilateral=_terms(raw, "bilateral", where),
        alliance=_terms(raw, "alliance", where),
        elsewhere=_terms(raw, "elsewhere", where),
    )
