"""One call in flight: its info, its hook points, its retry decisions, its end.

The exchange (:mod:`metallm._exchange`) creates a :class:`Call` per call and asks it three
things: what an attempt's outcome means (:meth:`Call.retry_delay`: retry after a delay, or
raise the typed error), how to read a success reply (:meth:`Call.parse`: anything a codec
raises that is not a metallm error becomes a :class:`~metallm.ResponseValidationError`), and to
end the call once (:meth:`Call.succeed` / :meth:`Call.fail`, which run ``after_response`` and
scrub secrets from errors, whoever raised them). A :class:`StreamTracker` ends a stream's call
the same way, exactly once, however the stream ends.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from time import perf_counter
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from ._accumulate import ChunkAccumulator
from .errors import APIError, MetaLLMError, ResponseValidationError, excerpt, redact, scrub
from .hooks import AnyRequest, AnyResponse, HookChain, LLMCallInfo, StreamEndReason
from .logs import logger_from_context
from .provider import HTTPProvider, HTTPResponse
from .retry import RetryPolicy
from .types import ChatCompletionChunk, ChatCompletionRequest, ChatCompletionResponse

if TYPE_CHECKING:  # budgets and pricing load with the first client that uses them
    from ._spending import Spending
    from .pricing import Pricer

__all__ = ["Call", "CallSettings", "StreamTracker"]

T = TypeVar("T")


class CallSettings(Protocol):
    """What a call reads from its client's exchange (:class:`metallm._exchange.Exchange`)."""

    provider_name: str
    issuer: str
    spending: Spending | None
    codec: HTTPProvider | None
    hooks: HookChain
    policy: RetryPolicy
    logger: logging.Logger
    secrets: tuple[str, ...]
    pricer: Pricer


class Call:
    """One call from ``before_request`` to ``after_response``."""

    __slots__ = ("exchange", "info", "request")

    def __init__(self, exchange: CallSettings, info: LLMCallInfo, request: AnyRequest) -> None:
        self.exchange = exchange
        self.info = info
        self.request = request

    def attempt(self) -> AbstractContextManager[Any]:
        """The hooks' context around one attempt (a no-op context without hooks)."""
        return self.exchange.hooks.attempt(self.info)

    def _error_for(self, codec: HTTPProvider, response: HTTPResponse) -> APIError:
        """The codec's typed error for an error reply; a codec bug still yields an APIError."""
        try:
            return codec.parse_error(response)
        except Exception as exc:  # a broken error body must not hide the status
            return ResponseValidationError(
                f"unreadable error reply ({type(exc).__name__}): {excerpt(response.content)}",
                provider=self.exchange.provider_name,
                status_code=response.status_code,
            )

    def failure(self, outcome: object) -> BaseException | None:
        """The error an attempt's outcome stands for (an exception, or an error reply)."""
        if isinstance(outcome, BaseException):
            return outcome
        if type(outcome) is HTTPResponse and outcome.status_code >= 400:
            codec = self.exchange.codec
            assert codec is not None
            return self._error_for(codec, outcome)
        return None

    def retry_delay(self, attempt: int, error: BaseException) -> float:
        """The wait before retrying after failed attempt number ``attempt``; else raise it."""
        exchange = self.exchange
        event = exchange.policy.decide_for_error(attempt, error)
        if event is None:
            raise error
        self.info.retries += 1
        log = logger_from_context(exchange.logger)
        if log.isEnabledFor(logging.INFO):
            log.info(
                "retrying %s call (retry %d in %.2fs): %s",
                exchange.provider_name,
                event.attempt,
                event.delay,
                redact(str(error), exchange.secrets),
            )
        if exchange.policy.on_retry is not None:
            exchange.policy.on_retry(event)
        if exchange.hooks:
            exchange.hooks.on_retry(self.info, event)
        return event.delay

    def parse(self, parse: Callable[[HTTPResponse], T], response: HTTPResponse) -> T:
        """``parse(response)``; anything but a metallm error is a ResponseValidationError."""
        try:
            return parse(response)
        except MetaLLMError:
            raise
        except Exception as exc:
            raise ResponseValidationError(
                f"unexpected reply shape ({type(exc).__name__}): {excerpt(response.content)}",
                provider=self.exchange.provider_name,
                status_code=response.status_code,
            ) from None

    def succeed(self, response: T) -> T:
        """End the call with a response, priced (before the hooks see it)."""
        if not getattr(response, "provider", True):
            response.provider = self.exchange.provider_name  # type: ignore[attr-defined]
        if getattr(response, "cost", None) is None:  # a custom provider may bring its own
            response.cost = self.price(response)  # type: ignore[attr-defined]
        hooks = self.exchange.hooks
        if hooks:
            hooks.after_response(self.info, self.request, response, None)  # type: ignore[arg-type]
        return response

    def price(self, response: Any) -> Any:
        """The cost of ``response`` from its usage (None without usage or prices).

        A usage of no tokens at all is a provider that reported none (the Gemini API's
        embeddings): unknown, so no cost, rather than a cost of 0.
        """
        usage = response.usage
        if usage is None or not (usage.prompt_tokens or getattr(usage, "completion_tokens", 0)):
            return None
        return self.exchange.pricer.cost(
            response.model, self.request.model, usage, getattr(response, "service_tier", None)
        )

    def fail(self, error: BaseException) -> None:
        """End the call with an error (scrubbed of secrets, whoever raised it)."""
        exchange = self.exchange
        scrub(error, exchange.secrets)
        if exchange.hooks:
            exchange.hooks.after_response(self.info, self.request, None, error)
        log = logger_from_context(exchange.logger)
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "%s call failed: %s", exchange.provider_name, redact(repr(error), exchange.secrets)
            )


class StreamTracker:
    """Accumulates a stream's chunks and ends its call exactly once."""

    __slots__ = (
        "acc",
        "after",
        "call",
        "charged",
        "error",
        "final",
        "finished",
        "gaps",
        "hooks_on_chunk",
        "last",
    )

    def __init__(self, call: Call) -> None:
        self.call = call
        self.charged = call.exchange.spending is None  # nothing to charge without a budget
        self.acc = ChunkAccumulator(call.exchange.provider_name, call.exchange.issuer)
        self.finished = False
        self.final: ChatCompletionResponse | None = None
        self.error: BaseException | None = None
        hooks = call.exchange.hooks
        self.hooks_on_chunk = hooks.on_chunk if hooks.on_chunk_methods else None
        self.last = 0.0
        self.gaps = call.info.chunk_gaps
        self.after: Callable[[BaseException | None], None] | None = None
        """Run once the call has ended (a routed stream ends its outer call here)."""

    def add(self, chunk: ChatCompletionChunk) -> None:
        """One chunk delivered to the user: timed, accumulated, shown to ``on_chunk`` hooks."""
        now = perf_counter()
        if self.last:
            self.gaps.append(now - self.last)
        else:
            info = self.call.info
            info.time_to_first_chunk = now - info.start_perf
        self.last = now
        self.acc.add(chunk)
        if self.hooks_on_chunk is not None:
            self.hooks_on_chunk(self.call.info, chunk)

    def end(self, reason: StreamEndReason, error: BaseException | None = None) -> bool:
        """End the call (once); returns False if it had already ended."""
        if self.finished:
            return False
        self.finished = True
        self.error = error
        call = self.call
        hooks = call.exchange.hooks
        if error is not None:
            scrub(error, call.exchange.secrets)
        call.info.end_reason = reason
        if hooks:
            response: AnyResponse = self.response()
            hooks.after_response(call.info, call.request, response, error)
        spending = call.exchange.spending
        if spending is not None and not spending.is_async:
            self.charge()  # an async stream awaits acharge() itself
        if self.after is not None:
            self.after(error)
        return True

    def charge(self) -> None:
        """Charge the budget with what the stream spent (once; blocking: sync streams, and an
        async stream that was garbage-collected, which can await nothing)."""
        spending = self.call.exchange.spending
        if self.charged or spending is None:
            return
        from ._spending import spend_of  # loaded already: the client's budget imported it

        self.charged = True
        spending.ledger.charge(*spend_of(self.response()))

    async def acharge(self) -> None:
        """:meth:`charge` for an async stream, once it has ended."""
        spending = self.call.exchange.spending
        if self.charged or spending is None or not self.finished:
            return
        from ._spending import spend_of

        self.charged = True
        await spending.ledger.acharge(*spend_of(self.response()))

    def response(self) -> ChatCompletionResponse:
        """What the stream added up to so far (the request's model if no chunk named one).

        Once the stream has ended, the response is priced and kept: the hooks, the user's
        ``final_response()`` and memory all get the one priced response, computed at most once
        and only when someone asks for it (nothing is added per chunk).
        """
        if self.final is not None:
            return self.final
        response = self.acc.response()
        if not response.model:
            request = self.call.request
            assert isinstance(request, ChatCompletionRequest)
            response.model = request.model
        if self.finished:
            response.cost = self.call.price(response)
            self.final = response
        return response
