"""Token-bucket rate budgets that publishers configure (Discord, Slack).

A `TokenBucket` paces one stream of requests; a `RateBudget` combines one global bucket with
lazily created per-key buckets (key = a channel). A 429 blocks a key, or the whole budget
(`penalize`); no per-route limits are hard-coded (discord.py paces each route itself).

Clock and sleep are injectable so tests run on virtual time. By default the clock is the running
event loop's clock, which is the one `asyncio.sleep` measures against.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import datetime
from typing import Protocol

log = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

# Float slack so refills that land a hair short of a whole token do not spin forever.
_EPS = 1e-9


def loop_clock() -> float:
    """The running loop's clock (what `asyncio.sleep` uses); monotonic outside a loop."""
    try:
        return asyncio.get_running_loop().time()
    except RuntimeError:
        return time.monotonic()


class TokenBucket:
    """`rate_per_s` tokens per second, holding at most `burst`. Waiters are served FIFO.

    Besides the steady refill, a bucket can be *blocked* until a time (a 429's retry-after).

    `window=(n, seconds)` adds a hard ceiling: never more than `n` takes in any `seconds`. With a
    burst above 1 it lets a waiter that the event loop woke a few milliseconds late catch up on
    the next request instead of losing that time for good (with burst 1 every late wake-up
    lowers the rate), while no window of `seconds` ever sees more than `n`. `initial` is how
    many tokens it starts with (default: `burst`).
    """

    def __init__(
        self,
        rate_per_s: float,
        burst: float = 1.0,
        *,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
        initial: float | None = None,
        window: tuple[int, float] | None = None,
    ) -> None:
        _check_rate(rate_per_s, burst)
        if window is not None and (window[0] < 1 or window[1] <= 0):
            raise ValueError(f"window must be (count >= 1, seconds > 0), not {window!r}")
        self._clock: Clock = clock or loop_clock
        self._sleep: Sleep = sleep or asyncio.sleep
        self._rate = float(rate_per_s)
        self._capacity = float(burst)
        self._tokens = float(burst) if initial is None else min(float(initial), float(burst))
        self._window = window
        self._recent: collections.deque[float] = collections.deque(
            maxlen=window[0] if window else 1
        )
        now = self._clock()
        self._updated = now
        self._last_used = now
        self._blocked_until = -math.inf
        self._waiting = 0
        self._lock = asyncio.Lock()  # FIFO: asyncio.Lock wakes waiters in arrival order

    # -- inspection ---------------------------------------------------------------------------

    @property
    def rate(self) -> float:
        return self._rate

    @property
    def burst(self) -> float:
        return self._capacity

    @property
    def waiting(self) -> int:
        """Acquisitions in progress (queued or sleeping)."""
        return self._waiting

    def tokens(self) -> float:
        """Tokens available now (after refill)."""
        self._refill(self._clock())
        return self._tokens

    def blocked_for(self) -> float:
        """Seconds until a penalty lifts (0 when not blocked)."""
        return max(0.0, self._blocked_until - self._clock())

    def delay(self, n: float = 1.0) -> float:
        """Seconds until `n` tokens could be taken, ignoring other waiters."""
        now = self._clock()
        self._refill(now)
        return self._delay_at(now, n)

    def is_idle(self, idle_for: float) -> bool:
        """True when unused for `idle_for` seconds and indistinguishable from a fresh bucket."""
        now = self._clock()
        self._refill(now)
        return (
            self._waiting == 0
            and not self._lock.locked()
            and now - self._last_used >= idle_for
            and now >= self._blocked_until
            and self._tokens >= self._capacity - _EPS
        )

    # -- taking tokens ------------------------------------------------------------------------

    async def acquire(self, n: float = 1.0) -> float:
        """Wait until `n` tokens are available and take them. Returns the seconds waited."""
        if n <= 0:
            return 0.0
        if n > self._capacity + _EPS:
            raise ValueError(f"cannot take {n} tokens from a bucket of {self._capacity}")
        start = self._clock()
        self._waiting += 1
        try:
            async with self._lock:
                while True:
                    now = self._clock()
                    self._refill(now)
                    wait = self._delay_at(now, n)
                    if wait <= 0:
                        self._take(now, n)
                        return max(0.0, now - start)
                    # Re-check after sleeping: headers or a penalty may have changed the plan.
                    await self._sleep(wait)
        finally:
            self._waiting -= 1

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Hold this bucket's FIFO turn without taking tokens (a caller that takes them itself
        with `take_now`, at the moment it goes)."""
        self._waiting += 1
        try:
            async with self._lock:
                yield
        finally:
            self._waiting -= 1

    def take_now(self, n: float = 1.0) -> bool:
        """Take `n` tokens if they are there this instant (queued waiters notwithstanding: for
        a caller that already holds this bucket's turn, see RateBudget.acquire)."""
        now = self._clock()
        self._refill(now)
        if self._delay_at(now, n) > 0:
            return False
        self._take(now, n)
        return True

    def retune(self, rate_per_s: float, window: tuple[int, float] | None) -> None:
        """A new rate (and window) from now on; waiters re-check with it when they wake."""
        _check_rate(rate_per_s, self._capacity)
        self._refill(self._clock())
        self._rate = float(rate_per_s)
        self._window = window
        recent = list(self._recent)
        self._recent = collections.deque(recent, maxlen=window[0] if window else 1)

    # -- penalties ----------------------------------------------------------------------------

    def block_until(self, when: float) -> None:
        """Let nothing through before clock time `when` (only ever extends a block)."""
        self._blocked_until = max(self._blocked_until, when)

    def block_for(self, seconds: float) -> None:
        self.block_until(self._clock() + max(0.0, seconds))

    # -- internals ----------------------------------------------------------------------------

    def _refill(self, now: float) -> None:
        if now <= self._updated:
            return
        self._tokens = min(self._capacity, self._tokens + (now - self._updated) * self._rate)
        self._updated = now

    def _delay_at(self, now: float, n: float) -> float:
        blocked = self._blocked_until - now
        if self._window is not None and len(self._recent) == self._window[0]:
            # The n-th take before this one must be a full window ago.
            blocked = max(blocked, self._recent[0] + self._window[1] - now)
        short = max(n - self._tokens, 0.0) / self._rate if self._tokens < n - _EPS else 0.0
        return max(blocked, short, 0.0)

    def _take(self, now: float, n: float) -> None:
        self._tokens = max(0.0, self._tokens - n)
        self._last_used = now
        if self._window is not None:
            self._recent.append(now)


def _check_rate(rate_per_s: float, burst: float) -> None:
    if not (rate_per_s > 0 and math.isfinite(rate_per_s)):
        raise ValueError(f"rate_per_s must be a positive finite number, not {rate_per_s!r}")
    if not (burst >= 1 and math.isfinite(burst)):
        raise ValueError(f"burst must be at least 1, not {burst!r}")


class SharedRate(Protocol):
    """A platform-wide rate kept in the database for every process (store.rates.SharedRates)."""

    async def view(self, name: str) -> tuple[float, Mapping[str, datetime]]: ...
    async def block(self, name: str, seconds: float) -> None: ...


# Whether a registered process still runs: (holder id, heartbeats, now); delivery.holder.is_alive.
Liveness = Callable[[str, Mapping[str, datetime], datetime], bool]

SHARE_REFRESH = 1.0  # seconds between two looks at who shares the rate
# A view of the members older than this is not used: the takers wait for a fresh one.
SHARE_MAX_AGE = 2.0
# A process joining waits this long after its first view that shows itself, so every other
# process has seen it (and lowered its share) before it sends: the sum never passes the rate.
SHARE_JOIN_WAIT = SHARE_MAX_AGE + SHARE_REFRESH + 1.0


class SharedPace:
    """This process's share of a rate that several processes share (Discord's 50 requests a
    second are per bot, not per process): the rate divided by the live dispatcher processes,
    paced locally, so a request costs no database round trip. Who lives is read every
    `SHARE_REFRESH` seconds (delivery_holders: the process table on this host, heartbeats
    elsewhere); a process that joins waits `SHARE_JOIN_WAIT` before its first request, and a
    view older than `SHARE_MAX_AGE` is refreshed before anyone goes, so the shares never add
    up to more than the rate while the processes keep their loops turning.

    A platform-wide block any process reported comes back with the next look, or at once when
    the report's NOTIFY arrives (`wake`): `on_blocked`. A process with little to send leaves
    part of its share unused (the price of no per-request round trip); with a shared queue
    every process has work while there is a backlog.

    When the database cannot answer, the last view stands (claiming deliveries needs the
    database too, so few would go)."""

    def __init__(
        self,
        rates: SharedRate,
        name: str,
        rate_per_s: float,
        *,
        holder: str,
        liveness: Liveness,
        now: Callable[[], datetime],
        clock: Clock | None = None,
        sleep: Sleep | None = None,
        refresh: float = SHARE_REFRESH,
        max_age: float = SHARE_MAX_AGE,
        join_wait: float = SHARE_JOIN_WAIT,
    ) -> None:
        _check_rate(rate_per_s, 1.0)
        if not 0 < refresh < max_age < join_wait:
            raise ValueError("need 0 < refresh < max_age < join_wait")
        self._rates = rates
        self.name = name
        self._rate = float(rate_per_s)
        self._refresh_every, self._max_age, self._join_wait = refresh, max_age, join_wait
        self._holder = holder
        self._liveness = liveness
        self._now = now
        self._clock: Clock = clock or loop_clock
        self._sleep: Sleep = sleep or asyncio.sleep
        self.members = 1  # live processes sharing the rate, this one included
        self._joined_at: float | None = None  # clock time of the first view that showed us
        self._viewed_at = -math.inf  # clock time a successful view started
        self._tried_at = -math.inf
        self._bucket = TokenBucket(
            self._rate,
            2.0,
            clock=self._clock,
            sleep=self._sleep,
            initial=1.0,
            window=_window(self._rate, self._rate),
        )
        self._refreshing = asyncio.Lock()
        self._poke = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._last_take = -math.inf
        self.on_blocked: Callable[[float], None] | None = None
        self.views = 0  # round trips to the database (bench, tests)

    @property
    def share(self) -> float:
        """Requests a second this process may make now."""
        return self._bucket.rate

    def start(self) -> None:
        """Begin looking now (a dispatcher starting), so this process has joined the share by
        the time its first request comes instead of waiting `SHARE_JOIN_WAIT` then."""
        self._last_take = self._clock()
        self._keep_fresh()

    async def take(self) -> None:
        self._last_take = self._clock()
        self._keep_fresh()
        while True:
            now = self._clock()
            stale = now - self._viewed_at > self._max_age
            if stale and now - self._tried_at >= self._refresh_every:
                await self.refresh()
            now = self._clock()
            if self._joined_at is None or now - self._viewed_at > self._max_age:
                # Not registered yet (nobody counts us), or no fresh view to go on.
                await self._sleep(self._refresh_every)
                continue
            wait = self._joined_at + self._join_wait - now
            if wait > 0:
                await self._sleep(wait)
                continue
            await self._bucket.acquire()
            return

    async def refresh(self) -> None:
        """Look at who shares the rate and whether a platform-wide block is on."""
        async with self._refreshing:
            started = self._clock()
            if started - self._tried_at < 0.05:  # another caller just looked
                return
            self._tried_at = started
            try:
                blocked, heartbeats = await self._rates.view(self.name)
            except Exception as exc:
                # Nobody can register meanwhile either: the last view stands.
                log.warning("shared %s rate unavailable (%r); last share kept", self.name, exc)
                self._viewed_at = started
                return
            self.views += 1
            now = self._now()
            alive = {h for h in heartbeats if self._liveness(h, heartbeats, now)}
            if self._holder in heartbeats:
                if self._joined_at is None:
                    self._joined_at = started
            else:
                self._joined_at = None
            members = len(alive | {self._holder})
            share = self._rate / members
            if share != self._bucket.rate:
                self._bucket.retune(share, _window(self._rate, share))
            if members != self.members:
                log.info(
                    "%s rate shared by %d processes: %.1f requests/s here",
                    self.name,
                    members,
                    share,
                    extra={"event": "rate_share", "members": members, "share": share},
                )
            self.members = members
            self._viewed_at = started
            if blocked > 0 and self.on_blocked is not None:
                self.on_blocked(blocked)

    def wake(self) -> None:
        """Another process reported a platform-wide block: look now."""
        self._tried_at = -math.inf
        self._poke.set()

    def _keep_fresh(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._refresh_loop(), name=f"share-{self.name}"
            )

    async def _refresh_loop(self) -> None:
        # While requests go (and a while after), the view is kept fresh in the background so
        # a waiting request never goes on an old share.
        while self._clock() - self._last_take < 30.0:
            await self.refresh()
            self._poke.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poke.wait(), self._refresh_every)

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def block(self, seconds: float) -> None:
        try:
            await self._rates.block(self.name, seconds)
        except Exception as exc:
            log.warning("could not share a %s rate limit (%r)", self.name, exc)


def _window(rate: float, share: float) -> tuple[int, float]:
    """The hard ceiling of one share: the shares' counts add up to at most the rate in any
    second and a spacing (requests reach the platform a little closer than they left)."""
    return (max(1, int(share + 1e-9)), 1.0 + 1.0 / rate)


class RateBudget:
    """One global bucket plus per-key buckets created on first use.

    `acquire(key)` takes the key's turn (FIFO among that key's callers), waits until the key
    could go, then waits FIFO for the global bucket and takes both tokens at that one instant.
    So a slow or penalised key only queues its own requests, other keys wait only for the
    global budget, and the key's spacing is measured between the moments requests really go
    (taking the key's token before the global wait would let the next request of that key
    follow almost at once). Idle per-key buckets are pruned so memory stays bounded with many
    channels.
    """

    def __init__(
        self,
        global_rate: float,
        global_burst: float = 1.0,
        *,
        global_initial: float | None = None,
        global_window: tuple[int, float] | None = None,
        key_rate: float,
        key_burst: float = 1.0,
        idle_ttl: float = 300.0,
        max_keys: int = 10_000,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
        shared: SharedPace | None = None,
    ) -> None:
        _check_rate(key_rate, key_burst)
        if idle_ttl < 0 or max_keys < 1:
            raise ValueError("idle_ttl must be >= 0 and max_keys >= 1")
        self._clock: Clock = clock or loop_clock
        self._sleep: Sleep = sleep or asyncio.sleep
        self.global_bucket = TokenBucket(
            global_rate,
            global_burst,
            clock=self._clock,
            sleep=self._sleep,
            initial=global_initial,
            window=global_window,
        )
        self._key_rate = float(key_rate)
        self._key_burst = float(key_burst)
        self._idle_ttl = float(idle_ttl)
        self._max_keys = max_keys
        self._buckets: dict[str, TokenBucket] = {}
        self._next_prune = self._clock() + self._idle_ttl
        self._prune_at = max_keys  # map size that forces a sweep (grows if all keys are busy)
        # Several processes share the platform's global rate: each request also waits for a
        # slot of the shared schedule, and a platform-wide 429 is told to the others.
        self.shared = shared
        self._telling: set[asyncio.Task[None]] = set()
        if shared is not None:
            shared.on_blocked = self.global_bucket.block_for

    def __len__(self) -> int:
        """Per-key buckets currently held."""
        return len(self._buckets)

    def __contains__(self, key: object) -> bool:
        return key in self._buckets

    def bucket(self, key: str) -> TokenBucket:
        """The key's bucket, created with the default rate on first use."""
        found = self._buckets.get(key)
        if found is None:
            self._maybe_prune()
            found = TokenBucket(
                self._key_rate, self._key_burst, clock=self._clock, sleep=self._sleep
            )
            self._buckets[key] = found
        return found

    @property
    def clock(self) -> Clock:
        """The clock the budget measures with (the loop's, or the one injected in tests)."""
        return self._clock

    async def acquire(self, key: str) -> float:
        """Wait for one request's worth on `key` and on the global budget, and take both at
        the same instant. Returns seconds waited."""
        start = self._clock()
        kb = self.bucket(key)
        async with kb.turn():
            while True:
                wait = kb.delay()
                if wait > 0:
                    await self._sleep(wait)
                    continue
                if self.shared is not None:
                    # This process's turn in the schedule shared with the others first; the
                    # local bucket after it keeps the ceiling where the request really goes.
                    await self.shared.take()
                await self.global_bucket.acquire()
                if kb.take_now():
                    break
                # A 429 for this key arrived while we queued globally: wait it out and take a
                # fresh global slot, so the global rate still holds when we actually go.
        return max(0.0, self._clock() - start)

    async def ready(self, key: str) -> None:
        """Sleep until `key` could go and no platform-wide block is on (takes nothing). A caller
        waits here before it commits to a request, so a blocked channel or platform parks
        nothing but itself."""
        while True:
            wait = max(self.bucket(key).delay(), self.global_bucket.blocked_for())
            if wait <= 0:
                return
            await self._sleep(wait)

    def delay(self, key: str) -> float:
        """Seconds before `key` could go, ignoring queued waiters."""
        kb = self._buckets.get(key)
        key_delay = kb.delay() if kb is not None else 0.0
        return max(key_delay, self.global_bucket.delay())

    def penalize(self, key: str | None, retry_after: float, *, is_global: bool = False) -> None:
        """A 429 was seen: block `key` (or everything, when global) for `retry_after` s."""
        retry_after = max(0.0, retry_after)
        if is_global or key is None:
            self.global_bucket.block_for(retry_after)
            if self.shared is not None:
                with contextlib.suppress(RuntimeError):  # no running loop: nothing to tell
                    task = asyncio.get_running_loop().create_task(self.shared.block(retry_after))
                    self._telling.add(task)
                    task.add_done_callback(self._telling.discard)
        else:
            self.bucket(key).block_for(retry_after)

    def start(self) -> None:
        """A dispatcher starts: a shared rate begins registering this process now."""
        if self.shared is not None:
            self.shared.start()

    def prune(self) -> int:
        """Drop per-key buckets idle for `idle_ttl` and back at rest. Returns how many."""
        idle = [k for k, b in self._buckets.items() if b.is_idle(self._idle_ttl)]
        for k in idle:
            del self._buckets[k]
        self._next_prune = self._clock() + max(self._idle_ttl, 1.0)
        # If every key is busy, do not sweep again on each new key: wait for the map to double.
        self._prune_at = max(self._max_keys, 2 * len(self._buckets))
        return len(idle)

    def _maybe_prune(self) -> None:
        # Amortised: a sweep at most once per idle_ttl, or when the map outgrows max_keys.
        if len(self._buckets) >= self._prune_at or self._clock() >= self._next_prune:
            self.prune()


def discord_budget(
    *,
    global_rate: float = 50.0,
    clock: Clock | None = None,
    sleep: Sleep | None = None,
    idle_ttl: float = 300.0,
    max_keys: int = 10_000,
    shared: SharedPace | None = None,
) -> RateBudget:
    """Discord: 50 requests/s per bot globally, evenly spaced, and never more than 50 in any
    1.02 s window. One token of credit (burst 2, starting with 1) lets a request the event loop
    released late be followed by the next one on schedule, so a busy loop does not drag the
    rate below 50/s; the window keeps the ceiling exact.

    Per-route limits are not hard-coded: discord.py waits out each route's own window (its
    X-RateLimit-* headers); a 429 that still comes back penalises the channel or the budget.

    `shared`: the 50/s is per bot, not per process: with several processes each one takes its
    share of it (SharedPace), and a global 429 seen by one process holds them all.
    """
    return RateBudget(
        global_rate,
        2.0,
        global_initial=1.0,
        # One spacing more than a second: requests that reach Discord a few milliseconds
        # closer together than they left still count at most `global_rate` in any second.
        global_window=(max(1, int(global_rate)), 1.0 + 1.0 / global_rate),
        key_rate=global_rate,
        key_burst=1.0,
        idle_ttl=idle_ttl,
        max_keys=max_keys,
        clock=clock,
        sleep=sleep,
        shared=shared,
    )


def slack_budget(
    *,
    per_channel_rate: float = 1.0,
    global_rate: float = 5.0,
    global_burst: float = 1.0,
    clock: Clock | None = None,
    sleep: Sleep | None = None,
    idle_ttl: float = 300.0,
    max_keys: int = 10_000,
) -> RateBudget:
    """Slack chat.postMessage: about 1 message/s per channel; a modest workspace-wide pace
    (several hundred per minute is Slack's stated ceiling; 5/s stays well under it)."""
    return RateBudget(
        global_rate,
        global_burst,
        key_rate=per_channel_rate,
        key_burst=1.0,
        idle_ttl=idle_ttl,
        max_keys=max_keys,
        clock=clock,
        sleep=sleep,
    )
