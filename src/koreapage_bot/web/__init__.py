"""The read-only web archive of briefs (HTML pages and Atom / JSON feeds), served by the bot's
own HTTP server when `[web] enabled = true`."""

from koreapage_bot.web.routes import WebArchive, mount_web

__all__ = ["WebArchive", "mount_web"]
