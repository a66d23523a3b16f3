"""Story matching quality on labelled real reports (../shared), development and held-out parts.

    .venv/bin/python bench/eval_stories.py [--fit] [--errors]

Prints pairwise precision and recall of the shipped model (stories/model.py) on the
development part and on the held-out part (fixed before tuning: see
tests/integration/stories/evaluation.py). `--fit` refits the model on the development part and
prints it as Python for stories/model.py, with the development curve over thresholds.
`--errors` lists the development part's wrong pairs (never the held-out part's).
Exits with a message when ../shared is absent; asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.integration...

from tests.integration.stories.evaluation import (
    SHARED,
    V2_ROWS,
    Figures,
    choose_threshold,
    evaluate,
    evaluate_parts,
    fit_rows,
    load_labels,
    load_real,
    load_reports,
    load_rows,
    load_v2,
    merged,
    pair_rows,
    save_rows,
)

from koreapage_bot.stories.matcher import FEATURE_NAMES, Models, PairModel
from koreapage_bot.stories.model import MODELS


def _line(name: str, f: Figures) -> str:
    return (
        f"{name:<28} precision {f.precision:.3f}  recall {f.recall:.3f}  "
        f"(pairs: {f.tp} joined right, {f.fp} joined wrong, {f.fn} missed)"
    )


def _python(models: Models) -> str:
    def one(m: PairModel) -> str:
        weights = ", ".join(f"{w}" for w in m.weights)
        return (
            f"PairModel(\n        weights=({weights}),\n        bias={m.bias},\n"
            f"        threshold={m.threshold},\n    )"
        )

    names = ", ".join(FEATURE_NAMES)
    return (
        f"# weights over: {names}\n"
        f"MODELS = Models(\n    same={one(models.same)},\n    cross={one(models.cross)},\n)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fit", action="store_true", help="refit on the development part")
    parser.add_argument("--errors", action="store_true", help="list the dev part's wrong pairs")
    parser.add_argument(
        "--with-v2",
        action="store_true",
        help="also fit on the tuning part of the v2 set (../stories-eval); its held-out part"
        " is scored only by bench/eval_stories_v2.py --held-out",
    )
    args = parser.parse_args()
    if not (SHARED / "eval-dev").is_dir():
        print(f"{SHARED} is absent: nothing to measure", file=sys.stderr)
        return 0
    started = time.perf_counter()
    labels = load_labels()
    real = load_real(labels)
    reports = load_reports()
    dev_real = [i for i in real if not i.held_out]
    held = [i for i in real if i.held_out]
    dev = dev_real + reports
    v2_tune: list = []
    if args.with_v2:
        v2_items, v2_labels = load_v2()
        v2_keys = {i.key for i in v2_items}
        # An eval-dev article the v2 set labels is scored there, not twice.
        dev = [i for i in dev if i.key not in v2_keys]
        dev_real = [i for i in dev_real if i.key not in v2_keys]
        held = [i for i in held if i.key not in v2_keys]
        v2_tune = [i for i in v2_items if not i.held_out]
        labels = merged(labels, v2_labels)
    print(
        f"{len(real)} labelled real items ({len(dev_real)} development, {len(held)} held out), "
        f"{len(reports)} invented reports (development only); loaded in "
        f"{time.perf_counter() - started:.1f} s"
    )
    models = MODELS
    if args.fit:
        rows = pair_rows(dev, labels)
        parts = [dev]
        if args.with_v2:
            # The v2 part is replayed on its own; its training pairs are committed (numbers
            # only) so that a checkout without ../stories-eval refits the same weights.
            save_rows(pair_rows(v2_tune, labels), v2_keys & {i.key for i in real})
            print(f"wrote {V2_ROWS.relative_to(V2_ROWS.parents[3])}")
            rows += load_rows()[0]
            parts.append(v2_tune)
        models, curve = choose_threshold(parts, *fit_rows(rows), labels)
        print("\ndevelopment F1 by threshold:")
        for threshold, f in curve[::5]:
            print(f"  {threshold:.2f}: F1 {f.f1:.3f} (P {f.precision:.3f}, R {f.recall:.3f})")
        print(f"\nchosen threshold {models.same.threshold}\n")
        print(_python(models))
        print()
    for name, part in [
        ("development (real)", dev_real),
        ("development (with invented)", dev),
        ("held out (real)", held),
    ] + ([("v2 tuning", v2_tune)] if args.with_v2 else []):
        print(_line(name, evaluate(part, models, labels)))
    if args.errors:
        # Each part replayed on its own, as it was fitted.
        figures = evaluate_parts([dev, v2_tune] if args.with_v2 else [dev], models, labels)
        for a, b in figures.false_pairs:
            print(f"  joined wrong: {a}  |  {b}")
        for a, b in figures.missed_pairs:
            print(f"  missed:       {a}  |  {b}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
