"""``parse_stream``: validated partial objects as the JSON arrives, then the final object.

Both stream classes wrap a chat stream and share :class:`_Partials`, which holds the whole
logic: each chunk's JSON piece (the content delta, or the forced tool call's argument delta) is
appended, and only then is the text so far validated with pydantic's partial-JSON validation
(``experimental_allow_partial``: an unfinished trailing string is kept, an unfinished list item
dropped; no JSON repair of our own). A partial is yielded when it validates and differs from the
last one yielded, so a consumer never sees the same object twice. A chunk without a JSON piece
(usage, role, finish) costs one attribute check.

:meth:`ParseStream.final` drains the stream and validates the accumulated reply fully: the
response model's instance, or :class:`~metallm.StructuredOutputError` (raw text, errors, the
response), or :class:`~metallm.RefusalError`. A stream is one model call; it does not re-ask.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any, Generic, TypeVar

from pydantic import ValidationError

from ..errors import StructuredOutputError
from ..streams import AsyncChatCompletionStream, ChatCompletionStream
from ..types import ChatCompletionChunk, ChatCompletionResponse
from ._reply import reply_text
from ._result import ParsedResponse
from ._schema import Shaped

__all__ = ["AsyncParseStream", "ParseStream"]

T = TypeVar("T")

_UNSET: Any = object()


class _Partials:
    """The text so far and the last partial yielded (shared by both stream classes)."""

    __slots__ = ("last", "name", "pieces", "shape", "tool_index")

    def __init__(self, shape: Shaped) -> None:
        self.shape = shape
        self.name = str((shape.response_format.json_schema or {}).get("name", ""))
        self.pieces: list[str] = []
        self.last: Any = _UNSET
        self.tool_index: int | None = None

    def feed(self, chunk: ChatCompletionChunk) -> Any:
        """The new partial this chunk makes (``_UNSET``: nothing new to yield)."""
        if not chunk.choices:
            return _UNSET
        delta = chunk.choices[0].delta
        piece = delta.content
        if delta.tool_calls:
            for call in delta.tool_calls:
                function = call.function
                if function is None:
                    continue
                if function.name == self.name:
                    self.tool_index = call.index
                if call.index == self.tool_index and function.arguments:
                    piece = (piece or "") + function.arguments
        if not piece:
            return _UNSET
        self.pieces.append(piece)
        value = self.shape.partial("".join(self.pieces))
        if value is None or value == self.last:
            return _UNSET
        self.last = value
        return value

    def finish(self, response: ChatCompletionResponse) -> ParsedResponse[Any]:
        """The fully validated answer of the whole reply."""
        responses = [response]
        text = reply_text(response, self.name, responses)
        try:
            value = self.shape.validate(text)
        except ValidationError as exc:
            errors = exc.errors(include_url=False)
            raise StructuredOutputError(
                f"the streamed reply did not validate: {len(errors)} error(s)",
                raw=text,
                errors=errors,
                responses=responses,
            ) from None
        return ParsedResponse(value, response, responses, text)


class ParseStream(Generic[T]):
    """Iterate for partial objects; :meth:`final` for the validated whole (use ``with``)."""

    def __init__(self, stream: ChatCompletionStream, shape: Shaped) -> None:
        self._stream = stream
        self._partials = _Partials(shape)
        self._result: ParsedResponse[T] | None = None

    def __iter__(self) -> Iterator[T]:
        feed = self._partials.feed
        for chunk in self._stream:
            value = feed(chunk)
            if value is not _UNSET:
                yield value

    def final(self) -> T:
        """The complete object (draining the stream first if need be), fully validated."""
        return self.final_result().parsed

    def final_result(self) -> ParsedResponse[T]:
        """The complete answer with its response (usage, cost), as ``parse`` returns it."""
        if self._result is None:
            self._result = self._partials.finish(self._stream.final_response())
        return self._result

    @property
    def stream(self) -> ChatCompletionStream:
        """The underlying chat stream (its chunks are consumed by iterating this one)."""
        return self._stream

    def close(self) -> None:
        """Stop reading and release the connection."""
        self._stream.close()

    def __enter__(self) -> ParseStream[T]:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        self._stream.__exit__(kind, exc, tb)


class AsyncParseStream(Generic[T]):
    """The async twin: ``async for`` partial objects; ``await final()``."""

    def __init__(self, stream: AsyncChatCompletionStream, shape: Shaped) -> None:
        self._stream = stream
        self._partials = _Partials(shape)
        self._result: ParsedResponse[T] | None = None

    async def __aiter__(self) -> AsyncIterator[T]:
        feed = self._partials.feed
        async for chunk in self._stream:
            value = feed(chunk)
            if value is not _UNSET:
                yield value

    async def final(self) -> T:
        """The complete object (draining the stream first if need be), fully validated."""
        return (await self.final_result()).parsed

    async def final_result(self) -> ParsedResponse[T]:
        """The complete answer with its response (usage, cost), as ``parse`` returns it."""
        if self._result is None:
            self._result = self._partials.finish(await self._stream.final_response())
        return self._result

    @property
    def stream(self) -> AsyncChatCompletionStream:
        """The underlying chat stream (its chunks are consumed by iterating this one)."""
        return self._stream

    async def close(self) -> None:
        """Stop reading and release the connection."""
        await self._stream.close()

    async def __aenter__(self) -> AsyncParseStream[T]:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        await self._stream.__aexit__(kind, exc, tb)
