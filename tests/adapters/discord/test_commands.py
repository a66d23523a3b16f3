"""Slash commands end to end: INTERACTION_CREATE over the gateway -> REST answers on the fake."""

from __future__ import annotations

from typing import Any

import pytest

from koreapage_bot.adapters.discord.client import DiscordAdapter
from koreapage_bot.commands.replies import Caller, Reply
from tests.adapters.discord.conftest import InTestApi, check_bodies, settings_for
from tests.fakes.discord_server import FakeDiscord, Recorded

CALLBACK = "/interactions/{interaction_id}/{interaction_token}/callback"
ORIGINAL = "/webhooks/{webhook_id}/{webhook_token}/messages/@original"
FOLLOWUP = "/webhooks/{webhook_id}/{webhook_token}"
EPHEMERAL = 64
MANAGE_GUILD = 1 << 5
ADMINISTRATOR = 1 << 3


async def _ask(fake: FakeDiscord, n_answers: int = 1, **kwargs: Any) -> list[Recorded]:
    payload = await fake.inject_interaction(**kwargs)
    await fake.wait_for(lambda: len(fake.responses_to(payload)) >= n_answers)
    return fake.responses_to(payload)


def _last_caller(api: InTestApi, name: str) -> Caller:
    return [c for n, c, _ in api.calls if n == name][-1]


async def test_admin_subscribe_is_accepted(
    fake: FakeDiscord, api: InTestApi, adapter: DiscordAdapter
) -> None:
    (answer,) = await _ask(
        fake,
        name="briefs",
        subcommand="subscribe",
        options={"issues": "usfk, cost-sharing"},
        permissions=MANAGE_GUILD,
        user_id=811,
        user_name="admin",
    )
    assert answer.template == CALLBACK and answer.body["type"] == 4
    assert answer.body["data"]["flags"] & EPHEMERAL
    assert "Subscribed" in answer.body["data"]["content"]
    caller = _last_caller(api, "subscribe")
    assert caller == Caller(
        "discord", str(fake.guild_id), str(fake.channel_ids[0]), "811", True, "admin"
    )
    assert api.subscribed[str(fake.channel_ids[0])] == ("usfk", "cost-sharing")
    check_bodies(fake)


async def test_administrator_counts_as_admin(
    fake: FakeDiscord, api: InTestApi, adapter: DiscordAdapter
) -> None:
    await _ask(
        fake,
        name="feeds",
        subcommand="add",
        options={"url": "https://example.org/feed.xml"},
        permissions=ADMINISTRATOR,
    )
    assert _last_caller(api, "feeds_add").is_admin


async def test_member_subscribe_is_refused_privately(
    fake: FakeDiscord, api: InTestApi, adapter: DiscordAdapter
) -> None:
    # Send Messages etc., but not Manage Server.
    (answer,) = await _ask(
        fake, name="briefs", subcommand="subscribe", permissions=(1 << 10) | (1 << 11), user_id=822
    )
    data = answer.body["data"]
    assert answer.body["type"] == 4 and data["flags"] & EPHEMERAL
    assert "Only an admin of this server" in data["content"]  # the command service's refusal
    assert _last_caller(api, "subscribe").is_admin is False
    assert str(fake.channel_ids[0]) not in api.subscribed
    check_bodies(fake)


async def test_latest_is_answered_in_channel_with_embeds(
    fake: FakeDiscord, api: InTestApi, adapter: DiscordAdapter
) -> None:
    (answer,) = await _ask(fake, name="briefs", subcommand="latest", options={"count": 3})
    data = answer.body["data"]
    assert answer.body["type"] == 4 and not data.get("flags", 0) & EPHEMERAL
    assert [e["footer"]["text"] for e in data["embeds"]] == ["Brief 1", "Brief 2", "Brief 3"]
    assert data["allowed_mentions"] == {"parse": []}
    assert api.calls[-1][0] == "latest" and api.calls[-1][2] == (3, None)
    check_bodies(fake)


async def test_slow_search_is_deferred_then_completed(fake: FakeDiscord, api: InTestApi) -> None:
    api.delay = 0.3
    bot = DiscordAdapter(settings_for(fake, defer_after=0.05), api)
    await bot.start()
    try:
        defer, edit = await _ask(
            fake, 2, name="briefs", subcommand="search", options={"query": "troop costs"}
        )
    finally:
        await bot.close()
    # First a deferral within the window (type 5, public), then the result on the original.
    assert defer.template == CALLBACK and defer.body["type"] == 5
    assert not (defer.body.get("data") or {}).get("flags", 0) & EPHEMERAL
    assert edit.method == "PATCH" and edit.template == ORIGINAL
    assert edit.params["webhook_id"] == str(fake.application_id)
    assert len(edit.body["embeds"]) == 5 and "troop costs" in edit.body["content"]
    check_bodies(fake)


async def test_deferred_error_is_sent_privately(fake: FakeDiscord, api: InTestApi) -> None:
    api.delay = 0.3
    bot = DiscordAdapter(settings_for(fake, defer_after=0.05), api)
    await bot.start()
    try:
        answers = await _ask(fake, 3, name="briefs", subcommand="show", options={"id": "999"})
    finally:
        await bot.close()
    assert [(a.method, a.template) for a in answers] == [
        ("POST", CALLBACK),
        ("DELETE", ORIGINAL),
        ("POST", FOLLOWUP),
    ]
    followup = answers[2].body
    assert followup["flags"] & EPHEMERAL and "No brief 999" in followup["content"]
    check_bodies(fake)


async def test_service_failure_answers_with_what_to_do(
    fake: FakeDiscord, api: InTestApi, adapter: DiscordAdapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(caller: Caller) -> Reply:
        raise RuntimeError("database is gone")

    monkeypatch.setattr(api, "digest", broken)
    (answer,) = await _ask(fake, name="briefs", subcommand="digest")
    data = answer.body["data"]
    assert data["flags"] & EPHEMERAL and "Try again" in data["content"]


async def test_issue_autocomplete_offers_taxonomy_choices(
    fake: FakeDiscord, adapter: DiscordAdapter
) -> None:
    (answer,) = await _ask(
        fake,
        name="briefs",
        subcommand="latest",
        options={"issue": "us"},
        autocomplete_focus="issue",
    )
    assert answer.body["type"] == 8
    assert answer.body["data"]["choices"] == [{"name": "US Forces Korea (usfk)", "value": "usfk"}]
    check_bodies(fake)


async def test_subscribe_autocomplete_completes_the_last_issue(
    fake: FakeDiscord, adapter: DiscordAdapter
) -> None:
    (answer,) = await _ask(
        fake,
        name="briefs",
        subcommand="subscribe",
        options={"issues": "usfk, ext"},
        autocomplete_focus="issues",
    )
    values = [c["value"] for c in answer.body["data"]["choices"]]
    assert values == ["usfk,extended-deterrence"]


async def test_every_command_answers(
    fake: FakeDiscord, api: InTestApi, adapter: DiscordAdapter
) -> None:
    cases: list[tuple[str, str, dict[str, Any]]] = [
        ("briefs", "issue", {"issue": "usfk"}),
        ("briefs", "show", {"id": "2"}),
        ("briefs", "unsubscribe", {}),
        ("briefs", "subscriptions", {}),
        ("briefs", "digest", {}),
        ("feeds", "remove", {"feed": "3"}),
        ("feeds", "list", {}),
    ]
    for group, sub, options in cases:
        (answer,) = await _ask(
            fake, name=group, subcommand=sub, options=options, permissions=MANAGE_GUILD
        )
        assert answer.body["type"] == 4, (group, sub)
    names = [n for n, _, _ in api.calls]
    assert names == [
        "latest",
        "show",
        "unsubscribe",
        "subscriptions",
        "digest",
        "feeds_remove",
        "feeds_list",
    ]
    assert api.calls[0][2] == (5, "usfk")
    check_bodies(fake)


async def test_an_interaction_that_arrived_late_is_deferred_at_once(
    fake: FakeDiscord, api: InTestApi
) -> None:
    # The 3 s window runs from the interaction's creation: one that spent 2.9 s on its way
    # here is deferred now, even though the work (0.3 s) would fit a fresh window.
    api.delay = 0.3
    bot = DiscordAdapter(settings_for(fake, defer_after=2.0), api)
    await bot.start()
    try:
        payload = fake.interaction_payload(
            name="briefs", subcommand="search", options={"query": "troop costs"}
        )
        created_ms = (int(payload["id"]) >> 22) + 1_420_070_400_000
        payload["id"] = str((created_ms - 2_900 - 1_420_070_400_000) << 22)
        await fake.dispatch("INTERACTION_CREATE", payload)
        await fake.wait_for(lambda: len(fake.responses_to(payload)) >= 2)
        defer, edit = fake.responses_to(payload)
    finally:
        await bot.close()
    assert defer.template == CALLBACK and defer.body["type"] == 5
    assert edit.method == "PATCH" and edit.template == ORIGINAL
