"""ports.Publisher for Discord: briefs as embeds, sent over REST, errors mapped to outcomes."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Sequence
from typing import Any

import aiohttp
import discord

from koreapage_bot.adapters.discord.render import (
    Embed,
    brief_embed,
    digest_parts,
    fit_message,
    no_mentions,
    to_embeds,
    truncate,
)
from koreapage_bot.adapters.discord.settings import DiscordSettings
from koreapage_bot.ports import BriefView, DeliveryTarget, Failed, PublishOutcome, RetryAfter, Sent

log = logging.getLogger(__name__)

# JSON error codes meaning "this channel cannot take our posts" (the subscription is paused).
UNUSABLE_CODES = {
    10003: "unknown channel (deleted, or the bot cannot see it)",
    50001: "missing access to the channel",
    50013: "missing permissions (Send Messages / Embed Links)",
    50083: "the thread is archived",
}
NONCE_MAX = 25  # Discord rejects longer nonces
WEBHOOK_NAME = "koreapage-bot"
THREAD_NAME_MAX = 100
SERVER_ERROR_RETRY = 30.0
NETWORK_RETRY = 15.0


def nonce_for(key: str) -> str:
    """The delivery's idempotency key as a Discord nonce (≤25 chars, stable across retries)."""
    if len(key) <= NONCE_MAX:
        return key
    return hashlib.sha256(key.encode()).hexdigest()[:NONCE_MAX]


def _retry_after_header(exc: discord.HTTPException, default: float) -> float:
    headers: Any = getattr(exc.response, "headers", None) or {}
    for name in ("Retry-After", "X-RateLimit-Reset-After"):
        try:
            return max(0.0, float(headers[name]))
        except (KeyError, TypeError, ValueError):
            continue
    return default


def map_error(exc: BaseException) -> PublishOutcome:
    """A discord.py / transport exception as a publisher outcome."""
    if isinstance(exc, discord.RateLimited):
        # A 429 longer than max_ratelimit_timeout: the core reschedules instead of blocking.
        return RetryAfter(exc.retry_after, "rate limited by Discord", rate_limited=True)
    if isinstance(exc, discord.HTTPException):
        code = exc.code
        if exc.status in (403, 404) and code in UNUSABLE_CODES:
            return Failed(f"Discord {exc.status} ({code}): {UNUSABLE_CODES[code]}", True)
        if exc.status == 429:  # without `Via`: Cloudflare, discord.py did not retry
            seconds = _retry_after_header(exc, 60.0)
            return RetryAfter(seconds, "rate limited (HTTP 429)", rate_limited=True)
        if exc.status >= 500:
            # It may have been posted; the retry carries the same nonce, which Discord drops.
            reason = f"Discord server error {exc.status}"
            return RetryAfter(SERVER_ERROR_RETRY, reason, maybe_sent=True)
        text = truncate(exc.text or "", 300)
        return Failed(f"Discord {exc.status} ({code}): {text}".rstrip(": "))
    if isinstance(exc, asyncio.TimeoutError | aiohttp.ClientError | OSError):
        reason = f"network error talking to Discord: {exc!r}"
        return RetryAfter(NETWORK_RETRY, reason, maybe_sent=True)
    if isinstance(exc, discord.InvalidData):
        return Failed(f"Discord answered something unexpected: {exc}")
    # Not a platform error (a bug): logged with its traceback, reported, never raised.
    log.error("unexpected error while publishing to Discord", exc_info=exc)
    return Failed(f"unexpected error: {exc!r}")


class DiscordPublisher:
    """Sends to a channel id over REST; needs no guild cache (`get_partial_messageable`)."""

    platform = "discord"

    def __init__(
        self, client: Callable[[], discord.Client | None], settings: DiscordSettings
    ) -> None:
        self._client = client  # the adapter's current client (None before start)
        self._settings = settings
        self._webhooks: dict[int, discord.Webhook] = {}

    async def publish(self, target: DeliveryTarget, view: BriefView) -> PublishOutcome:
        embeds = fit_message([brief_embed(view)])
        return await self._send(target, None, embeds, thread_name=view.title)

    async def publish_digest(
        self, target: DeliveryTarget, views: Sequence[BriefView], title: str
    ) -> PublishOutcome:
        if not views:
            return Sent(None)
        content, embeds = digest_parts(views, title)
        return await self._send(target, content, embeds, thread_name=title)

    async def _send(
        self, target: DeliveryTarget, content: str | None, embeds: list[Embed], thread_name: str
    ) -> PublishOutcome:
        client = self._client()
        if client is None or client.user is None or client.is_closed():
            return RetryAfter(NETWORK_RETRY, "Discord client is not logged in yet")
        try:
            channel_id = int(target.channel)
        except ValueError:
            return Failed(f"not a Discord channel id: {target.channel!r}", True)
        try:
            if target.options.get("webhook") and self._settings.allow_webhooks:
                message: discord.Message = await self._via_webhook(
                    client, channel_id, content, embeds
                )
            else:
                # guild_id lets the returned message start a thread (needs the guild cached).
                workspace = target.workspace or ""
                guild_id = int(workspace) if workspace.isdigit() else None
                channel = client.get_partial_messageable(channel_id, guild_id=guild_id)
                message = await channel.send(
                    content=content,
                    embeds=to_embeds(embeds),
                    nonce=nonce_for(target.idempotency_key),  # discord.py adds enforce_nonce
                    allowed_mentions=no_mentions(),
                )
        except Exception as exc:
            outcome = map_error(exc)
            log.warning("discord delivery %s: %s", target.delivery_id, outcome)
            return outcome
        if target.options.get("thread") and self._settings.allow_threads:
            await self._start_thread(message, thread_name)
        return Sent(str(message.id))

    async def _start_thread(self, message: discord.Message, name: str) -> None:
        # The brief is already posted: a failed thread must not make the core resend it.
        try:
            await message.create_thread(
                name=truncate(name, THREAD_NAME_MAX) or "Discussion", auto_archive_duration=1440
            )
        except Exception as exc:
            log.warning("could not start a thread on message %s: %r", message.id, exc)

    async def _via_webhook(
        self, client: discord.Client, channel_id: int, content: str | None, embeds: list[Embed]
    ) -> discord.Message:
        """Post through a channel webhook under the bot's own name and avatar.

        Webhook executes take no nonce, so a retry after a lost answer may post twice; that is
        the price of this opt-in mode.
        """
        hook = self._webhooks.get(channel_id)
        if hook is None:
            hook = await self._find_or_create_webhook(client, channel_id)
            self._webhooks[channel_id] = hook
        user = client.user
        assert user is not None
        try:
            return await hook.send(
                content=content or discord.utils.MISSING,
                embeds=to_embeds(embeds),
                username=truncate(user.name, 80),
                avatar_url=user.display_avatar.url,
                allowed_mentions=no_mentions(),
                wait=True,
            )
        except discord.NotFound:
            self._webhooks.pop(channel_id, None)  # deleted by someone: recreate next time
            raise

    async def _find_or_create_webhook(
        self, client: discord.Client, channel_id: int
    ) -> discord.Webhook:
        channel = await client.fetch_channel(channel_id)
        if not isinstance(channel, discord.TextChannel | discord.ForumChannel):
            raise discord.InvalidData(f"channel {channel_id} cannot have webhooks")
        for hook in await channel.webhooks():
            if hook.token and hook.user is not None and hook.user.id == client.application_id:
                return hook
            if hook.token and hook.name == WEBHOOK_NAME:
                return hook
        return await channel.create_webhook(name=WEBHOOK_NAME)
