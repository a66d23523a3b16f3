"""ports.Publisher for Discord: briefs as embeds, sent over REST, errors mapped to outcomes.

Sent only once: each message carries its delivery key twice, as the `nonce` (with
`enforce_nonce`, Discord drops a repeat for a few minutes) and at the end of the last embed's
footer (Discord's message history does not return nonces). Within `nonce_window` of the first
attempt a retry simply resends; beyond it the dispatcher first asks `find_sent`, which reads the
channel's messages from the window in which an attempt may have posted.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import aiohttp
import discord

from koreapage_bot.adapters.discord.notice import notice_content
from koreapage_bot.adapters.discord.render import (
    ALSO_REPORTED,
    Embed,
    brief_embed,
    digest_parts,
    fit_message,
    no_mentions,
    to_embeds,
    truncate,
)
from koreapage_bot.config import DiscordConfig
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
FOOTER_MAX = 2048
# A look-up reads messages from the first attempt on, widened for clocks that disagree.
CLOCK_SKEW = timedelta(seconds=120)
MAX_SCAN = 1000  # messages read by one look-up; a busier window cannot be checked


def nonce_for(key: str) -> str:
    """The delivery's idempotency key as a Discord nonce (≤25 chars, stable across retries)."""
    if len(key) <= NONCE_MAX:
        return key
    return hashlib.sha256(key.encode()).hexdigest()[:NONCE_MAX]


def stamp(embeds: list[Embed], key: str) -> list[Embed]:
    """The delivery key at the end of the last embed's footer, where `find_sent` reads it
    back ("Brief 12 · kp-345")."""
    if not embeds:
        return embeds
    out = [dict(e) for e in embeds]
    footer = dict(out[-1].get("footer") or {})
    text = str(footer.get("text") or "")
    tail = f" · {key}" if text else key
    footer["text"] = truncate(text, FOOTER_MAX - len(tail)) + tail
    out[-1]["footer"] = footer
    return out


def keys_in(message: discord.Message) -> set[str]:
    """Delivery keys found in a message's embed footers."""
    keys: set[str] = set()
    for embed in message.embeds:
        text = embed.footer.text or ""
        if text:
            keys.add(text.rsplit(" · ", 1)[-1].strip())
    return keys


class GlobalLimitWatch:
    """Notes Discord's global 429s (X-RateLimit-Global) from the HTTP client's trace: the
    `RateLimited` discord.py raises for a long 429 does not say whether it was global."""

    def __init__(self) -> None:
        self.until = 0.0  # loop time until which Discord refuses every request
        # Told of every global 429 (seconds), also those discord.py waits out by itself: the
        # dispatcher's budget holds every channel, and every process sharing the budget.
        self.on_global: Callable[[float], None] | None = None

    def trace_config(self) -> aiohttp.TraceConfig:
        trace = aiohttp.TraceConfig()
        trace.on_request_end.append(self._on_end)
        return trace

    async def _on_end(
        self, session: aiohttp.ClientSession, ctx: SimpleNamespace, params: Any
    ) -> None:
        response = params.response
        if response.status != 429:
            return
        headers = response.headers
        is_global = headers.get("X-RateLimit-Global", "").lower() == "true"
        if not is_global and headers.get("X-RateLimit-Scope", "").lower() != "global":
            return
        try:
            seconds = float(headers.get("Retry-After") or 1.0)
        except ValueError:
            seconds = 1.0
        loop = asyncio.get_running_loop()
        self.until = max(self.until, loop.time() + seconds)
        if self.on_global is not None:
            try:
                self.on_global(seconds)
            except Exception:
                log.exception("a global rate-limit hook failed")

    def active(self) -> bool:
        try:
            return asyncio.get_running_loop().time() < self.until
        except RuntimeError:
            return False


def _retry_after_header(exc: discord.HTTPException, default: float) -> float:
    headers: Any = getattr(exc.response, "headers", None) or {}
    for name in ("Retry-After", "X-RateLimit-Reset-After"):
        try:
            return max(0.0, float(headers[name]))
        except (KeyError, TypeError, ValueError):
            continue
    return default


def map_error(exc: BaseException, *, global_limit: bool = False) -> PublishOutcome:
    """A discord.py / transport exception as a publisher outcome. `global_limit`: a global 429
    is in force (see GlobalLimitWatch)."""
    if isinstance(exc, discord.RateLimited):
        # A 429 longer than max_ratelimit_timeout: the core reschedules instead of blocking,
        # and holds every channel when the limit is global.
        reason = "rate limited by Discord" + (" (global)" if global_limit else "")
        return RetryAfter(exc.retry_after, reason, rate_limited=True, platform_wide=global_limit)
    if isinstance(exc, discord.HTTPException):
        code = exc.code
        if exc.status in (403, 404) and code in UNUSABLE_CODES:
            return Failed(f"Discord {exc.status} ({code}): {UNUSABLE_CODES[code]}", True)
        if exc.status == 429:  # without `Via`: Cloudflare, discord.py did not retry
            seconds = _retry_after_header(exc, 60.0)
            # Cloudflare's limit is per IP: it holds everything this bot sends.
            return RetryAfter(
                seconds, "rate limited (HTTP 429)", rate_limited=True, platform_wide=True
            )
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
        self, client: Callable[[], discord.Client | None], settings: DiscordConfig
    ) -> None:
        self._client = client  # the adapter's current client (None before start)
        self._settings = settings
        self._webhooks: dict[int, discord.Webhook] = {}
        self.global_limit = GlobalLimitWatch()  # the adapter puts its trace on the client

    async def publish(self, target: DeliveryTarget, view: BriefView) -> PublishOutcome:
        embeds = fit_message(stamp([brief_embed(view)], target.idempotency_key))
        return await self._send(target, None, embeds, thread_name=view.title)

    async def publish_digest(
        self, target: DeliveryTarget, views: Sequence[BriefView], title: str
    ) -> PublishOutcome:
        if not views:
            return Sent(None)
        content, embeds = digest_parts(views, title)
        embeds = fit_message(stamp(embeds, target.idempotency_key))
        return await self._send(target, content, embeds, thread_name=title)

    async def publish_notice(self, channel: str, notice: Notice, key: str) -> PublishOutcome:
        """A notice to the operators' channel: plain content, the notice key as nonce."""
        target = DeliveryTarget(0, 0, self.platform, None, channel, 1, key)
        return await self._send(target, notice_content(notice), [], thread_name="")

    async def edit(
        self, target: DeliveryTarget, message: PostedMessage, view: BriefView
    ) -> PublishOutcome:
        """Update the story's message to `view` (PATCH /channels/{id}/messages/{id}), keeping
        its delivery key in the footer. A retry (an earlier attempt may have made the edit)
        reads the message first and leaves it alone when it already shows `view`."""
        client = self._client()
        if client is None or client.user is None or client.is_closed():
            return RetryAfter(NETWORK_RETRY, "Discord client is not logged in yet")
        try:
            channel_id, message_id = int(target.channel), int(message.message_id)
        except ValueError:
            return Failed(f"not a Discord message: {target.channel!r} {message.message_id!r}")
        embeds = fit_message(stamp([brief_embed(view)], message.key))
        channel = client.get_partial_messageable(channel_id)
        try:
            if target.maybe_sent or target.attempt > 1:
                current = await channel.fetch_message(message_id)
                if _shows(current, embeds):
                    return Sent(message.message_id)
            edited = await channel.get_partial_message(message_id).edit(
                embeds=to_embeds(embeds), allowed_mentions=no_mentions()
            )
        except discord.NotFound:
            # The story's message was deleted: nothing to update, and no reason to pause.
            return Failed("the story's message is gone (deleted)")
        except Exception as exc:
            outcome = map_error(exc, global_limit=self.global_limit.active())
            if isinstance(outcome, Failed) and outcome.channel_unusable:
                return outcome
            log.warning("discord story update %s: %s", target.delivery_id, outcome)
            return outcome
        return Sent(str(edited.id))

    async def reply(
        self, target: DeliveryTarget, message: PostedMessage, view: BriefView
    ) -> PublishOutcome:
        """Post a later report in the story's thread: the thread a message starts has the
        message's id (Discord), so this is a post to that channel. No thread yet (it could
        not be made with the post): it is made now; threads off: a post in the channel."""
        if not self._settings.allow_threads:
            return await self.publish(replace(target, options={}), view)
        thread = replace(target, channel=message.message_id, options={})
        outcome = await self.publish(thread, view)
        if not (isinstance(outcome, Failed) and outcome.channel_unusable):
            return outcome
        client = self._client()
        if client is None:
            return RetryAfter(NETWORK_RETRY, "Discord client is not logged in yet")
        try:
            parent = client.get_partial_messageable(int(target.channel))
            started = parent.get_partial_message(int(message.message_id))
            await started.create_thread(name=truncate(view.title, THREAD_NAME_MAX) or "Reports")
        except Exception as exc:
            reason = outcome.reason
            return Failed(f"cannot reply in the story's thread ({reason}; {exc!r})")
        return await self.publish(thread, view)

    def _uses_webhook(self, target: DeliveryTarget) -> bool:
        return bool(target.options.get("webhook")) and self._settings.allow_webhooks

    def resend_window(self, target: DeliveryTarget) -> float:
        # Webhook executes take no nonce: every retry of those looks first.
        return 0.0 if self._uses_webhook(target) else self._settings.nonce_window

    async def find_sent(self, targets: Sequence[DeliveryTarget]) -> LookupOutcome:
        """Which of these deliveries (one channel) are already posted: the bot's messages
        from the window in which an attempt may have posted them, matched by the delivery
        key in the embed footer. A reply in a story's thread is looked for in that thread.
        Needs Read Message History."""
        where: dict[str, list[DeliveryTarget]] = {}
        for t in targets:
            where.setdefault(str(t.options.get("reply_to") or t.channel), []).append(t)
        found: dict[str, str] = {}
        for channel, group in where.items():
            outcome = await self._find_in(channel, group)
            if not isinstance(outcome, Found):
                return outcome
            found.update(outcome.messages)
        return Found(found)

    async def _find_in(self, channel_ref: str, targets: Sequence[DeliveryTarget]) -> LookupOutcome:
        if not targets:
            return Found({})
        client = self._client()
        if client is None or client.user is None or client.is_closed():
            return RetryAfter(NETWORK_RETRY, "Discord client is not logged in yet")
        try:
            channel_id = int(channel_ref)
        except ValueError:
            return Failed(f"not a Discord channel id: {channel_ref!r}")
        wanted = {t.idempotency_key for t in targets}
        since, until = _window(targets)
        channel = client.get_partial_messageable(channel_id)
        found: dict[str, str] = {}
        scanned = 0
        try:
            # Oldest first from the window's start, and past its end nothing can be ours; with
            # no window, the newest messages.
            history = (
                channel.history(limit=MAX_SCAN, after=since, oldest_first=True)
                if since is not None
                else channel.history(limit=MAX_SCAN)
            )
            async for message in history:
                if until is not None and message.created_at > until:
                    break
                scanned += 1
                if message.author.id != client.user.id and message.webhook_id is None:
                    continue  # only the bot's own posts (or its webhook's) count
                for key in keys_in(message) & wanted:
                    found.setdefault(key, str(message.id))
                if found.keys() >= wanted:
                    break
        except Exception as exc:
            outcome = map_error(exc, global_limit=self.global_limit.active())
            if isinstance(outcome, RetryAfter):
                return outcome
            reason = outcome.reason if isinstance(outcome, Failed) else repr(exc)
            return Failed(f"cannot read the channel's messages: {reason}")
        if scanned >= MAX_SCAN and found.keys() < wanted:
            return Failed(f"more than {MAX_SCAN} messages to check")
        return Found(found)

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
            if self._uses_webhook(target):
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
            outcome = map_error(exc, global_limit=self.global_limit.active())
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


def _shows(message: discord.Message, embeds: Sequence[Embed]) -> bool:
    """Whether `message` already shows these embeds where a story update changes them (its
    title, summary and fields, the "Also reported by" list among them)."""
    if len(message.embeds) != len(embeds):
        return False
    for have, want in zip(message.embeds, embeds, strict=True):
        fields = [(f.name, f.value) for f in have.fields]
        wanted = [(f["name"], f["value"]) for f in want.get("fields", [])]
        if fields != wanted or (have.title or "") != want.get("title", ""):
            return False
        if (have.description or "") != want.get("description", ""):
            return False
    return any(f.name == ALSO_REPORTED for e in message.embeds for f in e.fields)


def _window(targets: Sequence[DeliveryTarget]) -> tuple[datetime | None, datetime | None]:
    """Where to read: around every target's lookup window (None: from the first attempt on,
    or the latest messages)."""
    windows = [t.lookup_window for t in targets]
    if any(w is None for w in windows):
        firsts = [t.first_attempt_at for t in targets]
        if any(f is None for f in firsts):
            return None, None
        return min(f for f in firsts if f is not None) - CLOCK_SKEW, None
    starts = [w[0] for w in windows if w is not None]
    ends = [w[1] for w in windows if w is not None]
    return min(starts) - CLOCK_SKEW, max(ends) + CLOCK_SKEW
