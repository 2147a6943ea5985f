"""Shared test helpers: run one call through the real client, sync or async, the same way.

Every integration test is parametrised over ``mode`` ("sync" / "async") and calls these, so
both clients run the same case with the same assertions.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import metallm
from metallm.testing.corpus import corpus_dir

MODES = ["sync", "async"]


def require_corpus(provider: str) -> Path:
    """The provider's corpus folder; skip visibly if absent, fail under CI=true."""
    folder = corpus_dir() / provider
    if not folder.is_dir():
        msg = f"corpus folder {folder} not found (set METALLM_CORPUS)"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return folder


def complete(
    mode: str, client_kwargs: dict[str, Any], request: Any
) -> metallm.ChatCompletionResponse:
    """One non-stream call with a fresh client."""
    if mode == "sync":
        with metallm.Client(**client_kwargs) as client:
            return client.create_chat_completion(request)

    async def go() -> metallm.ChatCompletionResponse:
        async with metallm.AsyncClient(**client_kwargs) as client:
            return await client.create_chat_completion(request)

    return asyncio.run(go())


def stream(
    mode: str,
    client_kwargs: dict[str, Any],
    request: Any,
    *,
    take: int | None = None,
    on_chunk: Callable[[metallm.ChatCompletionChunk], None] | None = None,
) -> tuple[list[metallm.ChatCompletionChunk], metallm.ChatCompletionResponse]:
    """One streamed call: the chunks read (all, or ``take`` then close) and final_response()."""
    chunks: list[metallm.ChatCompletionChunk] = []
    if mode == "sync":
        with (
            metallm.Client(**client_kwargs) as client,
            client.create_chat_completion_stream(request) as s,
        ):
            for chunk in s:
                chunks.append(chunk)
                if on_chunk:
                    on_chunk(chunk)
                if take is not None and len(chunks) >= take:
                    s.close()
                    break
            return chunks, s.final_response()

    async def go() -> tuple[list[metallm.ChatCompletionChunk], metallm.ChatCompletionResponse]:
        async with metallm.AsyncClient(**client_kwargs) as client:
            s = await client.create_chat_completion_stream(request)
            async with s:
                async for chunk in s:
                    chunks.append(chunk)
                    if on_chunk:
                        on_chunk(chunk)
                    if take is not None and len(chunks) >= take:
                        await s.close()
                        break
                return chunks, await s.final_response()

    return asyncio.run(go())


def user(text: str) -> metallm.Message:
    """A user message."""
    return metallm.Message(role=metallm.Role.USER, content=text)


class RecordingHook:
    """A hook that records every call it sees, in order, with what it got."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    def before_request(self, info: metallm.LLMCallInfo, request: Any) -> None:
        self.events.append(("before", info.call_id))

    def after_response(
        self, info: metallm.LLMCallInfo, request: Any, response: Any, error: Any
    ) -> None:
        self.events.append(("after", (info.end_reason, response, error)))

    def wrap_stream(self, info: metallm.LLMCallInfo, request: Any, stream: Any) -> Any:
        self.events.append(("wrap", info.is_async))
        return stream

    def on_retry(self, info: metallm.LLMCallInfo, event: metallm.RetryEvent) -> None:
        self.events.append(("retry", event))

    def names(self) -> list[str]:
        return [name for name, _ in self.events]
