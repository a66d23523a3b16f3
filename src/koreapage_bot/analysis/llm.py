"""Optional LLM summaries through an OpenAI-compatible chat endpoint (Ollama, vLLM, hosted).

Off by default. Any failure (timeout, connection error, non-200, malformed or empty answer)
returns None and the caller keeps the extractive summary. The HTTP session is created on first
use and closed by `aclose()`; nothing is opened at import time.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

log = logging.getLogger(__name__)

SYSTEM_PROMPT = (
    "You summarize news and analysis about the US-South Korea alliance for a briefing channel. "
    "Write 2 or 3 plain sentences, at most {chars} characters, stating the facts and positions "
    "in the article. No preamble, no bullet points, no opinions of your own."
)
MAX_INPUT_CHARS = 8000


@dataclass(frozen=True, slots=True)
class LlmSettings:
    base_url: str = "http://127.0.0.1:11434/v1"
    model: str = "llama3.1"
    api_key: str | None = None
    timeout: float = 20.0
    enabled: bool = False
    max_chars: int = 600
    max_tokens: int = 300
    temperature: float = 0.2

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, base: LlmSettings | None = None
    ) -> LlmSettings:
        """Override config values with KOREAPAGE_LLM_{BASE_URL,MODEL,API_KEY,TIMEOUT,ENABLED}."""
        env = os.environ if env is None else env
        b = base or cls()
        enabled = env.get("KOREAPAGE_LLM_ENABLED")
        return cls(
            base_url=env.get("KOREAPAGE_LLM_BASE_URL", b.base_url),
            model=env.get("KOREAPAGE_LLM_MODEL", b.model),
            api_key=env.get("KOREAPAGE_LLM_API_KEY", b.api_key or "") or None,
            timeout=float(env.get("KOREAPAGE_LLM_TIMEOUT", b.timeout)),
            enabled=b.enabled if enabled is None else enabled.lower() in {"1", "true", "yes", "on"},
            max_chars=b.max_chars,
            max_tokens=b.max_tokens,
            temperature=b.temperature,
        )


def _clip(text: str, max_chars: int) -> str:
    text = " ".join(text.split())
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars]
    end = max(cut.rfind(". "), cut.rfind(".\u201d"), cut.rfind('."'))
    return cut[: end + 1] if end > max_chars // 3 else cut.rsplit(" ", 1)[0] + "…"


class LlmSummarizer:
    def __init__(self, settings: LlmSettings, session: aiohttp.ClientSession | None = None) -> None:
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

    async def summarize(self, *, title: str, text: str, issues: Sequence[str] = ()) -> str | None:
        s = self.settings
        url = s.base_url.rstrip("/") + "/chat/completions"
        user = f"Title: {title}\n"
        if issues:
            user += "Key issues: " + ", ".join(issues) + "\n"
        user += "\n" + text[:MAX_INPUT_CHARS]
        body: dict[str, Any] = {
            "model": s.model,
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT.format(chars=s.max_chars)},
                {"role": "user", "content": user},
            ],
            "temperature": s.temperature,
            "max_tokens": s.max_tokens,
            "stream": False,
        }
        headers = {"Content-Type": "application/json"}
        if s.api_key:
            headers["Authorization"] = f"Bearer {s.api_key}"
        try:
            async with self._get_session().post(
                url, json=body, headers=headers, timeout=aiohttp.ClientTimeout(total=s.timeout)
            ) as resp:
                if resp.status != 200:
                    log.warning("LLM summary: HTTP %s from %s; using extractive", resp.status, url)
                    return None
                data = await resp.json(content_type=None)
            content = data["choices"][0]["message"]["content"]
        except TimeoutError as exc:
            log.warning("LLM summary timed out after %ss; using extractive (%s)", s.timeout, exc)
            return None
        except (aiohttp.ClientError, ValueError, KeyError, IndexError, TypeError) as exc:
            log.warning("LLM summary failed; using extractive: %r", exc)
            return None
        if not isinstance(content, str):
            return None
        # Some models wrap their answer in reasoning tags; keep only the answer.
        content = re.sub(r"<think>.*?</think>", "", content, flags=re.DOTALL).strip()
        return _clip(content, s.max_chars) or None
