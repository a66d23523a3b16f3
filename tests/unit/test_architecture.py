"""The shape the architecture asks for, checked on the source itself (with `ast`: an import
written relative to its package counts like the same import written in full)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "koreapage_bot"
SDKS = {"discord", "slack_bolt", "slack_sdk"}
# The core reaches the store through ports.py: never a store module nor the database library.
STORE_FREE = ("ingest/", "delivery/", "commands/", "web/")
CORE = ("domain.py", "ports.py", "store/", "ingest/", "analysis/", "delivery/", "commands/")


def imported_modules(source: str, rel: str) -> set[str]:
    """Every module `source` (the file at `rel` under koreapage_bot/) imports, as absolute
    dotted names: `from ..store import rows` in ingest/poller.py is koreapage_bot.store.rows."""
    package = ["koreapage_bot", *rel.split("/")[:-1]]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                head = ".".join(base + ([node.module] if node.module else []))
            else:
                head = node.module or ""
            found.add(head)
            # `from koreapage_bot import store` imports the module koreapage_bot.store.
            found.update(f"{head}.{alias.name}" for alias in node.names)
    return found


def _sources() -> list[tuple[str, set[str]]]:
    out = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        out.append((rel, imported_modules(path.read_text(encoding="utf-8"), rel)))
    return out


def _under(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_the_import_reader_resolves_relative_imports() -> None:
    source = "\n".join(
        [
            "from ..store import rows",
            "from . import fetch",
            "from .. import store",
            "import sqlalchemy.exc",
        ]
    )
    found = imported_modules(source, "ingest/poller.py")
    assert {
        "koreapage_bot.store.rows",
        "koreapage_bot.ingest.fetch",
        "koreapage_bot.store",
    } <= found
    assert "sqlalchemy.exc" in found


def test_platform_sdks_are_imported_only_by_their_adapter() -> None:
    leaks = []
    for rel, modules in _sources():
        for module in modules:
            sdk = module.split(".")[0]
            if sdk not in SDKS:
                continue
            owner = "discord" if sdk == "discord" else "slack"
            if not rel.startswith(f"adapters/{owner}/"):
                leaks.append(f"{rel} imports {module}")
    assert leaks == []


def test_the_core_does_not_import_adapters_or_bootstrap() -> None:
    offenders = [
        f"{rel} imports {module}"
        for rel, modules in _sources()
        if rel.startswith(CORE)
        for module in modules
        if _under(module, "koreapage_bot.adapters") or _under(module, "koreapage_bot.bootstrap")
    ]
    assert offenders == []


def test_ingest_delivery_commands_and_web_reach_the_store_only_through_ports() -> None:
    offenders = [
        f"{rel} imports {module}"
        for rel, modules in _sources()
        if rel.startswith(STORE_FREE)
        for module in modules
        if _under(module, "koreapage_bot.store") or _under(module, "sqlalchemy")
    ]
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


def test_only_the_metrics_module_imports_prometheus_client() -> None:
    # The core counts through ports.Metrics; bootstrap hands it koreapage_bot.metrics.
    offenders = [
        f"{rel} imports {module}"
        for rel, modules in _sources()
        if rel != "metrics.py"
        for module in modules
        if _under(module, "prometheus_client")
    ]
    assert offenders == []


def test_importing_the_bot_registers_no_metric_anywhere() -> None:
    # A fresh interpreter: importing every module that counts leaves prometheus-client's
    # global registry as the library made it (each bot builds its own registry).
    script = (
        "import prometheus_client as p\n"
        "before = set(p.REGISTRY._names_to_collectors)\n"
        "import koreapage_bot.bootstrap, koreapage_bot.metrics, koreapage_bot.cli\n"
        "assert set(p.REGISTRY._names_to_collectors) == before, 'registered at import'\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
