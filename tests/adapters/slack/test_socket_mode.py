"""Socket Mode: the real bolt/SDK socket client connects to the fake's websocket (found through
apps.connections.open on SLACK_API_URL), receives a slash-command envelope and acknowledges it."""

from __future__ import annotations

import aiohttp

from koreapage_bot.adapters.slack.app import SlackAdapter
from koreapage_bot.config import SlackMode, slack_config
from koreapage_bot.http import HttpServer
from tests.adapters.slack.conftest import ADMIN, CHANNEL, MEMBER, LocalCommandApi
from tests.fakes.slack_server import FakeSlack


async def test_slash_command_envelope_is_acknowledged_and_answered(
    fake_slack: FakeSlack, command_api: LocalCommandApi, http_server: HttpServer
) -> None:
    settings = slack_config(
        {
            "SLACK_BOT_TOKEN": fake_slack.bot_token,
            "SLACK_APP_TOKEN": fake_slack.app_token,
            "SLACK_API_URL": fake_slack.api_url,
        }
    )
    assert settings.mode is SlackMode.SOCKET
    adapter = SlackAdapter(settings, command_api, http_server)
    await adapter.start()
    try:
        assert fake_slack.socket_connections == 1
        opened = fake_slack.calls_to("apps.connections.open")
        assert [c.token for c in opened] == [fake_slack.app_token]

        envelope, response_url = fake_slack.deliver_slash_command(
            "/briefs", "subscribe gsomia", user_id=ADMIN, channel_id=CHANNEL
        )
        await fake_slack.wait_until(lambda: fake_slack.ack_for(envelope) is not None)
        key = response_url.rsplit("/", 1)[1]
        await fake_slack.wait_until(lambda: any(r.key == key for r in fake_slack.responses))
        assert command_api.subscribed == [(CHANNEL, ("gsomia",))]

        envelope2, url2 = fake_slack.deliver_slash_command("/briefs", "latest", user_id=MEMBER)
        await fake_slack.wait_until(lambda: fake_slack.ack_for(envelope2) is not None)
        key2 = url2.rsplit("/", 1)[1]
        await fake_slack.wait_until(lambda: any(r.key == key2 for r in fake_slack.responses))
        answer = next(r.body for r in fake_slack.responses if r.key == key2)
        assert answer["response_type"] == "in_channel"
        # Each envelope acknowledged exactly once.
        assert [a.envelope_id for a in fake_slack.acks] == [envelope, envelope2]

        # Socket Mode needs no /slack/events route; /healthz reports the socket.
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{http_server.base_url}/healthz") as resp,
        ):
            health = await resp.json()
        assert resp.status == 200
        assert health["checks"]["slack_socket"]["ok"] is True
    finally:
        await adapter.close()
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{http_server.base_url}/slack/events") as resp,
    ):
        assert resp.status == 404
