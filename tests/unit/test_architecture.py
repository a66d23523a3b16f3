"""The shape the architecture asks for, checked on the source itself."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "koreapage_bot"
SDKS = {"discord", "slack_bolt", "slack_sdk"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_platform_sdks_are_imported_only_by_their_adapter() -> None:
    leaks = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).as_posix()
        for sdk in _imports(path) & SDKS:
            owner = "discord" if sdk == "discord" else "slack"
            if not rel.startswith(f"adapters/{owner}/"):
                leaks.append(f"{rel} imports {sdk}")
    assert leaks == []


def test_the_core_does_not_import_adapters() -> None:
    core = ("domain.py", "ports.py", "store/", "ingest/", "analysis/", "delivery/", "commands/")
    offenders = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).as_posix()
        if not rel.startswith(core):
            continue
        source = path.read_text(encoding="utf-8")
        if "koreapage_bot.adapters" in source or "koreapage_bot.bootstrap" in source:
            offenders.append(rel)
    assert offenders == []


def test_no_module_builds_engines_or_sessions_at_import_time() -> None:
    calls = {"create_async_engine", "create_engine", "ClientSession", "AsyncWebClient", "Client"}
    offenders = []
    for path in SRC.rglob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            value = getattr(node, "value", None)
            if isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(value, ast.Call):
                func = value.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name in calls:
                    offenders.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert offenders == []
