"""Checking a request to /slack/events before anything reads it.

Slack signs each request: `X-Slack-Signature` is `v0=` + HMAC-SHA256 of `v0:<timestamp>:<raw
body>` with the app's signing secret, and the timestamp must be within 5 minutes. That check
runs here on the raw bytes, before the body is decoded or parsed, so nothing an unauthenticated
sender puts in a body or a header (bytes that are not UTF-8, a timestamp of `abc` or of 5,000
digits) can raise: it gets a 400 or a 401 and one log line.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass

MAX_AGE = 300  # seconds either way, as Slack documents
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
