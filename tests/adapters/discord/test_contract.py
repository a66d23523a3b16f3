"""The contract helper itself: it really rejects what Discord would reject."""

from __future__ import annotations

from dataclasses import replace

import jsonschema
import pytest

from koreapage_bot.adapters.discord.client import DiscordAdapter
from koreapage_bot.adapters.discord.render import brief_embed
from tests.adapters.discord.conftest import make_view
from tests.contract.discord_spec import require_spec, validate_all, validate_request
from tests.fakes.discord_server import FakeDiscord

MESSAGES = "/channels/{channel_id}/messages"


@pytest.fixture(autouse=True)
def _spec() -> None:
    require_spec()  # skips with a message when ../shared is absent


def _message(**extra: object) -> dict[str, object]:
    body: dict[str, object] = {
        "embeds": [brief_embed(make_view(1))],
        "allowed_mentions": {"parse": []},
    }
    body.update(extra)
    return body


def test_a_rendered_brief_is_a_valid_message() -> None:
    validate_request("POST", MESSAGES, _message(nonce="d-1", enforce_nonce=True))


def test_a_korean_brief_is_a_valid_message() -> None:
    embed = brief_embed(
        replace(make_view(1, summary="한미 양국이 주한미군 문제를 논의했다."), language="ko")
    )
    validate_request("POST", MESSAGES, _message(embeds=[embed]))


def test_spec_limits_are_enforced() -> None:
    embed = brief_embed(make_view(1))
    embed["title"] = "x" * 300
    with pytest.raises(jsonschema.ValidationError):
        validate_request("POST", MESSAGES, _message(embeds=[embed]))


def test_six_thousand_rule_and_mentions_are_checked() -> None:
    big = [brief_embed(make_view(n, summary="word " * 800)) for n in range(3)]
    with pytest.raises(AssertionError, match="6000"):
        validate_request("POST", MESSAGES, _message(embeds=big))
    with pytest.raises(AssertionError, match="allowed_mentions"):
        validate_request("POST", MESSAGES, {"content": "hi @everyone"})


async def test_the_session_bodies_are_all_checked(
    fake: FakeDiscord, adapter: DiscordAdapter
) -> None:
    payload = await fake.inject_interaction(name="briefs", subcommand="latest")
    await fake.wait_for(lambda: bool(fake.responses_to(payload)))
    assert validate_all(fake.requests) == 2  # the command sync and the callback
