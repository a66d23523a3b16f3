"""Read a Prometheus text page back (prometheus-client's own parser): every sample by name and
labels, so a test can ask for `polls_total{outcome="changed"}` and compare numbers."""

from __future__ import annotations

from collections.abc import Mapping

import aiohttp
from prometheus_client.parser import text_string_to_metric_families


class Samples:
    def __init__(self, text: str) -> None:
        self.text = text
        self._values: list[tuple[str, dict[str, str], float]] = [
            (sample.name, dict(sample.labels), float(sample.value))
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        ]

    def get(self, name: str, labels: Mapping[str, str] | None = None) -> float:
        """The sum of the samples called `name` whose labels include `labels` (0 if none)."""
        wanted = dict(labels or {})
        return sum(
            value
            for sample, have, value in self._values
            if sample == name and all(have.get(k) == v for k, v in wanted.items())
        )

    def names(self) -> set[str]:
        return {name for name, _, _ in self._values}


async def scrape(base_url: str) -> Samples:
    async with aiohttp.ClientSession() as http, http.get(base_url + "/metrics") as resp:
        assert resp.status == 200, resp.status
        assert resp.headers["Content-Type"].startswith("text/plain")
        return Samples(await resp.text())
