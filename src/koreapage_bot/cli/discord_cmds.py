"""`discord invite-url`."""

from __future__ import annotations

import base64
import binascii
import os
from typing import Annotated

import typer

from koreapage_bot.cli.common import (
    discord_app,
    fail,
    out,
)
from koreapage_bot.config import ConfigError, discord_config

# -- discord ---------------------------------------------------------------------------------


def application_id_from_token(token: str) -> str | None:
    """A bot token's first part is the bot user's id in base64, which is the application id."""
    head = token.split(".", 1)[0]
    try:
        value = base64.b64decode(head + "=" * (-len(head) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return value if value.isdigit() else None


@discord_app.command("invite-url")
def discord_invite_url(
    application_id: Annotated[
        str | None, typer.Option("--application-id", envvar="DISCORD_APPLICATION_ID")
    ] = None,
) -> None:
    """Print the OAuth2 URL that adds the bot to a server with exactly the permissions it uses."""
    from koreapage_bot.adapters.discord.invite import invite_url

    try:
        discord_settings = discord_config(os.environ)
    except ConfigError as exc:
        raise fail(f"configuration error: {exc}", 2) from None
    app_id = application_id or application_id_from_token(discord_settings.token)
    if not app_id:
        raise fail("set DISCORD_APPLICATION_ID (or DISCORD_TOKEN) or pass --application-id")
    out.print(
        invite_url(
            app_id,
            threads=discord_settings.allow_threads,
            webhooks=discord_settings.allow_webhooks,
        ),
        soft_wrap=True,
    )
