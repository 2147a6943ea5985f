"""Routed streams: a client stream whose first chunk the router has already read.

A routed stream falls back to the next target only until its first chunk reaches the caller
(never a silent switch mid-answer), so the router reads that chunk itself before handing the
stream over: an error before it (a refused request, an error event as the first event, a cut
connection) is one more failed attempt, and the next target is tried. The chunk read ahead
went through the stream's normal path (timed, accumulated, shown to ``on_chunk`` hooks) and
is given to the caller first; everything after it is the plain client stream's.
"""

from __future__ import annotations

from typing import Any

from ..streams import AsyncChatCompletionStream, ChatCompletionStream
from ..types import ChatCompletionChunk

__all__ = ["RoutedAsyncStream", "RoutedStream", "afirst_chunk", "first_chunk"]


class RoutedStream(ChatCompletionStream):
    """A :class:`~metallm.ChatCompletionStream` from a router; ``target`` names who answers."""

    _ahead: ChatCompletionChunk | None = None
    target: str = ""

    def __next__(self) -> ChatCompletionChunk:
        ahead = self._ahead
        if ahead is not None:
            self._ahead = None
            return ahead
        return super().__next__()


class RoutedAsyncStream(AsyncChatCompletionStream):
    """The async twin of :class:`RoutedStream`."""

    _ahead: ChatCompletionChunk | None = None
    target: str = ""

    async def __anext__(self) -> ChatCompletionChunk:
        ahead = self._ahead
        if ahead is not None:
            self._ahead = None
            return ahead
        return await super().__anext__()


def first_chunk(stream: RoutedStream) -> Any:
    """Read the first chunk ahead (None when the stream has none)."""
    try:
        stream._ahead = next(stream)
    except StopIteration:
        return None
    return stream._ahead


async def afirst_chunk(stream: RoutedAsyncStream) -> Any:
    """The async twin of :func:`first_chunk`."""
    try:
        stream._ahead = await stream.__anext__()
    except StopAsyncIteration:
        return None
    return stream._ahead
