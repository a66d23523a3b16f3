"""Slack adapter settings, read from the environment by bootstrap (never by bolt on its own)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

DEFAULT_API_URL = "https://slack.com/api/"
EVENTS_PATH = "/slack/events"


class SlackMode(StrEnum):
    HTTP = "http"  # requests arrive at /slack/events, verified with the signing secret
    SOCKET = "socket"  # outbound websocket with the app-level token; no public URL needed
    POST_ONLY = "post_only"  # neither secret nor app token: publish briefs, no slash commands


@dataclass(frozen=True, slots=True)
class SlackSettings:
    bot_token: str
    signing_secret: str | None = None
    app_token: str | None = None
    api_url: str = DEFAULT_API_URL  # SLACK_API_URL: Enterprise hosts, proxies, tests
    admin_users: frozenset[str] = field(default_factory=frozenset)  # user ids (U…/W…)
    admin_cache_seconds: float = 300.0  # how long a users.info answer is trusted
    events_path: str = EVENTS_PATH

    def __post_init__(self) -> None:
        if not self.bot_token:
            raise ValueError("SLACK_BOT_TOKEN is required for the Slack adapter")
        if not self.api_url.endswith("/"):
            object.__setattr__(self, "api_url", self.api_url + "/")

    @property
    def mode(self) -> SlackMode:
        # Socket Mode wins when both are set: it needs no public URL, so it is what a user who
        # went to the trouble of making an app-level token means.
        if self.app_token:
            return SlackMode.SOCKET
        if self.signing_secret:
            return SlackMode.HTTP
        return SlackMode.POST_ONLY

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SlackSettings:
        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        if get("SLACK_CLIENT_ID") and get("SLACK_CLIENT_SECRET"):
            # slack-bolt reads these from os.environ by itself and then switches to multi-
            # workspace OAuth, silently ignoring the bot token. Refuse rather than misbehave.
            raise ValueError(
                "unset SLACK_CLIENT_ID / SLACK_CLIENT_SECRET: koreapage-bot runs as a "
                "single-workspace app with SLACK_BOT_TOKEN"
            )
        cache = get("SLACK_ADMIN_CACHE_SECONDS")
        try:
            admin_cache = float(cache) if cache else 300.0
        except ValueError:
            raise ValueError(
                f"SLACK_ADMIN_CACHE_SECONDS must be a number of seconds, got {cache!r}"
            ) from None
        return cls(
            bot_token=get("SLACK_BOT_TOKEN") or "",
            signing_secret=get("SLACK_SIGNING_SECRET"),
            app_token=get("SLACK_APP_TOKEN"),
            api_url=get("SLACK_API_URL") or DEFAULT_API_URL,
            admin_users=parse_user_list(env.get("SLACK_ADMIN_USERS", "")),
            admin_cache_seconds=admin_cache,
        )


def parse_user_list(raw: str) -> frozenset[str]:
    """'U123, U456 W789' -> {'U123', 'U456', 'W789'}."""
    return frozenset(part for part in re.split(r"[\s,;]+", raw.strip()) if part)
