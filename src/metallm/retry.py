"""Retry with backoff: one policy for the client and for a standalone httpx transport.

:class:`RetryPolicy` decides whether and when to try again; it holds no I/O. The client applies
it around each call (so each retry reaches the hooks and telemetry), and
:class:`RetryTransport` / :class:`AsyncRetryTransport` apply it to any ``httpx`` client, the
Python form of the Go design's ``retryhttp`` transport.

Defaults (DESIGN §5): 2 retries on connection errors and on 408, 409, 429, 500, 502, 503, 504,
529; backoff 0.5 s doubling to at most 8 s with 10 % jitter; the server's ``retry-after-ms`` /
``retry-after`` (seconds or an HTTP date) is honoured, and a server asking for longer than the
cap makes the policy give up at once rather than hold the caller hostage.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

import httpx

from ._actions import Attempt, Flow, Sleep
from ._pump import arun, run
from .errors import APIConnectionError, APIError, StreamError

__all__ = [
    "DEFAULT_RETRY_STATUSES",
    "AsyncRetryTransport",
    "RetryEvent",
    "RetryPolicy",
    "RetryTransport",
]

DEFAULT_RETRY_STATUSES: frozenset[int] = frozenset({408, 409, 429, 500, 502, 503, 504, 529})


@dataclass(frozen=True)
class RetryEvent:
    """One retry about to happen (or, given to ``should_retry``, being considered).

    ``attempt`` is the number of the retry (1 for the first); ``delay`` the seconds it will
    wait; ``status_code``/``error`` say what failed; ``retry_after`` is the server's hint.
    """

    attempt: int
    delay: float
    status_code: int | None = None
    error: BaseException | None = None
    retry_after: float | None = None


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to wait before trying a failed request again.

    ``should_retry(event)`` may return True or False to override the default decision for an
    event (None keeps it); ``max_retries`` still bounds it. ``on_retry(event)`` is called before
    each wait; an exception from either callable is not swallowed, since they are the
    application's own code and a bug there should show.
    """

    max_retries: int = 2
    initial_backoff: float = 0.5
    max_backoff: float = 8.0
    multiplier: float = 2.0
    jitter: float = 0.1
    retry_statuses: frozenset[int] = DEFAULT_RETRY_STATUSES
    retry_connection_errors: bool = True
    respect_retry_after: bool = True
    should_retry: Callable[[RetryEvent], bool | None] | None = field(default=None, compare=False)
    on_retry: Callable[[RetryEvent], None] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.max_retries < 0 or self.initial_backoff < 0 or self.max_backoff < 0:
            raise ValueError("retry counts and backoffs must be >= 0")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter is a fraction between 0 and 1")

    @classmethod
    def none(cls) -> RetryPolicy:
        """A policy that never retries."""
        return cls(max_retries=0)

    def backoff(self, attempt: int) -> float:
        """The jittered exponential wait before retry number ``attempt`` (1-based)."""
        base = min(self.max_backoff, self.initial_backoff * self.multiplier ** (attempt - 1))
        if self.jitter:
            base *= 1 + random.uniform(-self.jitter, self.jitter)
        return max(0.0, min(base, self.max_backoff))

    def decide(
        self,
        attempt: int,
        *,
        status_code: int | None = None,
        error: BaseException | None = None,
        retry_after: float | None = None,
    ) -> RetryEvent | None:
        """The retry to make after failure number ``attempt`` (1-based), or None to give up."""
        if attempt > self.max_retries:
            return None
        if status_code is not None:
            eligible = status_code in self.retry_statuses
        else:
            eligible = self.retry_connection_errors and _is_connection_error(error)
        if retry_after is not None and self.respect_retry_after:
            if retry_after > self.max_backoff:
                eligible = False  # the server wants longer than we may wait: give up now
            delay = retry_after
        else:
            delay = self.backoff(attempt)
        event = RetryEvent(attempt, delay, status_code, error, retry_after)
        if self.should_retry is not None:
            verdict = self.should_retry(event)
            if verdict is not None:
                eligible = verdict
        return event if eligible else None

    def decide_for_error(self, attempt: int, error: BaseException) -> RetryEvent | None:
        """:meth:`decide` for a metallm error (API errors carry status and retry hint)."""
        if isinstance(error, APIError):
            return self.decide(
                attempt,
                status_code=error.status_code,
                error=error,
                retry_after=error.retry_after,
            )
        return self.decide(attempt, error=error)


def _is_connection_error(error: BaseException | None) -> bool:
    if error is None or isinstance(error, StreamError):
        return False
    if isinstance(error, APIConnectionError):
        return True
    return isinstance(error, httpx.TransportError) and not isinstance(
        error, httpx.UnsupportedProtocol
    )


def _headers_retry_after(response: httpx.Response) -> float | None:
    from .provider._errors import parse_retry_after

    return parse_retry_after({k.lower(): v for k, v in response.headers.items()})


def _retrying(
    policy: RetryPolicy,
    send: Callable[[httpx.Request], Any],
    request: httpx.Request,
    close: Callable[[httpx.Response], Any],
    sleep: Callable[[float], Any] | None,
) -> Flow[httpx.Response]:
    """The retry loop of both standalone transports, as a flow their pump drives.

    ``send`` is the wrapped transport's (sync or async) method; a transport error is thrown in
    by the pump and retried when the policy says so; a retried response is closed first.
    ``sleep`` replaces the pump's own wait when given (the sync transport's ``sleep=``).
    """
    attempt = 0
    while True:
        attempt += 1
        try:
            response: httpx.Response = yield Attempt(send, request, nullcontext)
        except httpx.TransportError as exc:
            event = policy.decide(attempt, error=exc)
            if event is None:
                raise
        else:
            if response.status_code not in policy.retry_statuses:
                return response
            event = policy.decide(
                attempt,
                status_code=response.status_code,
                retry_after=_headers_retry_after(response),
            )
            if event is None:
                return response
            yield Attempt(close, response, nullcontext)
        if policy.on_retry is not None:
            policy.on_retry(event)
        yield Sleep(event.delay) if sleep is None else Attempt(sleep, event.delay, nullcontext)


class RetryTransport(httpx.BaseTransport):
    """An ``httpx.BaseTransport`` that retries what :class:`RetryPolicy` says, on any client.

    ``httpx.Client(transport=RetryTransport(policy=RetryPolicy(max_retries=5)))``. Only the
    status and connection are retried; a response body is never re-read, so a streamed
    response that has started is never retried.
    """

    def __init__(
        self,
        transport: httpx.BaseTransport | None = None,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._inner = transport or httpx.HTTPTransport()
        self.policy = policy or RetryPolicy()
        self._sleep = sleep

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send, retrying failed attempts per the policy."""
        flow = _retrying(
            self.policy, self._inner.handle_request, request, httpx.Response.close, self._sleep
        )
        return run(flow)

    def close(self) -> None:
        """Close the wrapped transport."""
        self._inner.close()


class AsyncRetryTransport(httpx.AsyncBaseTransport):
    """The async twin of :class:`RetryTransport`, for ``httpx.AsyncClient``."""

    def __init__(
        self,
        transport: httpx.AsyncBaseTransport | None = None,
        policy: RetryPolicy | None = None,
    ) -> None:
        self._inner = transport or httpx.AsyncHTTPTransport()
        self.policy = policy or RetryPolicy()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send, retrying failed attempts per the policy (sleeping without blocking the loop)."""
        flow = _retrying(
            self.policy, self._inner.handle_async_request, request, httpx.Response.aclose, None
        )
        return await arun(flow)

    async def aclose(self) -> None:
        """Close the wrapped transport."""
        await self._inner.aclose()
