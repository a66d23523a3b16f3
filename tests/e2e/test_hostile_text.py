"""Hostile feed text, end to end: a served feed whose name, titles, authors, summaries and links
carry Discord markdown, mentions and tokens; the whole bot (poller, store, dispatcher, digests,
command service) and the real discord.py against the fake Discord, plus the Slack publisher
against the fake Slack.

Whatever the feed says reaches every channel as text: no masked link, heading, list, quote,
code, emphasis, spoiler, mention, slash-command mention, timestamp, custom emoji or bare link
is live in any body Discord received (per-brief embeds, the digest, `/feeds list`,
`/briefs latest|search|show`), and it reads as the feed wrote it. On Slack the feed's `<!…>`,
`<@…>` and `<url|label>` forms arrive escaped, and the only links are the briefs' own."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from koreapage_bot.adapters.slack.render import reply_message
from koreapage_bot.bootstrap import open_bot, run_once
from koreapage_bot.commands.replies import Caller
from koreapage_bot.config import load_settings
from koreapage_bot.links import web_link
from koreapage_bot.ports import SubscriptionSpec
from tests.contract.discord_markdown import hazards, live, reveal
from tests.contract.discord_spec import validate_all
from tests.contract.slack_spec import assert_valid_post_message
from tests.e2e.hostile import ask, deliver_all
from tests.e2e.support import OLD, REPO, new_alliance_item
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.feed_server import FeedServer, Item
from tests.fakes.slack_server import FakeSlack

MANAGE_GUILD = 1 << 5
SLACK_CHANNEL = "C0ALLIANCE"

FEED_TITLE = "[Alliance Watch](https://evil.example/feed) @everyone <@&123456789012345678>"
AUTHOR = "Jane Doe <@&987654321098765432> [site](https://evil.example/a)"
TITLES = [
    "# USFK cost sharing deal [click](https://evil.example/1) @everyone",
    "<@&123456789012345678> South Korea and US alliance cost sharing talks",
    "**Alliance** __cost__ ~~sharing~~ ||spoiler|| `code` agreement on USFK",
    "> USFK and South Korea defense cost sharing",
    "- USFK alliance cost sharing </briefs subscribe:1234567890>",
    "1. USFK alliance cost sharing <t:1700000000:R>",
    "-# USFK alliance cost sharing <:kp:123456789012345678> <a:kp:1>",
    "USFK alliance cost sharing, see https://evil.example/x_y",
    "<@123456789012345678> and <#710000000000000001> on USFK alliance cost sharing",
    "@here USFK alliance cost sharing [a](<https://evil.example>)",
    "[https://alliance.example](https://evil.example/phish) USFK cost sharing",
]
SUMMARY_TAIL = (
    "@here see [the full text](https://evil.example/s) or <@&42> ||now|| "
    "and https://evil.example/bare"
)


def hostile_items() -> list[Item]:
    base = new_alliance_item(SUMMARY_TAIL)
    items = []
    for n, title in enumerate(TITLES):
        link = f"https://feeds.example.org/p/{n}"
        if n == 0:  # a `)` in the link must not close the digest's link and open another
            link = "https://feeds.example.org/p/0)[second](https://evil.example/2"
        items.append(
            Item(
                title,
                link=link,
                guid=f"hostile-{n}",
                published=datetime(2026, 5, 2, 9, n, tzinfo=UTC),
                author=AUTHOR,
                description=base.description,
            )
        )
    return items


def _embed_texts(embed: dict[str, Any]) -> list[str]:
    """The places of an embed where Discord renders markdown."""
    out = [embed.get("title", ""), embed.get("description", "")]
    for f in embed.get("fields", []):
        out += [f["name"], f["value"]]
    return out


def assert_inert_embed(embed: dict[str, Any]) -> None:
    for text in _embed_texts(embed):
        assert hazards(text) == [], text
    for plain in (embed.get("author", {}).get("name", ""), embed["footer"]["text"]):
        live_tokens = [h for h in hazards(plain) if h in ("mention or token", "mass mention")]
        assert live_tokens == [], plain
    if "url" in embed:
        assert web_link(embed["url"]) == embed["url"]


MASKED_LINE = re.compile(r"• \[([^\]\n]*)\]\(([^()\s]+)\) — (.*)")


def assert_inert_digest_list(description: str) -> None:
    for line in description.splitlines():
        if line.startswith("…and "):
            continue
        m = MASKED_LINE.fullmatch(live(line))
        assert m is not None, f"not exactly one link: {line!r}"
        label, target, source = (line[m.start(i) : m.end(i)] for i in (1, 2, 3))
        assert hazards(label) == [] and hazards(source) == [], line
        assert target.startswith("https://feeds.example.org/p/") and web_link(target) == target


SLACK_ANGLE = re.compile(r"<([^<>]*)>")


def assert_slack_inert(blocks: Any) -> None:
    """Every `<…>` Slack would parse is a brief's own link or a channel the bot named."""
    for text in _mrkdwn_texts(blocks):
        for m in SLACK_ANGLE.finditer(text):
            target = m.group(1).split("|", 1)[0]
            if target.startswith("#C"):
                continue
            assert web_link(target) == target and "evil.example" not in target, text
        assert "<!" not in text and "<@" not in text


def _mrkdwn_texts(node: Any) -> list[str]:
    if isinstance(node, dict):
        if node.get("type") == "mrkdwn":
            return [node["text"]]
        return [t for v in node.values() for t in _mrkdwn_texts(v)]
    if isinstance(node, list):
        return [t for v in node for t in _mrkdwn_texts(v)]
    return []


async def test_hostile_feed_text_renders_as_text_everywhere(tmp_path: Path) -> None:
    issues = (REPO / "config" / "issues.toml").resolve()
    async with FeedServer() as feeds, FakeDiscord() as fake, FakeSlack() as slack:
        slack.add_channel(SLACK_CHANNEL, "alliance")
        route = feeds.feed("/alliance.xml", [OLD], title=FEED_TITLE)
        config = tmp_path / "koreapage.toml"
        # No name: the feed is named after its own (hostile) title, as chat-added feeds are.
        config.write_text(
            f'[analysis]\nissues_file = "{issues}"\nfetch_full_text = false\n\n'
            f'[[feeds]]\nurl = "{feeds.url("/alliance.xml")}"\n',
            encoding="utf-8",
        )
        env = {
            "DISCORD_TOKEN": "fake-token",
            "DISCORD_API_BASE": fake.api_base,
            "DISCORD_GATEWAY_URL": fake.gateway_url,
            "DISCORD_GUILD_ID": str(fake.guild_id),
            "DISCORD_GUILD_READY_TIMEOUT": "0.05",
            "SLACK_BOT_TOKEN": slack.bot_token,
            "SLACK_API_URL": slack.api_url,
            "KOREAPAGE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        }
        settings = load_settings(config, env)
        posts, digest = fake.channel_ids
        async with open_bot(settings, console=Console(file=io.StringIO())) as bot:
            subs = bot.store.subscriptions
            await subs.upsert(SubscriptionSpec(platform="discord", channel=str(posts)))
            daily, _ = await subs.upsert(
                SubscriptionSpec(
                    platform="discord", channel=str(digest), per_brief=False, digest_time="08:00"
                )
            )
            await subs.upsert(SubscriptionSpec(platform="slack", channel=SLACK_CHANNEL))
            await run_once(bot)  # the baseline
            route.set_items([*hostile_items(), OLD])
            await deliver_all(bot)
            assert await bot.digests.queue(daily.id) is not None
            await run_once(bot)  # sends the digest
            [feed] = await bot.store.feeds.all()
            briefs = {b.id: b for b in await bot.store.briefs.latest(20)}
            slack_reply = reply_message(
                await bot.commands.feeds_list(Caller("slack", "T1", SLACK_CHANNEL, "U1"))
            )

            (adapter,) = [a for a in bot.adapters if a.platform == "discord"]
            await adapter.start()
            try:
                listed = await ask(fake, name="feeds", subcommand="list", permissions=MANAGE_GUILD)
                latest = await ask(fake, name="briefs", subcommand="latest", options={"count": 10})
                found = await ask(
                    fake, name="briefs", subcommand="search", options={"query": "cost sharing"}
                )
                shown = await ask(
                    fake, name="briefs", subcommand="show", options={"id": str(min(briefs))}
                )
            finally:
                await adapter.close()

        assert feed.name == FEED_TITLE  # the hostile name is what every brief's source says
        assert len(briefs) == len(TITLES)

        # Each brief, posted on its own.
        messages = fake.messages[posts]
        assert len(messages) == len(TITLES)
        for message in messages:
            (embed,) = message["embeds"]
            assert_inert_embed(embed)
            footer = re.match(r"Brief (\d+)", embed["footer"]["text"])
            assert footer is not None
            brief = next(b for b in briefs.values() if b.id == int(footer.group(1)))
            assert reveal(embed["title"]) == brief.title  # reads as the feed wrote it
            (source,) = [f["value"] for f in embed["fields"] if f["name"] == "Source"]
            assert reveal(source) == FEED_TITLE

        # The digest: more than ten briefs, so one embed listing them with a link each.
        (message,) = fake.messages[digest]
        assert hazards(message["content"]) == []
        (embed,) = message["embeds"]
        assert hazards(embed["title"]) == []
        assert_inert_digest_list(embed["description"])
        assert "%29%5Bsecond%5D%28" in embed["description"]  # the `)` link stayed one link

        # Command replies.
        content = listed["content"]
        feed_line = content.splitlines()[1]
        assert feed_line.startswith(f"• {feed.id}: ")
        cut = re.sub(r" <https?://127\.0\.0\.1:\d+/alliance\.xml> — ", " ", feed_line[2:])
        assert hazards(cut) == [], feed_line
        assert FEED_TITLE in reveal(feed_line)
        for answer in (latest, found, shown):
            assert answer["embeds"]
            for embed in answer["embeds"]:
                assert_inert_embed(embed)
            assert hazards(answer.get("content") or "") == []
        validate_all(fake.requests, skip_if_absent=False)

        # Slack: the same feed, escaped as Slack needs.
        slack_posts = slack.posts()
        assert len(slack_posts) == len(TITLES)
        for post in slack_posts:
            assert_valid_post_message(post.params)
            assert_slack_inert(post.params["blocks"])
            assert "<!" not in post.params["text"] and "<@" not in post.params["text"]
        assert_slack_inert(slack_reply["blocks"])
        assert "&lt;@&amp;123456789012345678&gt;" in json.dumps(slack_reply["blocks"])
