"""The client sessions behind each contender: one request, each library used as documented.

Every session sends the same request (:data:`MODEL`, :data:`MESSAGES`; streams ask for usage
with :data:`STREAM_OPTIONS`) and reads what its library hands back and nothing more: raw httpx
parses JSON itself, the SDK and metallm return their own objects. Libraries are imported when a
session is created, so a missing package only affects its own row. Sessions take the server's
``base_url`` (``http://127.0.0.1:PORT/v1``); metallm's also take ``Client`` keyword arguments,
for rows that configure it differently (hooks, telemetry): :class:`MetallmOTelSync` and
:class:`MetallmOTelAsync` pass ``hooks=[OTelHook(...)]`` on real SDK providers (``telemetry``).
The openai sessions bind ``chat.completions.create`` when they are created, so a session created
while an instrumentor is active keeps calling the instrumented method, and one created without
keeps calling the plain one.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

__all__ = [
    "API_KEY",
    "MESSAGES",
    "MODEL",
    "STREAM_OPTIONS",
    "HttpxAsync",
    "HttpxSync",
    "MetallmAsync",
    "MetallmOTelAsync",
    "MetallmOTelSync",
    "MetallmSync",
    "OpenAIAsync",
    "OpenAISync",
    "metallm_limits",
    "openai_limits",
]

MODEL = "gpt-4o"
MESSAGES: list[dict[str, str]] = [{"role": "user", "content": "Say hello."}]
STREAM_OPTIONS: dict[str, bool] = {"include_usage": True}
API_KEY = "sk-bench"

_TIMEOUT = 120.0


# -- raw httpx: the floor ------------------------------------------------------------------------


def _body(stream: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"model": MODEL, "messages": MESSAGES}
    if stream:
        body["stream"] = True
        body["stream_options"] = STREAM_OPTIONS
    return body


class HttpxSync:
    """``httpx.Client.post`` + ``json.loads``; streams via ``iter_lines`` + ``json.loads``."""

    def __init__(self, base_url: str) -> None:
        import httpx

        self._client = httpx.Client(timeout=_TIMEOUT)
        self._url = base_url + "/chat/completions"
        self._plain = _body(stream=False)
        self._streamed = _body(stream=True)

    def call(self) -> None:
        response = self._client.post(self._url, json=self._plain)
        json.loads(response.content)

    def _lines(self, lines: Iterator[str]) -> Iterator[Any]:
        loads = json.loads
        for line in lines:
            if line.startswith("data: ") and line != "data: [DONE]":
                yield loads(line[6:])

    def stream(self) -> int:
        count = 0
        loads = json.loads
        with self._client.stream("POST", self._url, json=self._streamed) as response:
            for line in response.iter_lines():
                if line.startswith("data: ") and line != "data: [DONE]":
                    loads(line[6:])
                    count += 1
        return count

    def first_chunk(self) -> float:
        start = time.perf_counter()
        with self._client.stream("POST", self._url, json=self._streamed) as response:
            chunks = self._lines(response.iter_lines())
            next(chunks)
            elapsed = time.perf_counter() - start
            for _ in chunks:
                pass
        return elapsed

    def close(self) -> None:
        self._client.close()


class HttpxAsync:
    """The async twin on ``httpx.AsyncClient``, pool limits raised so they never serialise."""

    def __init__(self, base_url: str) -> None:
        import httpx

        self._client = httpx.AsyncClient(
            timeout=_TIMEOUT, limits=httpx.Limits(max_connections=1000)
        )
        self._url = base_url + "/chat/completions"
        self._streamed = _body(stream=True)

    async def stream(self) -> int:
        count = 0
        loads = json.loads
        async with self._client.stream("POST", self._url, json=self._streamed) as response:
            async for line in response.aiter_lines():
                if line.startswith("data: ") and line != "data: [DONE]":
                    loads(line[6:])
                    count += 1
        return count

    async def aclose(self) -> None:
        await self._client.aclose()


# -- the official openai SDK ---------------------------------------------------------------------


class OpenAISync:
    """``openai.OpenAI(...).chat.completions.create``, ``max_retries=0``."""

    def __init__(self, base_url: str) -> None:
        import openai

        self._client = openai.OpenAI(base_url=base_url, api_key=API_KEY, max_retries=0)
        self._create: Any = self._client.chat.completions.create

    def call(self) -> None:
        self._create(model=MODEL, messages=MESSAGES)

    def _open(self) -> Any:
        return self._create(
            model=MODEL, messages=MESSAGES, stream=True, stream_options=STREAM_OPTIONS
        )

    def stream(self) -> int:
        count = 0
        with self._open() as chunks:
            for _ in chunks:
                count += 1
        return count

    def first_chunk(self) -> float:
        start = time.perf_counter()
        with self._open() as chunks:
            iterator = iter(chunks)
            next(iterator)
            elapsed = time.perf_counter() - start
            for _ in iterator:
                pass
        return elapsed

    def close(self) -> None:
        self._client.close()


class OpenAIAsync:
    """``openai.AsyncOpenAI``, its default connection limits left as they are."""

    def __init__(self, base_url: str) -> None:
        import openai

        self._client = openai.AsyncOpenAI(base_url=base_url, api_key=API_KEY, max_retries=0)
        self._create: Any = self._client.chat.completions.create

    async def stream(self) -> int:
        count = 0
        chunks = await self._create(
            model=MODEL, messages=MESSAGES, stream=True, stream_options=STREAM_OPTIONS
        )
        async with chunks:
            async for _ in chunks:
                count += 1
        return count

    async def aclose(self) -> None:
        await self._client.close()


def openai_limits() -> str:
    """The openai SDK's default pool limits, as installed."""
    try:
        from openai._constants import DEFAULT_CONNECTION_LIMITS as limits
    except ImportError:
        return "its defaults"
    return _describe_limits(limits)


def _describe_limits(limits: Any) -> str:
    fields = ("max_connections", "max_keepalive_connections", "keepalive_expiry")
    return ", ".join(f"{name}={getattr(limits, name, '?')}" for name in fields)


def metallm_limits() -> str:
    """metallm's own pool limits, as installed."""
    try:  # a private detail, read for the notes only
        from metallm._transport import _LIMITS as limits
    except ImportError:
        return "its defaults"
    return _describe_limits(limits)


# -- metallm -------------------------------------------------------------------------------------


class MetallmSync:
    """``metallm.Client(provider="openai", ...)``, default hooks, keyword-argument requests."""

    def __init__(self, base_url: str, **client_kwargs: Any) -> None:
        import metallm

        self._client = metallm.Client(
            provider="openai", base_url=base_url, api_key=API_KEY, **client_kwargs
        )
        self._create = self._client.create_chat_completion
        self._open = self._client.create_chat_completion_stream

    def call(self) -> None:
        self._create(model=MODEL, messages=MESSAGES)

    def stream(self) -> int:
        count = 0
        with self._open(model=MODEL, messages=MESSAGES) as chunks:
            for _ in chunks:
                count += 1
        return count

    def first_chunk(self) -> float:
        start = time.perf_counter()
        with self._open(model=MODEL, messages=MESSAGES) as chunks:
            next(chunks)
            elapsed = time.perf_counter() - start
            for _ in chunks:
                pass
        return elapsed

    def close(self) -> None:
        self._client.close()


class MetallmAsync:
    """``metallm.AsyncClient``, the same settings."""

    def __init__(self, base_url: str, **client_kwargs: Any) -> None:
        import metallm

        self._client = metallm.AsyncClient(
            provider="openai", base_url=base_url, api_key=API_KEY, **client_kwargs
        )
        self._open = self._client.create_chat_completion_stream

    async def stream(self) -> int:
        count = 0
        chunks = await self._open(model=MODEL, messages=MESSAGES)
        async with chunks:
            async for _ in chunks:
                count += 1
        return count

    async def aclose(self) -> None:
        await self._client.aclose()


class MetallmOTelSync(MetallmSync):
    """``metallm.Client(..., hooks=[OTelHook(tracer_provider=tp, meter_provider=mp)])``, SDK."""

    def __init__(self, base_url: str) -> None:
        from telemetry import metallm_otel_hook

        super().__init__(base_url, hooks=[metallm_otel_hook()])


class MetallmOTelAsync(MetallmAsync):
    """``metallm.AsyncClient`` with the same hook (one hook, one pair of providers)."""

    def __init__(self, base_url: str) -> None:
        from telemetry import metallm_otel_hook

        super().__init__(base_url, hooks=[metallm_otel_hook()])
