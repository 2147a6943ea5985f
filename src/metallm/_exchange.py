"""The sans-IO exchange every call of every operation runs through.

In the style of httpx's ``auth_flow``, an exchange is a generator: it yields I/O actions
(:mod:`metallm._actions`: attempt this send, sleep this long, run these sub-exchanges) and is
sent their outcomes, and it holds every decision in between: the hook points
(``before_request``, the attempt context, ``on_retry``, ``after_response``), the retry policy,
the mapping of error replies to typed errors, the validation of success replies. ``Client`` and
``AsyncClient`` drive it with one pump each (:mod:`metallm._pump`), which differ only in
``await``; a router drives the same exchanges of several clients from one pump.

One :class:`Exchange` serves one client: it knows the provider (a sans-IO codec with the
client's transport, or a custom provider bringing its own I/O), the hooks, the retry policy and
the secrets to scrub. Its public generators are the operations:

- :meth:`Exchange.complete` (chat) and :meth:`Exchange.open_stream` (a chat stream: retried
  until the first byte, then handed to the stream classes, which end the call when the stream
  ends);
- :meth:`Exchange.embeddings`: a list longer than the provider's per-request limit is split,
  the parts are sent as one :class:`~metallm._actions.Parallel` action (concurrently in the
  async pump, at most :data:`MAX_IN_FLIGHT` at a time, each part with its own retries), and
  merged in input order with summed usage: one call, one span, one event per part;
- :meth:`Exchange.count_tokens`: the provider's counting endpoint when its codec names one
  (retried like any call, an "unsupported model" reply falling back), else the local count
  (:mod:`metallm._counting`: tiktoken or the estimate, no I/O). It runs no hooks: the GenAI
  conventions define no span for it, and it must not add to the inference metrics.

``preflight`` (the client's ``preflight_context_check``) makes :meth:`complete` and
:meth:`open_stream` refuse a request that cannot fit the model's context window before any
I/O and before the call starts (:func:`metallm._counting.check_context`).

Token counting, budgets and pricing are imported where they are first used (counting by
:meth:`Exchange.count_tokens` and the pre-flight check, pricing by the first client's
exchange), not with this module, which ``import metallm`` loads: a plain call's path has no
import statement.

A client with a budget (:mod:`metallm._spending`) has every operation check it first (an
action like any other, so a Redis budget is awaited in the async pump) and charge it with the
result; a stream charges when it ends.

Adding an operation: (1) its request and response types (``metallm/<operation>.py``), with a
``coerce_*`` function that checks input before any I/O; (2) a codec method pair on the provider
kit (``build_<op>_request(request) -> HTTPRequest``, ``parse_<op>_response(response, request)``,
defaulting to :class:`~metallm.UnsupportedFeatureError`), and optionally a method on the custom
``Provider`` protocol; (3) a generator here built from :meth:`Exchange._begin`,
:meth:`Exchange._attempts` and :meth:`Exchange._finish`, as :meth:`embeddings` is (with the
budget's check and charge if the operation spends); (4) one public
method on each client, ``return run(self._exchange.<op>(coerce_<op>(...)))`` (``await arun``
in the async one). Telemetry follows from ``info.operation``; nothing else is copied.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from ._accumulate import finalize_response
from ._actions import Attempt, Flow, Parallel, Sleep
from ._call import Call
from ._embeddings_parts import batch_limit, merge, split
from .embeddings import (
    EmbeddingsRequest,
    EmbeddingsResponse,
    check_embeddings_reply,
)
from .errors import UnsupportedFeatureError, redact
from .hooks import AnyRequest, HookChain, LLMCallInfo, Operation, RouteInfo, SubRequest
from .hooks._info import ProviderAttributes
from .provider import HTTPProvider
from .retry import RetryPolicy
from .tokens import TokenCount
from .types import ChatCompletionRequest, ChatCompletionResponse

if TYPE_CHECKING:
    from ._spending import Spending
    from .pricing import ModelPrice, Pricer

__all__ = ["MAX_IN_FLIGHT", "AttemptOf", "Exchange", "OpenedStream"]

T = TypeVar("T")

MAX_IN_FLIGHT = 4
"""Sub-requests of one split call in flight at once (async clients)."""


class AttemptOf:
    """Which routed attempt a call is: the target's ``name``, the attempt ``number`` (1 for
    the first target tried), and the :class:`~metallm.hooks.RouteInfo` when this attempt
    stands for the whole routed call (a single eligible target: no outer call)."""

    __slots__ = ("name", "number", "route")

    def __init__(self, name: str, number: int, route: RouteInfo | None = None) -> None:
        self.name = name
        self.number = number
        self.route = route


class OpenedStream:
    """A stream whose first byte may flow: ``handle`` + ``decoder`` for a codec (the
    transport's stream handle), or ``source`` (a custom provider's chunk iterator)."""

    __slots__ = ("call", "decoder", "handle", "source")

    def __init__(self, call: Call, handle: Any = None, decoder: Any = None, source: Any = None):
        self.call = call
        self.handle = handle
        self.decoder = decoder
        self.source = source


@dataclass(eq=False)
class Exchange:
    """One client's exchange settings; its generator methods are the operations.

    ``transport`` is the client's transport when ``provider`` is a codec (None for a custom
    provider bringing its own I/O). The provider facts telemetry needs (``semconv_name``,
    ``system_apart``, ``span_attributes``, and ``issuer``, the codec name a stream's reasoning
    parts are stamped with) are read from the provider once, here.
    """

    provider: Any
    transport: Any
    _: KW_ONLY
    provider_name: str
    hooks: HookChain
    policy: RetryPolicy
    logger: logging.Logger
    secrets: tuple[str, ...]
    server: tuple[str, int] = ("", 0)
    capture_content: str | None = None
    is_async: bool = False
    spending: Spending | None = None
    preflight: bool = False
    prices: dict[str, ModelPrice] | None = None
    codec: HTTPProvider | None = field(init=False)
    semconv_name: str = field(init=False)
    system_apart: bool = field(init=False)
    issuer: str = field(init=False)
    span_attributes: ProviderAttributes | None = field(init=False)
    pricer: Pricer = field(init=False)

    def __post_init__(self) -> None:
        from .pricing import Pricer  # at the first client, not at ``import metallm``

        provider = self.provider
        self.pricer = Pricer(self.provider_name, self.prices, self.logger)
        self.codec = provider if self.transport is not None else None
        self.semconv_name = str(getattr(provider, "semconv_name", None) or self.provider_name)
        self.system_apart = bool(getattr(provider, "system_instructions_apart", False))
        # the name reasoning parts are stamped with, as the codec's own parser stamps them
        self.issuer = str(getattr(provider, "name", None) or self.provider_name)
        extra = getattr(provider, "span_attributes", None)
        self.span_attributes = extra if callable(extra) else None

    def redact(self, text: str) -> str:
        """``text`` with this client's secrets scrubbed."""
        return redact(text, self.secrets)

    # -- the operations -----------------------------------------------------------------------

    def complete(
        self,
        request: ChatCompletionRequest,
        conversation_id: str | None = None,
        started: tuple[float, float] | None = None,
        parent: LLMCallInfo | None = None,
        target: AttemptOf | None = None,
    ) -> Flow[ChatCompletionResponse]:
        """A whole chat completion, retried per the policy (the hottest path: one frame);
        ``parent`` is the outer call it is an attempt of (:mod:`metallm._outer_call`),
        ``target`` the router's attempt it is (:class:`AttemptOf`)."""
        if self.preflight:
            self.check_fits(request)
        spending = self.spending
        if spending is not None:
            yield from spending.check()
        call = self._begin("chat", request, False, conversation_id, started, parent, target)
        codec = self.codec
        try:
            if codec is None:
                method = self._method("create_chat_completion")
                result: ChatCompletionResponse = yield from self._attempts(call, method, request)
            else:  # the first attempt inline: no sub-generator unless it failed
                action = Attempt(
                    self.transport.request, codec.build_request(request, stream=False), call.attempt
                )
                reply = yield action
                if call.failure(reply) is not None:
                    reply = yield from self._retries(call, action, reply)
                result = call.parse(codec.parse_response, reply)
                if not result.model:  # some wire formats (Bedrock) do not echo the model
                    result.model = request.model
        except BaseException as exc:
            call.fail(exc)
            raise
        response = call.succeed(finalize_response(result))
        if spending is not None:
            yield from spending.charge(response)
        return response

    def open_stream(
        self,
        request: ChatCompletionRequest,
        conversation_id: str | None = None,
        started: tuple[float, float] | None = None,
        parent: LLMCallInfo | None = None,
        target: AttemptOf | None = None,
    ) -> Flow[OpenedStream]:
        """A chat stream, opened (retried until its first byte); the stream ends the call (and
        charges the budget, :class:`~metallm._call.StreamTracker`)."""
        if self.preflight:
            self.check_fits(request)
        if self.spending is not None:
            yield from self.spending.check()
        call = self._begin("chat", request, True, conversation_id, started, parent, target)
        codec = self.codec
        try:
            if codec is not None:
                http = codec.build_request(request, stream=True)
                handle = yield from self._attempts(call, self.transport.stream, http)
                return OpenedStream(call, handle, codec.stream_decoder(request))
            method = self._method("create_chat_completion_stream")
            return OpenedStream(call, source=(yield from self._attempts(call, method, request)))
        except BaseException as exc:
            call.fail(exc)
            raise

    def embeddings(
        self,
        request: EmbeddingsRequest,
        started: tuple[float, float] | None = None,
        parent: LLMCallInfo | None = None,
        target: AttemptOf | None = None,
    ) -> Flow[EmbeddingsResponse]:
        """Embeddings for every input, in order, split into parts when the list is long."""
        spending = self.spending
        if spending is not None:
            yield from spending.check()
        call = self._begin("embeddings", request, False, None, started, parent, target)
        result = yield from self._finish(call, self._embeddings(call, request))
        if spending is not None:
            yield from spending.charge(result)
        return result

    def count_tokens(self, request: ChatCompletionRequest) -> Flow[TokenCount]:
        """The request's input tokens: the provider's endpoint, else counted locally."""
        from ._count_flow import count_tokens_flow  # with tiktoken's loader: only when counting

        return count_tokens_flow(self, request)

    def check_fits(self, request: ChatCompletionRequest) -> None:
        """The pre-flight context check (raises ContextLengthExceededError; no I/O)."""
        from ._counting import check_context, token_encoding  # only with preflight on

        check_context(request, self.provider_name, token_encoding(self.codec, request.model))

    # -- the pieces every operation is made of ------------------------------------------------

    def _begin(
        self,
        operation: Operation,
        request: AnyRequest,
        streaming: bool,
        conversation_id: str | None = None,
        started: tuple[float, float] | None = None,
        parent: LLMCallInfo | None = None,
        target: AttemptOf | None = None,
    ) -> Call:
        """Start a call (its clock from ``started``): build its info, run ``before_request``."""
        info = self._info(operation, request, streaming, conversation_id, started, parent)
        if target is not None:
            info.target, info.attempt, info.route = target.name, target.number, target.route
        call = Call(self, info, request)
        if self.hooks:
            self.hooks.before_request(info, request)
        return call

    def _info(
        self,
        operation: Operation,
        request: AnyRequest,
        streaming: bool,
        conversation_id: str | None,
        started: tuple[float, float] | None,
        parent: LLMCallInfo | None,
    ) -> LLMCallInfo:
        """A call's info (``parent``: the outer call it is an attempt of, :mod:`._outer_call`)."""
        return LLMCallInfo.start(
            self.provider_name,
            request.model,
            streaming=streaming,
            is_async=self.is_async,
            server_address=self.server[0],
            server_port=self.server[1],
            conversation_id=conversation_id,
            capture_content=self.capture_content,
            redact=self.redact,
            operation=operation,
            semconv_name=self.semconv_name,
            system_instructions_apart=self.system_apart,
            started=started,
            span_attributes=self.span_attributes,
            parent=parent,
        )

    def _finish(self, call: Call, body: Flow[T]) -> Flow[T]:
        """Run ``body`` and end the call with its result or its error."""
        try:
            result = yield from body
        except BaseException as exc:
            call.fail(exc)
            raise
        return call.succeed(result)

    def _attempts(self, call: Call, fn: Callable[[Any], Any], arg: Any) -> Flow[Any]:
        """``fn(arg)`` until it succeeds or the policy gives up; returns its outcome."""
        action = Attempt(fn, arg, call.attempt)
        outcome = yield action
        if call.failure(outcome) is not None:
            outcome = yield from self._retries(call, action, outcome)
        return outcome

    def _retries(self, call: Call, action: Attempt, outcome: Any) -> Flow[Any]:
        """After a failed first attempt: wait and try again until success or the policy stops.

        Kept apart from the first attempt so that a call that succeeds at once (nearly all of
        them) never enters this generator.
        """
        attempt = 1
        error = call.failure(outcome)
        while error is not None:
            yield Sleep(call.retry_delay(attempt, error))
            outcome = yield action
            error = call.failure(outcome)
            attempt += 1
        return outcome

    def _method(self, name: str) -> Callable[[Any], Any]:
        """A custom provider's method for an operation (its ``a``-prefixed twin when async)."""
        method: Callable[[Any], Any] | None = getattr(
            self.provider, f"a{name}" if self.is_async else name, None
        )
        if method is None or not callable(method):
            feature = name.removeprefix("create_").replace("_", " ")
            raise UnsupportedFeatureError(self.provider_name, feature)
        return method

    # -- embeddings ---------------------------------------------------------------------------

    def _embeddings(self, call: Call, request: EmbeddingsRequest) -> Flow[EmbeddingsResponse]:
        count = len(request.inputs)
        codec: Any = self.codec
        if codec is None:
            method = self._method("create_embeddings")
            result: EmbeddingsResponse = yield from self._attempts(call, method, request)
            return self._checked(result, request, count)
        parts = split(request, batch_limit(codec, request))
        sends = [codec.build_embeddings_request(part) for part in parts]  # all before any I/O
        if len(parts) == 1:
            reply = yield from self._attempts(call, self.transport.request, sends[0])
            parsed = call.parse(lambda r: codec.parse_embeddings_response(r, request), reply)
            return self._checked(parsed, request, count)
        flows = [
            self._part(call, codec, index, part, send)
            for index, (part, send) in enumerate(zip(parts, sends, strict=True))
        ]
        results = yield Parallel(flows, MAX_IN_FLIGHT)
        if isinstance(results, BaseException):
            raise results
        return self._checked(merge(results), request, count)

    def _part(
        self, call: Call, codec: Any, index: int, part: EmbeddingsRequest, send: Any
    ) -> Flow[EmbeddingsResponse]:
        """One part of a split embeddings call, recorded for the call's telemetry."""
        start = time.time_ns()
        inputs = len(part.inputs)
        try:
            reply = yield from self._attempts(call, self.transport.request, send)
            parsed = call.parse(lambda r: codec.parse_embeddings_response(r, part), reply)
            result = self._checked(parsed, part, inputs)
        except BaseException as exc:
            call.info.sub_requests.append(
                SubRequest(index, inputs, start, time.time_ns(), None, exc)
            )
            raise
        tokens = result.usage.prompt_tokens
        call.info.sub_requests.append(SubRequest(index, inputs, start, time.time_ns(), tokens))
        return result

    def _checked(
        self, response: EmbeddingsResponse, request: EmbeddingsRequest, count: int
    ) -> EmbeddingsResponse:
        if not response.model:
            response.model = request.model
        if not response.provider:
            response.provider = self.provider_name
        return check_embeddings_reply(response, count, self.provider_name)
