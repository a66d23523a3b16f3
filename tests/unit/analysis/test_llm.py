from collections.abc import AsyncIterator

import pytest

from koreapage_bot.analysis.llm import LlmSummarizer
from koreapage_bot.analysis.pipeline import OfflineAnalyzer
from koreapage_bot.config import AnalysisConfig, LlmConfig, parse_settings
from koreapage_bot.domain import ArticleInput
from tests.unit.analysis.fake_llm import SUMMARY, FakeChatServer

ARTICLE = ArticleInput(
    id="a1",
    title="Allies agree on a new troop cost deal",
    text=(
        "South Korea and the United States reached a new Special Measures Agreement on Friday.\n"
        "Seoul will pay 8 percent more next year toward the cost of U.S. troops.\n"
        "The National Assembly must still approve the deal."
    ),
)


@pytest.fixture
async def chat() -> AsyncIterator[FakeChatServer]:
    async with FakeChatServer() as server:
        yield server


def _settings(server: FakeChatServer, timeout: float = 2.0) -> AnalysisConfig:
    llm = LlmConfig(
        enabled=True,
        base_url=server.base_url,
        model="tiny",
        api_key="k-123",
        timeout_seconds=timeout,
    )
    return AnalysisConfig(llm=llm)


async def test_llm_summary_is_used_when_the_endpoint_answers(chat: FakeChatServer) -> None:
    async with OfflineAnalyzer(_settings(chat)) as analyzer:
        result = await analyzer.analyze(ARTICLE)
    assert result.summary == SUMMARY
    body = chat.requests[0]
    assert body["model"] == "tiny"
    assert "Special Measures Agreement" in body["messages"][-1]["content"]
    assert chat.headers[0]["Authorization"] == "Bearer k-123"


@pytest.mark.parametrize("mode", ["slow", "error", "garbage"])
async def test_falls_back_to_the_extractive_summary(chat: FakeChatServer, mode: str) -> None:
    chat.mode = mode
    offline = OfflineAnalyzer().analyze_now(ARTICLE).summary
    async with OfflineAnalyzer(_settings(chat, timeout=0.3)) as analyzer:
        result = await analyzer.analyze(ARTICLE)
    assert chat.requests, "the endpoint was called"
    assert result.summary == offline
    assert result.summary != SUMMARY


async def test_unreachable_endpoint_falls_back() -> None:
    # Bind and release a loopback port so nothing listens there.
    async with FakeChatServer() as server:
        url = server.base_url
    summarizer = LlmSummarizer(LlmConfig(enabled=True, base_url=url, timeout_seconds=1.0))
    try:
        assert await summarizer.summarize(title="t", text="x") is None
    finally:
        await summarizer.aclose()


async def test_off_by_default_no_request(chat: FakeChatServer) -> None:
    llm = LlmConfig(enabled=False, base_url=chat.base_url)
    async with OfflineAnalyzer(AnalysisConfig(llm=llm)) as analyzer:
        await analyzer.analyze(ARTICLE)
    assert chat.requests == []


def test_settings_from_the_config_file_and_the_environment() -> None:
    env = {"KOREAPAGE_LLM_BASE_URL": "http://127.0.0.1:9/v1", "KOREAPAGE_LLM_API_KEY": "secret"}
    data = {"analysis": {"llm": {"enabled": True, "model": "m"}}}
    s = parse_settings(data, env, "<test>", None).analysis.llm
    assert (s.base_url, s.model, s.api_key, s.enabled) == (
        "http://127.0.0.1:9/v1",
        "m",
        "secret",
        True,
    )
    assert parse_settings({}, {}, "<test>", None).analysis.llm.enabled is False


async def test_the_llm_adds_a_why_it_matters_line(chat: FakeChatServer) -> None:
    chat.answer = (
        SUMMARY + "\nWhy it matters: the deal ends a year of strain over the cost of U.S. troops."
    )
    async with OfflineAnalyzer(_settings(chat)) as analyzer:
        result = await analyzer.analyze(ARTICLE)
    assert result.summary == (
        SUMMARY + "\nWhy it matters: the deal ends a year of strain over the cost of U.S. troops."
    )
    system = chat.requests[0]["messages"][0]["content"]
    assert "Write in English" in system and "Why it matters" in system


KOREAN = ArticleInput(
    id="k1",
    title="한미 방위비 분담금 협정 타결",
    text=(
        "한미 양국이 새 방위비 분담금 협정에 합의했다.\n"
        "한국은 내년 주한미군 주둔 비용으로 8% 더 부담한다.\n"
        "협정은 국회 비준을 거쳐 발효된다."
    ),
)


async def test_a_korean_post_gets_a_korean_summary(chat: FakeChatServer) -> None:
    answer = "한미가 새 방위비 분담금 협정에 합의했다.\n왜 중요한가: 1년간의 갈등이 끝난다."
    chat.answer = answer
    async with OfflineAnalyzer(_settings(chat)) as analyzer:
        result = await analyzer.analyze(KOREAN)
    assert result.summary == answer
    assert "Write in Korean" in chat.requests[0]["messages"][0]["content"]


async def test_an_answer_in_the_wrong_language_falls_back(chat: FakeChatServer) -> None:
    chat.answer = SUMMARY  # English, for a Korean post
    offline = OfflineAnalyzer().analyze_now(KOREAN).summary
    async with OfflineAnalyzer(_settings(chat)) as analyzer:
        result = await analyzer.analyze(KOREAN)
    assert result.summary == offline and result.language == "ko"
