"""Slash commands over HTTP: signed requests to the running bot's /slack/events, answers through
response_url on the fake Slack, admin checks through users.info."""

from __future__ import annotations

import hashlib
import hmac
import logging
import time

import aiohttp
import pytest

from koreapage_bot.adapters.slack.app import SlackAdapter
from koreapage_bot.config import ServerConfig, slack_config
from koreapage_bot.http import HttpServer
from koreapage_bot.store.store import Store
from tests.adapters.slack.conftest import (
    ADMIN,
    CHANNEL,
    MEMBER,
    OWNER,
    SIGNING_SECRET,
    LocalCommandApi,
    SlashClient,
)
from tests.contract.slack_spec import assert_valid_blocks
from tests.fakes.slack_server import FakeSlack, sign, signed_slash_command


async def answer_for(fake: FakeSlack, response_url: str) -> dict[str, object]:
    key = response_url.rsplit("/", 1)[1]
    await fake.wait_until(lambda: any(r.key == key for r in fake.responses))
    found = [r.body for r in fake.responses if r.key == key]
    assert len(found) == 1, f"expected one answer on {response_url}, got {len(found)}"
    return found[0]


async def test_admin_subscribe_is_accepted(
    slash: SlashClient, fake_slack: FakeSlack, command_api: LocalCommandApi
) -> None:
    status, body, url = await slash.send("/briefs", "subscribe gsomia", user_id=ADMIN)
    assert status == 200
    assert body == ""  # empty ack: the answer comes through response_url
    answer = await answer_for(fake_slack, url)
    assert answer["response_type"] == "ephemeral"
    assert "Subscribed" in str(answer["text"])
    assert command_api.subscribed == [(CHANNEL, ("gsomia",))]
    caller = command_api.executed[0][0]
    assert (caller.platform, caller.user_id, caller.is_admin) == ("slack", ADMIN, True)
    assert caller.workspace == fake_slack.team_id
    assert [c.params["user"] for c in fake_slack.calls_to("users.info")] == [ADMIN]


async def test_owner_counts_as_admin(
    slash: SlashClient, fake_slack: FakeSlack, command_api: LocalCommandApi
) -> None:
    _, _, url = await slash.send("/briefs", "subscribe usfk", user_id=OWNER)
    await answer_for(fake_slack, url)
    assert command_api.subscribed == [(CHANNEL, ("usfk",))]


async def test_member_subscribe_is_refused(
    slash: SlashClient, fake_slack: FakeSlack, command_api: LocalCommandApi
) -> None:
    status, _, url = await slash.send("/briefs", "subscribe gsomia", user_id=MEMBER)
    assert status == 200
    answer = await answer_for(fake_slack, url)
    assert answer["response_type"] == "ephemeral"
    assert "Only an admin" in str(answer["text"])  # the command service's refusal
    assert command_api.subscribed == []
    assert command_api.executed[0][0].is_admin is False


async def test_admin_answer_is_cached(
    slash: SlashClient, fake_slack: FakeSlack, command_api: LocalCommandApi
) -> None:
    for _ in range(3):
        _, _, url = await slash.send("/briefs", "latest", user_id=ADMIN)
        await answer_for(fake_slack, url)
    assert len(fake_slack.calls_to("users.info")) == 1


async def test_allowlisted_user_is_admin_without_users_info(
    fake_slack: FakeSlack, command_api: LocalCommandApi, http_server: HttpServer
) -> None:
    settings = slack_config(
        {
            "SLACK_BOT_TOKEN": fake_slack.bot_token,
            "SLACK_SIGNING_SECRET": "another-secret",
            "SLACK_API_URL": fake_slack.api_url,
            "SLACK_ADMIN_USERS": f"U0SOMEONE, {MEMBER}",
        }
    )
    adapter = SlackAdapter(settings, command_api, http_server)
    await adapter.start()
    try:
        client = SlashClient(f"{http_server.base_url}/slack/events", fake_slack, "another-secret")
        _, _, url = await client.send("/briefs", "subscribe gsomia", user_id=MEMBER)
        await answer_for(fake_slack, url)
    finally:
        await adapter.close()
    assert command_api.subscribed == [(CHANNEL, ("gsomia",))]
    assert fake_slack.calls_to("users.info") == []


async def test_latest_answers_in_channel_with_valid_blocks(
    slash: SlashClient, fake_slack: FakeSlack
) -> None:
    _, _, url = await slash.send("/briefs", "latest 5", user_id=MEMBER)
    answer = await answer_for(fake_slack, url)
    assert answer["response_type"] == "in_channel"
    blocks = answer["blocks"]
    assert isinstance(blocks, list)
    assert_valid_blocks(blocks)
    rendered = str(blocks)
    assert "Seoul and Washington extend" in rendered
    assert "<https://news.example.org/posts/1|" in rendered
    # Feed text was escaped: the injected <!channel> arrives as text, not as a mention.
    assert "<!channel>" not in rendered
    assert "&lt;!channel&gt;" in rendered


async def test_search_answers_through_response_url(
    slash: SlashClient, fake_slack: FakeSlack, command_api: LocalCommandApi
) -> None:
    _, _, url = await slash.send("/briefs", 'search "cost-sharing"', user_id=MEMBER)
    answer = await answer_for(fake_slack, url)
    assert answer["response_type"] == "in_channel"
    rendered = str(answer["blocks"])
    assert "USFK posture review" in rendered
    assert "Seoul and Washington" not in rendered
    assert command_api.executed[-1][1:] == ("briefs", 'search "cost-sharing"')


async def test_bare_command_and_help_show_usage(slash: SlashClient, fake_slack: FakeSlack) -> None:
    for text in ("", "help"):
        _, _, url = await slash.send("/briefs", text, user_id=MEMBER)
        answer = await answer_for(fake_slack, url)
        assert answer["response_type"] == "ephemeral"
        assert "/briefs latest" in str(answer["blocks"])
    _, _, url = await slash.send("/feeds", "", user_id=MEMBER)
    answer = await answer_for(fake_slack, url)
    assert "/feeds add" in str(answer["blocks"])


async def test_unknown_subcommand_is_an_ephemeral_usage(
    slash: SlashClient, fake_slack: FakeSlack
) -> None:
    _, _, url = await slash.send("/briefs", "lates", user_id=MEMBER)
    answer = await answer_for(fake_slack, url)
    assert answer["response_type"] == "ephemeral"
    assert "latest" in str(answer["text"])


async def _nothing_happened(fake: FakeSlack, api: LocalCommandApi) -> None:
    assert api.executed == []
    assert fake.responses == []
    assert fake.calls_to("users.info") == []


async def test_unsigned_request_is_401(
    slash: SlashClient, fake_slack: FakeSlack, command_api: LocalCommandApi
) -> None:
    status, _, _ = await slash.send(
        "/briefs",
        "subscribe gsomia",
        user_id=ADMIN,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 401
    await _nothing_happened(fake_slack, command_api)


async def test_badly_signed_request_is_401(
    fake_slack: FakeSlack, command_api: LocalCommandApi, http_server: HttpServer, slash: SlashClient
) -> None:
    wrong = SlashClient(slash.url, fake_slack, secret="not-the-secret")
    status, _, _ = await wrong.send("/briefs", "subscribe gsomia", user_id=ADMIN)
    assert status == 401
    await _nothing_happened(fake_slack, command_api)


async def test_tampered_body_is_401(
    slash: SlashClient, fake_slack: FakeSlack, command_api: LocalCommandApi
) -> None:
    ts = str(int(time.time()))
    body = "command=%2Fbriefs&text=latest&user_id=U0MEMBER1&response_url=http%3A%2F%2Fx"
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": sign(slash.secret, ts, body),
    }
    tampered = body.replace("latest", "subscribe+gsomia").replace("U0MEMBER1", ADMIN)
    async with (
        aiohttp.ClientSession() as session,
        session.post(slash.url, data=tampered, headers=headers) as resp,
    ):
        assert resp.status == 401
    await _nothing_happened(fake_slack, command_api)


async def test_stale_timestamp_is_401(
    slash: SlashClient, fake_slack: FakeSlack, command_api: LocalCommandApi
) -> None:
    six_minutes_ago = int(time.time()) - 6 * 60
    status, _, _ = await slash.send(
        "/briefs", "subscribe gsomia", user_id=ADMIN, timestamp=six_minutes_ago
    )
    assert status == 401
    await _nothing_happened(fake_slack, command_api)


async def test_events_route_only_takes_post(slash: SlashClient, http_adapter: SlackAdapter) -> None:
    async with aiohttp.ClientSession() as session, session.get(slash.url) as resp:
        assert resp.status == 405


async def test_close_unmounts_the_route(
    slash: SlashClient, http_adapter: SlackAdapter, fake_slack: FakeSlack
) -> None:
    await http_adapter.close()
    status, _, _ = await slash.send("/briefs", "latest", user_id=MEMBER)
    assert status == 404


# -- hostile requests: clear 4xx, one log line, nothing run -----------------------------------


async def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers=headers) as resp,
    ):
        return resp.status, await resp.text()


def _bytes_signed(secret: str, ts: str, body: bytes) -> str:
    base = b"v0:" + ts.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


async def test_malformed_requests_get_4xx_and_one_log_line(
    slash: SlashClient,
    fake_slack: FakeSlack,
    command_api: LocalCommandApi,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ts = str(int(time.time()))
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    latin1 = "command=%2Fbriefs&text=caf\xe9".encode("latin-1")  # not UTF-8
    json_bad = b'{"type": "event_callback", "event": '
    cmd = b"command=%2Fbriefs"
    abc = sign(slash.secret, "abc", cmd.decode())
    cases: list[tuple[bytes, dict[str, str], int]] = [
        # Unsigned and not UTF-8.
        (latin1, {**form, "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=00"}, 401),
        # Signed properly, but still not UTF-8 (Slack never sends that).
        (latin1, {**form, "X-Slack-Request-Timestamp": ts,
                  "X-Slack-Signature": _bytes_signed(slash.secret, ts, latin1)}, 400),
        # Timestamps that are not numbers, or absurdly long ones.
        (cmd, {**form, "X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": abc}, 401),
        (cmd, {**form, "X-Slack-Request-Timestamp": "9" * 5000,
               "X-Slack-Signature": "v0=" + "0" * 64}, 401),
        (cmd, {**form, "X-Slack-Request-Timestamp": "", "X-Slack-Signature": "v0=" + "0" * 64},
         401),
        # A signature that is not even ASCII hex.
        (cmd, {**form, "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=\u00e9\u00e9"},
         401),
        # Signed, but the JSON is cut off.
        (json_bad, {"Content-Type": "application/json", "X-Slack-Request-Timestamp": ts,
                    "X-Slack-Signature": _bytes_signed(slash.secret, ts, json_bad)}, 400),
    ]  # fmt: skip
    for body, headers, expected in cases:
        caplog.clear()
        with caplog.at_level(logging.INFO):
            status, _ = await _post(slash.url, body, headers)
        assert status == expected, (body[:40], headers)
        assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
        ours = [r for r in caplog.records if r.name.startswith("koreapage_bot")]
        assert len(ours) == 1, [r.getMessage()[:120] for r in ours]
        assert len(ours[0].getMessage()) < 400
    await _nothing_happened(fake_slack, command_api)


async def test_a_replayed_request_is_refused_and_runs_once(
    slash: SlashClient, fake_slack: FakeSlack, command_api: LocalCommandApi
) -> None:
    response_url = fake_slack.new_response_url()
    body, headers = signed_slash_command(
        SIGNING_SECRET,
        "/briefs",
        "subscribe gsomia",
        user_id=ADMIN,
        response_url=response_url,
        channel_id=CHANNEL,
        team_id=fake_slack.team_id,
    )
    first, _ = await _post(slash.url, body.encode(), headers)
    assert first == 200
    await answer_for(fake_slack, response_url)
    again, text = await _post(slash.url, body.encode(), headers)
    assert again == 401 and "replay" in text
    # Slack retries Events API deliveries (never slash commands) with X-Slack-Retry-Num: a
    # retry of what was already handled is acknowledged, and not run again.
    retried, _ = await _post(slash.url, body.encode(), {**headers, "X-Slack-Retry-Num": "1"})
    assert retried == 200
    assert command_api.subscribed == [(CHANNEL, ("gsomia",))]
    assert len([r for r in fake_slack.responses if r.key in response_url]) == 1
    # A new request (a new timestamp, so a new signature) runs as usual.
    status, _, url = await slash.send("/briefs", "subscribe gsomia", user_id=ADMIN)
    assert status == 200
    await answer_for(fake_slack, url)
    assert len(command_api.subscribed) == 2


async def test_replays_are_refused_by_every_process_sharing_the_database(
    store: Store, fake_slack: FakeSlack, command_api: LocalCommandApi
) -> None:
    settings = slack_config(
        {
            "SLACK_BOT_TOKEN": fake_slack.bot_token,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": fake_slack.api_url,
        }
    )
    other = await Store.open(store.engine.url.render_as_string(hide_password=False))
    async with (
        HttpServer(ServerConfig(host="127.0.0.1", port=0)) as one,
        HttpServer(ServerConfig(host="127.0.0.1", port=0)) as two,
    ):
        first = SlackAdapter(settings, command_api, one, replays=store.replays)
        second = SlackAdapter(settings, command_api, two, replays=other.replays)
        await first.start()
        await second.start()
        try:
            response_url = fake_slack.new_response_url()
            body, headers = signed_slash_command(
                SIGNING_SECRET,
                "/briefs",
                "subscribe usfk",
                user_id=ADMIN,
                response_url=response_url,
                channel_id=CHANNEL,
                team_id=fake_slack.team_id,
            )
            ran, _ = await _post(f"{one.base_url}/slack/events", body.encode(), headers)
            await answer_for(fake_slack, response_url)
            replayed, _ = await _post(f"{two.base_url}/slack/events", body.encode(), headers)
        finally:
            await first.close()
            await second.close()
            await other.close()
    assert (ran, replayed) == (200, 401)
    assert command_api.subscribed == [(CHANNEL, ("usfk",))]
