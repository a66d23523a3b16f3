"""Time per article of the offline analysis, extraction excluded and included.

    .venv/bin/python bench/analyze.py [--rounds N]

Reads ../shared/eval-dev/articles.jsonl (34 excerpts) and, when present, articles-2.jsonl
(116 whole articles, English and Korean), and exits with a message when they are absent.
"Excluded": the article text goes straight to the analyzer. "Included": an HTML page is built
from each text at run time (nav, header, article paragraphs, comments, footer) and
trafilatura extracts it first. Prints median and p95 milliseconds per article, for each file
and for both together; asserts nothing.
"""

from __future__ import annotations

import argparse
import html
import json
import statistics
import sys
import time
from pathlib import Path

from koreapage_bot.analysis.pipeline import OfflineAnalyzer
from koreapage_bot.domain import ArticleInput

EVAL_DEV = Path(__file__).resolve().parents[1] / ".." / "shared" / "eval-dev"
DEVSET = EVAL_DEV / "articles.jsonl"
FULL = EVAL_DEV / "articles-2.jsonl"


def page_of(title: str, text: str) -> str:
    paras = "\n".join(f"<p>{html.escape(p)}</p>" for p in text.split("\n") if p.strip())
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title></head><body>"
        "<header><nav><a href='/'>Home</a> <a href='/news'>News</a> <a href='/s'>Subscribe</a>"
        "</nav></header><main><article>"
        f"<h1>{html.escape(title)}</h1>{paras}</article>"
        "<section class='comments'><h2>Comments</h2><p>First!</p></section></main>"
        "<footer><p>© Example Media. All rights reserved.</p></footer></body></html>"
    )


def timed(
    analyzer: OfflineAnalyzer, articles: list[ArticleInput], rounds: int
) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU milliseconds per article (CPU time is the fairer figure on a
    machine other work shares)."""
    wall: list[float] = []
    cpu: list[float] = []
    for _ in range(rounds):
        for art in articles:
            t0, c0 = time.perf_counter(), time.process_time()
            analyzer.analyze_now(art)
            wall.append((time.perf_counter() - t0) * 1000.0)
            cpu.append((time.process_time() - c0) * 1000.0)
    return wall, cpu


def report(name: str, timings: tuple[list[float], list[float]]) -> None:
    samples = sorted(timings[0])
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    print(
        f"{name:<22} n={len(samples):<5} median {statistics.median(samples):7.2f} ms"
        f"   p95 {p95:7.2f} ms   max {samples[-1]:7.2f} ms"
        f"   (CPU median {statistics.median(timings[1]):6.2f} ms)"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    if not DEVSET.exists():
        print(f"no dev set at {DEVSET} (../shared is absent); nothing to measure")
        return 0
    analyzer = OfflineAnalyzer()
    sets = [("excerpts", DEVSET)] + ([("full-length", FULL)] if FULL.exists() else [])
    every: dict[str, tuple[list[float], list[float]]] = {
        "excluded": ([], []),
        "included": ([], []),
    }
    for name, path in sets:
        items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
        plain = [ArticleInput(id=i["id"], title=i["title"] or "", text=i["text"]) for i in items]
        pages = [
            ArticleInput(
                id=i["id"], title="", html=page_of(i["title"] or "", i["text"]), url=i["url"]
            )
            for i in items
        ]
        analyzer.analyze_now(plain[0])  # warm up: compile the taxonomy's patterns once
        words = sum(len(a.text.split()) for a in plain if a.text) / len(plain)
        print(f"{path.name}: {len(items)} {name} articles, {words:.0f} words on average")
        excluded = timed(analyzer, plain, args.rounds)
        included = timed(analyzer, pages, args.rounds)
        report("  extraction excluded", excluded)
        report("  extraction included", included)
        for key, got in (("excluded", excluded), ("included", included)):
            every[key][0].extend(got[0])
            every[key][1].extend(got[1])
    if len(sets) > 1:
        print(f"all {args.rounds} rounds of both files")
        report("  extraction excluded", every["excluded"])
        report("  extraction included", every["included"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
