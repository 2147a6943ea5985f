"""Routers for the tests, sync or async behind one synchronous face.

:class:`Harness` builds a ``Router`` (``mode="sync"``) or an ``AsyncRouter`` (``"async"``, run
on an event loop in a thread of its own), so a test body is written once and runs both ways:
``h.chat(...)``, ``h.stream(...)`` (drained: text and target), ``h.embed(...)``. Targets point
at real FakeLLMServer instances on 127.0.0.1 with fast retries; a :class:`FakeClock` drives
the limits and breakers of a ``LocalRouterState``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any

import metallm
from metallm.testing import FakeLLMServer

FAST = metallm.RetryPolicy(max_retries=1, initial_backoff=0.01, max_backoff=0.5, jitter=0)
USER = [{"role": "user", "content": "hi"}]
MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-sonnet-4-5", "gemini": "gemini-2.5-flash"}


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def target(
    server: FakeLLMServer, provider: str = "openai", name: str | None = None, **more: Any
) -> metallm.Target:
    """A target on ``server`` (fast retries, no hooks of its own unless given)."""
    kw: dict[str, Any] = {
        "provider": provider,
        "model": more.pop("model", MODELS.get(provider, "m-1")),
        "api_key": f"sk-router-test-{provider}-key",
        "base_url": server.base_url(provider),
        "retry": FAST,
        "hooks": [],
    }
    kw.update(more)
    return metallm.Target(name=name, **kw)


class Harness:
    """One router of ``mode``, with synchronous call helpers."""

    def __init__(self, mode: str, targets: list[metallm.Target], **router: Any) -> None:
        self.mode = mode
        router.setdefault("hooks", [])
        self._loop: asyncio.AbstractEventLoop | None = None
        if mode == "sync":
            self.router: Any = metallm.Router(targets=targets, **router)
            return
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

        async def make() -> Any:
            return metallm.AsyncRouter(targets=targets, **router)

        self.router = self.run(make)

    def run(self, fn: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
        """Run a coroutine function on the router's loop and wait for it."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(fn(), self._loop).result(timeout=60)

    def call(self, method: str, *args: Any, **kw: Any) -> Any:
        """One router method call, awaited on the loop in async mode."""
        if self.mode == "sync":
            return getattr(self.router, method)(*args, **kw)
        return self.run(lambda: getattr(self.router, method)(*args, **kw))

    def chat(self, **kw: Any) -> metallm.ChatCompletionResponse:
        kw.setdefault("messages", USER)
        return self.call("create_chat_completion", **kw)  # type: ignore[no-any-return]

    def embed(self, **kw: Any) -> metallm.EmbeddingsResponse:
        return self.call("create_embeddings", **kw)  # type: ignore[no-any-return]

    def stream(self, **kw: Any) -> tuple[str, str, metallm.ChatCompletionResponse]:
        """A routed stream drained: its text, the target that answered, the final response."""
        kw.setdefault("messages", USER)
        if self.mode == "sync":
            with self.router.create_chat_completion_stream(**kw) as s:
                text = "".join(c.choices[0].delta.content or "" for c in s if c.choices)
                return text, s.target, s.final_response()

        async def go() -> tuple[str, str, metallm.ChatCompletionResponse]:
            s = await self.router.create_chat_completion_stream(**kw)
            async with s:
                parts = [c.choices[0].delta.content or "" async for c in s if c.choices]
                return "".join(parts), s.target, await s.final_response()

        return self.run(go)  # type: ignore[no-any-return]

    def close(self) -> None:
        if self.mode == "sync":
            self.router.close()
            return
        self.run(self.router.aclose)
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def __enter__(self) -> Harness:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
