"""The ``count_tokens`` operation of the exchange: an endpoint round trip, or a local count.

:func:`count_tokens_flow` is :meth:`metallm._exchange.Exchange.count_tokens`, kept apart so the
exchange module stays about chat and embeddings. It is an exchange generator like the others
(the same pumps drive it, sync and async), with these rules:

* a codec whose ``build_count_tokens_request`` returns a request (Anthropic, Gemini, Bedrock)
  sends it with the client's retry policy and typed errors; an error reply the codec calls
  ``count_tokens_unsupported`` (Bedrock: a model CountTokens cannot count) falls back to the
  local count, anything else raises;
* a codec without an endpoint counts locally (:func:`metallm._counting.local_count`: tiktoken
  for the encoding the codec names, else the estimate), with no I/O and no action yielded;
* a custom provider's own ``count_tokens`` (``acount_tokens`` when async) is called when it has
  one, else the estimate.

It runs no hooks: the GenAI conventions define no span or metric for counting tokens, and a
count must not show up as an inference call in the duration and token-usage metrics. Its
calls get a :class:`_Quiet` view of the exchange, which retries and maps errors the same way
but has an empty hook chain; errors are scrubbed of secrets as every call's are.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from ._actions import Flow
from ._call import Call
from ._counting import local_count, token_encoding
from ._spending import Spending
from .errors import APIError, scrub
from .hooks import HookChain, LLMCallInfo
from .pricing import Pricer
from .retry import RetryPolicy
from .tokens import TokenCount
from .types import ChatCompletionRequest


class Exchange(Protocol):
    """What the flow reads of :class:`metallm._exchange.Exchange` (which imports this module)."""

    provider: Any
    transport: Any
    provider_name: str
    issuer: str
    codec: Any
    policy: RetryPolicy
    logger: logging.Logger
    secrets: tuple[str, ...]
    is_async: bool
    pricer: Pricer

    def redact(self, text: str) -> str: ...

    def _attempts(self, call: Call, fn: Callable[[Any], Any], arg: Any) -> Flow[Any]: ...


__all__ = ["count_tokens_flow"]


class _Quiet:
    """An exchange's call settings with no hooks (for calls that are not inference calls)."""

    __slots__ = (
        "codec",
        "hooks",
        "issuer",
        "logger",
        "policy",
        "pricer",
        "provider_name",
        "secrets",
        "spending",
    )

    def __init__(self, exchange: Exchange) -> None:
        self.provider_name = exchange.provider_name
        self.issuer = exchange.issuer
        self.spending: Spending | None = None  # counting spends nothing
        self.pricer = exchange.pricer
        self.codec = exchange.codec
        self.hooks = HookChain([], exchange.logger)
        self.policy = exchange.policy
        self.logger = exchange.logger
        self.secrets = exchange.secrets


def _quiet_call(exchange: Exchange, request: ChatCompletionRequest) -> Call:
    info = LLMCallInfo.start(
        exchange.provider_name,
        request.model,
        streaming=False,
        is_async=exchange.is_async,
        redact=exchange.redact,
    )
    return Call(_Quiet(exchange), info, request)


def count_tokens_flow(exchange: Exchange, request: ChatCompletionRequest) -> Flow[TokenCount]:
    """The request's input tokens (see the module docstring for where they come from)."""
    codec: Any = exchange.codec
    try:
        if codec is None:
            name = "acount_tokens" if exchange.is_async else "count_tokens"
            method = getattr(exchange.provider, name, None)
            if not callable(method):
                return local_count(request, None)
            call = _quiet_call(exchange, request)
            counted: TokenCount = yield from exchange._attempts(call, method, request)
            return counted
        build = getattr(codec, "build_count_tokens_request", None)
        http = build(request) if callable(build) else None
        if http is None:
            return local_count(request, token_encoding(codec, request.model))
        call = _quiet_call(exchange, request)
        try:
            reply = yield from exchange._attempts(call, exchange.transport.request, http)
        except APIError as exc:
            unsupported = getattr(codec, "count_tokens_unsupported", None)
            if callable(unsupported) and unsupported(exc):
                return local_count(request, token_encoding(codec, request.model))
            raise
        result: TokenCount = call.parse(
            lambda r: codec.parse_count_tokens_response(r, request), reply
        )
        return result
    except BaseException as exc:
        scrub(exc, exchange.secrets)
        raise
