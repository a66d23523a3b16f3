"""A local OpenAI-compatible chat endpoint (aiohttp.web on 127.0.0.1, port 0) for LLM tests.

`mode` decides the answer: "ok" (a fixed summary), "slow" (sleeps past the client's timeout),
"error" (HTTP 500), "garbage" (200 with a body that is not a chat completion).
Every request body is recorded.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

SUMMARY = "Seoul and Washington agreed on a new troop cost deal. Seoul will pay 8 percent more."


class FakeChatServer:
    def __init__(self) -> None:
        self.mode = "ok"
        self.answer = SUMMARY  # what "ok" answers
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        self._server = TestServer(app, host="127.0.0.1", port=0)

    @property
    def base_url(self) -> str:
        return str(self._server.make_url("/v1"))

    async def __aenter__(self) -> FakeChatServer:
        await self._server.start_server()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._server.close()

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(await request.json())
        self.headers.append(dict(request.headers))
        if self.mode == "slow":
            await asyncio.sleep(5)
        if self.mode == "error":
            return web.json_response({"error": {"message": "model crashed"}}, status=500)
        if self.mode == "garbage":
            return web.json_response({"unexpected": True})
        return web.json_response(
            {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": self.answer}}],
            }
        )
