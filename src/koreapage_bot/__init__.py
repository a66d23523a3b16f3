"""koreapage-bot: briefs on the US–South Korea alliance, posted to Discord and Slack."""

__version__ = "0.1.0"
