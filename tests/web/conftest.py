"""Fixtures of the web tier: a seeded archive on SQLite and the server in front of it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from _pytest.terminal import TerminalReporter

from koreapage_bot.http import HttpServer
from koreapage_bot.store.store import Store
from tests.web.support import (
    HOSTILE_SUMMARY,
    HOSTILE_TITLE,
    KOREAN_SUMMARY,
    KOREAN_TITLE,
    Archive,
    Spec,
    numbered,
    seed,
    serve,
    written_artifacts,
)


def archive_specs() -> list[Spec]:
    """Twelve ordinary briefs, then a Korean one and a hostile one (the two newest)."""
    return [
        *numbered(12),
        Spec(
            KOREAN_TITLE,
            KOREAN_SUMMARY,
            issues=(("cost-sharing", "Defense cost sharing (SMA)"),),
            author="김민지",
            url="https://ko.alliance.example/기사/1",
            published=numbered(13)[12].published,
        ),
        Spec(
            HOSTILE_TITLE,
            HOSTILE_SUMMARY,
            author='<b onmouseover="alert(3)">Mallory</b>',
            url="javascript:alert(4)",
            published=numbered(14)[13].published,
        ),
    ]


@pytest.fixture
async def archive(sqlite_store: Store) -> Archive:
    return await seed(sqlite_store, archive_specs())


@pytest.fixture
async def server(archive: Archive) -> AsyncIterator[HttpServer]:
    async with serve(archive.store) as running:
        yield running


def pytest_terminal_summary(terminalreporter: TerminalReporter) -> None:
    """Where the screenshots went, so a person (or CI's log) can find and look at them."""
    if written_artifacts:
        terminalreporter.section("web archive artefacts")
        for what, path in written_artifacts:
            terminalreporter.write_line(f"{what}: {path}")
