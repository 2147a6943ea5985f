"""The call flow shared by the sync and async clients: everything but the I/O pump.

A :class:`Call` carries one call from ``before_request`` to ``after_response``: it decides,
for each attempt's outcome, whether the call succeeded, should be retried after a delay (telling
the policy's ``on_retry``, the hooks and the log), or has failed for good. A
:class:`StreamTracker` does the same for a stream's life: it accumulates chunks and ends the
call exactly once, whichever way the stream ends. ``Client`` and ``AsyncClient`` only add the
``await``s around these.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from time import perf_counter
from typing import Any

from ._accumulate import ChunkAccumulator, finalize_response
from ._transport import AsyncStreamHandle, StreamHandle
from .errors import APIError, MetaLLMError, ResponseValidationError, excerpt, redact, scrub
from .hooks import HookChain, LLMCallInfo, StreamEndReason
from .logs import logger_from_context
from .provider import HTTPProvider, HTTPResponse, StreamDecoder
from .retry import RetryPolicy
from .types import ChatCompletionChunk, ChatCompletionRequest, ChatCompletionResponse

__all__ = ["Call", "CallFlow", "StreamTracker", "ahttp_chunks", "http_chunks"]


class CallFlow:
    """Per-client settings of the flow: provider identity, hooks, retry policy, logger."""

    def __init__(
        self,
        provider_name: str,
        hooks: HookChain,
        policy: RetryPolicy,
        logger: logging.Logger,
        secrets: tuple[str, ...],
        server: tuple[str, int] = ("", 0),
        capture_content: str | None = None,
    ) -> None:
        self.provider_name = provider_name
        self.capture_content = capture_content
        self.hooks = hooks
        self.policy = policy
        self.logger = logger
        self.secrets = secrets
        self.server = server

    def redact(self, text: str) -> str:
        """``text`` with this client's secrets scrubbed."""
        return redact(text, self.secrets)

    def begin(
        self,
        request: ChatCompletionRequest,
        *,
        streaming: bool,
        is_async: bool,
        conversation_id: str | None = None,
    ) -> Call:
        """Start a call: build its info and run ``before_request``."""
        info = LLMCallInfo.start(
            self.provider_name,
            request.model,
            streaming=streaming,
            is_async=is_async,
            server_address=self.server[0],
            server_port=self.server[1],
            conversation_id=conversation_id,
            capture_content=self.capture_content,
            redact=self.redact,
        )
        call = Call(self, info, request)
        if self.hooks:
            self.hooks.before_request(info, request)
        return call


class Call:
    """One call in flight."""

    __slots__ = ("flow", "info", "request")

    def __init__(self, flow: CallFlow, info: LLMCallInfo, request: ChatCompletionRequest) -> None:
        self.flow = flow
        self.info = info
        self.request = request

    def attempt(self) -> Any:
        """The hooks' context around one attempt (a no-op context without hooks)."""
        return self.flow.hooks.attempt(self.info)

    def error_for(self, codec: HTTPProvider, response: HTTPResponse) -> APIError:
        """The codec's typed error for an error reply; a codec bug still yields an APIError."""
        try:
            return codec.parse_error(response)
        except Exception as exc:  # a broken error body must not hide the status
            return ResponseValidationError(
                f"unreadable error reply ({type(exc).__name__}): {excerpt(response.content)}",
                provider=self.flow.provider_name,
                status_code=response.status_code,
            )

    def check(
        self, attempt: int, outcome: object, codec: HTTPProvider | None = None
    ) -> float | None:
        """None if ``outcome`` is a success; else the delay before retrying; else raise.

        ``outcome`` is an exception, an error ``HTTPResponse`` (with ``codec`` to parse it), or
        anything else (a success).
        """
        if isinstance(outcome, HTTPResponse) and outcome.status_code >= 400 and codec:
            outcome = self.error_for(codec, outcome)
        if not isinstance(outcome, BaseException):
            return None
        flow = self.flow
        event = flow.policy.decide_for_error(attempt, outcome)
        if event is None:
            raise outcome
        self.info.retries += 1
        log = logger_from_context(flow.logger)
        if log.isEnabledFor(logging.INFO):
            log.info(
                "retrying %s call (retry %d in %.2fs): %s",
                flow.provider_name,
                event.attempt,
                event.delay,
                redact(str(outcome), flow.secrets),
            )
        if flow.policy.on_retry is not None:
            flow.policy.on_retry(event)
        if flow.hooks:
            flow.hooks.on_retry(self.info, event)
        return event.delay

    def parse(self, codec: HTTPProvider, response: HTTPResponse) -> ChatCompletionResponse:
        """Parse a success reply; anything but a metallm error becomes ResponseValidationError."""
        try:
            result = codec.parse_response(response)
        except MetaLLMError:
            raise
        except Exception as exc:
            raise ResponseValidationError(
                f"unexpected reply shape ({type(exc).__name__}): {excerpt(response.content)}",
                provider=self.flow.provider_name,
                status_code=response.status_code,
            ) from None
        if not result.model:  # some wire formats (Bedrock) do not echo the model back
            result.model = self.request.model
        return finalize_response(result)

    def succeed(self, response: ChatCompletionResponse) -> ChatCompletionResponse:
        """End the call with a response."""
        if not response.provider:
            response.provider = self.flow.provider_name
        if self.flow.hooks:
            self.flow.hooks.after_response(self.info, self.request, response, None)
        return response

    def fail(self, error: BaseException) -> None:
        """End the call with an error (scrubbed of secrets, whoever raised it)."""
        scrub(error, self.flow.secrets)
        if self.flow.hooks:
            self.flow.hooks.after_response(self.info, self.request, None, error)
        log = logger_from_context(self.flow.logger)
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "%s call failed: %s",
                self.flow.provider_name,
                redact(repr(error), self.flow.secrets),
            )


class StreamTracker:
    """Accumulates a stream's chunks and ends its call exactly once."""

    __slots__ = ("acc", "call", "error", "finished", "gaps", "hooks_on_chunk", "last")

    def __init__(self, call: Call) -> None:
        self.call = call
        self.acc = ChunkAccumulator(call.flow.provider_name)
        self.finished = False
        self.error: BaseException | None = None
        hooks = call.flow.hooks
        self.hooks_on_chunk = hooks.on_chunk if hooks.on_chunk_methods else None
        self.last = 0.0
        self.gaps = call.info.chunk_gaps

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
        if error is not None:
            scrub(error, call.flow.secrets)
        call.info.end_reason = reason
        if call.flow.hooks:
            call.flow.hooks.after_response(call.info, call.request, self.response(), error)
        return True

    def response(self) -> ChatCompletionResponse:
        """What the stream added up to so far (the request's model if no chunk named one)."""
        response = self.acc.response()
        if not response.model:
            response.model = self.call.request.model
        return response


def http_chunks(handle: StreamHandle, decoder: StreamDecoder) -> Iterator[ChatCompletionChunk]:
    """Decode an HTTP stream's bytes into chunks (the sync pump)."""
    for data in handle.chunks():
        chunks = decoder.feed(data)
        if chunks:
            yield from chunks
    yield from decoder.close()


async def ahttp_chunks(
    handle: AsyncStreamHandle, decoder: StreamDecoder
) -> AsyncIterator[ChatCompletionChunk]:
    """Decode an HTTP stream's bytes into chunks (the async pump)."""
    async for data in handle.chunks():
        for chunk in decoder.feed(data):
            yield chunk
    for chunk in decoder.close():
        yield chunk
