"""The yardstick the issue names: a hand-written keyword filter of the kind MonitoRSS users
write (a regex on title and text), scored on the same dev set. The analysis must beat it.

It flags a post when it names an alliance keyword and the United States, and lists every
taxonomy issue whose terms appear anywhere: it cannot tell a subject from a passing mention.
"""

from __future__ import annotations

import re
from functools import lru_cache

from koreapage_bot.analysis.taxonomy import Taxonomy, load_taxonomy
from tests.integration.analysis.devset import Figures, gold_issues, load_items

ALLIANCE = re.compile(
    r"\b(alliance|allies|USFK|U\.S\. Forces Korea|United States Forces Korea|THAAD|GSOMIA|"
    r"OPCON|Special Measures Agreement|cost[- ]sharing|KORUS|extended deterrence|"
    r"nuclear umbrella|Nuclear Consultative Group|Washington Declaration|"
    r"(joint|combined) (military )?(exercises?|drills?))\b",
    re.IGNORECASE,
)
US = re.compile(r"\b(U\.S\.|US|United States|Washington|American|Trump|Biden)\b")


def _issue_patterns(taxonomy: Taxonomy) -> dict[str, re.Pattern[str]]:
    patterns = {}
    for issue in taxonomy.issues:
        words = [t for t in (*issue.strong_terms, *issue.terms) if not t.startswith("re:")]
        alternation = "|".join(re.escape(w).replace(r"\ ", r"[\s-]") for w in words)
        patterns[issue.id] = re.compile(rf"\b(?:{alternation})s?\b", re.IGNORECASE)
    return patterns


@lru_cache(maxsize=1)
def _default_patterns() -> dict[str, re.Pattern[str]]:
    return _issue_patterns(load_taxonomy(None))


def keyword_verdict(title: str, body: str) -> tuple[bool, set[str]]:
    """(relevant, issue ids) as the keyword filter sees one post."""
    text = f"{title}\n{body}"
    relevant = bool(ALLIANCE.search(text) and US.search(text))
    return relevant, {i for i, p in _default_patterns().items() if p.search(text)}


def keyword_figures() -> Figures:
    fig = Figures(0, 0, 0, 0, 0, 0, 0, 0, [], [], [], [])
    for item in load_items():
        relevant, got = keyword_verdict(str(item.get("title") or ""), str(item["text"]))
        label = item["label_alliance"]
        if label is True and relevant:
            fig.relevance_tp += 1
        elif label is True:
            fig.relevance_fn += 1
        elif label is False and relevant:
            fig.relevance_fp += 1
            fig.relevance_errors.append(str(item["id"]))
        if label is True:
            gold = gold_issues(list(item["key_issues"]))  # type: ignore[arg-type]
            fig.issue_tp += len(gold & got)
            fig.issue_fp += len(got - gold)
            fig.issue_fn += len(gold - got)
    return fig
