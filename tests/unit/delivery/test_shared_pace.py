"""SharedPace: several processes split one platform rate (Discord's 50 requests a second per
bot) without a database round trip per request. The processes here are three paces in one
event loop over an in-memory membership, with short refresh periods."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime

from koreapage_bot.dates import utcnow
from koreapage_bot.delivery.ratelimit import SharedPace, loop_clock
from tests.unit.delivery.test_ratelimit import max_in_window

TIMES = {"refresh": 0.05, "max_age": 0.1, "join_wait": 0.2}


class Members:
    """What SharedRates reads from PostgreSQL: the registered processes and a block."""

    def __init__(self) -> None:
        self.heartbeats: dict[str, datetime] = {}
        self.alive: set[str] = set()
        self.blocked_until = 0.0
        self.blocks: list[float] = []

    def join(self, holder: str) -> None:
        self.heartbeats[holder] = utcnow()
        self.alive.add(holder)

    def liveness(self, holder: str, _heartbeats: Mapping[str, datetime], _now: datetime) -> bool:
        return holder in self.alive

    async def view(self, _name: str) -> tuple[float, Mapping[str, datetime]]:
        return self.blocked_until - loop_clock(), dict(self.heartbeats)

    async def block(self, _name: str, seconds: float) -> None:
        self.blocks.append(seconds)
        self.blocked_until = max(self.blocked_until, loop_clock() + seconds)


def pace(members: Members, holder: str) -> SharedPace:
    return SharedPace(
        members,
        "discord",
        50.0,
        holder=holder,
        liveness=members.liveness,
        now=utcnow,
        **TIMES,
    )


def test_three_processes_each_take_a_third_and_never_pass_the_rate_together() -> None:
    async def main() -> tuple[list[float], list[float]]:
        members = Members()
        paces = [pace(members, f"p{i}") for i in range(3)]
        for i in range(3):
            members.join(f"p{i}")
        sent: list[float] = []

        async def process(p: SharedPace) -> None:
            for _ in range(40):
                await p.take()
                sent.append(loop_clock())

        await asyncio.gather(*(process(p) for p in paces))
        shares = [p.share for p in paces]
        for p in paces:
            await p.close()
        return sent, shares

    sent, shares = asyncio.run(main())
    assert shares == [50.0 / 3] * 3
    assert max_in_window(sorted(sent), 1.02) <= 50
    assert len(sent) == 120


def test_a_newcomer_waits_until_the_others_have_lowered_their_share() -> None:
    async def main() -> tuple[float, float, float, list[float]]:
        members = Members()
        old = pace(members, "old")
        members.join("old")
        await old.take()  # alone: the whole rate
        alone = old.share
        new = pace(members, "new")
        members.join("new")
        started = loop_clock()
        await new.take()
        waited = loop_clock() - started
        # By then the first process saw the newcomer (its background look runs while it sends).
        shares = [old.share, new.share]
        await old.close()
        await new.close()
        return alone, waited, started, shares

    alone, waited, _, shares = asyncio.run(main())
    assert alone == 50.0
    assert waited >= TIMES["join_wait"]
    assert shares == [25.0, 25.0]


def test_a_dead_process_gives_its_share_back() -> None:
    async def main() -> tuple[float, float]:
        members = Members()
        a, b = pace(members, "a"), pace(members, "b")
        members.join("a")
        members.join("b")
        await asyncio.gather(a.take(), b.take())
        before = a.share
        members.alive.discard("b")  # killed: its row is still there, its process is not
        await asyncio.sleep(TIMES["max_age"] * 2)
        await a.take()
        after = a.share
        await a.close()
        await b.close()
        return before, after

    assert asyncio.run(main()) == (25.0, 50.0)


def test_a_block_reported_by_another_process_reaches_this_one() -> None:
    async def main() -> list[float]:
        members = Members()
        blocked: list[float] = []
        a, b = pace(members, "a"), pace(members, "b")
        b.on_blocked = blocked.append
        members.join("a")
        members.join("b")
        await asyncio.gather(a.take(), b.take())
        await a.block(5.0)
        b.wake()  # what the NOTIFY does
        await asyncio.sleep(TIMES["refresh"])
        await a.close()
        await b.close()
        return blocked

    blocked = asyncio.run(main())
    assert blocked and 4.0 < blocked[-1] <= 5.0
