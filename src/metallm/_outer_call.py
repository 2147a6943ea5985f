"""An outer call: one user-facing call made of several chat calls (``parse`` and its re-asks).

Each inner call is an ordinary call of the exchange (its own hooks, retries, span, metrics);
the outer call only groups them. Its :class:`~metallm.LLMCallInfo` is built as any call's is
(:meth:`Exchange._info`), shown to the hooks' ``before_outer`` / ``after_outer`` (never to
``before_request``/``after_response``, so hooks that count calls count model calls only), and
passed as ``parent`` to each inner call, which is how a tracing hook nests their spans under
the outer one (:mod:`metallm.otel._outer`). Kept apart from :mod:`metallm._exchange` so that
module stays the single-call path.
"""

from __future__ import annotations

from typing import Protocol

from ._exchange import Exchange
from .errors import scrub
from .hooks import HookChain, LLMCallInfo
from .types import ChatCompletionRequest, ChatCompletionResponse

__all__ = ["OuterHost", "begin_outer", "end_outer"]


class OuterHost(Protocol):
    """What ending an outer call reads: a client's exchange, or a router's."""

    secrets: tuple[str, ...]
    hooks: HookChain


def begin_outer(
    exchange: Exchange, request: ChatCompletionRequest, started: tuple[float, float] | None
) -> LLMCallInfo:
    """Start an outer call: its info, shown to the hooks' ``before_outer``; pass it as
    ``parent`` to each inner call and end it with :func:`end_outer`."""
    info = exchange._info("chat", request, False, None, started, None)
    if exchange.hooks:
        exchange.hooks.before_outer(info, request)
    return info


def end_outer(
    exchange: OuterHost,
    info: LLMCallInfo,
    request: ChatCompletionRequest,
    response: ChatCompletionResponse | None,
    error: BaseException | None,
) -> None:
    """End an outer call (once): ``after_outer`` with its answer or its error (scrubbed of
    the client's secrets, whoever raised it)."""
    if error is not None:
        scrub(error, exchange.secrets)
    if exchange.hooks:
        exchange.hooks.after_outer(info, request, response, error)
