"""What the per-platform end-to-end tests share: a served feed's items and the bot's config."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from tests.fakes.feed_server import Item

REPO = Path(__file__).resolve().parents[2]

# Already in the feed at its first fetch: archived, never delivered.
OLD = Item(
    "Seoul weather: a mild spring",
    link="https://feeds.example.org/p/old",
    guid="old-1",
    published=datetime(2026, 4, 1, tzinfo=UTC),
    description="Cherry blossoms arrived early in Seoul this year.",
)


def new_alliance_item(tail: str = "") -> Item:
    """The post that appears after the baseline; `tail` adds hostile text (e.g. @everyone)."""
    return Item(
        "USFK and South Korea agree on defense cost sharing for the alliance",
        link="https://feeds.example.org/p/sma",
        guid="sma-1",
        published=datetime(2026, 5, 2, tzinfo=UTC),
        author="Jane Doe",
        description=(
            "Negotiators from Washington and Seoul signed a new Special Measures Agreement on "
            "how much South Korea contributes to the upkeep of United States Forces Korea "
            "(USFK). Both sides called the US–ROK alliance and extended deterrence against "
            "North Korea solid; the agreement covers the 28,500 American troops on the "
            f"peninsula. {tail} "
        )
        * 3,
    )


def write_config(tmp_path: Path, feed_url: str) -> Path:
    issues = (REPO / "config" / "issues.toml").resolve()
    path = tmp_path / "koreapage.toml"
    path.write_text(
        f'[analysis]\nissues_file = "{issues}"\nfetch_full_text = false\n\n'
        f'[[feeds]]\nname = "Alliance Feed"\nurl = "{feed_url}"\n',
        encoding="utf-8",
    )
    return path
