"""Observability hooks: the protocol, and the chain that runs them safely.

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

A ``run_tools`` loop adds six more, as optional as the rest (:mod:`metallm.hooks._tool_info`):
``before_tool_loop(loop)`` / ``after_tool_loop(loop, response, error)`` around the whole loop,
``tool_loop_context(loop)`` (a context manager current while the loop runs, so its model calls
nest under it), and per tool execution ``before_tool(call)``, ``tool_context(call)`` around
the tool function, and ``after_tool(call)`` (``call.error`` says whether it failed).

An outer call that groups several calls (``parse`` and its validation re-asks) is shown to the
hooks apart, so hooks that count calls never count it twice: ``before_outer(info, request)``
when it starts, ``on_outer_event(info, name, attributes)`` for what happens between its calls
(a validation retry), and ``after_outer(info, request, response, error)`` once when it ends;
each inner call is an ordinary call whose ``info.parent`` is the outer call's info.

Every operation runs the same hook points: ``request`` is a ``ChatCompletionRequest`` or an
``EmbeddingsRequest`` and ``response`` the matching response (``info.operation`` says which);
``wrap_stream``, ``on_chunk`` and the stream fields of the info concern chat streams only.

A hook that raises is logged and skipped; it never breaks the user's call.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ..embeddings import EmbeddingsRequest, EmbeddingsResponse
from ..retry import RetryEvent
from ..types import ChatCompletionChunk, ChatCompletionRequest, ChatCompletionResponse
from ._info import LLMCallInfo

if TYPE_CHECKING:  # the tool loop's infos: only a tool loop makes them
    from ._tool_info import ToolCallInfo, ToolLoopInfo

ChunkIterator = Iterator[ChatCompletionChunk] | AsyncIterator[ChatCompletionChunk]
"""What ``wrap_stream`` takes and returns: an iterator for ``Client``, async for ``AsyncClient``."""

AnyRequest = ChatCompletionRequest | EmbeddingsRequest
"""The request a hook is shown: the call's operation decides which."""
AnyResponse = ChatCompletionResponse | EmbeddingsResponse
Failure = BaseException | None
"""What a call ended with when it failed (None: it did not)."""


@runtime_checkable
class ObservabilityHook(Protocol):
    """The three core methods of a hook; ``attempt``, ``on_retry`` and ``on_chunk`` are extra.

    All are optional in practice: the client accepts any object and calls what it has.
    """

    def before_request(self, info: LLMCallInfo, request: AnyRequest) -> None: ...

    def after_response(
        self, info: LLMCallInfo, request: AnyRequest, response: AnyResponse | None, error: Failure
    ) -> None: ...

    def wrap_stream(
        self, info: LLMCallInfo, request: AnyRequest, stream: ChunkIterator
    ) -> ChunkIterator: ...


class BaseHook:
    """A hook that does nothing: subclass it and override only what you observe.

    It satisfies :class:`ObservabilityHook`; the chain skips its no-op methods, so an inherited
    no-op costs nothing per call.
    """

    def before_request(self, info: LLMCallInfo, request: AnyRequest) -> None:
        """Called once before the first attempt."""

    def after_response(
        self, info: LLMCallInfo, request: AnyRequest, response: AnyResponse | None, error: Failure
    ) -> None:
        """Called exactly once when the call ends."""

    def wrap_stream(
        self, info: LLMCallInfo, request: AnyRequest, stream: ChunkIterator
    ) -> ChunkIterator:
        """Return the stream the user iterates (this one: unchanged)."""
        return stream


_NO_OPS = {name: getattr(BaseHook, name) for name in ("before_request", "after_response")}
_NO_OPS["wrap_stream"] = BaseHook.wrap_stream


class HookChain:
    """Runs every hook's methods in order, each guarded; resolved once per client.

    Bound methods are looked up at construction, so a call with no hooks costs a few empty
    loops and a hook without a method costs nothing.
    """

    def __init__(self, hooks: Sequence[object], logger: logging.Logger) -> None:
        self.hooks = list(hooks)
        self._logger = logger

        def methods(name: str) -> list[Any]:
            no_op = _NO_OPS.get(name)
            return [
                m
                for h in self.hooks
                if callable(m := getattr(h, name, None))
                and (no_op is None or getattr(m, "__func__", None) is not no_op)
            ]

        self._before = methods("before_request")
        self._after = methods("after_response")
        self._wrap = methods("wrap_stream")
        self._retry = methods("on_retry")
        self._attempt = methods("attempt")
        self.on_chunk_methods = methods("on_chunk")
        self._loop_before = methods("before_tool_loop")
        self._loop_after = methods("after_tool_loop")
        self._loop_context = methods("tool_loop_context")
        self._tool_before = methods("before_tool")
        self._tool_after = methods("after_tool")
        self._tool_context = methods("tool_context")
        self._before_outer = methods("before_outer")
        self._after_outer = methods("after_outer")
        self._outer_event = methods("on_outer_event")

    def __bool__(self) -> bool:
        return bool(self.hooks)

    def _failed(self, method: Any, exc: BaseException) -> None:
        self._logger.warning(
            "observability hook %s.%s failed; skipped",
            type(getattr(method, "__self__", method)).__name__,
            getattr(method, "__name__", "?"),
            exc_info=exc,
        )

    def _each(self, methods: list[Any], *args: Any) -> None:
        for method in methods:
            try:
                method(*args)
            except Exception as exc:
                self._failed(method, exc)

    def before_request(self, info: LLMCallInfo, request: AnyRequest) -> None:
        """Call every ``before_request``."""
        self._each(self._before, info, request)

    def after_response(
        self, info: LLMCallInfo, request: AnyRequest, response: AnyResponse | None, error: Failure
    ) -> None:
        """Call every ``after_response``."""
        self._each(self._after, info, request, response, error)

    def on_retry(self, info: LLMCallInfo, event: RetryEvent) -> None:
        """Call every ``on_retry``."""
        self._each(self._retry, info, event)

    def before_outer(self, info: LLMCallInfo, request: AnyRequest) -> None:
        """Call every ``before_outer`` (an outer call starts)."""
        self._each(self._before_outer, info, request)

    def after_outer(
        self, info: LLMCallInfo, request: AnyRequest, response: AnyResponse | None, error: Failure
    ) -> None:
        """Call every ``after_outer`` (an outer call ends, once)."""
        self._each(self._after_outer, info, request, response, error)

    def on_outer_event(self, info: LLMCallInfo, name: str, attributes: dict[str, Any]) -> None:
        """Call every ``on_outer_event`` (something happened between an outer call's calls)."""
        self._each(self._outer_event, info, name, attributes)

    def on_chunk(self, info: LLMCallInfo, chunk: ChatCompletionChunk) -> None:
        """Call every ``on_chunk`` (the client calls this only when some hook has one)."""
        self._each(self.on_chunk_methods, info, chunk)

    def wrap_stream(
        self, info: LLMCallInfo, request: AnyRequest, stream: ChunkIterator
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
        return self._contexts(self._attempt, info)

    def _contexts(self, methods: list[Any], info: Any) -> AbstractContextManager[Any]:
        if not methods:
            return _NULL_CONTEXT
        if len(methods) == 1:
            return _GuardedContext(self, methods[0], info)
        stack = contextlib.ExitStack()
        for method in methods:
            stack.enter_context(_GuardedContext(self, method, info))
        return stack

    # -- the tool loop ------------------------------------------------------------------------

    def before_tool_loop(self, loop: ToolLoopInfo) -> None:
        """Call every ``before_tool_loop``."""
        self._each(self._loop_before, loop)

    def after_tool_loop(
        self, loop: ToolLoopInfo, response: ChatCompletionResponse | None, error: Failure
    ) -> None:
        """Call every ``after_tool_loop``."""
        self._each(self._loop_after, loop, response, error)

    def tool_loop_context(self, loop: ToolLoopInfo) -> AbstractContextManager[Any]:
        """Every hook's ``tool_loop_context``, entered together (guarded)."""
        return self._contexts(self._loop_context, loop)

    @property
    def observes_tools(self) -> bool:
        """Whether any hook has a per-tool method (else the loop skips building their info)."""
        return bool(self._tool_before or self._tool_after or self._tool_context)

    def before_tool(self, call: ToolCallInfo) -> None:
        """Call every ``before_tool``."""
        self._each(self._tool_before, call)

    def after_tool(self, call: ToolCallInfo) -> None:
        """Call every ``after_tool``."""
        self._each(self._tool_after, call)

    def tool_context(self, call: ToolCallInfo) -> AbstractContextManager[Any]:
        """Every hook's ``tool_context``, entered together (guarded)."""
        return self._contexts(self._tool_context, call)


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
