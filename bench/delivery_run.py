"""Delivery figures from the real bot: `koreapage-bot run` in a subprocess, posting to the fake
Discord and the fake Slack that this process serves on 127.0.0.1 (DISCORD_API_BASE,
DISCORD_GATEWAY_URL, SLACK_API_URL point the bot at them).

    .venv/bin/python bench/delivery_run.py [--only a,c,d] [--quick] [--outage SECONDS]

(a) fan-out: 1,000 Discord channels x 1 brief while 4 Slack channels take 10 briefs each; the
    time from the first Discord post to the last against the 50/s floor (999 / 50 = 19.98 s).
(b) the same run seen from Slack: the gaps between posts to one channel (pace 1/s) and the most
    posts in any one second across the workspace (budget 5/s).
(c) 50 Discord and 4 Slack channels x 5 briefs with every fifth answer lost (Discord: dropped
    connection, 500, answer held past the publish timeout; Slack: dropped connection, 500) and
    Slack's history limited to one call a minute: deliveries lost and duplicated per platform.
(d) 200 Discord and 60 Slack channels x 2 briefs; `kill -9` once ~100 posts are made with their
    answers held (both fakes hold every answer), then both platforms down
    for 6 minutes (posting and reading history answer 503) while the bot restarts at once: the
    rows in doubt must be settled without duplicates, well past Discord's nonce window (the
    fake forgets a nonce after 300 s, the bot trusts it for 120 s).

`--quick` divides the waits by six (history one call per 10 s, outage 60 s, the fake's nonce
window 50 s and the bot's DISCORD_NONCE_WINDOW 20 s) and says so in its output.

The bot runs with a bench config: no feeds (the briefs are written to its database before it
starts), publish_timeout 15 s, base_backoff 5 s, max_backoff 60 s, max_attempts 30 (so a
6-minute outage is retried through instead of giving up), max_in_flight 64. Its log is kept in
the temporary directory printed at the start.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.fakes and tests...

from sqlalchemy import func, select
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.slack_server import FakeSlack
from tests.integration.delivery.support import a_brief, a_feed, max_in_window

from koreapage_bot.dates import utcnow
from koreapage_bot.store import tables as t
from koreapage_bot.store.store import Store

ROOT = Path(__file__).resolve().parents[1]
BOT = ROOT / ".venv" / "bin" / "koreapage-bot"
DISCORD_RATE = 50.0
SLACK_CHANNEL_PACE = 1.0
SLACK_WORKSPACE_RATE = 5


@dataclass
class Timing:
    history_every: float = 60.0
    outage: float = 360.0
    fake_nonce_window: float = 300.0
    bot_nonce_window: float = 120.0
    quick: bool = False


# -- the bot as a subprocess ------------------------------------------------------------------


class BotProcess:
    def __init__(self, workdir: Path, env: dict[str, str], name: str) -> None:
        self.env = env
        self.log_path = workdir / f"{name}.log"
        self.proc: asyncio.subprocess.Process | None = None
        self.starts = 0

    async def start(self) -> None:
        self.starts += 1
        log = self.log_path.open("a", encoding="utf-8")
        log.write(f"--- start {self.starts} at {time.strftime('%H:%M:%S')}\n")
        log.flush()
        self.proc = await asyncio.create_subprocess_exec(
            str(BOT), "run", env=self.env, stdout=log, stderr=log, cwd=str(ROOT)
        )
        log.close()

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)

    async def wait(self) -> int:
        assert self.proc is not None
        return await self.proc.wait()

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), 60)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()

    def check_alive(self) -> None:
        if self.proc is not None and self.proc.returncode is not None:
            tail = self.log_path.read_text(encoding="utf-8")[-3000:]
            raise RuntimeError(f"the bot exited ({self.proc.returncode}):\n{tail}")


def bot_env(
    workdir: Path, db_url: str, discord: FakeDiscord, slack: FakeSlack, timing: Timing
) -> dict[str, str]:
    config = workdir / "koreapage.toml"
    config.write_text(
        "[poll]\ntick = 3600\n"
        "[analysis]\nfetch_full_text = false\n"
        "[delivery]\npublish_timeout = 15\nbase_backoff = 5\nmax_backoff = 60\n"
        "max_attempts = 30\nmax_in_flight = 64\n",
        encoding="utf-8",
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DISCORD_", "SLACK_", "KOREAPAGE_"))
    }
    env.update(
        {
            "KOREAPAGE_CONFIG": str(config),
            "KOREAPAGE_DATABASE_URL": db_url,
            "KOREAPAGE_LOG_LEVEL": "WARNING",
            "DISCORD_TOKEN": "fake-token",
            "DISCORD_API_BASE": discord.api_base,
            "DISCORD_GATEWAY_URL": discord.gateway_url,
            "DISCORD_GUILD_ID": str(discord.guild_id),
            "DISCORD_GUILD_READY_TIMEOUT": "0.05",
            "DISCORD_NONCE_WINDOW": str(timing.bot_nonce_window),
            "SLACK_BOT_TOKEN": slack.bot_token,
            "SLACK_API_URL": slack.api_url,
        }
    )
    return env


# -- the database: what to deliver, and what became of it ---------------------------------------


async def add_subscriptions(
    store: Store, platform: str, workspace: str, channels: Iterable[str], issues: Iterable[str]
) -> None:
    now = utcnow()
    rows = [
        {
            "platform": platform,
            "workspace": workspace,
            "channel": channel,
            "issues": list(issues),
            "feeds": [],
            "min_relevance": 0.0,
            "state": "active",
            "per_brief": True,
            "digest_tz": "UTC",
            "last_digest_at": now,
            "options": {},
            "created_at": now,
            "updated_at": now,
        }
        for channel in channels
    ]
    async with store.engine.begin() as conn:
        await conn.execute(t.subscriptions.insert(), rows)


async def seed(
    store: Store,
    discord: FakeDiscord,
    slack: FakeSlack,
    *,
    discord_channels: int,
    slack_channels: int,
    shared_briefs: int,
    slack_only_briefs: int,
) -> tuple[list[int], list[str]]:
    """Subscriptions and briefs: every channel gets the `shared_briefs`, Slack channels also the
    `slack_only_briefs`. Returns the channel ids."""
    discord_ids = [760000000000000000 + i for i in range(discord_channels)]
    slack_ids = [f"C0BENCH{i:04d}" for i in range(slack_channels)]
    for channel in slack_ids:
        slack.add_channel(channel)
    await add_subscriptions(
        store, "discord", str(discord.guild_id), map(str, discord_ids), ("usfk",)
    )
    await add_subscriptions(store, "slack", slack.team_id, slack_ids, ("usfk", "gsomia"))
    feed = await a_feed(store)
    for n in range(shared_briefs):
        await a_brief(store, feed, f"Alliance brief {n}", issues=("usfk",))
    for n in range(slack_only_briefs):
        await a_brief(store, feed, f"Intelligence pact brief {n}", issues=("gsomia",))
    return discord_ids, slack_ids


async def states(store: Store) -> Counter[tuple[str, str]]:
    """(platform, state) -> rows."""
    async with store.engine.connect() as conn:
        rows = await conn.execute(
            select(t.subscriptions.c.platform, t.deliveries.c.state, func.count())
            .join(t.subscriptions, t.subscriptions.c.id == t.deliveries.c.subscription_id)
            .group_by(t.subscriptions.c.platform, t.deliveries.c.state)
        )
        return Counter({(p, s): int(n) for p, s, n in rows})


async def delivery_keys(store: Store) -> dict[str, tuple[str, str, str]]:
    """delivery key -> (platform, channel, state)."""
    async with store.engine.connect() as conn:
        rows = await conn.execute(
            select(
                t.deliveries.c.id,
                t.subscriptions.c.platform,
                t.subscriptions.c.channel,
                t.deliveries.c.state,
            ).join(t.subscriptions, t.subscriptions.c.id == t.deliveries.c.subscription_id)
        )
        return {f"kp-{i}": (p, c, s) for i, p, c, s in rows}


def posted(discord: FakeDiscord, slack: FakeSlack) -> Counter[tuple[str, str]]:
    """(platform, delivery key) -> messages on the platform."""
    counts: Counter[tuple[str, str]] = Counter()
    for p in discord.posts:
        counts["discord", str(p.nonce)] += 1
    for messages in slack.history.values():
        for m in messages:
            counts[
                "slack", str(m.get("metadata", {}).get("event_payload", {}).get("delivery_key"))
            ] += 1
    return counts


@dataclass
class Tally:
    rows: int = 0
    sent: int = 0
    unsettled: int = 0  # pending / sending / dead at the end
    lost: int = 0  # not on the platform at all
    duplicated: int = 0  # messages beyond the first per delivery


async def tally(store: Store, discord: FakeDiscord, slack: FakeSlack) -> dict[str, Tally]:
    keys = await delivery_keys(store)
    on_platform = posted(discord, slack)
    out = {"discord": Tally(), "slack": Tally()}
    for key, (platform, _channel, state) in keys.items():
        t_ = out[platform]
        t_.rows += 1
        n = on_platform.get((platform, key), 0)
        if state == "sent":
            t_.sent += 1
        else:
            t_.unsettled += 1
        if n == 0:
            t_.lost += 1
        t_.duplicated += max(0, n - 1)
    return out


async def wait_until(
    check: Callable[[], Awaitable[bool]], timeout: float, bot: BotProcess, every: float = 0.5
) -> float:
    start = time.monotonic()
    while not await check():
        bot.check_alive()
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"not done after {timeout:.0f} s (log: {bot.log_path})")
        await asyncio.sleep(every)
    return time.monotonic() - start


async def all_settled(store: Store, total: int) -> bool:
    counts = await states(store)
    return sum(n for (_, s), n in counts.items() if s == "sent") >= total


# -- the scenarios --------------------------------------------------------------------------------


async def fanout(workdir: Path, timing: Timing) -> None:
    print("\n(a)+(b) 1,000 Discord channels x 1 brief, 4 Slack channels x 10 briefs, together")
    async with FakeDiscord() as discord, FakeSlack() as slack:
        db_url = f"sqlite+aiosqlite:///{workdir / 'fanout.db'}"
        store = await Store.open(db_url)
        try:
            _, slack_ids = await seed(
                store,
                discord,
                slack,
                discord_channels=1000,
                slack_channels=4,
                shared_briefs=1,
                slack_only_briefs=9,
            )
            total = sum((await states(store)).values())
            bot = BotProcess(workdir, bot_env(workdir, db_url, discord, slack, timing), "fanout")
            started = time.monotonic()
            await bot.start()
            try:
                await wait_until(lambda: all_settled(store, total), 300, bot)
            finally:
                await bot.stop()
            times = sorted(p.at for p in discord.posts)
            span = times[-1] - times[0]
            floor = (len(times) - 1) / DISCORD_RATE
            during = [c for c in slack.posts() if times[0] <= c.at <= times[-1]]
            print(f"  bot start to first Discord post   {times[0] - started:7.2f} s")
            per_second = Counter(int(x - times[0]) for x in times)
            print(
                f"  Discord: {len(times)} posts, first to last {span:6.2f} s = "
                f"{span / floor:4.2f} x the 50/s floor ({floor:.2f} s; target <= 1.10 x)"
            )
            print(
                f"  Discord arrivals at the fake: busiest second {max(per_second.values())}, "
                f"busiest sliding 1 s window {max_in_window(times)} (the bot sends at most 50 "
                "per 1.02 s; the fake's clock adds its own loop's jitter)"
            )
            print(f"  Slack posts made meanwhile        {len(during)} of {len(slack.posts())}")
            if os.environ.get("BENCH_DEBUG"):
                gaps_d = sorted(((b - a), i) for i, (a, b) in enumerate(itertools.pairwise(times)))
                print("  largest gaps", [(round(g, 3), i) for g, i in gaps_d[-8:]])
                per_s = Counter(int(x - times[0]) for x in times)
                print("  per second", [per_s[k] for k in sorted(per_s)])
            gaps: list[float] = []
            for channel in slack_ids:
                at = [c.at for c in slack.posts() if c.params["channel"] == channel]
                gaps += [b - a for a, b in itertools.pairwise(at)]
            all_at = sorted(c.at for c in slack.posts())
            print(
                f"  Slack: per-channel gaps min {min(gaps):.2f} s, median "
                f"{statistics.median(gaps):.2f} s (pace {1 / SLACK_CHANNEL_PACE:.2f} s); "
                f"workspace busiest 1 s window {max_in_window(all_at)} posts "
                f"(budget {SLACK_WORKSPACE_RATE}/s)"
            )
            t = await tally(store, discord, slack)
            print(
                f"  lost / duplicated: Discord {t['discord'].lost}/{t['discord'].duplicated}, "
                f"Slack {t['slack'].lost}/{t['slack'].duplicated}"
            )
        finally:
            await store.close()


async def lossy(workdir: Path, timing: Timing) -> None:
    print(
        "\n(c) 20 % of answers lost on both platforms, Slack history one call per "
        f"{timing.history_every:g} s"
    )
    async with (
        FakeDiscord(answer_loss=0.2, nonce_window=timing.fake_nonce_window) as discord,
        FakeSlack(answer_loss=0.2) as slack,
    ):
        slack.limit_history(every=timing.history_every)
        db_url = f"sqlite+aiosqlite:///{workdir / 'lossy.db'}"
        store = await Store.open(db_url)
        release: asyncio.Task[None] | None = None
        try:
            await seed(
                store,
                discord,
                slack,
                discord_channels=50,
                slack_channels=4,
                shared_briefs=5,
                slack_only_briefs=0,
            )
            total = sum((await states(store)).values())
            bot = BotProcess(workdir, bot_env(workdir, db_url, discord, slack, timing), "lossy")

            async def late_answers() -> None:
                while True:  # a held Discord answer comes back late, after the publish timeout
                    await asyncio.sleep(20)
                    discord.release_held()

            release = asyncio.create_task(late_answers())
            await bot.start()
            try:
                took = await wait_until(lambda: all_settled(store, total), 1800, bot, every=1.0)
            finally:
                await bot.stop()
            lost_slack = sum(1 for c in slack.calls_to("chat.postMessage") if c.lost)
            history = slack.calls_to("conversations.history")
            print(
                f"  answers lost: Discord {len(discord.lost)} of {len(discord.posts)} messages "
                f"made, Slack {lost_slack} of {len(slack.posts())} posts; all settled in "
                f"{took:.0f} s"
            )
            print(
                f"  Slack history calls {len(history)} "
                f"({sum(1 for c in history if c.status == 429)} answered 429); Discord "
                f"history reads {len(discord.calls('GET', '/channels/{channel_id}/messages'))}"
            )
            report(await tally(store, discord, slack))
        finally:
            if release is not None:
                release.cancel()
            discord.release_held()
            await store.close()


async def crash(workdir: Path, timing: Timing) -> None:
    print(
        f"\n(d) kill -9 with ~100 rows in flight, then a {timing.outage:g} s outage of both "
        "platforms while the bot restarts at once"
    )
    async with (
        FakeDiscord(nonce_window=timing.fake_nonce_window) as discord,
        FakeSlack() as slack,
    ):
        db_url = f"sqlite+aiosqlite:///{workdir / 'crash.db'}"
        store = await Store.open(db_url)
        try:
            await seed(
                store,
                discord,
                slack,
                discord_channels=200,
                slack_channels=60,
                shared_briefs=2,
                slack_only_briefs=0,
            )
            total = sum((await states(store)).values())
            discord.lose_answers("hold", times=10**6)  # every message is made, none answered
            slack.lose_answers("hold", times=10**6)
            bot = BotProcess(workdir, bot_env(workdir, db_url, discord, slack, timing), "crash")
            await bot.start()

            def held_on_slack() -> int:
                return sum(1 for c in slack.calls_to("chat.postMessage") if c.lost)

            async def enough_in_flight() -> bool:
                # ~100 posts made on the platforms whose answers have not come back
                return len(discord.lost) + held_on_slack() >= 100

            await wait_until(enough_in_flight, 120, bot, every=0.1)
            bot.kill9()
            await bot.wait()
            killed_at = time.monotonic()
            counts = await states(store)
            in_flight = {p: counts.get((p, "sending"), 0) for p in ("discord", "slack")}
            made = {"discord": len(discord.posts), "slack": len(slack.posts())}
            print(
                f"  at the kill: rows sending Discord {in_flight['discord']}, Slack "
                f"{in_flight['slack']}; of them posted with the answer held: Discord "
                f"{len(discord.lost)}, Slack {held_on_slack()} (posts made {made})"
            )
            discord.down = slack.down = True
            discord.stop_losing()
            slack.stop_losing()
            discord.release_held()
            slack.release_held()
            await bot.start()  # at once, into the outage
            await asyncio.sleep(max(0.0, timing.outage - (time.monotonic() - killed_at)))
            duplicates_during = sum(max(0, n - 1) for n in posted(discord, slack).values())
            discord.down = slack.down = False
            print(
                f"  platforms back after {time.monotonic() - killed_at:.0f} s "
                f"(duplicates so far {duplicates_during})"
            )
            try:
                took = await wait_until(lambda: all_settled(store, total), 1200, bot, every=1.0)
            finally:
                await bot.stop()
            print(f"  all {total} rows settled {took:.0f} s after the platforms came back")
            reads = len(discord.calls("GET", "/channels/{channel_id}/messages"))
            print(
                f"  Discord history reads {reads}, "
                f"Slack history calls {len(slack.calls_to('conversations.history'))}"
            )
            report(await tally(store, discord, slack))
        finally:
            await store.close()


def report(tallies: dict[str, Tally]) -> None:
    for platform, n in tallies.items():
        print(
            f"  {platform:<8} rows {n.rows:>4}, sent {n.sent:>4}, unsettled {n.unsettled}, "
            f"lost {n.lost}, duplicated {n.duplicated}   (target 0 / 0)"
        )


async def main(args: argparse.Namespace) -> None:
    timing = Timing()
    if args.quick:
        timing = Timing(10.0, 60.0, 50.0, 20.0, quick=True)
        print(
            "--quick: waits divided by six: history one call per 10 s, outage 60 s, the fake "
            "forgets a nonce after 50 s, DISCORD_NONCE_WINDOW=20"
        )
    if args.outage is not None:
        timing.outage = args.outage
    if not BOT.exists():
        raise SystemExit(f"{BOT} not found: run `make test` (or `make run`) once first")
    only = set(args.only.split(",")) if args.only else {"a", "c", "d"}
    with tempfile.TemporaryDirectory(prefix="koreapage-bench-") as tmp:
        workdir = Path(tmp)
        print(f"work directory (bot logs): {workdir}")
        if "a" in only or "b" in only:
            await fanout(workdir, timing)
        if "c" in only:
            await lossy(workdir, timing)
        if "d" in only:
            await crash(workdir, timing)
        if args.keep:
            await asyncio.to_thread(input, f"logs in {workdir}; press Enter to delete them")


def _args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--only", help="comma-separated scenarios: a (and b), c, d")
    parser.add_argument("--quick", action="store_true", help="divide the waits by six")
    parser.add_argument("--outage", type=float, help="seconds both platforms are down in (d)")
    parser.add_argument("--keep", action="store_true", help="keep the logs until Enter")
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(_args()))
