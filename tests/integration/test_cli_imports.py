"""A CLI command loads what it needs when it needs it: `briefs …`, `feeds list` and `--help`
never import the chat SDKs, the analysis, the fetchers or the scheduler (they were most of a
two-second start). Which modules are loaded is checked here, not how long it takes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from koreapage_bot.store.migrate import head_revision

REPO = Path(__file__).resolve().parents[2]
HEAVY = (
    "discord",
    "slack_bolt",
    "slack_sdk",
    "trafilatura",
    "numpy",
    "lxml",
    "apscheduler",
    "feedparser",
    "aiohttp",
    "alembic",
    "prometheus_client",
    "koreapage_bot.analysis.pipeline",
    "koreapage_bot.ingest.poller",
)
# Runs one command as `koreapage-bot` would, then says which of HEAVY got imported.
SCRIPT = """
import json, sys
from koreapage_bot.cli import main
sys.argv = ["koreapage-bot", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit as exit:
    code = exit.code
else:
    code = 0
heavy = %r
print("\\n" + json.dumps({"code": code, "loaded": [m for m in heavy if m in sys.modules]}))
"""


def _run(tmp_path: Path, *args: str) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KOREAPAGE_", "DISCORD_"))}
    env = {k: v for k, v in env.items() if not k.startswith("SLACK_")}
    env["KOREAPAGE_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT % (HEAVY,), json.dumps(list(args))],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    "args",
    [
        ("--help",),
        ("briefs", "search", "korea"),
        ("briefs", "latest", "--json"),
        ("briefs", "show", "1"),
        ("feeds", "list", "--json"),
    ],
)
def test_queries_import_no_heavy_module(tmp_path: Path, args: tuple[str, ...]) -> None:
    if args[0] != "--help":  # a database at the newest schema, made by the full path once
        assert _run(tmp_path, "subscriptions", "list")["code"] == 0
    result = _run(tmp_path, *args)
    assert result["code"] in (0, 1)  # "no brief 1" is an answer too
    assert result["loaded"] == []


def test_the_head_revision_read_from_the_files_is_alembics() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from koreapage_bot.store.migrate import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    assert head_revision() == ScriptDirectory.from_config(cfg).get_current_head()
