"""``FakeProvider``: a scripted provider for unit tests, no HTTP at all.

It implements both :class:`~metallm.provider.Provider` and
:class:`~metallm.provider.AsyncProvider`, so ``Client(custom_provider=FakeProvider(...))`` and
``AsyncClient(custom_provider=...)`` both work. Each call takes the next scripted item: a
response, a string (a one-choice text reply), a list of chunks (a stream), or an exception to
raise (retries apply to metallm errors as with any provider). Requests are recorded.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import AsyncIterator, Iterable, Iterator

from ..types import (
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChatCompletionResponse,
    Choice,
    ChunkChoice,
    Delta,
    Message,
    Role,
    Usage,
)

__all__ = ["FakeProvider", "ScriptItem"]

ScriptItem = ChatCompletionResponse | str | list[ChatCompletionChunk] | BaseException


def _text_response(text: str, model: str, name: str) -> ChatCompletionResponse:
    words = len(text.split())
    return ChatCompletionResponse(
        id="fake-1",
        model=model,
        provider=name,
        choices=[Choice(message=Message(role=Role.ASSISTANT, content=text), finish_reason="stop")],
        usage=Usage(prompt_tokens=1, completion_tokens=words, total_tokens=1 + words),
    )


def _text_chunks(text: str, model: str) -> list[ChatCompletionChunk]:
    pieces = [text[i : i + 4] for i in range(0, len(text), 4)] or [""]
    chunks = [
        ChatCompletionChunk(id="fake-1", model=model, choices=[ChunkChoice(delta=Delta(content=p))])
        for p in pieces
    ]
    chunks.append(
        ChatCompletionChunk(id="fake-1", model=model, choices=[ChunkChoice(finish_reason="stop")])
    )
    return chunks


class FakeProvider:
    """A provider that replays a script; thread-safe; records every request it gets."""

    def __init__(self, script: Iterable[ScriptItem] = (), *, name: str = "fake") -> None:
        self._name = name
        self._script: deque[ScriptItem] = deque(script)
        self._lock = threading.Lock()
        self.requests: list[ChatCompletionRequest] = []
        self.closed = False

    @property
    def name(self) -> str:
        """The provider name reported to hooks and in responses."""
        return self._name

    def add(self, *items: ScriptItem) -> None:
        """Append items to the script."""
        with self._lock:
            self._script.extend(items)

    def _next(
        self, request: ChatCompletionRequest
    ) -> ChatCompletionResponse | str | list[ChatCompletionChunk]:
        with self._lock:
            self.requests.append(request)
            item = self._script.popleft() if self._script else "Hello from FakeProvider!"
        if isinstance(item, BaseException):
            raise item
        return item

    def _response(self, request: ChatCompletionRequest) -> ChatCompletionResponse:
        item = self._next(request)
        if isinstance(item, str):
            return _text_response(item, request.model, self._name)
        if isinstance(item, list):
            raise TypeError("the next scripted item is a stream; call the stream method")
        return item

    def _chunks(self, request: ChatCompletionRequest) -> list[ChatCompletionChunk]:
        item = self._next(request)
        if isinstance(item, str):
            return _text_chunks(item, request.model)
        if isinstance(item, ChatCompletionResponse):
            raise TypeError("the next scripted item is a response; call the non-stream method")
        return item

    def create_chat_completion(self, request: ChatCompletionRequest) -> ChatCompletionResponse:
        """The next scripted response."""
        return self._response(request)

    def create_chat_completion_stream(
        self, request: ChatCompletionRequest
    ) -> Iterator[ChatCompletionChunk]:
        """The next scripted stream."""
        return iter(self._chunks(request))

    def close(self) -> None:
        """Mark closed (tests check the client closes its provider)."""
        self.closed = True

    async def acreate_chat_completion(
        self, request: ChatCompletionRequest
    ) -> ChatCompletionResponse:
        """Async twin of :meth:`create_chat_completion`."""
        return self._response(request)

    async def acreate_chat_completion_stream(
        self, request: ChatCompletionRequest
    ) -> AsyncIterator[ChatCompletionChunk]:
        """Async twin of :meth:`create_chat_completion_stream`."""
        chunks = self._chunks(request)

        async def gen() -> AsyncIterator[ChatCompletionChunk]:
            for chunk in chunks:
                yield chunk

        return gen()

    async def aclose(self) -> None:
        """Async twin of :meth:`close`."""
        self.closed = True
