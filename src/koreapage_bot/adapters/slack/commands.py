"""`/briefs` and `/feeds`: acknowledge at once, ask the command service, answer via response_url."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from koreapage_bot.adapters.slack.render import reply_message
from koreapage_bot.commands.api import CommandApi
from koreapage_bot.commands.replies import Caller, Reply, ReplyKind

log = logging.getLogger(__name__)

GROUPS = ("briefs", "feeds")
HELP_WORDS = {"help", "-h", "--help", "?"}

Respond = Callable[..., Awaitable[Any]]


class AdminResolver:
    """Workspace admins and owners (users.info), or users on the configured allowlist.

    Answers are cached for `ttl` seconds so a burst of commands costs one users.info call; a
    failed lookup counts as "not admin" and is not cached, so it is retried next time.
    """

    def __init__(
        self,
        client: AsyncWebClient,
        allowlist: frozenset[str] = frozenset(),
        ttl: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._allowlist = allowlist
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[str, tuple[float, bool]] = {}

    async def is_admin(self, user_id: str) -> bool:
        if user_id in self._allowlist:
            return True
        now = self._clock()
        hit = self._cache.get(user_id)
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        try:
            response = await self._client.users_info(user=user_id)
        except SlackApiError as exc:
            log.warning("users.info for %s failed: %s", user_id, exc.response.get("error"))
            return False
        except Exception as exc:  # network trouble: refuse admin actions, keep serving
            log.warning("users.info for %s failed: %r", user_id, exc)
            return False
        user = response.get("user") or {}
        admin = bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))
        self._cache[user_id] = (now, admin)
        return admin


def caller_from_command(command: dict[str, Any], is_admin: bool) -> Caller:
    return Caller(
        platform="slack",
        workspace=command.get("team_id") or command.get("enterprise_id"),
        channel=str(command.get("channel_id") or ""),
        user_id=str(command.get("user_id") or ""),
        is_admin=is_admin,
        user_name=command.get("user_name"),
    )


async def answer(
    api: CommandApi, admins: AdminResolver, command: dict[str, Any], respond: Respond
) -> Reply:
    """Run one slash command and send the reply through response_url. Never raises."""
    group = str(command.get("command", "")).lstrip("/").lower()
    if group not in GROUPS:  # a renamed command in the manifest still maps by suffix
        group = next((g for g in GROUPS if group.endswith(g)), "briefs")
    text = " ".join(str(command.get("text") or "").split())
    try:
        # `help <command>` goes to the grammar, which knows each sub-command's usage.
        if not text or text.lower() in HELP_WORDS:
            reply = api.usage(group)
        else:
            is_admin = await admins.is_admin(str(command.get("user_id") or ""))
            reply = await api.execute(caller_from_command(command, is_admin), group, text)
    except Exception:
        log.exception("/%s %r failed", group, text[:200])
        reply = Reply(ReplyKind.ERROR, "Something went wrong on our side; please try again.")
    try:
        await respond(**reply_message(reply))
    except Exception:
        log.exception("could not answer /%s through response_url", group)
    return reply


def register_commands(app: AsyncApp, api: CommandApi, admins: AdminResolver) -> None:
    async def on_command(ack: Any, command: dict[str, Any], respond: Respond) -> None:
        # Acknowledge first and empty: Slack wants an answer within 3 s, and the real answer
        # (which may need users.info and a search) follows through response_url.
        await ack()
        await answer(api, admins, command, respond)

    for group in GROUPS:
        app.command(f"/{group}")(on_command)

    async def on_link_button(ack: Any) -> None:
        # The "Read the post" button is a plain link; with interactivity on, Slack still sends
        # the click here and shows a warning unless it is acknowledged.
        await ack()

    app.action("open_post")(on_link_button)
