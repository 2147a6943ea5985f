"""Observability hooks: the protocol, the per-call info, and the chain that runs them safely.

A hook observes calls without touching the core (the Go design's ``ObservabilityHook``). Every
method is optional: a hook implements what it needs and the chain skips the rest. For each call
the client runs, on every hook:

- ``before_request(info, request)`` once, before the first attempt;
- ``attempt(info)`` around each HTTP attempt, a context manager (e.g. to make a span current so
  the HTTP client's own instrumentation nests under it);
- ``on_retry(info, event)`` before each retry's wait;
- ``wrap_stream(info, request, stream)`` once for a stream, returning the (wrapped) chunk
  iterator, an ``Iterator`` in sync clients and an ``AsyncIterator`` in async ones
  (``info.is_async`` says which); ``on_chunk(info, chunk)`` per chunk is the cheap alternative;
- ``after_response(info, request, response, error)`` exactly once when the call ends: for a
  stream, when it is drained, closed, fails or is garbage-collected (``info.end_reason`` says
  which; ``response`` is then what was accumulated).

A hook that raises is logged and skipped; it never breaks the user's call.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from .retry import RetryEvent
from .types import ChatCompletionChunk, ChatCompletionRequest, ChatCompletionResponse

__all__ = ["ChunkIterator", "HookChain", "LLMCallInfo", "ObservabilityHook", "StreamEndReason"]

ChunkIterator = Iterator[ChatCompletionChunk] | AsyncIterator[ChatCompletionChunk]
"""What ``wrap_stream`` takes and returns: an iterator for ``Client``, async for ``AsyncClient``."""

StreamEndReason = Literal["complete", "closed", "error", "garbage_collected"]

_ids = itertools.count(1)


def _no_secrets(text: str) -> str:
    return text


@dataclass
class LLMCallInfo:
    """What a hook knows about one call; ``state`` is free scratch space for hooks.

    ``start_time`` is wall-clock epoch seconds, ``start_perf`` the ``perf_counter`` reading at
    the same moment (for durations). ``retries`` counts retries made so far. For streams the
    client measures ``time_to_first_chunk`` (seconds from the start of the call) and
    ``chunk_gaps`` (seconds before each later chunk), so hooks read them instead of timing
    every chunk themselves. ``capture_content`` is the client's message-content setting
    (None: the hook's own or the environment's). ``redact`` scrubs the client's secrets from a
    text, for hooks that export message content or error texts.
    """

    call_id: str
    provider_name: str
    model: str
    start_time: float
    start_perf: float
    streaming: bool = False
    is_async: bool = False
    server_address: str = ""
    server_port: int = 0
    conversation_id: str | None = None
    retries: int = 0
    end_reason: StreamEndReason | None = None
    time_to_first_chunk: float | None = None
    chunk_gaps: list[float] = field(default_factory=list, repr=False)
    capture_content: str | None = None
    redact: Callable[[str], str] = field(default=_no_secrets, repr=False)
    state: dict[Any, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def start(
        cls,
        provider_name: str,
        model: str,
        *,
        streaming: bool,
        is_async: bool,
        server_address: str = "",
        server_port: int = 0,
        conversation_id: str | None = None,
        capture_content: str | None = None,
        redact: Callable[[str], str] = _no_secrets,
    ) -> LLMCallInfo:
        """Info for a call starting now, with a process-unique ``call_id``."""
        return cls(
            f"call-{next(_ids)}",
            provider_name,
            model,
            time.time(),
            time.perf_counter(),
            streaming,
            is_async,
            server_address,
            server_port,
            conversation_id,
            capture_content=capture_content,
            redact=redact,
        )

    @property
    def elapsed(self) -> float:
        """Seconds since the call started."""
        return time.perf_counter() - self.start_perf


@runtime_checkable
class ObservabilityHook(Protocol):
    """The three core methods of a hook; ``attempt``, ``on_retry`` and ``on_chunk`` are extra.

    All are optional in practice: the client accepts any object and calls what it has.
    """

    def before_request(self, info: LLMCallInfo, request: ChatCompletionRequest) -> None: ...

    def after_response(
        self,
        info: LLMCallInfo,
        request: ChatCompletionRequest,
        response: ChatCompletionResponse | None,
        error: BaseException | None,
    ) -> None: ...

    def wrap_stream(
        self, info: LLMCallInfo, request: ChatCompletionRequest, stream: ChunkIterator
    ) -> ChunkIterator: ...


class HookChain:
    """Runs every hook's methods in order, each guarded; resolved once per client.

    Bound methods are looked up at construction, so a call with no hooks costs a few empty
    loops and a hook without a method costs nothing.
    """

    def __init__(self, hooks: Sequence[object], logger: logging.Logger) -> None:
        self.hooks = list(hooks)
        self._logger = logger

        def methods(name: str) -> list[Any]:
            return [m for h in self.hooks if callable(m := getattr(h, name, None))]

        self._before = methods("before_request")
        self._after = methods("after_response")
        self._wrap = methods("wrap_stream")
        self._retry = methods("on_retry")
        self._attempt = methods("attempt")
        self.on_chunk_methods = methods("on_chunk")

    def __bool__(self) -> bool:
        return bool(self.hooks)

    def _failed(self, method: Any, exc: BaseException) -> None:
        self._logger.warning(
            "observability hook %s.%s failed; skipped",
            type(getattr(method, "__self__", method)).__name__,
            getattr(method, "__name__", "?"),
            exc_info=exc,
        )

    def before_request(self, info: LLMCallInfo, request: ChatCompletionRequest) -> None:
        """Call every ``before_request``."""
        for method in self._before:
            try:
                method(info, request)
            except Exception as exc:
                self._failed(method, exc)

    def after_response(
        self,
        info: LLMCallInfo,
        request: ChatCompletionRequest,
        response: ChatCompletionResponse | None,
        error: BaseException | None,
    ) -> None:
        """Call every ``after_response``."""
        for method in self._after:
            try:
                method(info, request, response, error)
            except Exception as exc:
                self._failed(method, exc)

    def on_retry(self, info: LLMCallInfo, event: RetryEvent) -> None:
        """Call every ``on_retry``."""
        for method in self._retry:
            try:
                method(info, event)
            except Exception as exc:
                self._failed(method, exc)

    def on_chunk(self, info: LLMCallInfo, chunk: ChatCompletionChunk) -> None:
        """Call every ``on_chunk`` (the client calls this only when some hook has one)."""
        for method in self.on_chunk_methods:
            try:
                method(info, chunk)
            except Exception as exc:
                self._failed(method, exc)

    def wrap_stream(
        self, info: LLMCallInfo, request: ChatCompletionRequest, stream: ChunkIterator
    ) -> ChunkIterator:
        """Let every hook wrap the stream; a hook that fails to wrap leaves it as it was."""
        for method in self._wrap:
            try:
                wrapped = method(info, request, stream)
            except Exception as exc:
                self._failed(method, exc)
                continue
            if wrapped is not None:
                stream = wrapped
        return stream

    def attempt(self, info: LLMCallInfo) -> AbstractContextManager[Any]:
        """A context manager entering every hook's ``attempt`` context (guarded)."""
        if not self._attempt:
            return _NULL_CONTEXT
        if len(self._attempt) == 1:
            return _GuardedContext(self, self._attempt[0], info)
        stack = contextlib.ExitStack()
        for method in self._attempt:
            stack.enter_context(_GuardedContext(self, method, info))
        return stack


class _GuardedContext:
    """One hook's attempt context; a failure entering or leaving it is logged, not raised."""

    __slots__ = ("_chain", "_cm", "_info", "_method")

    def __init__(self, chain: HookChain, method: Any, info: LLMCallInfo) -> None:
        self._chain = chain
        self._method = method
        self._info = info
        self._cm: Any = None

    def __enter__(self) -> None:
        try:
            cm = self._method(self._info)
            cm.__enter__()
            self._cm = cm
        except Exception as exc:
            self._chain._failed(self._method, exc)

    def __exit__(self, *exc: object) -> None:
        if self._cm is not None:
            try:
                self._cm.__exit__(None, None, None)
            except Exception as err:
                self._chain._failed(self._method, err)


_NULL_CONTEXT = contextlib.nullcontext()
