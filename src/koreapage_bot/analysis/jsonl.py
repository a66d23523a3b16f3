"""`koreapage-bot analyze [FILE|-]`: JSON lines in, JSON lines out.

In, one object a line: {id, title, text | html, author?, url?, published?}.
Out, one object a line: {id, relevant, relevance, key_issues: [{id, label}], author, summary,
why, language}, plus `warnings` when part of the input was dropped (a `published` date no
parser reads: the article is analysed without it).
A line that cannot be read yields {"line": n, "id": …, "error": "…"} and processing goes on.
Blank lines are skipped.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from koreapage_bot.dates import parse_date
from koreapage_bot.domain import Analysis, ArticleInput
from koreapage_bot.ports import Analyzer

log = logging.getLogger(__name__)


class InputError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class ParsedLine:
    article: ArticleInput
    warnings: tuple[str, ...] = ()


def _opt_str(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(f"field {key!r} must be a string")
    return value


def parse_article(line: str) -> ArticleInput:
    return parse_line(line).article


def parse_line(line: str) -> ParsedLine:
    """The article a line carries, and what had to be dropped from it (never the article)."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg} at column {exc.colno}") from exc
    if not isinstance(obj, dict):
        raise InputError("each line must be a JSON object")
    raw_id = obj.get("id")
    if raw_id is None or isinstance(raw_id, bool) or not isinstance(raw_id, str | int):
        raise InputError("field 'id' is required (string or number)")
    title = _opt_str(obj, "title") or ""
    text = _opt_str(obj, "text")
    html = _opt_str(obj, "html")
    if not (text or html):
        raise InputError("one of 'text' or 'html' is required")
    published: datetime | None = None
    warnings: list[str] = []
    raw_pub = obj.get("published")
    if raw_pub is not None and raw_pub != "":
        published = parse_date(raw_pub) if isinstance(raw_pub, str) else None
        if published is None:
            warning = f"field 'published' is not a date: {raw_pub!r}; analysed without a date"
            log.warning("article %s: %s", raw_id, warning)
            warnings.append(warning)
    article = ArticleInput(
        id=str(raw_id),
        title=title,
        text=text,
        html=html,
        author=_opt_str(obj, "author"),
        url=_opt_str(obj, "url"),
        published=published,
    )
    return ParsedLine(article, tuple(warnings))


def analysis_to_json(article_id: str, a: Analysis) -> dict[str, object]:
    return {
        "id": article_id,
        "relevant": a.relevant,
        "relevance": round(a.relevance, 3),
        "key_issues": [{"id": k.id, "label": k.label} for k in a.key_issues],
        "author": a.author,
        "summary": a.summary,
        "why": list(a.why),
        "language": a.language,
    }


def _id_of(line: str) -> object:
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    return obj.get("id") if isinstance(obj, dict) else None


async def _aiter(lines: Iterable[str] | AsyncIterable[str]) -> AsyncIterator[str]:
    if isinstance(lines, AsyncIterable):
        async for line in lines:
            yield line
    else:
        for line in lines:
            yield line


async def analyze_jsonl(
    lines: Iterable[str] | AsyncIterable[str], analyzer: Analyzer
) -> AsyncIterator[str]:
    """Analyze each input line; yield one output JSON line (no trailing newline) per input."""
    n = 0
    async for line in _aiter(lines):
        n += 1
        if not line.strip():
            continue
        try:
            parsed = parse_line(line)
        except InputError as exc:
            yield json.dumps({"line": n, "id": _id_of(line), "error": str(exc)}, ensure_ascii=False)
            continue
        article = parsed.article
        try:
            analysis = await analyzer.analyze(article)
        except Exception as exc:  # one bad article must not stop the run
            yield json.dumps(
                {"line": n, "id": article.id, "error": f"analysis failed: {exc!r}"},
                ensure_ascii=False,
            )
            continue
        out = analysis_to_json(article.id, analysis)
        if parsed.warnings:
            out["warnings"] = list(parsed.warnings)
        yield json.dumps(out, ensure_ascii=False)
