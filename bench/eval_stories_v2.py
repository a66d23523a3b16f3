"""Story matching on the second labelled set (../stories-eval, outside the project).

    .venv/bin/python bench/eval_stories_v2.py [--held-out] [--errors]

Prints pairwise precision and recall of the shipped model on the tuning part of the v2 set
(real reports of 2016 wire stories and of Dec 2025 Korean news, with eval-dev articles they
name). `--held-out` prints the held-out part's totals only (never its pairs); `--errors` lists
the tuning part's wrong pairs. Exits with a message when the set is absent; asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.integration.stories.evaluation import EXTERNAL, evaluate, load_v2

from koreapage_bot.stories.model import MODELS


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--held-out", action="store_true", help="also score the held-out part")
    parser.add_argument("--errors", action="store_true", help="list the tuning part's wrong pairs")
    args = parser.parse_args()
    items, labels = load_v2()
    if not items:
        print(f"{EXTERNAL} is absent: nothing to measure", file=sys.stderr)
        return 0
    tune = [i for i in items if not i.held_out]
    held = [i for i in items if i.held_out]
    print(f"v2: {len(items)} items ({len(tune)} tuning, {len(held)} held out)")
    parts = [("tuning", tune)] + ([("held out", held)] if args.held_out else [])
    for name, part in parts:
        f = evaluate(part, MODELS, labels)
        print(
            f"{name:<10} precision {f.precision:.3f}  recall {f.recall:.3f}  "
            f"(pairs: {f.tp} joined right, {f.fp} joined wrong, {f.fn} missed)"
        )
    if args.errors:
        f = evaluate(tune, MODELS, labels)
        for a, b in f.false_pairs:
            print(f"  joined wrong: {a}  |  {b}")
        for a, b in f.missed_pairs:
            print(f"  missed:       {a}  |  {b}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
