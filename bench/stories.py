"""Story matching speed: a new brief against a 72-hour window of 5,000 briefs.

    .venv/bin/python bench/stories.py [--window 5000] [--probes 500]

Builds a window of synthetic briefs (English and Korean, a vocabulary of a few thousand words,
names from stories/names.py, numbers and dates), then matches new briefs against it, every
fifth one another outlet's report of an event already there; each is added to the window
after it is matched, as the bot does, and the oldest leave. Prints the median and 95th
percentile of (a) reading a brief's features and (b) finding its story (candidates from the
inverted index, then scoring), as CPU time of the thread (the machine may be shared) and as
wall-clock time. Asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from koreapage_bot.stories.features import StoryText, features
from koreapage_bot.stories.matcher import StoryIndex
from koreapage_bot.stories.model import MODELS
from koreapage_bot.stories.names import CONCEPTS

START = datetime(2026, 3, 1, tzinfo=UTC)
SYLLABLES = "가나다라마바사아자차카타파하국민정부군사대통령외교안보미사일동맹협상회담발표"


def vocabulary(rng: random.Random) -> tuple[list[str], list[str]]:
    english = [
        "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(4, 10)))
        for _ in range(4000)
    ]
    korean = ["".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))) for _ in range(3000)]
    return english, korean


def a_brief(
    rng: random.Random, words: list[str], names: list[str], at: datetime, ko: bool
) -> StoryText:
    body = rng.sample(words, 60)
    named = rng.sample(names, 4)
    numbers = [f"{rng.randint(100, 99999):,}" for _ in range(2)]
    title = " ".join(body[:8] + named[:1])
    if ko:
        text = " ".join(body[8:] + named + [n + "명" for n in numbers]) + f" {at.day}일"
    else:
        text = " ".join(body[8:] + named + numbers) + f" on {at:%B} {at.day}"
    return StoryText(
        title=title,
        summary=" ".join(body[8:30]),
        text=text,
        language="ko" if ko else "en",
        at=at,
        issues=tuple(rng.sample(["usfk", "north-korea", "trade", "china", "cost-sharing"], 2)),
        source=rng.randint(1, 40),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window", type=int, default=5000)
    parser.add_argument("--probes", type=int, default=500)
    args = parser.parse_args()
    rng = random.Random(12)
    english, korean = vocabulary(rng)
    names = [forms[0][0] for forms in CONCEPTS.values()] + [
        forms[1][0] for forms in CONCEPTS.values()
    ]
    index = StoryIndex(MODELS, timedelta(hours=72))
    step = timedelta(hours=72) / args.window
    started = time.perf_counter()
    for n in range(args.window):
        ko = rng.random() < 0.4
        item = a_brief(rng, korean if ko else english, names, START + n * step, ko)
        index.add(n + 1, n + 1, features(item))
    took = time.perf_counter() - started
    print(f"window: {len(index)} briefs over 72 hours, indexed in {took:.1f} s")
    read: list[float] = []
    match: list[float] = []
    wall: list[float] = []
    joined = 0
    at = START + timedelta(hours=72)
    recent: list[StoryText] = []
    for n in range(args.probes):
        ko = rng.random() < 0.4
        item = a_brief(rng, korean if ko else english, names, at, ko)
        if n % 5 == 4 and recent:
            # Every fifth: another outlet's report of an event already in the window.
            seen = rng.choice(recent[-50:])
            item = replace(
                seen, at=at, source=seen.source + 1, title=" ".join(seen.title.split()[1:])
            )
        recent.append(item)
        w0, t0 = time.perf_counter(), time.thread_time()
        feats = features(item)
        t1 = time.thread_time()
        found = index.best(feats)
        t2, w2 = time.thread_time(), time.perf_counter()
        wall.append((w2 - w0) * 1000)
        # As the bot does: the brief joins the window, the oldest leave it.
        index.add(len(index) + 10_000_000 + len(read), found.story_id if found else 0, feats)
        at += step
        index.expire(at)
        read.append((t1 - t0) * 1000)
        match.append((t2 - t1) * 1000)
        joined += found is not None
    total = [a + b for a, b in zip(read, match, strict=True)]

    def figures(values: list[float]) -> str:
        p95 = statistics.quantiles(values, n=20)[-1]
        return f"median {statistics.median(values):.2f} ms, p95 {p95:.2f} ms"

    print("CPU time of this thread (the machine may be shared; wall clock below):")
    print(f"  reading a brief's features: {figures(read)}")
    print(f"  finding its story:          {figures(match)}")
    print(f"  both (a new brief matched): {figures(total)}  (target: median <= 5 ms)")
    print(f"wall clock, both:             {figures(wall)}")
    print(f"({joined} of {args.probes} probes joined a story; every fifth is a second report)")


if __name__ == "__main__":
    main()
