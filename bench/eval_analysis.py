"""Analysis quality on ../shared/eval-dev, through the product's own `analyze` JSONL path.

    .venv/bin/python bench/eval_analysis.py [--errors] [--dev-only] [--gated]
    .venv/bin/python bench/eval_analysis.py --set PATH


Both files of the dev set are split once and for all: in each file the line with 0-based index
i is held out when i % 5 == 4. Figures are printed for the development part and the held-out
part separately, by language (en / ko) and kind (excerpt / full-length page), beside a
hand-written keyword filter's; then the summary checker's counts (datelines, captions,
boilerplate, fragments, dangling openers, summaries off the headline), for the posted briefs
and for every item's summary. `--errors` lists the development items the analysis got wrong
and their flagged summaries; per-item results of the held-out part are never printed, only
its totals. How each figure is counted (borderline items, author matching, summary checks) is
in tests/integration/analysis/evaluation.py.
`--set PATH` measures a labelled JSONL file of your own instead (the fields of the dev set:
`id`, `title`, `text`, `url`, `date`, `language`, `author`, `label_alliance` true / false /
"borderline", `key_issues` as taxonomy ids, `text_is_excerpt`): the whole file is one part,
`set`, counted as above, so a fresh blind-labelled set is scored exactly like the dev set.
Per-item lines are not printed for it. Keep such files outside the project.
`--gated` runs the analyzer the bot polls with (a post the relevance verdict rejects gets no
summary): every figure but the summary counts of rejected items must equal the plain run's.
Exits with a message when ../shared is absent; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.integration...

from tests.integration.analysis.evaluation import (
    SUMMARY_FLAGS,
    Figures,
    Item,
    load,
    merge,
    run,
    tally,
)

from koreapage_bot.analysis.pipeline import OfflineAnalyzer

SHARED = (Path(__file__).resolve().parents[1] / ".." / "shared").resolve()


def _row(name: str, f: Figures) -> str:
    rel = f"{f.relevance_f1:.3f} ({f.rel[0]}/{f.rel[1]}/{f.rel[2]})"
    iss = f"{f.issue_f1:.3f} ({f.issue[0]}/{f.issue[1]}/{f.issue[2]})"
    kw = f"{f.kw_rel and f'{_f1(f.kw_rel):.2f}'} / {_f1(f.kw_issue):.2f}"
    auth = f"{f.authors_right}/{f.authors_total}"
    return (
        f"{name:<22}{f.n:>4}  {rel:<20}{iss:<21}{auth:>7}{f.invented:>5}{f.hidden_byline_given:>5}"
        f"  {f.borderline_relevant}/{f.borderline:<3}{f.errors_out:>4}  {kw}"
    )


def _summary_row(name: str, f: Figures, every: bool = False) -> str:
    n, got = (f.summaries_all, f.summary_flags_all) if every else (f.summaries, f.summary_flags)
    flags = "".join(f"{got.get(k, 0):>12}" for k in SUMMARY_FLAGS)
    return f"{name:<22}{n:>10}{flags}"


def _rows(groups: dict[tuple[str, str, str], Figures], part: str) -> list[tuple[str, Figures]]:
    """The part's groups, then its totals by language, by kind, and overall."""
    keys = sorted(k for k in groups if k[0] == part)
    rows = [(f"{part} {k[1]} {k[2]}", groups[k]) for k in keys]
    for lang in ("en", "ko"):
        sub = [groups[k] for k in keys if k[1] == lang]
        if sub:
            rows.append((f"{part} {lang} (all)", merge(sub)))
    for kind in ("excerpt", "full"):
        sub = [groups[k] for k in keys if k[2] == kind]
        if sub:
            rows.append((f"{part} {kind} (all)", merge(sub)))
    rows.append((f"{part} ALL", merge(groups[k] for k in keys)))
    return rows


class SetItem(Item):
    """A line of a `--set` file: the whole file is one part, `set`; none of it is held out."""

    __slots__ = ()

    @property
    def part(self) -> str:
        return "set"


def load_set(path: Path) -> list[Item]:
    """The labelled items of `path`; a line that cannot be scored stops with its number."""
    items: list[Item] = []
    seen: set[str] = set()
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SystemExit(f"{where}: not a JSON object ({exc.msg})") from None
        if not isinstance(raw, dict):
            raise SystemExit(f"{where}: not a JSON object")
        if not str(raw.get("id") or "").strip() or not isinstance(raw.get("text"), str):
            raise SystemExit(f"{where}: needs an `id` and a `text`")
        if raw.get("label_alliance") not in (True, False, "borderline"):
            raise SystemExit(f'{where}: `label_alliance` must be true, false or "borderline"')
        if str(raw["id"]) in seen:
            raise SystemExit(f"{where}: id {raw['id']!r} is repeated")
        seen.add(str(raw["id"]))
        items.append(SetItem(path.name, len(items), raw))
    if not items:
        raise SystemExit(f"{path}: no items")
    return items


def _f1(c: list[int]) -> float:
    tp, fp, fn = c
    return 2 * tp / (2 * tp + fp + fn) if tp else (1.0 if not (fp or fn) else 0.0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--errors", action="store_true", help="list development-part errors")
    ap.add_argument("--dev-only", action="store_true", help="do not run the held-out part")
    ap.add_argument(
        "--set", type=Path, metavar="PATH", help="measure this labelled JSONL file instead"
    )
    ap.add_argument(
        "--gated",
        action="store_true",
        help="the ingest path's analyzer (no summary for posts it rejects); relevance, "
        "issue and author figures must not move",
    )
    args = ap.parse_args()
    parts: tuple[str, ...]
    if args.set is not None:
        if not args.set.is_file():
            print(f"{args.set}: no such file", file=sys.stderr)
            return 2
        parts = ("set",)
        items = load_set(args.set)
    elif not (SHARED / "eval-dev").exists():
        print(f"no dev set under {SHARED} (../shared is absent); nothing to measure")
        return 0
    else:
        parts = ("dev",) if args.dev_only else ("dev", "held-out")
        items = load(SHARED, parts)
    outputs = asyncio.run(run(items, OfflineAnalyzer(gate=True) if args.gated else None))
    errors: list[str] = []
    groups = tally(items, outputs, errors if args.errors else None)
    print(
        "relevance F1 and key-issue micro-F1 with (tp/fp/fn); authors right/visible bylines; "
        "inv = invented authors;\nhid = an author given where the byline is not in the text "
        "and it differs; bl = borderline marked relevant/borderline;\nerr = error lines; "
        "kw = keyword filter relevance / issue F1"
    )
    print(
        f"{'group':<22}{'n':>4}  {'relevance F1':<20}{'key-issue F1':<21}{'authors':>7}"
        f"{'inv':>5}{'hid':>5}  {'bl':<5}{'err':>3}  kw rel/iss"
    )
    for part in parts:
        for name, fig in _rows(groups, part):
            print(_row(name, fig))
        print()
    print(
        "summary checker (tests/integration/analysis/evaluation.py: summary_checks): summaries "
        "with each fault;\nweak_anchor = the first sentence shares fewer than two content words "
        "with the title. First the briefs\nthat are posted (items marked relevant), then every "
        "item's summary."
    )
    header = f"{'group':<22}{'summaries':>10}" + "".join(f"{k:>12}" for k in SUMMARY_FLAGS)
    for every in (False, True):
        print(header)
        for part in parts:
            for name, fig in _rows(groups, part):
                print(_summary_row(name, fig, every))
            print()
    if args.errors:
        print("\n".join(errors))
    return 0


if __name__ == "__main__":
    sys.exit(main())
