"""Optional LLM summaries through an OpenAI-compatible chat endpoint (Ollama, vLLM, hosted).

Off by default. Any failure (timeout, connection error, non-200, malformed or empty answer)
returns None and the caller keeps the extractive summary. The HTTP session is created on first
use and closed by `aclose()`; nothing is opened at import time.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from koreapage_bot.analysis.text import detect_language
from koreapage_bot.config import LlmConfig

log = logging.getLogger(__name__)

SYSTEM_PROMPT = (
    "You summarize news and analysis about the US-South Korea alliance for a briefing channel. "
    "Write in {language}. First 2 or 3 plain sentences, at most {chars} characters: the "
    "article's central fact first (what its headline reports), then what follows from it; for "
    "an opinion piece, its argument; for an official statement, who committed to what. Then "
    'one last line that starts with "{why_label}:" and says in one sentence why this matters '
    "for the alliance. Only what the article says; no preamble, no bullet points, no opinions "
    "of your own."
)
LANGUAGES = {"en": "English", "ko": "Korean"}
WHY_LABELS = {"en": "Why it matters", "ko": "왜 중요한가"}
WHY_MAX_CHARS = 240
MAX_INPUT_CHARS = 8000
MAX_CHARS = 600  # the summary's length, as the extractive one
MAX_TOKENS = 300
TEMPERATURE = 0.2


@dataclass(frozen=True, slots=True)
class LlmSummary:
    summary: str
    why_it_matters: str | None = None

    def text(self, language: str = "en") -> str:
        """The summary, with the why-it-matters line under it when there is one."""
        if not self.why_it_matters:
            return self.summary
        label = WHY_LABELS.get(language, WHY_LABELS["en"])
        return f"{self.summary}\n{label}: {self.why_it_matters}"


def _split(content: str, language: str) -> LlmSummary | None:
    """The summary and the why-it-matters line of an answer (the line may be missing)."""
    labels = "|".join(re.escape(v) for v in WHY_LABELS.values())
    m = re.search(rf"(?im)^\W*(?:{labels})\W*:\s*(.+)$", content)
    why = None
    if m:
        why = _clip(m.group(1), WHY_MAX_CHARS) or None
        content = content[: m.start()] + content[m.end() :]
    summary = content.strip()
    if not summary:
        return None
    return LlmSummary(summary, why)


def _clip(text: str, max_chars: int) -> str:
    text = " ".join(text.split())
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars]
    end = max(cut.rfind(". "), cut.rfind(".\u201d"), cut.rfind('."'))
    return cut[: end + 1] if end > max_chars // 3 else cut.rsplit(" ", 1)[0] + "…"


class LlmSummarizer:
    def __init__(self, settings: LlmConfig, session: aiohttp.ClientSession | None = None) -> None:
        self.settings = settings
        self._session = session
        self._owns_session = session is None

    async def aclose(self) -> None:
        if self._session is not None and self._owns_session:
            await self._session.close()
        self._session = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
            self._owns_session = True
        return self._session

    async def summarize(
        self, *, title: str, text: str, issues: Sequence[str] = (), language: str = "en"
    ) -> LlmSummary | None:
        """An abstractive summary in the post's language and a why-it-matters line, or None
        (the caller keeps the extractive summary)."""
        s = self.settings
        url = s.base_url.rstrip("/") + "/chat/completions"
        user = f"Title: {title}\n"
        if issues:
            user += "Key issues: " + ", ".join(issues) + "\n"
        user += "\n" + text[:MAX_INPUT_CHARS]
        system = SYSTEM_PROMPT.format(
            chars=MAX_CHARS,
            language=LANGUAGES.get(language, "English"),
            why_label=WHY_LABELS.get(language, WHY_LABELS["en"]),
        )
        body: dict[str, Any] = {
            "model": s.model,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": user},
            ],
            "temperature": TEMPERATURE,
            "max_tokens": MAX_TOKENS,
            "stream": False,
        }
        headers = {"Content-Type": "application/json"}
        if s.api_key:
            headers["Authorization"] = f"Bearer {s.api_key}"
        try:
            async with self._get_session().post(
                url,
                json=body,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=s.timeout_seconds),
            ) as resp:
                if resp.status != 200:
                    log.warning("LLM summary: HTTP %s from %s; using extractive", resp.status, url)
                    return None
                data = await resp.json(content_type=None)
            content = data["choices"][0]["message"]["content"]
        except TimeoutError as exc:
            log.warning(
                "LLM summary timed out after %ss; using extractive (%s)", s.timeout_seconds, exc
            )
            return None
        except (aiohttp.ClientError, ValueError, KeyError, IndexError, TypeError) as exc:
            log.warning("LLM summary failed; using extractive: %r", exc)
            return None
        if not isinstance(content, str):
            return None
        # Some models wrap their answer in reasoning tags; keep only the answer.
        content = re.sub(r"<think>.*?</think>", "", content, flags=re.DOTALL).strip()
        answer = _split(content, language)
        if answer is None:
            return None
        summary = _clip(answer.summary, MAX_CHARS)
        if not summary or detect_language(summary) != language:
            log.warning("LLM summary empty or not in the post's language; using extractive")
            return None
        return LlmSummary(summary, answer.why_it_matters)
