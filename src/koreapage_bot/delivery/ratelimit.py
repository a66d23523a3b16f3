"""Token-bucket rate budgets that publishers configure (Discord, Slack).

A `TokenBucket` paces one stream of requests; a `RateBudget` combines one global bucket with
lazily created per-key buckets (key = Discord route/channel, Slack channel). Per-key buckets learn
from the platform's answers (`update_from_headers`, `penalize`) instead of hard-coded limits.

Clock and sleep are injectable so tests run on virtual time. By default the clock is the running
event loop's clock, which is the one `asyncio.sleep` measures against.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass

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

    Besides the steady refill, a bucket can be *blocked* until a time (a 429's retry-after) and can
    *hold* a fixed window (Discord's X-RateLimit-*: `remaining` until the reset, then `limit`).

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
        self._hold_until: float | None = None  # no steady refill before this (fixed window)
        self._refill_to = 0.0  # tokens available when the held window resets
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
            and self._hold_until is None
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

    def try_acquire(self, n: float = 1.0) -> float:
        """Take `n` tokens now if possible and return 0.0; else take nothing and return the
        seconds to wait. Never jumps the queue of `acquire` waiters."""
        now = self._clock()
        self._refill(now)
        wait = self._delay_at(now, n)
        if wait <= 0 and (self._waiting or self._lock.locked()):
            wait = max(1.0 / self._rate, _EPS)
        if wait <= 0:
            self._take(now, n)
            return 0.0
        return wait

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

    def refund(self, n: float = 1.0) -> None:
        """Give back tokens taken a moment ago for a request that was not sent."""
        self._tokens = min(self._capacity, self._tokens + n)

    async def wait_unblocked(self) -> None:
        """Sleep until any penalty on this bucket has lifted (tokens are not taken)."""
        while (wait := self._blocked_until - self._clock()) > 0:
            await self._sleep(wait)

    # -- learning from the platform -----------------------------------------------------------

    def block_until(self, when: float) -> None:
        """Let nothing through before clock time `when` (only ever extends a block)."""
        self._blocked_until = max(self._blocked_until, when)

    def block_for(self, seconds: float) -> None:
        self.block_until(self._clock() + max(0.0, seconds))

    def set_rate(self, rate_per_s: float, burst: float | None = None) -> None:
        _check_rate(rate_per_s, self._capacity if burst is None else burst)
        self._refill(self._clock())
        self._rate = float(rate_per_s)
        if burst is not None:
            self._capacity = float(burst)
            self._tokens = min(self._tokens, self._capacity)

    def apply_window(self, limit: int, remaining: int, reset_after: float) -> None:
        """Adopt a fixed window as reported by the platform: at most `remaining` more requests
        until `reset_after` seconds from now, then `limit` again.

        Never raises the local count above what we have already spent locally: requests still in
        flight when the response came back are not yet counted by the server's `remaining`.
        """
        now = self._clock()
        self._refill(now)
        limit = max(1, int(limit))
        remaining = max(0, int(remaining))
        self._capacity = float(limit)
        self._tokens = min(self._tokens, float(remaining), self._capacity)
        reset_at = now + max(0.0, reset_after)
        if reset_at > now:
            self._hold_until = reset_at
            self._refill_to = float(limit)

    # -- internals ----------------------------------------------------------------------------

    def _refill(self, now: float) -> None:
        if now <= self._updated:
            return
        if self._hold_until is not None:
            if now < self._hold_until:
                self._updated = now
                return
            # The window reset: full again, then steady refill resumes from the reset instant.
            self._tokens = max(self._tokens, min(self._refill_to, self._capacity))
            self._updated = self._hold_until
            self._hold_until = None
        self._tokens = min(self._capacity, self._tokens + (now - self._updated) * self._rate)
        self._updated = now

    def _delay_at(self, now: float, n: float) -> float:
        blocked = self._blocked_until - now
        if self._window is not None and len(self._recent) == self._window[0]:
            # The n-th take before this one must be a full window ago.
            blocked = max(blocked, self._recent[0] + self._window[1] - now)
        if self._tokens >= n - _EPS:
            short = 0.0
        elif self._hold_until is not None:
            short = self._hold_until - now
            if self._refill_to < n - _EPS:  # even the reset will not be enough: refill after it
                short += (n - self._refill_to) / self._rate
        else:
            short = (n - self._tokens) / self._rate
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


@dataclass(frozen=True, slots=True)
class RateLimitInfo:
    """Discord's rate-limit headers, parsed. Times are seconds."""

    limit: int | None
    remaining: int | None
    reset_after: float | None
    bucket: str | None = None
    is_global: bool = False
    scope: str | None = None  # "user" | "global" | "shared"
    retry_after: float | None = None


def parse_ratelimit_headers(headers: Mapping[str, str]) -> RateLimitInfo | None:
    """Read X-RateLimit-* (and Retry-After) from any mapping, case-insensitively.

    Returns None when none of the headers is present. Malformed values count as absent.
    """
    low = {k.lower(): v for k, v in headers.items()}

    def num(name: str) -> float | None:
        raw = low.get(name)
        if raw is None:
            return None
        try:
            value = float(raw.strip())
        except ValueError:
            return None
        return value if math.isfinite(value) and value >= 0 else None

    limit = num("x-ratelimit-limit")
    remaining = num("x-ratelimit-remaining")
    reset_after = num("x-ratelimit-reset-after")
    retry_after = num("retry-after")
    bucket = low.get("x-ratelimit-bucket")
    scope = low.get("x-ratelimit-scope")
    is_global = low.get("x-ratelimit-global", "").strip().lower() == "true"
    values = (limit, remaining, reset_after, retry_after, bucket, scope)
    if not is_global and all(v is None for v in values):
        return None
    return RateLimitInfo(
        limit=None if limit is None else int(limit),
        remaining=None if remaining is None else int(remaining),
        reset_after=reset_after,
        bucket=bucket,
        is_global=is_global or scope == "global",
        scope=scope,
        retry_after=retry_after,
    )


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

    def try_acquire(self, key: str) -> float:
        """Non-blocking: 0.0 when a slot was taken on both buckets; else seconds to wait
        (nothing is taken). Lets a dispatcher reschedule instead of parking a worker."""
        kb = self.bucket(key)
        wait = max(kb.delay(), self.global_bucket.delay())
        if wait > 0:
            return wait
        wait = kb.try_acquire()
        if wait > 0:
            return wait
        wait = self.global_bucket.try_acquire()
        if wait > 0:
            kb.refund()  # nothing was sent
        return wait

    def delay(self, key: str) -> float:
        """Seconds before `key` could go, ignoring queued waiters."""
        kb = self._buckets.get(key)
        key_delay = kb.delay() if kb is not None else 0.0
        return max(key_delay, self.global_bucket.delay())

    def update_from_headers(
        self, key: str, limit: int | None, remaining: int | None, reset_after: float | None
    ) -> None:
        """Adopt a key's window from Discord-style X-RateLimit-Limit/-Remaining/-Reset-After.

        Missing values leave the bucket as it is (no route limits are hard-coded)."""
        if limit is None or remaining is None or reset_after is None:
            return
        self.bucket(key).apply_window(limit, remaining, reset_after)

    def update_from_info(self, key: str, info: RateLimitInfo | None) -> None:
        """Apply parsed headers from a response (any status)."""
        if info is None:
            return
        self.update_from_headers(key, info.limit, info.remaining, info.reset_after)

    def penalize(self, key: str | None, retry_after: float, *, is_global: bool = False) -> None:
        """A 429 was seen: block `key` (or everything, when global) for `retry_after` s."""
        retry_after = max(0.0, retry_after)
        if is_global or key is None:
            self.global_bucket.block_for(retry_after)
        else:
            self.bucket(key).block_for(retry_after)

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
) -> RateBudget:
    """Discord: 50 requests/s per bot globally, evenly spaced, and never more than 50 in any
    1.02 s window. One token of credit (burst 2, starting with 1) lets a request the event loop
    released late be followed by the next one on schedule, so a busy loop does not drag the
    rate below 50/s; the window keeps the ceiling exact.

    Per-route limits are not hard-coded: a route starts paced only by the global rate and adopts
    its real window from the first response's X-RateLimit-* headers.
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
