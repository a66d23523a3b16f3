"""Publishing briefs over REST to the fake Discord, and mapping its failures to outcomes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from koreapage_bot.adapters.discord.client import DiscordAdapter
from koreapage_bot.adapters.discord.publisher import nonce_for
from koreapage_bot.adapters.discord.render import colour_for
from koreapage_bot.ports import (
    DeliveryTarget,
    Failed,
    Found,
    Publisher,
    RetryAfter,
    Sent,
    SentLookup,
)
from tests.adapters.discord.conftest import (
    InTestApi,
    check_bodies,
    make_view,
    settings_for,
)
from tests.contract.discord_spec import embeds_length
from tests.fakes.discord_server import FakeDiscord

MESSAGES = "/channels/{channel_id}/messages"


def _lookup(
    fake: FakeDiscord, delivery_id: int, window: tuple[datetime, datetime] | None
) -> DeliveryTarget:
    return replace(_target(fake, delivery_id), lookup_window=window)


def _target(fake: FakeDiscord, delivery_id: int = 1, **options: object) -> DeliveryTarget:
    return DeliveryTarget(
        delivery_id=delivery_id,
        subscription_id=7,
        platform="discord",
        workspace=str(fake.guild_id),
        channel=str(fake.channel_ids[1]),
        attempt=1,
        idempotency_key=f"delivery-{delivery_id}",
        options=dict(options),
    )


async def test_a_brief_becomes_exactly_one_message_with_its_embed(
    fake: FakeDiscord, adapter: DiscordAdapter
) -> None:
    assert isinstance(adapter.publisher, Publisher)
    view = make_view(3, summary="Talks resumed. @everyone <@&123> should not be pinged.")
    outcome = await adapter.publisher.publish(_target(fake), view)

    (message,) = fake.messages[fake.channel_ids[1]]
    assert outcome == Sent(message["id"])
    (call,) = fake.calls("POST", MESSAGES)
    body = call.body
    assert body["nonce"] == "delivery-1" and body["enforce_nonce"] is True
    assert body["allowed_mentions"] == {"parse": []}
    (embed,) = body["embeds"]
    assert embed["title"] == view.title and embed["url"] == view.url
    assert embed["author"] == {"name": "Kim Minji"}
    # Mentions are broken with a zero-width space as well as blocked by allowed_mentions.
    assert embed["description"] == (
        "Talks resumed. @\u200beveryone <\u200b@&123> should not be pinged."
    )
    assert embed["fields"] == [
        {"name": "Key issues", "value": "Defense cost sharing, US Forces Korea", "inline": False},
        {"name": "Source", "value": "Example Alliance Review", "inline": True},
    ]
    assert embed["timestamp"].startswith("2025-03-04T09:30:00")
    # The delivery key ends the footer: a look-up reads it back (history carries no nonce).
    assert embed["footer"] == {"text": "Brief 3 · delivery-1"}
    assert embed["color"] == colour_for("cost-sharing")
    check_bodies(fake)


async def test_limits_are_enforced_before_sending(
    fake: FakeDiscord, adapter: DiscordAdapter
) -> None:
    view = make_view(4, title="Alliance " * 60, summary="deterrence " * 900)
    assert isinstance(await adapter.publisher.publish(_target(fake), view), Sent)
    (embed,) = fake.calls("POST", MESSAGES)[0].body["embeds"]
    assert len(embed["title"]) <= 256 and embed["title"].endswith("…")
    assert len(embed["description"]) <= 4096 and embed["description"].endswith("deterrence…")
    assert embeds_length([embed]) <= 6000
    check_bodies(fake)


async def test_digest_is_one_message(fake: FakeDiscord, adapter: DiscordAdapter) -> None:
    views = [make_view(n, summary="cost " * 700) for n in range(1, 5)]
    outcome = await adapter.publisher.publish_digest(_target(fake), views, "Daily alliance digest")
    assert isinstance(outcome, Sent)
    (call,) = fake.calls("POST", MESSAGES)
    assert call.body["content"] == "Daily alliance digest"
    assert len(call.body["embeds"]) == 4 and embeds_length(call.body["embeds"]) <= 6000

    many = [make_view(n) for n in range(1, 31)]
    await adapter.publisher.publish_digest(_target(fake, 2), many, "Weekly digest")
    (embed,) = fake.calls("POST", MESSAGES)[1].body["embeds"]
    assert embed["description"].count("\n") == 29  # a compact list, one line per brief
    check_bodies(fake)


async def test_long_429_surfaces_as_retry_after(fake: FakeDiscord, adapter: DiscordAdapter) -> None:
    fake.fail_next("POST", MESSAGES, status=429, retry_after=120.0)
    outcome = await adapter.publisher.publish(_target(fake), make_view(1))
    assert isinstance(outcome, RetryAfter) and outcome.seconds == 120.0 and outcome.rate_limited
    assert not fake.messages.get(fake.channel_ids[1])


async def test_a_long_global_429_asks_to_hold_every_channel(
    fake: FakeDiscord, adapter: DiscordAdapter
) -> None:
    # Longer than discord.py waits by itself, so it surfaces; only the response's
    # X-RateLimit-Global tells it apart from one route's limit.
    fake.fail_next("POST", MESSAGES, status=429, retry_after=40.0, is_global=True)
    outcome = await adapter.publisher.publish(_target(fake), make_view(1))
    assert isinstance(outcome, RetryAfter) and outcome.rate_limited
    assert outcome.platform_wide and outcome.seconds == 40.0
    fake.fail_next("POST", MESSAGES, status=429, retry_after=40.0)  # one route's: not global
    adapter.publisher.global_limit.until = 0.0
    route = await adapter.publisher.publish(_target(fake, 2), make_view(1))
    assert isinstance(route, RetryAfter) and route.rate_limited and not route.platform_wide


async def test_find_sent_reads_the_key_back_from_the_bots_own_messages(
    fake: FakeDiscord, adapter: DiscordAdapter
) -> None:
    publisher = adapter.publisher
    assert isinstance(publisher, SentLookup)
    assert publisher.resend_window(_target(fake)) == 120.0  # inside it, the nonce is enough
    assert publisher.resend_window(_target(fake, webhook=True)) == 120.0  # webhooks are off
    now = datetime.now(UTC)
    sent = await publisher.publish(_target(fake, 1), make_view(1))
    await publisher.publish(_target(fake, 2), make_view(2))
    assert isinstance(sent, Sent)
    # Someone else's message with a look-alike footer does not count.
    cid = fake.channel_ids[1]
    fake.messages[cid].append(
        {**fake.messages[cid][0], "id": str(fake.next_id()), "author": fake.user(5, "mallory")}
    )
    window = (now - timedelta(seconds=5), datetime.now(UTC))
    asked = [_lookup(fake, 1, window), _lookup(fake, 3, window)]
    assert await publisher.find_sent(asked) == Found({"delivery-1": sent.message_id})
    (call,) = fake.calls("GET", MESSAGES)
    assert "after" in call.query  # read from the window's start, not the whole channel
    # Before the first attempt nothing of ours is there.
    past = (now - timedelta(hours=2), now - timedelta(hours=1))
    assert await publisher.find_sent([_lookup(fake, 1, past)]) == Found({})


async def test_find_sent_without_a_window_reads_the_newest_messages(
    fake: FakeDiscord, adapter: DiscordAdapter
) -> None:
    sent = await adapter.publisher.publish(_target(fake, 1), make_view(1))
    assert isinstance(sent, Sent)
    outcome = await adapter.publisher.find_sent([_lookup(fake, 1, None)])
    assert outcome == Found({"delivery-1": sent.message_id})
    (call,) = fake.calls("GET", MESSAGES)
    assert "after" not in call.query  # not from the channel's very first message


async def test_find_sent_when_the_channel_cannot_be_read(
    fake: FakeDiscord, adapter: DiscordAdapter
) -> None:
    fake.fail_next("GET", MESSAGES, status=403, code=50001, message="Missing Access")
    outcome = await adapter.publisher.find_sent([_lookup(fake, 1, None)])
    assert isinstance(outcome, Failed) and "50001" in outcome.reason
    fake.down = True
    outcome = await adapter.publisher.find_sent([_lookup(fake, 1, None)])
    assert isinstance(outcome, RetryAfter) and not outcome.rate_limited


async def test_short_429_is_retried_by_discord_py_and_arrives_once(
    fake: FakeDiscord, adapter: DiscordAdapter
) -> None:
    fake.fail_next("POST", MESSAGES, status=429, retry_after=0.05)
    outcome = await adapter.publisher.publish(_target(fake), make_view(1))
    assert isinstance(outcome, Sent)
    assert [c.status for c in fake.calls("POST", MESSAGES)] == [429, 200]
    assert len(fake.messages[fake.channel_ids[1]]) == 1


async def test_retry_with_the_same_nonce_is_not_duplicated(
    fake: FakeDiscord, adapter: DiscordAdapter
) -> None:
    first = await adapter.publisher.publish(_target(fake), make_view(1))
    # The core retries the same delivery (e.g. the answer was lost): same idempotency key.
    again = await adapter.publisher.publish(_target(fake), make_view(1))
    other = await adapter.publisher.publish(_target(fake, 2), make_view(1))
    assert first == again and isinstance(other, Sent) and other != first
    assert len(fake.calls("POST", MESSAGES)) == 3
    assert len(fake.messages[fake.channel_ids[1]]) == 2


async def test_missing_permissions_pauses_the_channel(
    fake: FakeDiscord, adapter: DiscordAdapter
) -> None:
    fake.channel_errors[fake.channel_ids[1]] = (403, 50013, "Missing Permissions")
    outcome = await adapter.publisher.publish(_target(fake), make_view(1))
    assert isinstance(outcome, Failed) and outcome.channel_unusable
    assert "50013" in outcome.reason and "permission" in outcome.reason


async def test_unknown_channel_pauses_the_channel(
    fake: FakeDiscord, adapter: DiscordAdapter
) -> None:
    fake.fail_next("POST", MESSAGES, status=404, code=10003, message="Unknown Channel")
    outcome = await adapter.publisher.publish(_target(fake), make_view(1))
    assert isinstance(outcome, Failed) and outcome.channel_unusable
    assert "10003" in outcome.reason


async def test_other_errors(fake: FakeDiscord, adapter: DiscordAdapter) -> None:
    fake.fail_next("POST", MESSAGES, status=400, code=50035, message="Invalid Form Body")
    bad = await adapter.publisher.publish(_target(fake), make_view(1))
    assert isinstance(bad, Failed) and not bad.channel_unusable and "50035" in bad.reason
    fake.fail_next("POST", MESSAGES, status=503, message="upstream down")
    down = await adapter.publisher.publish(_target(fake), make_view(1))
    assert isinstance(down, RetryAfter) and down.seconds > 0 and not down.rate_limited
    fake.fail_next("POST", MESSAGES, status=429, retry_after=7.0, via=False)  # Cloudflare
    cf = await adapter.publisher.publish(_target(fake), make_view(1))
    assert isinstance(cf, RetryAfter) and cf.seconds == 7.0 and cf.rate_limited
    target = DeliveryTarget(9, 7, "discord", None, "general", 1, "k")
    assert (await adapter.publisher.publish(target, make_view(1))).channel_unusable  # type: ignore[union-attr]


async def test_before_start_the_publisher_asks_to_retry(fake: FakeDiscord, api: InTestApi) -> None:
    bot = DiscordAdapter(settings_for(fake), api)
    assert isinstance(await bot.publisher.publish(_target(fake), make_view(1)), RetryAfter)
    assert not fake.requests


async def test_thread_option_starts_a_public_thread(
    fake: FakeDiscord, adapter: DiscordAdapter
) -> None:
    outcome = await adapter.publisher.publish(_target(fake, thread=True), make_view(5))
    assert isinstance(outcome, Sent)
    (thread,) = fake.threads
    assert thread["message_id"] == outcome.message_id
    assert thread["name"] == make_view(5).title
    check_bodies(fake)


async def test_webhook_option_posts_as_the_bot(fake: FakeDiscord, api: InTestApi) -> None:
    bot = DiscordAdapter(settings_for(fake, allow_webhooks=True), api)
    await bot.start()
    try:
        for n in (1, 2):
            outcome = await bot.publisher.publish(_target(fake, n, webhook=True), make_view(n))
            assert isinstance(outcome, Sent)
    finally:
        await bot.close()
    assert len(fake.webhooks) == 1  # created once, then reused
    msgs = fake.messages[fake.channel_ids[1]]
    assert len(msgs) == 2 and all(m["webhook_id"] for m in msgs)
    assert msgs[0]["author"]["username"] == fake.bot_name
    check_bodies(fake)


async def test_webhook_option_is_ignored_unless_enabled(
    fake: FakeDiscord, adapter: DiscordAdapter
) -> None:
    await adapter.publisher.publish(_target(fake, webhook=True), make_view(1))
    assert not fake.webhooks and len(fake.calls("POST", MESSAGES)) == 1


def test_long_idempotency_keys_become_valid_nonces() -> None:
    assert nonce_for("short") == "short"
    long = nonce_for("x" * 80)
    assert len(long) == 25 and long == nonce_for("x" * 80) and long != nonce_for("y" * 80)
