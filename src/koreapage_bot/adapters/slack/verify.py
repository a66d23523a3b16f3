"""Checking a request to /slack/events before anything reads it, and refusing replays.

Slack signs each request: `X-Slack-Signature` is `v0=` + HMAC-SHA256 of `v0:<timestamp>:<raw
body>` with the app's signing secret, and the timestamp must be within 5 minutes. That check
runs here on the raw bytes, before the body is decoded or parsed, so nothing an unauthenticated
sender puts in a body or a header (bytes that are not UTF-8, a timestamp of `abc` or of 5,000
digits) can raise: it gets a 400 or a 401 and one log line.

A valid request may still be a copy sent again within those 5 minutes. Each signature is
accepted once (`ReplayGuard`, shared through the database when several processes serve Slack);
a second one is refused with 401. Slack retries Events API deliveries (never slash commands),
marking them `X-Slack-Retry-Num`; a retry of a request already handled gets 200 and is not
run again.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from koreapage_bot.ports import ReplayGuard

MAX_AGE = 300  # seconds either way, as Slack documents
# A signature stays in the replay cache until its timestamp can no longer pass the age check.
REMEMBER = MAX_AGE + 60
_TIMESTAMP_DIGITS = 12  # seconds since 1970 have 10 digits until the year 2286


class Refused(Exception):
    """The request is refused: `status` to answer, `reason` for the one log line."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Verified:
    body: str
    timestamp: int
    signature: str

    @property
    def expires_at(self) -> datetime:
        """When this signature can no longer pass the age check, wherever it is sent."""
        return datetime.fromtimestamp(self.timestamp + REMEMBER, UTC)


def verify(
    secret: str,
    raw: bytes,
    headers: Mapping[str, str],
    now: float | None = None,
) -> Verified:
    """The request, authenticated and decoded; raises `Refused` otherwise."""
    stamp = headers.get("X-Slack-Request-Timestamp", "").strip()
    signature = headers.get("X-Slack-Signature", "").strip()
    if not stamp or not signature:
        raise Refused(401, "no Slack signature")
    if not (stamp.isascii() and stamp.isdigit()) or len(stamp) > _TIMESTAMP_DIGITS:
        raise Refused(401, "malformed Slack timestamp")
    timestamp = int(stamp)
    current = time.time() if now is None else now
    if abs(current - timestamp) > MAX_AGE:
        raise Refused(401, "stale Slack timestamp (more than 5 minutes off)")
    expected = hmac.new(secret.encode(), b"v0:" + stamp.encode() + b":" + raw, hashlib.sha256)
    given = signature.encode("utf-8", errors="replace")
    if not hmac.compare_digest(("v0=" + expected.hexdigest()).encode(), given):
        raise Refused(401, "bad Slack signature")
    try:
        body = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, "signed body is not UTF-8") from None
    return Verified(body, timestamp, signature)


async def check_replay(guard: ReplayGuard, request: Verified, headers: Mapping[str, str]) -> bool:
    """True when `request` is new and should run; False for a Slack retry of one already
    handled (answer 200, run nothing). Raises `Refused` (401) for a replay."""
    if await guard.first_seen(request.signature, request.expires_at):
        return True
    if headers.get("X-Slack-Retry-Num"):
        return False
    raise Refused(401, "replayed Slack request (this signature was already used)")


class MemoryReplayGuard:
    """A replay cache for one process, used when no shared one is given."""

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._seen: dict[str, datetime] = {}
        self._clock = clock
        self._lock = asyncio.Lock()

    async def first_seen(self, key: str, expires_at: datetime) -> bool:
        async with self._lock:
            now = self._clock()
            for old in [k for k, until in self._seen.items() if until < now]:
                del self._seen[old]
            if key in self._seen:
                return False
            self._seen[key] = expires_at
            return True

    async def forget(self, key: str) -> None:
        async with self._lock:
            self._seen.pop(key, None)
