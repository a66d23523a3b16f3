"""Pages of briefs for the web archive and its feeds, on SQLite and PostgreSQL: offsets that
neither repeat nor lose a brief, search newest first, search within one key issue."""

from __future__ import annotations

from dataclasses import replace

from koreapage_bot.store.store import Store
from tests.web.support import START, Spec, numbered, seed


def ids(briefs: list) -> list[int]:  # type: ignore[type-arg]
    return [b.id for b in briefs]


async def test_latest_pages_cover_every_brief_once(store: Store) -> None:
    archive = await seed(store, numbered(7))
    newest_first = list(reversed(ids(archive.briefs)))
    pages = [await store.briefs.latest(3, offset=n) for n in (0, 3, 6, 9)]
    assert [ids(p) for p in pages] == [newest_first[:3], newest_first[3:6], newest_first[6:], []]
    usfk = [b.id for b in reversed(archive.briefs) if b.key_issues[0].id == "usfk"]
    assert ids(await store.briefs.latest(2, issue="usfk", offset=2)) == usfk[2:4]


async def test_search_pages_newest_first_and_within_an_issue(store: Store) -> None:
    specs = numbered(6)
    # The best match by rank is the oldest brief (the words are in its title too).
    specs[0] = replace(specs[0], title="Agenda agenda agenda: the alliance agenda")
    archive = await seed(store, specs)
    by_rank = ids(await store.briefs.search("agenda", 10))
    assert by_rank[0] == archive.briefs[0].id and len(by_rank) == 6
    pages = [await store.briefs.search("agenda", 4, offset=n) for n in (0, 4)]
    assert ids(pages[0]) + ids(pages[1]) == by_rank
    newest = ids(await store.briefs.search("agenda", 10, newest=True))
    assert newest == list(reversed(ids(archive.briefs)))
    second = ids(await store.briefs.search("agenda", 2, newest=True, offset=2))
    assert second == newest[2:4]
    gsomia = [b.id for b in archive.briefs if b.key_issues[0].id == "gsomia"]
    assert sorted(ids(await store.briefs.search("agenda", 10, issue="gsomia"))) == gsomia
    on_issue = ids(await store.briefs.search("agenda", 10, issue="gsomia", newest=True))
    assert on_issue == list(reversed(gsomia))


async def test_a_later_search_page_never_switches_to_any_word(store: Store) -> None:
    opcon = (("opcon", "OPCON transfer"),)
    archive = await seed(
        store,
        [
            Spec("Tariff talks resume", "Seoul and Washington talk about steel tariffs.", opcon),
            Spec("Drills go on", "The spring drills go on.", opcon, published=START),
            Spec("More drills", "Officials planned drills.", opcon, published=START),
        ],
    )
    # No brief has both "tariffs" and "drills": the first page widens to either word.
    assert len(await store.briefs.search("tariffs drills", 10)) == 3
    # One brief has both "spring" and "drills": page 2 is empty, not the any-word results
    # (which would show a brief that page 1 said does not match).
    assert ids(await store.briefs.search("spring drills", 1)) == [archive.briefs[1].id]
    assert await store.briefs.search("spring drills", 1, offset=1) == []
    assert len(await store.briefs.search("tariffs drills", 2, offset=2)) == 1
