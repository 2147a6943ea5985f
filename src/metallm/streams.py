"""The stream objects users iterate: :class:`ChatCompletionStream` and its async twin.

A stream yields unified chunks, accumulates them (``final_response()``), and ends its call
exactly once however it ends: drained, closed (``close()`` or leaving a ``with`` block), failed
(provider error event, cut connection, or an exception escaping the user's ``with`` block) or
dropped without closing (garbage collection). Closing releases the HTTP connection. A stream
that stops before its end marker raises; it never ends quietly. ``on_complete`` (used by the
memory-aware calls to store the turn) runs only when a stream is drained to its end; an error it
raises surfaces from the iteration that reached the end.
"""

from __future__ import annotations

import abc
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

from ._call import StreamTracker
from ._exchange import OpenedStream
from .errors import StreamError
from .provider import StreamDecoder
from .types import ChatCompletionChunk, ChatCompletionRequest, ChatCompletionResponse

__all__ = [
    "AsyncChatCompletionStream",
    "AsyncOnComplete",
    "AsyncStreamOpener",
    "ChatCompletionStream",
    "OnComplete",
    "StreamOpener",
]

OnComplete = Callable[[ChatCompletionResponse], None]
"""Run with the accumulated response when a stream is drained to its end (memory stores it)."""
AsyncOnComplete = Callable[[ChatCompletionResponse], Awaitable[None]]

_GC_ERROR = "stream was garbage-collected before it was drained or closed"


class ChatCompletionStream:
    """A synchronous stream of chunks; an iterator and a context manager."""

    def __init__(self, opened: OpenedStream, on_complete: OnComplete | None = None) -> None:
        call = opened.call
        chunks: Iterator[ChatCompletionChunk]
        if opened.handle is not None:
            chunks = _http_chunks(opened.handle, opened.decoder)
            self._close_source: Callable[[], Any] | None = opened.handle.close
        else:
            chunks = iter(opened.source)
            self._close_source = getattr(opened.source, "close", None)
        self._tracker = StreamTracker(call)
        self._on_complete = on_complete
        self._released = False
        hooks = call.exchange.hooks
        self._it: Iterator[ChatCompletionChunk] = (
            hooks.wrap_stream(call.info, call.request, chunks) if hooks else chunks  # type: ignore[assignment]
        )

    def __iter__(self) -> ChatCompletionStream:
        return self

    def __next__(self) -> ChatCompletionChunk:
        try:
            chunk = next(self._it)
        except StopIteration:
            self._release()
            if self._tracker.end("complete") and self._on_complete is not None:
                self._on_complete(self._tracker.response())
            raise
        except BaseException as exc:
            self._release()
            self._tracker.end("error", exc)
            raise
        self._tracker.add(chunk)
        return chunk

    def _release(self) -> None:
        """Close the chunk iterator and the source, each once (one call if they are one)."""
        if self._released:
            return
        self._released = True
        close = getattr(self._it, "close", None)
        source, self._close_source = self._close_source, None
        with contextlib.suppress(Exception):
            if close is not None and close != source:
                close()
        if source is not None:
            with contextlib.suppress(Exception):
                source()

    def close(self) -> None:
        """Stop reading and release the connection; the call ends as closed early."""
        self._tracker.end("closed")
        self._release()

    def final_response(self) -> ChatCompletionResponse:
        """The accumulated response, reading the rest of the stream first if need be."""
        if not self._tracker.finished:
            for _ in self:
                pass
        if self._tracker.error is not None:
            raise self._tracker.error
        return self._tracker.response()

    @property
    def finished(self) -> bool:
        """Whether the stream has ended (drained, closed or failed)."""
        return self._tracker.finished

    def __enter__(self) -> ChatCompletionStream:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        if exc is not None:
            self._tracker.end("error", exc)
        self.close()

    def __del__(self) -> None:
        try:
            if not self._tracker.finished:
                self._tracker.end("garbage_collected", StreamError(_GC_ERROR))
            self._release()
        except Exception:  # interpreter shutdown or a half-built object
            pass


class AsyncChatCompletionStream:
    """An asynchronous stream of chunks; an async iterator and async context manager."""

    def __init__(self, opened: OpenedStream, on_complete: AsyncOnComplete | None = None) -> None:
        call = opened.call
        chunks: AsyncIterator[ChatCompletionChunk]
        if opened.handle is not None:
            chunks = _ahttp_chunks(opened.handle, opened.decoder)
            self._close_source: Callable[[], Awaitable[Any]] | None = opened.handle.close
        else:
            chunks = opened.source.__aiter__()
            self._close_source = getattr(opened.source, "aclose", None)
        self._tracker = StreamTracker(call)
        self._on_complete = on_complete
        self._released = False
        hooks = call.exchange.hooks
        self._it: AsyncIterator[ChatCompletionChunk] = (
            hooks.wrap_stream(call.info, call.request, chunks) if hooks else chunks  # type: ignore[assignment]
        )

    def __aiter__(self) -> AsyncChatCompletionStream:
        return self

    async def __anext__(self) -> ChatCompletionChunk:
        try:
            chunk = await self._it.__anext__()
        except StopAsyncIteration:
            await self._release()
            if self._tracker.end("complete") and self._on_complete is not None:
                await self._on_complete(self._tracker.response())
            await self._tracker.acharge()
            raise
        except BaseException as exc:
            await self._release()
            self._tracker.end("error", exc)
            await self._tracker.acharge()
            raise
        self._tracker.add(chunk)
        return chunk

    async def _release(self) -> None:
        """Close the chunk iterator and the source, each once (one call if they are one)."""
        if self._released:
            return
        self._released = True
        aclose = getattr(self._it, "aclose", None)
        source, self._close_source = self._close_source, None
        with contextlib.suppress(Exception):
            if aclose is not None and aclose != source:
                await aclose()
        if source is not None:
            with contextlib.suppress(Exception):
                await source()

    async def close(self) -> None:
        """Stop reading and release the connection; the call ends as closed early."""
        self._tracker.end("closed")
        await self._release()
        await self._tracker.acharge()

    aclose = close

    async def final_response(self) -> ChatCompletionResponse:
        """The accumulated response, reading the rest of the stream first if need be."""
        if not self._tracker.finished:
            async for _ in self:
                pass
        if self._tracker.error is not None:
            raise self._tracker.error
        return self._tracker.response()

    @property
    def finished(self) -> bool:
        """Whether the stream has ended (drained, closed or failed)."""
        return self._tracker.finished

    async def __aenter__(self) -> AsyncChatCompletionStream:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        if exc is not None:
            self._tracker.end("error", exc)
        await self.close()

    def __del__(self) -> None:
        try:
            if not self._tracker.finished:
                self._tracker.end("garbage_collected", StreamError(_GC_ERROR))
            self._tracker.charge()  # nothing can be awaited here: the blocking charge
            source, self._close_source = self._close_source, None
            if source is not None:
                import asyncio

                loop = asyncio.get_running_loop()
                task: Any = loop.create_task(source())  # type: ignore[arg-type]
                _PENDING.add(task)
                task.add_done_callback(_PENDING.discard)
        except Exception:  # no running loop, or interpreter shutdown
            pass


_PENDING: set[Any] = set()
"""Close tasks of garbage-collected async streams, kept alive until they finish."""


class StreamOpener(abc.ABC):
    """What the call mixins (plain, memory-aware) need of the class they are mixed into: a
    client opens a stream on its exchange, a router routes it (and reads its first chunk).
    An abstract base, so a class that mixes the call methods in without bringing
    ``_open_stream`` cannot even be built."""

    @abc.abstractmethod
    def _open_stream(
        self,
        request: ChatCompletionRequest,
        conversation_id: str | None,
        on_complete: OnComplete | None,
        started: tuple[float, float] | None = None,
    ) -> ChatCompletionStream:
        """Open a stream for ``request`` (the client's exchange, or the router's route)."""


class AsyncStreamOpener(abc.ABC):
    """The async twin of :class:`StreamOpener`."""

    @abc.abstractmethod
    async def _open_stream(
        self,
        request: ChatCompletionRequest,
        conversation_id: str | None,
        on_complete: AsyncOnComplete | None,
        started: tuple[float, float] | None = None,
    ) -> AsyncChatCompletionStream:
        """Open a stream for ``request`` (the client's exchange, or the router's route)."""


def _http_chunks(handle: Any, decoder: StreamDecoder) -> Iterator[ChatCompletionChunk]:
    """Decode an HTTP stream's bytes into chunks as they arrive."""
    for data in handle.chunks():
        chunks = decoder.feed(data)
        if chunks:
            yield from chunks
    yield from decoder.close()


async def _ahttp_chunks(handle: Any, decoder: StreamDecoder) -> AsyncIterator[ChatCompletionChunk]:
    """The async twin of :func:`_http_chunks`."""
    async for data in handle.chunks():
        for chunk in decoder.feed(data):
            yield chunk
    for chunk in decoder.close():
        yield chunk
