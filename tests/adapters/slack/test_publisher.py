"""SlackPublisher against the fake Web API: one post per brief, platform errors as outcomes."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from koreapage_bot.adapters.slack.publisher import CLOCK_SKEW, SlackPublisher, publishing_client
from koreapage_bot.ports import (
    DeliveryTarget,
    Failed,
    Found,
    Publisher,
    RetryAfter,
    Sent,
    SentLookup,
)
from tests.adapters.slack.conftest import CHANNEL, make_view
from tests.contract.slack_spec import assert_valid_post_message, response_errors
from tests.fakes.slack_server import FakeSlack


def target(channel: str = CHANNEL, attempt: int = 1) -> DeliveryTarget:
    return DeliveryTarget(
        delivery_id=7,
        subscription_id=3,
        platform="slack",
        workspace="T0FAKE01",
        channel=channel,
        attempt=attempt,
        idempotency_key="d7",
    )


@pytest.fixture
async def publisher(fake_slack: FakeSlack) -> AsyncIterator[SlackPublisher]:
    yield SlackPublisher(publishing_client(fake_slack.bot_token, fake_slack.api_url))


def test_implements_the_port(publisher: SlackPublisher) -> None:
    assert isinstance(publisher, Publisher)
    assert publisher.platform == "slack"


async def test_brief_becomes_exactly_one_valid_post(
    publisher: SlackPublisher, fake_slack: FakeSlack
) -> None:
    outcome = await publisher.publish(target(), make_view(11))
    assert isinstance(outcome, Sent)
    posts = fake_slack.posts()
    assert len(posts) == 1
    params = posts[0].params
    assert params["channel"] == CHANNEL
    assert params["unfurl_links"] is False and params["unfurl_media"] is False
    assert posts[0].token == fake_slack.bot_token
    assert_valid_post_message(params)
    assert outcome.message_id is not None and outcome.message_id.startswith(f"{CHANNEL}:")
    kinds = [b["type"] for b in params["blocks"]]
    assert kinds == ["header", "section", "section", "context", "actions"]
    assert params["blocks"][-1]["elements"][0]["url"] == "https://news.example.org/posts/11"
    assert "Seoul and Washington" in params["text"]


async def test_feed_text_cannot_mention_anyone(
    publisher: SlackPublisher, fake_slack: FakeSlack
) -> None:
    view = make_view(
        title="<!channel> breaking",
        summary="Hello <!here> and <@U0ADMIN01>, see <https://evil.example|a link> & more",
        author="<!everyone>",
        source="Src <@U1>",
    )
    assert isinstance(await publisher.publish(target(), view), Sent)
    params = fake_slack.posts()[0].params
    mrkdwn = [params["text"]]
    for block in params["blocks"]:
        if block.get("text", {}).get("type") == "mrkdwn":
            mrkdwn.append(block["text"]["text"])
        mrkdwn += [f["text"] for f in block.get("fields", [])]
        mrkdwn += [e["text"] for e in block.get("elements", []) if e.get("type") == "mrkdwn"]
    joined = "\n".join(mrkdwn)
    for token in ("<!channel>", "<!here>", "<!everyone>", "<@U0ADMIN01>", "<@U1>", "<https://evil"):
        assert token not in joined
    assert "&lt;!here&gt;" in joined and "&amp; more" in joined


async def test_forced_429_is_retry_after(publisher: SlackPublisher, fake_slack: FakeSlack) -> None:
    fake_slack.force_rate_limit("chat.postMessage", retry_after=7)
    outcome = await publisher.publish(target(), make_view())
    # Slack's limits apply per method per workspace: the dispatcher holds every channel.
    assert outcome == RetryAfter(
        7.0, f"slack: rate limited on {CHANNEL}", rate_limited=True, platform_wide=True
    )
    # The SDK did not retry on its own: one attempt reached Slack, nothing was posted.
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    assert fake_slack.posts() == []
    # The core retries later and the brief arrives once.
    assert isinstance(await publisher.publish(target(attempt=2), make_view()), Sent)
    assert len(fake_slack.posts()) == 1


@pytest.mark.parametrize(
    "error", ["channel_not_found", "not_in_channel", "is_archived", "account_inactive"]
)
async def test_channel_errors_mark_channel_unusable(
    publisher: SlackPublisher, fake_slack: FakeSlack, error: str
) -> None:
    fake_slack.force_error("chat.postMessage", error)
    outcome = await publisher.publish(target(), make_view())
    assert isinstance(outcome, Failed)
    assert outcome.channel_unusable is True
    assert error in outcome.reason


async def test_real_channel_states_map_to_unusable(
    publisher: SlackPublisher, fake_slack: FakeSlack
) -> None:
    fake_slack.add_channel("C0ARCHIVE", archived=True)
    fake_slack.add_channel("C0NOTJOIN", member=False)
    cases = {"C0MISSING": "channel_not_found", "C0ARCHIVE": "is_archived"}
    cases["C0NOTJOIN"] = "not_in_channel"
    for channel, error in cases.items():
        outcome = await publisher.publish(target(channel), make_view())
        assert isinstance(outcome, Failed) and outcome.channel_unusable, channel
        assert outcome.reason.startswith(f"slack: {error}:")


async def test_bad_token_pauses_with_a_reason(fake_slack: FakeSlack) -> None:
    publisher = SlackPublisher(publishing_client("xoxb-wrong", fake_slack.api_url))
    outcome = await publisher.publish(target(), make_view())
    assert isinstance(outcome, Failed) and outcome.channel_unusable
    assert "invalid_auth" in outcome.reason and "SLACK_BOT_TOKEN" in outcome.reason


async def test_server_error_is_retried_later(
    publisher: SlackPublisher, fake_slack: FakeSlack
) -> None:
    fake_slack.force_error("chat.postMessage", "internal_error", status=503)
    outcome = await publisher.publish(target(attempt=3), make_view())
    assert isinstance(outcome, RetryAfter) and not outcome.rate_limited
    assert outcome.seconds == 20.0  # 5 s doubled per attempt


async def test_rejected_body_fails_without_pausing(
    publisher: SlackPublisher, fake_slack: FakeSlack
) -> None:
    fake_slack.force_error("chat.postMessage", "invalid_blocks")
    outcome = await publisher.publish(target(), make_view())
    assert outcome == Failed("slack: invalid_blocks")


async def test_unreachable_slack_is_retry_after() -> None:
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    publisher = SlackPublisher(publishing_client("xoxb-x", f"http://127.0.0.1:{port}/api/"))
    outcome = await publisher.publish(target(), make_view())
    assert isinstance(outcome, RetryAfter)
    assert "cannot connect" in outcome.reason
    assert not outcome.maybe_sent  # never connected: certainly not posted


def sent_target(delivery_id: int, window: tuple[datetime, datetime] | None) -> DeliveryTarget:
    return DeliveryTarget(
        delivery_id, 3, "slack", None, CHANNEL, 2, f"kp-{delivery_id}", lookup_window=window
    )


async def test_find_sent_matches_the_delivery_metadata(
    publisher: SlackPublisher, fake_slack: FakeSlack
) -> None:
    first = DeliveryTarget(21, 3, "slack", None, CHANNEL, 1, "kp-21")
    sent = await publisher.publish(first, make_view())
    assert isinstance(sent, Sent)
    assert fake_slack.posts()[0].params["metadata"] == {
        "event_type": "koreapage_delivery",
        "event_payload": {"delivery_key": "kp-21"},
    }
    assert isinstance(publisher, SentLookup)
    assert publisher.resend_window(first) == 0.0  # no idempotency key: always look
    now = datetime.now(UTC)
    window = (now - timedelta(seconds=5), now + timedelta(seconds=5))
    # One call answers for every delivery asked about: found and not there alike.
    outcome = await publisher.find_sent([sent_target(21, window), sent_target(22, window)])
    assert outcome == Found({"kp-21": sent.message_id})
    (call,) = fake_slack.calls_to("conversations.history")
    params = call.params
    assert str(params["include_all_metadata"]).lower() in ("1", "true")
    assert int(params["limit"]) <= 15  # what Slack allows apps outside its Marketplace
    # Only the window in which an attempt may have posted (plus clock skew) is read.
    assert float(params["oldest"]) == pytest.approx((window[0] - CLOCK_SKEW).timestamp(), abs=1)
    assert float(params["latest"]) == pytest.approx((window[1] + CLOCK_SKEW).timestamp(), abs=1)
    # Outside that window the same post is not looked at.
    past = (now - timedelta(hours=2), now - timedelta(hours=1))
    assert await publisher.find_sent([sent_target(21, past)]) == Found({})


async def test_find_sent_pages_through_a_busy_window(
    publisher: SlackPublisher, fake_slack: FakeSlack
) -> None:
    ours = await publisher.publish(
        DeliveryTarget(30, 3, "slack", None, CHANNEL, 1, "kp-30"), make_view()
    )
    for n in range(40):  # people talk in the channel after the post
        await publisher.publish(
            DeliveryTarget(100 + n, 9, "slack", None, CHANNEL, 1, f"other-{n}"), make_view()
        )
    now = datetime.now(UTC)
    found = await publisher.find_sent([sent_target(30, (now - timedelta(seconds=5), now))])
    assert isinstance(ours, Sent) and found == Found({"kp-30": ours.message_id})
    assert len(fake_slack.calls_to("conversations.history")) == 3  # 15 + 15 + the rest


async def test_a_rate_limited_history_asks_to_wait_for_the_whole_workspace(
    publisher: SlackPublisher, fake_slack: FakeSlack
) -> None:
    fake_slack.limit_history(every=60)
    now = datetime.now(UTC)
    window = (now - timedelta(seconds=5), now)
    assert await publisher.find_sent([sent_target(40, window)]) == Found({})
    outcome = await publisher.find_sent([sent_target(41, window)])
    assert isinstance(outcome, RetryAfter)
    assert outcome.rate_limited and outcome.platform_wide and 55 <= outcome.seconds <= 60


@pytest.mark.parametrize("error", ["missing_scope", "not_in_channel"])
async def test_a_history_that_can_never_answer_says_so(
    publisher: SlackPublisher, fake_slack: FakeSlack, error: str
) -> None:
    fake_slack.force_error("conversations.history", error)
    outcome = await publisher.find_sent([sent_target(50, None)])
    assert isinstance(outcome, Failed) and error in outcome.reason


async def test_digest_is_one_message_within_limits(
    publisher: SlackPublisher, fake_slack: FakeSlack
) -> None:
    views = [make_view(i, summary="Word " * 400) for i in range(1, 41)]
    outcome = await publisher.publish_digest(target(), views, "Alliance digest — 4 May")
    assert isinstance(outcome, Sent)
    posts = fake_slack.posts()
    assert len(posts) == 1
    blocks = posts[0].params["blocks"]
    assert len(blocks) <= 50
    assert_valid_post_message(posts[0].params)
    assert "more not shown" in str(blocks[-1])


async def test_fake_answers_match_the_web_api_spec(
    publisher: SlackPublisher, fake_slack: FakeSlack
) -> None:
    """The fake's chat.postMessage answers (success and error) fit the spec's schemas."""
    from aiohttp import ClientSession

    async with ClientSession() as session:
        for channel in (CHANNEL, "C0MISSING"):
            async with session.post(
                fake_slack.api_url + "chat.postMessage",
                json={"channel": channel, "text": "hi"},
                headers={"Authorization": f"Bearer {fake_slack.bot_token}"},
            ) as resp:
                body = await resp.json()
            assert response_errors(body) == [], body
