"""Publisher for Slack: chat.postMessage with Block Kit, platform errors mapped to outcomes.

The client given here must have no retry handlers (see `publishing_client`): a 429 goes back to
the core as RetryAfter so the dispatcher reschedules it and can slow the whole channel down,
instead of a worker sleeping inside the SDK. Connection errors are not retried either: Slack
has no idempotency key for chat.postMessage, so a blind resend after a dropped connection could
post twice; the core's retry (with its own backoff) is the one place that decides.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from koreapage_bot.adapters.slack import render
from koreapage_bot.delivery.ratelimit import RateBudget
from koreapage_bot.ports import BriefView, DeliveryTarget, Failed, PublishOutcome, RetryAfter, Sent

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
# Wait in place for the channel's pace up to this long; beyond it hand the wait back to the core
# (RetryAfter) rather than park a dispatcher worker.
MAX_PACING_WAIT = 5.0
# Message metadata that marks a post as one delivery, so `find_sent` can tell after a crash
# whether the post went out before the outcome was recorded.
METADATA_EVENT = "koreapage_delivery"
HISTORY_LIMIT = 200  # recent messages scanned by find_sent (a crash leaves only recent rows)


def publishing_client(token: str, api_url: str, timeout: int = 15) -> AsyncWebClient:
    """An AsyncWebClient without retry handlers (the core owns retries)."""
    return AsyncWebClient(token=token, base_url=api_url, timeout=timeout, retry_handlers=[])


class SlackPublisher:
    platform = "slack"

    def __init__(self, client: AsyncWebClient, budget: RateBudget | None = None) -> None:
        self._client = client
        self._budget = budget  # per-channel pace (~1 post/s) plus a workspace-wide one

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

    async def _post(
        self, target: DeliveryTarget, *, text: str, blocks: list[render.Block]
    ) -> PublishOutcome:
        kwargs: dict[str, Any] = {
            "channel": target.channel,
            "text": text,
            "blocks": blocks,
            "unfurl_links": False,
            "unfurl_media": False,
            "metadata": {
                "event_type": METADATA_EVENT,
                "event_payload": {"delivery_key": target.idempotency_key},
            },
        }
        thread_ts = target.options.get("thread_ts")
        if isinstance(thread_ts, str) and thread_ts:
            kwargs["thread_ts"] = thread_ts
        if self._budget is not None:
            wait = self._budget.delay(target.channel)
            if wait > MAX_PACING_WAIT:
                reason = f"slack: pacing posts to {target.channel}"
                return RetryAfter(wait, reason, rate_limited=True)
            await self._budget.acquire(target.channel)
        try:
            response = await self._client.chat_postMessage(**kwargs)
        except SlackApiError as exc:
            outcome = self._from_api_error(target, exc)
            if isinstance(outcome, RetryAfter) and self._budget is not None:
                self._budget.penalize(target.channel, outcome.seconds)
            return outcome
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

    async def find_sent(self, target: DeliveryTarget) -> str | None:
        """After a crash: the message id of this delivery's post when it is already in the
        channel (matched by metadata), else None. Needs channels:history / groups:history; an
        error raises, and the dispatcher then falls back to its in-doubt policy."""
        response = await self._client.conversations_history(
            channel=target.channel, limit=HISTORY_LIMIT, include_all_metadata=True
        )
        for message in response.get("messages") or []:
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if (
                metadata.get("event_type") == METADATA_EVENT
                and payload.get("delivery_key") == target.idempotency_key
            ):
                return f"{target.channel}:{message.get('ts')}"
        return None

    def _from_api_error(self, target: DeliveryTarget, exc: SlackApiError) -> PublishOutcome:
        response = exc.response
        status = int(getattr(response, "status_code", 0) or 0)
        error = ""
        data = getattr(response, "data", None)
        if isinstance(data, dict):
            error = str(data.get("error") or "")
        if status == 429 or error in RATE_LIMITED:
            seconds = _retry_after(getattr(response, "headers", None))
            reason = f"slack: rate limited on {target.channel}"
            return RetryAfter(seconds, reason, rate_limited=True)
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


def _backoff(attempt: int) -> float:
    return float(min(TRANSIENT_BASE * 2 ** max(attempt - 1, 0), TRANSIENT_MAX))
