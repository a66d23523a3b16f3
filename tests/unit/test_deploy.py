"""deploy/compose.yaml and the Dockerfile: checked here, since no Docker engine runs in CI.
The compose file must parse, give PostgreSQL a health check and a volume, start every bot after
the database is healthy, and split the Discord shards so that each is run by exactly one
process; every bot's environment must pass the bot's own validation."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from koreapage_bot.config import discord_config

REPO = Path(__file__).resolve().parents[2]


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((REPO / "deploy" / "compose.yaml").read_text())
    return data


def _resolved(value: str) -> str:
    """${VAR:-default} as compose resolves it with VAR unset."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)


def test_compose_has_a_healthy_database_with_a_volume_and_several_bots() -> None:
    services = _compose()["services"]
    db = services["db"]
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    volume = db["volumes"][0].split(":")[0]
    assert volume in _compose()["volumes"]
    bots = {name: s for name, s in services.items() if name.startswith("bot")}
    assert len(bots) >= 2
    for service in bots.values():
        assert service["depends_on"]["db"]["condition"] == "service_healthy"
        assert service["command"] == ["run"]
        env = service["environment"]
        assert _resolved(env["KOREAPAGE_DATABASE_URL"]).startswith("postgresql+asyncpg://")
        assert "@db:5432/" in env["KOREAPAGE_DATABASE_URL"]


def test_compose_runs_every_discord_shard_in_exactly_one_process() -> None:
    services = _compose()["services"]
    shards: list[int] = []
    counts = set()
    for name, service in services.items():
        if not name.startswith("bot"):
            continue
        env = {k: _resolved(str(v)) for k, v in service["environment"].items()}
        env["DISCORD_TOKEN"] = "token"  # as in a real deployment
        settings = discord_config(env)  # raises ConfigError for a bad value
        assert settings.shard_count is not None and settings.shard_ids is not None
        counts.add(settings.shard_count)
        shards.extend(settings.shard_ids)
    (count,) = counts
    assert sorted(shards) == list(range(count))


def test_the_image_checks_its_health_on_healthz() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    (check,) = [line for line in dockerfile.splitlines() if "/healthz'" in line]
    assert "urlopen" in check
    assert "HEALTHCHECK" in dockerfile
    assert "KOREAPAGE_HTTP_PORT=8080" in dockerfile
