"""`koreapage-bot run --once --log-format json` (and KOREAPAGE_LOG_FORMAT=json): every line
on stderr is one JSON object, and the records about feeds, briefs and deliveries carry their
ids as fields; a wrong format stops the bot with exit code 2."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.e2e.test_cli import ALLIANCE, Workdir, alliance_with_new_item, cli, ok
from tests.fakes.feed_server import FeedServer


def json_lines(stderr: str) -> list[dict[str, Any]]:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines, "no log lines"
    return [json.loads(line) for line in lines]  # each line parses, or the test fails here


async def test_json_logs_parse_and_carry_the_ids(tmp_path: Path) -> None:
    wd = Workdir(tmp_path)
    async with FeedServer() as server:
        route = server.feed("/alliance.xml")
        route.set_body(ALLIANCE.read_bytes())
        wd.write_config(
            f'\n[[feeds]]\nname = "Alliance Monitor"\nurl = "{server.url("/alliance.xml")}"\n'
        )
        first = ok(await cli(wd, "run", "--once", "--log-format", "json"))
        records = json_lines(first.err)
        polled = [r for r in records if r.get("event") == "polled"]
        assert len(polled) == 1 and isinstance(polled[0]["feed_id"], int)
        assert all({"time", "level", "logger", "message"} <= set(r) for r in records)

        route.set_body(alliance_with_new_item())
        store = await wd.store()
        try:
            (feed,) = await store.feeds.all()
            await store.feeds.set_next_poll(feed.id, datetime.now(UTC) - timedelta(seconds=1))
        finally:
            await store.close()
        env = wd.env(KOREAPAGE_LOG_FORMAT="json", KOREAPAGE_LOG_LEVEL="DEBUG")
        second = ok(await cli(wd, "run", "--once", env=env))
    records = json_lines(second.err)
    [stored] = [r for r in records if r.get("event") == "brief_stored"]
    assert stored["feed_id"] == feed.id and isinstance(stored["brief_id"], int)
    [sent] = [r for r in records if r.get("event") == "delivery_sent"]
    assert sent["platform"] == "console" and sent["brief_id"] == stored["brief_id"]
    assert isinstance(sent["delivery_id"], int) and isinstance(sent["subscription_id"], int)


async def test_an_unknown_log_format_is_a_configuration_error(tmp_path: Path) -> None:
    wd = Workdir(tmp_path)
    wd.write_config()
    bad_env = await cli(wd, "run", "--once", env=wd.env(KOREAPAGE_LOG_FORMAT="xml"))
    assert bad_env.code == 2 and "KOREAPAGE_LOG_FORMAT" in bad_env.err
    bad_option = await cli(wd, "run", "--once", "--log-format", "yaml")
    assert bad_option.code == 2 and "--log-format" in bad_option.err
