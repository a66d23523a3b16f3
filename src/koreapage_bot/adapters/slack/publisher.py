"""Publisher for Slack: chat.postMessage with Block Kit, platform errors mapped to outcomes.

The client given here must have no retry handlers (see `publishing_client`): a 429 goes back to
the core as RetryAfter so the dispatcher reschedules it and holds the whole workspace, instead
of a worker sleeping inside the SDK. Connection errors are not retried either: Slack has no
idempotency key for chat.postMessage, so a blind resend after a dropped connection could post
twice; the core's retry (with its own backoff) is the one place that decides, after asking
`find_sent` whether the post is already there.

Pacing (about one post a second per channel, a workspace-wide ceiling) is the dispatcher's job:
it owns the Slack `RateBudget` (see bootstrap).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from koreapage_bot.adapters.slack import render
from koreapage_bot.adapters.slack.notice import notice_blocks, notice_fallback
from koreapage_bot.ports import (
    BriefView,
    DeliveryTarget,
    Failed,
    Found,
    LookupOutcome,
    Notice,
    PostedMessage,
    PublishOutcome,
    RetryAfter,
    Sent,
)

log = logging.getLogger(__name__)

# Errors that mean this channel cannot take our posts until a person does something.
CHANNEL_UNUSABLE = {
    "channel_not_found": "the channel does not exist or the bot cannot see it",
    "not_in_channel": "the bot is not a member of the channel; invite it with /invite",
    "is_archived": "the channel is archived",
    "account_inactive": "the bot's account or workspace is deactivated",
    "restricted_action": "the workspace does not let the bot post in this channel",
    # Token trouble stops every Slack post, not just this channel; pausing is still right (no
    # retry will succeed) and the reason tells the operator to fix the token.
    "invalid_auth": "the bot token is invalid; update SLACK_BOT_TOKEN and resume",
    "token_revoked": "the bot token was revoked; reinstall the app and resume",
    "not_authed": "no bot token was sent; set SLACK_BOT_TOKEN and resume",
    "missing_scope": "the app lacks the chat:write scope; reinstall it from the manifest",
}
RATE_LIMITED = {"ratelimited", "rate_limited"}
DEFAULT_RETRY_AFTER = 1.0
TRANSIENT_BASE = 5.0  # seconds; doubled per attempt for 5xx and network trouble
TRANSIENT_MAX = 300.0
# Message metadata that marks a post as one delivery, so `find_sent` can tell after a crash
# or a lost answer whether the post went out before the outcome was recorded.
METADATA_EVENT = "koreapage_delivery"
# conversations.history is asked only about the window in which an attempt may have posted,
# widened by this much for clocks that disagree (ours and Slack's).
CLOCK_SKEW = timedelta(seconds=120)
# Messages per history page: Slack caps apps outside its Marketplace at 15 per call (and one
# call a minute), so ask for no more; a busier window is paged with the cursor.
HISTORY_LIMIT = 15
MAX_PAGES = 20  # beyond this many pages of other messages, the look-up cannot tell
MAX_SCANS_KEPT = 1000
# History errors that will not go away by asking again: the dispatcher then follows
# delivery.in_doubt.
LOOKUP_IMPOSSIBLE = {
    "missing_scope": "the app lacks channels:history / groups:history",
    "not_in_channel": "the bot is not a member of the channel",
    "channel_not_found": "the channel does not exist or the bot cannot see it",
    "invalid_auth": "the bot token is invalid",
    "token_revoked": "the bot token was revoked",
    "not_authed": "no bot token was sent",
    "account_inactive": "the bot's account or workspace is deactivated",
}


@dataclass
class _Scan:
    """A history scan cut short by a 429, resumed from its cursor at the next call."""

    cursor: str
    found: dict[str, str] = field(default_factory=dict)


def publishing_client(token: str, api_url: str, timeout: int = 15) -> AsyncWebClient:
    """An AsyncWebClient without retry handlers (the core owns retries)."""
    return AsyncWebClient(token=token, base_url=api_url, timeout=timeout, retry_handlers=[])


class SlackPublisher:
    platform = "slack"

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client
        self._scans: dict[tuple[str, str, str], _Scan] = {}

    async def publish(self, target: DeliveryTarget, view: BriefView) -> PublishOutcome:
        return await self._post(
            target, text=render.brief_fallback(view), blocks=render.brief_blocks(view)
        )

    async def publish_digest(
        self, target: DeliveryTarget, views: Sequence[BriefView], title: str
    ) -> PublishOutcome:
        return await self._post(
            target,
            text=render.digest_fallback(views, title),
            blocks=render.digest_blocks(views, title),
        )

    async def publish_notice(self, channel: str, notice: Notice, key: str) -> PublishOutcome:
        """A notice to the operators' channel, its key in the metadata like a delivery's."""
        target = DeliveryTarget(0, 0, self.platform, None, channel, 1, key)
        return await self._post(target, text=notice_fallback(notice), blocks=notice_blocks(notice))

    async def edit(
        self, target: DeliveryTarget, message: PostedMessage, view: BriefView
    ) -> PublishOutcome:
        """chat.update the story's message to `view`, keeping its metadata (the delivery key
        `find_sent` reads). Making the same update twice changes nothing."""
        channel, _, ts = message.message_id.rpartition(":")
        if not ts:
            return Failed(f"slack: not a message reference: {message.message_id!r}")
        try:
            response = await self._client.chat_update(
                channel=channel or target.channel,
                ts=ts,
                text=render.brief_fallback(view),
                blocks=render.brief_blocks(view),
                metadata=_metadata(message.key),
            )
        except SlackApiError as exc:
            data = getattr(exc.response, "data", None)
            error = str(data.get("error") or "") if isinstance(data, dict) else ""
            if error in ("message_not_found", "cant_update_message", "edit_window_closed"):
                # Deleted, or not ours to change: nothing to update, no reason to pause.
                return Failed(f"slack: cannot update the story's message: {error}")
            return self._from_api_error(target, exc)
        except (TimeoutError, aiohttp.ClientError) as exc:
            # Sent or not, sending the same update again is harmless.
            reason = f"slack: network error: {exc!r}"
            return RetryAfter(_backoff(target.attempt), reason, maybe_sent=True)
        ts = response.get("ts") or ts
        return Sent(f"{response.get('channel') or channel}:{ts}")

    async def reply(
        self, target: DeliveryTarget, message: PostedMessage, view: BriefView
    ) -> PublishOutcome:
        """A later report in the story's thread (`thread_ts`), with its own delivery key."""
        _, _, ts = message.message_id.rpartition(":")
        threaded = replace(target, options={**target.options, "thread_ts": ts})
        return await self.publish(threaded, view)

    async def _post(
        self, target: DeliveryTarget, *, text: str, blocks: list[render.Block]
    ) -> PublishOutcome:
        kwargs: dict[str, Any] = {
            "channel": target.channel,
            "text": text,
            "blocks": blocks,
            "unfurl_links": False,
            "unfurl_media": False,
            "metadata": _metadata(target.idempotency_key),
        }
        thread_ts = target.options.get("thread_ts")
        if isinstance(thread_ts, str) and thread_ts:
            kwargs["thread_ts"] = thread_ts
        try:
            response = await self._client.chat_postMessage(**kwargs)
        except SlackApiError as exc:
            return self._from_api_error(target, exc)
        except aiohttp.ClientConnectorError as exc:  # never connected: certainly not posted
            return RetryAfter(_backoff(target.attempt), f"slack: cannot connect: {exc!r}")
        except (TimeoutError, aiohttp.ClientError) as exc:
            # The request may have been posted before the answer was lost: the core looks
            # (find_sent) before posting again.
            reason = f"slack: network error: {exc!r}"
            return RetryAfter(_backoff(target.attempt), reason, maybe_sent=True)
        channel = response.get("channel") or target.channel
        ts = response.get("ts")
        return Sent(f"{channel}:{ts}" if ts else None)

    def resend_window(self, target: DeliveryTarget) -> float:
        return 0.0  # chat.postMessage has no idempotency key: always look before resending

    async def find_sent(self, targets: Sequence[DeliveryTarget]) -> LookupOutcome:
        """Which of these deliveries (one channel) are already posted, by the delivery key in
        the message metadata. One conversations.history call (more only for a busy window)
        answers for all of them, asked only about the window in which they may have been
        posted; a reply in a story's thread is looked for in that thread
        (conversations.replies). Needs channels:history / groups:history."""
        plain = [t for t in targets if not t.options.get("reply_to")]
        threads: dict[str, list[DeliveryTarget]] = {}
        for t in targets:
            if t.options.get("reply_to"):
                threads.setdefault(str(t.options["reply_to"]), []).append(t)
        found: dict[str, str] = {}
        for parent, group in threads.items():
            outcome = await self._find_in_thread(parent, group)
            if not isinstance(outcome, Found):
                return outcome
            found.update(outcome.messages)
        if plain:
            outcome = await self._find_in_channel(plain)
            if not isinstance(outcome, Found):
                return outcome
            found.update(outcome.messages)
        return Found(found)

    async def _find_in_thread(
        self, parent: str, targets: Sequence[DeliveryTarget]
    ) -> LookupOutcome:
        channel, _, ts = parent.rpartition(":")
        channel = channel or targets[0].channel
        oldest, latest = _window(targets)
        wanted = {t.idempotency_key for t in targets}
        found: dict[str, str] = {}
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            params: dict[str, Any] = {
                "channel": channel,
                "ts": ts,
                "limit": HISTORY_LIMIT,
                "include_all_metadata": True,
                "inclusive": True,
            }
            if oldest:
                params["oldest"] = oldest
            if latest:
                params["latest"] = latest
            if cursor:
                params["cursor"] = cursor
            try:
                response = await self._client.conversations_replies(**params)
            except SlackApiError as exc:
                return self._lookup_error(channel, exc)
            except (TimeoutError, aiohttp.ClientError) as exc:
                return RetryAfter(TRANSIENT_BASE, f"slack: replies: network error: {exc!r}")
            found.update(_keys_in(response.get("messages") or [], wanted, channel))
            meta = response.get("response_metadata") or {}
            cursor = meta.get("next_cursor") or None
            if found.keys() >= wanted or not response.get("has_more") or not cursor:
                return Found(found)
        return Failed(f"slack: more than {MAX_PAGES * HISTORY_LIMIT} replies to check")

    async def _find_in_channel(self, targets: Sequence[DeliveryTarget]) -> LookupOutcome:
        if not targets:
            return Found({})
        channel = targets[0].channel
        oldest, latest = _window(targets)
        wanted = {t.idempotency_key for t in targets}
        key = (channel, oldest, latest)
        scan = self._scans.pop(key, None)
        found = dict(scan.found) if scan else {}
        cursor = scan.cursor if scan else None
        for _ in range(MAX_PAGES):
            params: dict[str, Any] = {
                "channel": channel,
                "limit": HISTORY_LIMIT,
                "include_all_metadata": True,
                "inclusive": True,
            }
            if oldest:
                params["oldest"] = oldest
            if latest:
                params["latest"] = latest
            if cursor:
                params["cursor"] = cursor
            try:
                response = await self._client.conversations_history(**params)
            except SlackApiError as exc:
                outcome = self._lookup_error(channel, exc)
                if cursor and isinstance(outcome, RetryAfter):
                    if len(self._scans) >= MAX_SCANS_KEPT:
                        self._scans.clear()  # abandoned scans (settled meanwhile): start over
                    self._scans[key] = _Scan(cursor, found)  # go on from here next time
                return outcome
            except (TimeoutError, aiohttp.ClientError) as exc:
                return RetryAfter(TRANSIENT_BASE, f"slack: history: network error: {exc!r}")
            for delivery_key, ref in _keys_in(
                response.get("messages") or [], wanted, channel
            ).items():
                found.setdefault(delivery_key, ref)
            meta = response.get("response_metadata") or {}
            cursor = meta.get("next_cursor") or None
            if found.keys() >= wanted or not response.get("has_more") or not cursor:
                return Found(found)
        return Failed(f"slack: more than {MAX_PAGES * HISTORY_LIMIT} messages to check")

    def _lookup_error(self, channel: str, exc: SlackApiError) -> LookupOutcome:
        response = exc.response
        status = int(getattr(response, "status_code", 0) or 0)
        data = getattr(response, "data", None)
        error = str(data.get("error") or "") if isinstance(data, dict) else ""
        if status == 429 or error in RATE_LIMITED:
            seconds = _retry_after(getattr(response, "headers", None))
            # conversations.history is limited per workspace (one call a minute for apps
            # outside the Marketplace): every channel's look-up waits, not just this one.
            reason = "slack: conversations.history is rate limited"
            return RetryAfter(seconds, reason, rate_limited=True, platform_wide=True)
        if error in LOOKUP_IMPOSSIBLE:
            return Failed(f"slack: history of {channel}: {error}: {LOOKUP_IMPOSSIBLE[error]}")
        return RetryAfter(TRANSIENT_BASE, f"slack: history of {channel}: {error or status}")

    def _from_api_error(self, target: DeliveryTarget, exc: SlackApiError) -> PublishOutcome:
        response = exc.response
        status = int(getattr(response, "status_code", 0) or 0)
        error = ""
        data = getattr(response, "data", None)
        if isinstance(data, dict):
            error = str(data.get("error") or "")
        if status == 429 or error in RATE_LIMITED:
            seconds = _retry_after(getattr(response, "headers", None))
            # Slack does not say which limit was hit. Its limits apply per method per
            # workspace (chat.postMessage: about one post a second per channel, and a
            # workspace-wide ceiling), so the whole workspace waits: at worst the other
            # channels pause for Retry-After (usually a second) for nothing.
            reason = f"slack: rate limited on {target.channel}"
            return RetryAfter(seconds, reason, rate_limited=True, platform_wide=True)
        if error in CHANNEL_UNUSABLE:
            reason = f"slack: {error}: {CHANNEL_UNUSABLE[error]}"
            return Failed(reason, channel_unusable=True)
        if status >= 500 or error in {"internal_error", "fatal_error", "service_unavailable"}:
            reason = f"slack: server error {status} {error}"
            return RetryAfter(_backoff(target.attempt), reason, maybe_sent=True)
        # Everything else (invalid_blocks, msg_too_long, ...) is a bug in what we sent; resending
        # the same body will not help, so the core marks it failed without pausing the channel.
        log.warning("slack rejected a post to %s: %s (%s)", target.channel, error, status)
        return Failed(f"slack: {error or f'http {status}'}")


def _keys_in(messages: Sequence[Any], wanted: set[str], channel: str) -> dict[str, str]:
    """Delivery key -> "channel:ts" of the messages carrying one of `wanted` in metadata."""
    found: dict[str, str] = {}
    for message in messages:
        metadata = message.get("metadata") or {}
        payload = metadata.get("event_payload") or {}
        delivery_key = payload.get("delivery_key")
        if metadata.get("event_type") == METADATA_EVENT and delivery_key in wanted:
            found.setdefault(str(delivery_key), f"{channel}:{message.get('ts')}")
    return found


def _metadata(key: str) -> dict[str, Any]:
    return {"event_type": METADATA_EVENT, "event_payload": {"delivery_key": key}}


def _retry_after(headers: Any) -> float:
    raw = None
    if headers is not None:
        try:
            raw = headers.get("Retry-After") or headers.get("retry-after")
        except AttributeError:
            raw = None
    try:
        return max(float(raw), 0.0) if raw is not None else DEFAULT_RETRY_AFTER
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER


def _window(targets: Sequence[DeliveryTarget]) -> tuple[str, str]:
    """`oldest` and `latest` (Slack timestamps) around every target's lookup window; empty
    strings when a target has none (then the channel's latest messages are read)."""
    windows = [t.lookup_window for t in targets]
    if any(w is None for w in windows):
        return "", ""
    starts = [w[0] for w in windows if w is not None]
    ends = [w[1] for w in windows if w is not None]
    return _ts(min(starts) - CLOCK_SKEW), _ts(max(ends) + CLOCK_SKEW)


def _ts(when: datetime) -> str:
    return f"{math.floor(when.timestamp() * 1e6) / 1e6:.6f}"


def _backoff(attempt: int) -> float:
    return float(min(TRANSIENT_BASE * 2 ** max(attempt - 1, 0), TRANSIENT_MAX))
