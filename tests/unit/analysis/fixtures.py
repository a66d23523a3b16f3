"""The project's own test articles (tests/fixtures/analysis/articles.toml)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "analysis"


def articles() -> list[dict[str, Any]]:
    with (FIXTURES / "articles.toml").open("rb") as fh:
        return list(tomllib.load(fh)["article"])
