"""What the stream tests build on: sources, a stand-in HTTP handle, a recording hook, and a
driver that runs a sync or async stream through the same sync-looking calls.

Streams are made from an ``OpenedStream`` whose call comes from a real client's exchange
(``client._exchange._begin``), so hooks, secrets and the provider name are the real ones.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import metallm
from _helpers import user
from metallm._accumulate import ChunkAccumulator
from metallm._exchange import OpenedStream
from metallm.providers.openai._stream import OpenAIStreamDecoder
from metallm.streams import AsyncChatCompletionStream, ChatCompletionStream
from metallm.testing.fake_provider import FakeProvider
from metallm.types import ChatCompletionChunk, ChunkChoice, Delta, Usage

KEY = "sk-test-SECRET-key-0123456789abcdef"
REQ = metallm.ChatCompletionRequest(model="req-model", messages=[user("hi")])


def chunks_of(*texts: str) -> list[ChatCompletionChunk]:
    out = [
        ChatCompletionChunk(id="c1", model="m-1", choices=[ChunkChoice(delta=Delta(content=t))])
        for t in texts
    ]
    out.append(
        ChatCompletionChunk(
            id="c1",
            choices=[ChunkChoice(finish_reason="stop")],
            usage=Usage(prompt_tokens=3, completion_tokens=len(texts), total_tokens=0),
        )
    )
    return out


class Hook:
    """Records after_response and on_chunk; ``transform`` makes wrap_stream replace chunks."""

    def __init__(self, transform: Callable[[ChatCompletionChunk], Any] | None = None) -> None:
        self.ends: list[tuple[Any, Any, Any]] = []
        self.seen: list[ChatCompletionChunk] = []
        self.transform = transform

    def after_response(self, info: Any, request: Any, response: Any, error: Any) -> None:
        self.ends.append((info, response, error))

    def on_chunk(self, info: Any, chunk: ChatCompletionChunk) -> None:
        self.seen.append(chunk)

    def wrap_stream(self, info: Any, request: Any, stream: Any) -> Any:
        if self.transform is None:
            return None
        t = self.transform

        def wrap() -> Iterator[ChatCompletionChunk]:
            for c in stream:
                yield from t(c)

        async def awrap() -> AsyncIterator[ChatCompletionChunk]:
            async for c in stream:
                for out in t(c):
                    yield out

        return awrap() if info.is_async else wrap()

    @property
    def end(self) -> tuple[Any, Any, Any]:
        (only,) = self.ends  # the call ended exactly once
        return only


class Source:
    """A custom provider's stream: iterable in both modes, closes recorded.

    ``self_iter``: the object is its own iterator (``__iter__`` returns self).
    """

    def __init__(self, items: list[Any], *, self_iter: bool = False) -> None:
        self.items = items
        self.closes = 0
        self.pulled = 0
        self._pos = 0
        self.self_iter = self_iter

    def _step(self) -> ChatCompletionChunk:
        if self._pos >= len(self.items):
            raise IndexError
        item = self.items[self._pos]
        self._pos += 1
        self.pulled += 1
        if isinstance(item, BaseException):
            raise item
        return item

    def _gen(self) -> Iterator[ChatCompletionChunk]:
        while self._pos < len(self.items):
            yield self._step()

    async def _agen(self) -> AsyncIterator[ChatCompletionChunk]:
        while self._pos < len(self.items):
            yield self._step()

    def __iter__(self) -> Any:
        return self if self.self_iter else self._gen()

    def __next__(self) -> ChatCompletionChunk:
        try:
            return self._step()
        except IndexError:
            raise StopIteration from None

    def __aiter__(self) -> Any:
        return self if self.self_iter else self._agen()

    async def __anext__(self) -> ChatCompletionChunk:
        try:
            return self._step()
        except IndexError:
            raise StopAsyncIteration from None

    def close(self) -> None:
        self.closes += 1

    async def aclose(self) -> None:
        self.closes += 1


class Handle:
    """A stand-in for the transport's stream handle: body pieces, then maybe a failure."""

    def __init__(self, pieces: list[bytes], fail: BaseException | None = None) -> None:
        self.pieces = pieces
        self.fail = fail
        self.closes = 0

    def _chunks(self) -> Iterator[bytes]:
        yield from self.pieces
        if self.fail is not None:
            raise self.fail

    async def _achunks(self) -> AsyncIterator[bytes]:
        for piece in self._chunks():
            yield piece


class AHandle(Handle):
    def chunks(self) -> AsyncIterator[bytes]:
        return self._achunks()

    async def close(self) -> None:
        self.closes += 1


class SHandle(Handle):
    def chunks(self) -> Iterator[bytes]:
        return self._chunks()

    def close(self) -> None:
        self.closes += 1


class Driver:
    """One stream, sync or async, driven with the same sync-looking calls."""

    def __init__(self, stream: Any, loop: asyncio.AbstractEventLoop | None) -> None:
        self.stream = stream
        self.loop = loop

    def _do(self, result: Any) -> Any:
        return self.loop.run_until_complete(result) if self.loop is not None else result

    def next(self) -> ChatCompletionChunk:
        if self.loop is None:
            return next(self.stream)
        return self._do(self.stream.__anext__())

    def drain(self) -> list[ChatCompletionChunk]:
        if self.loop is None:
            return list(self.stream)

        async def go() -> list[ChatCompletionChunk]:
            return [c async for c in self.stream]

        return self._do(go())

    def close(self) -> None:
        self._do(self.stream.close())

    def final(self) -> metallm.ChatCompletionResponse:
        return self._do(self.stream.final_response())

    def within(self, body: Callable[[Driver], None]) -> None:
        """Run ``body`` inside the stream's (async) ``with`` block."""
        if self.loop is None:
            with self.stream:
                body(self)
            return
        # body() drives the loop itself, so enter and exit by hand around it
        self._do(self.stream.__aenter__())
        try:
            body(self)
        except BaseException as exc:
            self._do(self.stream.__aexit__(type(exc), exc, exc.__traceback__))
            raise
        self._do(self.stream.__aexit__(None, None, None))


def opened_stream(mode: str, hook: Hook, **parts: Any) -> OpenedStream:
    """An opened stream of a call begun on a real client (sync or async) with ``hook``."""
    cls = metallm.Client if mode == "sync" else metallm.AsyncClient
    client = cls(custom_provider=FakeProvider(), hooks=[hook], api_key=KEY)
    call = client._exchange._begin("chat", REQ, streaming=True)
    return OpenedStream(call, **parts)


class Kit:
    """Builds streams for one mode (the async ones on a loop of its own)."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.loop = asyncio.new_event_loop() if mode == "async" else None

    def opened(self, hook: Hook, **parts: Any) -> OpenedStream:
        return opened_stream(self.mode, hook, **parts)

    def stream(self, opened: OpenedStream, on_complete: Callable[..., None] | None = None) -> Any:
        if self.mode == "sync":
            return ChatCompletionStream(opened, on_complete)
        if on_complete is None:
            return AsyncChatCompletionStream(opened)

        async def aon_complete(response: metallm.ChatCompletionResponse) -> None:
            on_complete(response)

        return AsyncChatCompletionStream(opened, aon_complete)

    def source(
        self, items: list[Any], hook: Hook, on_complete: Any = None, **kw: Any
    ) -> tuple[Driver, Source]:
        source = Source(items, **kw)
        return Driver(self.stream(self.opened(hook, source=source), on_complete), self.loop), source

    def http(self, pieces: list[bytes], hook: Hook, **kw: Any) -> tuple[Driver, Handle]:
        handle = (SHandle if self.mode == "sync" else AHandle)(pieces, **kw)
        opened = self.opened(hook, handle=handle, decoder=OpenAIStreamDecoder("openai", (KEY,)))
        return Driver(self.stream(opened), self.loop), handle

    def shutdown(self) -> None:
        if self.loop is not None:
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()


def accumulated(chunks: list[ChatCompletionChunk]) -> metallm.ChatCompletionResponse:
    acc = ChunkAccumulator("fake")
    for c in chunks:
        acc.add(c)
    return acc.response()


def read_then_raise(exc: BaseException | None) -> Callable[[Driver], None]:
    """A ``with`` block's body: read one chunk, then raise ``exc`` (if any)."""

    def body(d: Driver) -> None:
        d.next()
        if exc is not None:
            raise exc

    return body


def sse(*events: object, done: bool = True) -> bytes:
    lines = [f"data: {json.dumps(e)}\n\n" for e in events]
    if done:
        lines.append("data: [DONE]\n\n")
    return "".join(lines).encode()


def chunk_event(content: str | None = None, finish: str | None = None, **extra: Any) -> dict:
    delta = {"content": content} if content is not None else {}
    return {
        "id": "chatcmpl-9",
        "object": "chat.completion.chunk",
        "created": 1766084435,
        "model": "gpt-4o-2024-08-06",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        **extra,
    }


BODY = sse(
    chunk_event("Hé", usage=None),
    chunk_event("llo"),
    chunk_event(finish="stop"),
    {
        "id": "chatcmpl-9",
        "choices": [],
        "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11},
    },
)


def split(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]
