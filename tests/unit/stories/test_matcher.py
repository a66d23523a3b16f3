"""Story matching on invented reports (tests/fixtures/stories/reports.toml, our own words):
reports of one event join across outlets and languages; other events stay apart."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import cache

import pytest

from koreapage_bot.stories.features import Features, StoryText, features
from koreapage_bot.stories.matcher import FEATURE_NAMES, StoryIndex
from koreapage_bot.stories.model import MODELS
from tests.integration.stories.evaluation import Item, load_reports


@cache
def reports() -> dict[str, Item]:
    return {i.key.removeprefix("fixture:"): i for i in load_reports()}


def replay(keys: list[str], window: timedelta = timedelta(hours=72)) -> dict[str, int]:
    """Story id per report, storing them in publication order."""
    index = StoryIndex(MODELS, window)
    items = sorted((reports()[k] for k in keys), key=lambda i: i.features.at)
    given: dict[str, int] = {}
    for n, item in enumerate(items, start=1):
        index.expire(item.features.at)
        match = index.best(item.features)
        given[item.key.removeprefix("fixture:")] = match.story_id if match else n
        index.add(n, given[item.key.removeprefix("fixture:")], item.features)
    return given


def test_every_invented_story_is_recovered_and_no_two_events_merge() -> None:
    given = replay(list(reports()))
    by_story: dict[str, set[int]] = defaultdict(set)
    for key, story_id in given.items():
        by_story[reports()[key].story].add(story_id)
    assert all(len(ids) == 1 for ids in by_story.values()), by_story
    ids = [next(iter(ids)) for ids in by_story.values()]
    assert len(ids) == len(set(ids)), "two different events share a story"


@pytest.mark.parametrize(
    ("english", "korean"),
    [("icbm-wire", "icbm-ko"), ("sma-r2-wire", "sma-r2-ko"), ("exports-en", "exports-ko")],
)
def test_a_korean_and_an_english_report_of_one_event_join(english: str, korean: str) -> None:
    given = replay([english, korean])
    assert given[english] == given[korean]


def test_two_launches_a_week_apart_stay_apart_even_in_a_longer_window() -> None:
    for window in (timedelta(hours=72), timedelta(days=10)):
        given = replay(["icbm-wire", "icbm-ko", "cruise-wire", "cruise-ko"], window)
        assert given["icbm-wire"] == given["icbm-ko"]
        assert given["cruise-wire"] == given["cruise-ko"]
        assert given["icbm-wire"] != given["cruise-wire"]


def test_two_cost_sharing_rounds_stay_apart() -> None:
    """The second round and the third (announced three days later), and the second round of
    the next year's talks, with a window long enough to hold all of them."""
    given = replay(
        ["sma-r2-wire", "sma-r2-daily", "sma-r3-wire", "sma-2027-wire"], timedelta(days=400)
    )
    assert given["sma-r2-wire"] == given["sma-r2-daily"]
    assert len({given["sma-r2-wire"], given["sma-r3-wire"], given["sma-2027-wire"]}) == 3


def test_same_day_events_on_one_topic_stay_apart() -> None:
    given = replay(["tariff-steel-en", "tariff-steel-ko", "tariff-cars-en"])
    assert given["tariff-steel-en"] == given["tariff-steel-ko"] != given["tariff-cars-en"]
    given = replay(["trilat-wire", "trilat-ko", "trilat-bilateral"])
    assert given["trilat-wire"] == given["trilat-ko"] != given["trilat-bilateral"]


def test_a_republished_wire_story_joins_its_original() -> None:
    given = replay(["envoy-en", "envoy-wire-lead", "envoy-other"])
    assert given["envoy-en"] == given["envoy-wire-lead"] != given["envoy-other"]


def test_expired_briefs_are_no_candidates() -> None:
    index = StoryIndex(MODELS, timedelta(hours=72))
    first = reports()["icbm-wire"].features
    index.add(1, 1, first)
    later = replace(features(reports()["icbm-daily"].text), at=first.at + timedelta(days=4))
    assert index.best(later) is None  # out of the window, even before expiring
    assert index.expire(later.at) == 1 and len(index) == 0
    assert index.best(later) is None


def test_common_keys_propose_no_candidates() -> None:
    """A key most of the window shares ("North Korea") does not make every brief a
    candidate: only rarer shared keys do."""
    index = StoryIndex(MODELS, timedelta(hours=72))
    base = reports()["icbm-wire"].features
    for n in range(1, 41):
        index.add(
            n,
            n,
            replace(
                base,
                terms={"north": 1, f"filler{n}": 1},
                title_terms=frozenset(),
                concepts=frozenset({"c:north-korea"}),
                names=frozenset(),
                numbers=frozenset(),
                dates=frozenset(),
            ),
        )
    probe = replace(
        base,
        terms={"north": 1},
        concepts=frozenset({"c:north-korea"}),
        names=frozenset(),
        numbers=frozenset(),
        dates=frozenset(),
    )
    assert index.candidates(probe) == []


def _titled(title: str, source: int, n: int) -> Features:
    return features(
        StoryText(
            title=title,
            summary=f"Item {n} of the day's rundown, with its own news number {n}.",
            text="",
            language="en",
            at=datetime(2025, 12, 5, 8, tzinfo=UTC) + timedelta(hours=n),
            source=source,
        )
    )


def test_an_outlets_template_title_is_told_from_its_stories() -> None:
    """Ten episodes of one programme share their title's words: between two of them those
    words are the outlet's template. A story one outlet updates (the same title twice) is not
    a template, nor are words another outlet shares."""
    index = StoryIndex(MODELS, timedelta(hours=72))
    episodes = [
        _titled(f"Episode {n:02d}h{n} - evening news in 100 seconds", 7, n) for n in range(10)
    ]
    for n, episode in enumerate(episodes, start=1):
        index.add(n, n, episode)
    update = _titled("Typhoon makes landfall in Okinawa", 7, 11)
    again = _titled("Typhoon makes landfall in Okinawa", 7, 12)
    other = _titled("Evening news seconds count", 8, 13)
    for n, item in enumerate((update, again, other), start=20):
        index.add(n, n, item)
    names = list(FEATURE_NAMES)
    template = names.index("template")
    entries = {e.brief_id: e for e in index.entries()}
    assert index.pair(episodes[0], entries[2])[template] == 1.0
    assert index.pair(again, entries[20])[template] == 0.0
    assert index.pair(other, entries[1])[template] == 0.0  # another outlet


def test_the_template_counts_follow_the_window() -> None:
    index = StoryIndex(MODELS, timedelta(hours=72))
    episodes = [
        _titled(f"Episode {n:02d}h{n} - evening news in 100 seconds", 7, n) for n in range(6)
    ]
    for n, episode in enumerate(episodes, start=1):
        index.add(n, n, episode)
    template = list(FEATURE_NAMES).index("template")
    assert index.pair(episodes[0], index.entries()[1])[template] == 1.0
    for n in range(1, 6):
        index.remove(n)
    index.add(9, 9, episodes[1])
    assert index.pair(episodes[0], index.entries()[-1])[template] == 0.0
