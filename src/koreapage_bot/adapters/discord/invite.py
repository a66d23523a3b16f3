"""The OAuth2 URL that adds the bot to a server, asking for exactly what it uses."""

from __future__ import annotations

import discord

SCOPES = ("bot", "applications.commands")


def bot_permissions(*, threads: bool = True, webhooks: bool = False) -> discord.Permissions:
    """See channels, post briefs as embeds, read back its own recent posts (to check whether a
    brief whose answer was lost arrived); threads and webhooks only when those modes are on."""
    perms = discord.Permissions(
        view_channel=True, send_messages=True, embed_links=True, read_message_history=True
    )
    if threads:
        perms.create_public_threads = True
        perms.send_messages_in_threads = True
    if webhooks:
        perms.manage_webhooks = True
    return perms


def invite_url(application_id: str, *, threads: bool = True, webhooks: bool = False) -> str:
    """`threads` / `webhooks` should follow DiscordConfig.allow_threads / allow_webhooks."""
    return discord.utils.oauth_url(
        int(application_id),
        permissions=bot_permissions(threads=threads, webhooks=webhooks),
        scopes=SCOPES,
    )
