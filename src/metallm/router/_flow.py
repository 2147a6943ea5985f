"""The routed call: one flow over the exchanges of several clients, driven by one pump.

:class:`RoutedExchange` looks like a client's :class:`~metallm._exchange.Exchange` to
everything built on one (``parse``, ``run_tools``, the memory-aware calls), so those work on a
router unchanged; its operations route. A routed call:

1. picks the eligible targets (``model=`` selects those serving that model, or the one so
   named; none: :class:`~metallm.InvalidRequestError` listing the models served) and orders
   them by the strategy (:mod:`metallm.router._strategy`);
2. opens the outer call the attempts nest under (``before_outer``: one INTERNAL span),
   unless a single target is eligible, in which case that one attempt is the routed call
   (one CLIENT span with the ``metallm.router.*`` attributes);
3. for each target in order: asks the state to admit it (:mod:`metallm.router._state`:
   breaker, requests, tokens, concurrency); a refused target is skipped while others remain,
   and when every remaining target is refused for its rate budget the flow sleeps until the
   earliest one frees (within the deadline) or raises :class:`~metallm.RateLimitError`;
4. runs the target's own exchange with ``yield from``: its retries (Retry-After honoured),
   hooks, span and metrics are exactly a plain call's, so nothing here retries;
5. on an error ``fallback_on`` accepts, reports it to the state (the breaker counts failures
   the target caused, never a 4xx the request caused), tells the hooks (a ``fallback`` event)
   and moves on; on any other error raises it as it is; when the targets run out raises
   :class:`~metallm.AllTargetsFailedError` with every attempt.

``timeout`` is one deadline for all of it: no attempt or retry starts after it, a running
HTTP attempt carries what is left as its own timeout, and an async attempt is also cancelled
there. A stream falls back only until its first chunk reached the caller (the router reads
that chunk ahead, :mod:`metallm.router._stream`); the outer call ends when the stream does.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from typing import Any

from .._actions import Attempt, Flow
from .._exchange import AttemptOf
from .._outer_call import end_outer
from .._spending import Spending
from ..embeddings import EmbeddingsRequest
from ..errors import (
    APITimeoutError,
    AuthenticationError,
    ContextLengthExceededError,
    InvalidRequestError,
    MetaLLMError,
    PermissionDeniedError,
    redact,
)
from ..hooks import AnyRequest, HookChain, LLMCallInfo, Operation, RouteInfo, clock
from ..tokens import TokenCount
from ..types import ChatCompletionRequest, ChatCompletionResponse
from ._admission import Admission, quiet_success, tokens_used
from ._deadline import bounded
from ._errors import AllTargetsFailedError, FailedAttempt
from ._fallback import health_outcome
from ._members import Member
from ._state import RouterState
from ._strategy import Orderer
from ._stream import RoutedAsyncStream, RoutedStream, afirst_chunk, first_chunk

__all__ = ["RoutedExchange"]

Send = Callable[[Member, Any, LLMCallInfo | None, AttemptOf, Any], Flow[Any]]
"""Runs one attempt on a member: ``(member, request, parent, attempt, started)``."""


class RoutedExchange(Admission):
    """The router's exchange: the same operations as a client's, routed across members."""

    def __init__(
        self,
        members: Sequence[Member],
        *,
        strategy: str,
        order: Orderer,
        fallback_on: Callable[[BaseException], bool],
        state: RouterState,
        timeout: float | None,
        hooks: HookChain,
        logger: logging.Logger,
        is_async: bool,
        spending: Spending | None = None,
    ) -> None:
        self.members = list(members)
        self.spending = spending
        self.strategy = strategy
        self.order = order
        self.fallback_on = fallback_on
        self.state = state
        self.timeout = timeout
        self.hooks = hooks
        self.logger = logger
        self.is_async = is_async
        first = self.members[0].exchange
        # what the outer flows (parse, run_tools, memory) read of an exchange: the first
        # target's facts, and every target's secrets
        self.provider = first.provider
        self.provider_name = first.provider_name
        self.semconv_name = first.semconv_name
        self.capture_content = first.capture_content
        secrets: list[str] = []
        for member in self.members:
            secrets += [s for s in member.exchange.secrets if s not in secrets]
        self.secrets = tuple(secrets)
        self.models = sorted({m.model for m in self.members})
        self._acquire = state.aacquire if is_async else state.acquire
        self._release = state.arelease if is_async else state.release
        self._warned_auth: set[str] = set()
        self._groups: dict[str, list[Member]] = {}

    def redact(self, text: str) -> str:
        """``text`` with every target's secrets scrubbed."""
        return redact(text, self.secrets)

    def _info(
        self,
        operation: Operation,
        request: AnyRequest,
        streaming: bool,
        conversation_id: str | None,
        started: tuple[float, float] | None,
        parent: LLMCallInfo | None,
    ) -> LLMCallInfo:
        """An outer call's info (``parse`` over a router): the first target's facts."""
        member = self.eligible(request.model)[0]
        info: LLMCallInfo = member.exchange._info(
            operation, _for(member, request), streaming, conversation_id, started, parent
        )
        return info

    # -- the operations -----------------------------------------------------------------------

    def complete(
        self,
        request: ChatCompletionRequest,
        conversation_id: str | None = None,
        started: tuple[float, float] | None = None,
        parent: LLMCallInfo | None = None,
    ) -> Flow[ChatCompletionResponse]:
        """A routed chat completion."""

        def send(
            member: Member, req: Any, outer: LLMCallInfo | None, link: AttemptOf, st: Any
        ) -> Flow[Any]:
            return member.exchange.complete(req, conversation_id, st, outer, link)  # type: ignore[no-any-return]

        result: ChatCompletionResponse = yield from self._route(
            "chat", request, started, parent, conversation_id, send, streaming=False
        )
        return result

    def stream(
        self,
        request: ChatCompletionRequest,
        conversation_id: str | None = None,
        started: tuple[float, float] | None = None,
        on_complete: Any = None,
        parent: LLMCallInfo | None = None,
    ) -> Flow[Any]:
        """A routed stream, its first chunk read ahead (so a failure before it falls back)."""
        kind = RoutedAsyncStream if self.is_async else RoutedStream
        first = afirst_chunk if self.is_async else first_chunk

        def send(
            member: Member, req: Any, outer: LLMCallInfo | None, link: AttemptOf, st: Any
        ) -> Flow[Any]:
            opened = yield from member.exchange.open_stream(req, conversation_id, st, outer, link)
            stream = kind(opened, on_complete)
            stream.target = member.name
            outcome = yield Attempt(first, stream, nullcontext)
            if isinstance(outcome, BaseException):
                raise outcome  # the stream has ended its own call with it
            return stream

        result = yield from self._route(
            "chat", request, started, parent, conversation_id, send, streaming=True
        )
        return result

    def embeddings(self, request: EmbeddingsRequest, started: Any = None) -> Flow[Any]:
        """Routed embeddings (a long input list is split by the answering target's client)."""

        def send(
            member: Member, req: Any, outer: LLMCallInfo | None, link: AttemptOf, st: Any
        ) -> Flow[Any]:
            return member.exchange.embeddings(req, st, outer, link)  # type: ignore[no-any-return]

        result = yield from self._route(
            "embeddings", request, started, None, None, send, streaming=False
        )
        return result

    def count_tokens(self, request: ChatCompletionRequest) -> Flow[TokenCount]:
        """The first eligible target's count (its endpoint, else counted locally)."""
        member = self.eligible(request.model)[0]
        counted: TokenCount = yield from member.exchange.count_tokens(_for(member, request))
        return counted

    def eligible(self, model: str) -> list[Member]:
        """The members serving ``model`` (every member when it is empty)."""
        if not model:
            return self.members
        chosen = self._groups.get(model)
        if chosen is None:
            chosen = [m for m in self.members if model in (m.model, m.name)]
            if not chosen:
                raise InvalidRequestError(
                    f"no target serves model {model!r}; the router serves: "
                    f"{', '.join(self.models)} (targets: {', '.join(m.name for m in self.members)})"
                )
            if len(self._groups) < 1024:  # the model names calls use: a handful
                self._groups[model] = chosen
        return chosen

    # -- the route ----------------------------------------------------------------------------

    def _route(
        self,
        operation: Operation,
        request: Any,
        started: tuple[float, float] | None,
        parent: LLMCallInfo | None,
        conversation_id: str | None,
        send: Send,
        *,
        streaming: bool,
    ) -> Flow[Any]:
        started = started or clock()
        deadline = None if self.timeout is None else started[1] + self.timeout
        eligible = self.eligible(request.model)
        spending = self.spending
        if spending is not None:  # the router's own budget: before anything is tried
            yield from spending.check()
        pending = self.order(eligible)
        route = RouteInfo(self.strategy, len(eligible))
        outer: LLMCallInfo | None = None
        shown = request  # what the outer call shows: the first eligible target's request
        if len(eligible) > 1:
            shown = _for(pending[0], request)
            outer = pending[0].exchange._info(
                operation, shown, streaming, conversation_id, started, parent
            )
            outer.route = route
            if self.hooks:
                self.hooks.before_outer(outer, shown)
        attempts: list[FailedAttempt] = []
        skipped: dict[str, str] = {}
        local = self.state.local
        try:
            while True:
                waits: list[tuple[float, str]] = []
                for member in list(pending):
                    if member not in pending:  # dropped by a context-length fallback
                        continue
                    if deadline is not None and time.perf_counter() >= deadline:
                        raise self._deadline_error(attempts)
                    if local:
                        grant = self._admit_here(member, request, outer)
                    else:
                        grant = yield from self._admit(member, request, outer)
                    if not grant.ok:
                        waits.append((grant.wait, grant.reason or "circuit_open"))
                        skipped[member.name] = grant.reason or "circuit_open"
                        continue
                    pending.remove(member)
                    skipped.pop(member.name, None)
                    route.attempts += 1
                    route.tried.append(member.name)
                    link = AttemptOf(member.name, route.attempts, route if outer is None else None)
                    sent_at = time.perf_counter()
                    try:
                        flow = send(
                            member,
                            _for(member, request),
                            outer if outer is not None else parent,
                            link,
                            started,
                        )
                        started = None  # later attempts start when they are sent
                        result = yield from (
                            flow if deadline is None else bounded(flow, deadline, self.is_async)
                        )
                    except MetaLLMError as exc:
                        member.ended(None)
                        yield from self._released(member, grant, health_outcome(exc), None, outer)
                        if not self.fallback_on(exc):
                            raise
                        attempts.append(FailedAttempt(member.name, exc))
                        if deadline is not None and _at_deadline(exc, deadline):
                            raise self._deadline_error(attempts) from exc
                        self._fell_back(member, exc, outer, pending)
                        if isinstance(exc, ContextLengthExceededError):
                            pending = self._larger(member, pending, skipped)
                        continue
                    except BaseException:
                        member.ended(None)
                        yield from self._released(member, grant, "neutral", None, outer)
                        raise
                    route.target = member.name
                    if streaming:
                        self._end_with_stream(result, member, grant, outer, shown)
                    else:
                        member.ended(time.perf_counter() - sent_at)
                        if not quiet_success(member, grant):
                            tokens = tokens_used(result)
                            yield from self._released(member, grant, "success", tokens, outer)
                        if outer is not None:
                            end_outer(self, outer, shown, result, None)
                        if spending is not None:
                            yield from spending.charge(result)
                    return result
                if not pending:
                    raise AllTargetsFailedError(attempts, skipped)
                yield from self._wait(waits, deadline, attempts, skipped)
        except BaseException as exc:
            if outer is not None:
                end_outer(self, outer, shown, None, exc)
            raise

    def _deadline_error(self, attempts: list[FailedAttempt]) -> APITimeoutError:
        tried = "; ".join(f"{a.target}: {type(a.error).__name__}" for a in attempts) or "none"
        return APITimeoutError(
            f"the routed call's deadline of {self.timeout:g}s passed (attempts: {tried})",
            provider="router",
        )

    def _larger(
        self, failed: Member, pending: list[Member], skipped: dict[str, str]
    ) -> list[Member]:
        """After a context-length error: only targets whose window is known to be larger
        (targets whose window the catalog does not know are still tried)."""
        if failed.window is None:
            return pending
        keep = []
        for member in pending:
            if member.window is not None and member.window <= failed.window:
                skipped[member.name] = "context_window"
            else:
                keep.append(member)
        return keep

    # -- telemetry ----------------------------------------------------------------------------

    def _fell_back(
        self, member: Member, error: BaseException, outer: LLMCallInfo | None,
        pending: list[Member],
    ) -> None:  # fmt: skip
        refused = isinstance(error, AuthenticationError | PermissionDeniedError)
        if refused and member.name not in self._warned_auth:  # never silent: a key refused
            self._warned_auth.add(member.name)
            self.logger.warning(
                "router target %s refused its credentials (%s); falling back",
                member.name,
                type(error).__name__,
            )
        if outer is not None and self.hooks:
            attrs: dict[str, Any] = {"target": member.name, "error": error}
            if pending:
                attrs["next"] = pending[0].name
            self.hooks.on_outer_event(outer, "fallback", attrs)


def _at_deadline(error: BaseException, deadline: float) -> bool:
    """Whether the deadline ended this attempt: it has passed, or the attempt timed out
    within a few milliseconds of it (an attempt's own timeout is what was left)."""
    left = deadline - time.perf_counter()
    return left <= 0 or (isinstance(error, APITimeoutError) and left < _DEADLINE_SLACK)


_DEADLINE_SLACK = 0.05
"""Seconds before the deadline within which a timeout is the deadline's."""


def _for(member: Member, request: Any) -> Any:
    """The request as ``member`` takes it: its own model name.

    A shallow copy with the one field replaced (what ``model_copy(update=...)`` does, minus
    its generic update machinery: this runs on every routed call that names no model)."""
    if request.model == member.model:
        return request
    copied = request.__copy__()
    copied.__dict__["model"] = member.model
    copied.__pydantic_fields_set__.add("model")
    return copied
