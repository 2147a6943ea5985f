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

import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from typing import Any

from .._actions import Attempt, Flow, Sleep
from .._exchange import AttemptOf
from .._outer_call import end_outer
from .._spending import Spending, spend_of
from ..embeddings import EmbeddingsRequest
from ..errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BudgetExceededError,
    ContextLengthExceededError,
    InvalidRequestError,
    MetaLLMError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    UnsupportedFeatureError,
    redact,
)
from ..hooks import AnyRequest, HookChain, LLMCallInfo, Operation, RouteInfo, clock
from ..provider import HTTPRequest
from ..tokens import TokenCount, estimate_tokens
from ..types import ChatCompletionRequest, ChatCompletionResponse
from ._errors import AllTargetsFailedError, FailedAttempt
from ._limits import Grant, Outcome
from ._members import Member
from ._state import RouterState
from ._strategy import Orderer
from ._stream import RoutedAsyncStream, RoutedStream, afirst_chunk, first_chunk

__all__ = ["RoutedExchange", "default_fallback_on", "health_outcome"]

_log = logging.getLogger("metallm")

_FALLBACK_STATUSES = frozenset({408, 409, 429})
_SERVER_SIDE = ("server", "overloaded", "rate_limit", "api_error", "internal", "unavailable",
                "timeout", "resource_exhausted")  # fmt: skip
"""Words of an in-stream error event's type or code (no HTTP status) that the target caused."""


def _target_side(error: APIError) -> bool:
    """Whether an API error is the target's doing (another target may not have it)."""
    status = error.status_code
    if status is None:  # an error event inside a stream: read its type and code
        kinds = f"{error.type or ''} {error.code or ''}".lower()
        return any(word in kinds for word in _SERVER_SIDE)
    return status in _FALLBACK_STATUSES or status >= 500


_PENDING: set[Any] = set()
"""Release tasks of async streams that ended, kept alive until they finish."""
_CONCURRENCY_POLL = 0.05
"""Seconds between looks at a target whose concurrency slots are all taken."""


def default_fallback_on(error: BaseException) -> bool:
    """The default rule: errors another target may not have (see the README's "Routing")."""
    if isinstance(error, APIConnectionError | ContextLengthExceededError):
        return True  # connection errors, timeouts, cut streams; a larger window may fit
    if isinstance(error, UnsupportedFeatureError | BudgetExceededError):
        return True  # another provider may support it; another target's budget may remain
    if isinstance(error, AuthenticationError | PermissionDeniedError | NotFoundError):
        return True  # this target's key or model; another target has its own
    if isinstance(error, APIError):
        if isinstance(error, RateLimitError | ResponseValidationError):
            return True
        return _target_side(error)
    return False


def health_outcome(error: BaseException) -> Outcome:
    """What an attempt's error says of the target's health, for its breaker: ``failure``
    when the target caused it, ``neutral`` when the request did (or nothing was sent)."""
    if isinstance(error, ContextLengthExceededError | InvalidRequestError | BudgetExceededError):
        return "neutral"
    if isinstance(error, APIConnectionError | AuthenticationError | PermissionDeniedError):
        return "failure"
    if isinstance(error, NotFoundError | RateLimitError | ResponseValidationError):
        return "failure"
    if isinstance(error, APIError):
        return "failure" if _target_side(error) else "neutral"
    return "neutral"


Send = Callable[[Member, Any, LLMCallInfo | None, AttemptOf, Any], Flow[Any]]
"""Runs one attempt on a member: ``(member, request, parent, attempt, started)``."""


class RoutedExchange:
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
        chosen = [m for m in self.members if model in (m.model, m.name)]
        if not chosen:
            raise InvalidRequestError(
                f"no target serves model {model!r}; the router serves: {', '.join(self.models)}"
                f" (targets: {', '.join(m.name for m in self.members)})"
            )
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
        try:
            while True:
                waits: list[tuple[float, str]] = []
                for member in list(pending):
                    if member not in pending:  # dropped by a context-length fallback
                        continue
                    if deadline is not None and time.perf_counter() >= deadline:
                        raise self._deadline_error(attempts)
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
                            flow if deadline is None else _bounded(flow, deadline, self.is_async)
                        )
                    except MetaLLMError as exc:
                        member.ended(None)
                        yield from self._released(member, grant, health_outcome(exc), None, outer)
                        if not self.fallback_on(exc):
                            raise
                        attempts.append(FailedAttempt(member.name, exc))
                        if deadline is not None and time.perf_counter() >= deadline:
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
                        tokens = _tokens_used(result)
                        yield from self._released(member, grant, "success", tokens, outer)
                        if outer is not None:
                            end_outer(self, outer, shown, result, None)  # type: ignore[arg-type]
                        if spending is not None:
                            yield from spending.charge(result)
                    return result
                if not pending:
                    raise AllTargetsFailedError(attempts, skipped)
                yield from self._wait(waits, deadline, attempts, skipped)
        except BaseException as exc:
            if outer is not None:
                end_outer(self, outer, shown, None, exc)  # type: ignore[arg-type]
            raise

    def _admit(self, member: Member, request: Any, outer: LLMCallInfo | None) -> Flow[Grant]:
        """Ask the state whether ``member`` may take the call now (reserving it if so)."""
        tokens = _estimate(request) if member.policy.tokens_per_minute is not None else 0
        state = self.state
        now = state.clock()
        if state.local:
            grant = state.acquire(member.name, member.policy, tokens, now)
        else:
            outcome = yield Attempt(
                _call_with(self._acquire, member, tokens, now), None, nullcontext
            )
            if isinstance(outcome, BaseException):  # a state's own failure: let the call go
                outcome = Grant(True, tokens=tokens)
            grant = outcome
        if grant.ok:
            member.admitted(grant)
        else:
            member.breaker = grant.breaker
        for transition in grant.transitions:
            self._circuit(member, transition, outer)
        return grant

    def _released(
        self, member: Member, grant: Grant, outcome: Outcome, tokens: int | None,
        outer: LLMCallInfo | None,
    ) -> Flow[None]:  # fmt: skip
        """Tell the state how an admitted attempt ended."""
        state = self.state
        if state.local:
            transitions = state.release(
                member.name, member.policy, grant, outcome, tokens, state.clock()
            )
        elif member.unlimited and outcome == "success" and not grant.failures and not grant.probe:
            return  # nothing to correct, free or reset: spare the round trip
        else:
            result = yield Attempt(
                _release_with(self._release, member, grant, outcome, tokens, state.clock()),
                None,
                nullcontext,
            )
            transitions = () if isinstance(result, BaseException) else result
        for transition in transitions:
            self._circuit(member, transition, outer)

    def _end_with_stream(
        self, stream: Any, member: Member, grant: Grant, outer: LLMCallInfo | None, request: Any
    ) -> None:
        """A stream answered: release it and end the outer call when the stream ends."""
        tracker = stream._tracker

        def ended(error: BaseException | None) -> None:
            outcome: Outcome = "success" if error is None else health_outcome(error)
            response = tracker.response()
            # a stream's latency is its time to first chunk; it was in flight until now
            member.ended(None if error is not None else stream_first(tracker))
            self._release_now(member, grant, outcome, _tokens_used(response), outer)
            if outer is not None:
                end_outer(self, outer, request, response, error)  # type: ignore[arg-type]
            if self.spending is not None:  # the router's own budget, whichever target answered
                spend = spend_of(response)
                if self.is_async:
                    self._later(self.spending.ledger.acharge(*spend))
                else:
                    self.spending.ledger.charge(*spend)

        if tracker.finished:
            ended(tracker.error)
        else:
            tracker.after = ended

    def _release_now(
        self, member: Member, grant: Grant, outcome: Outcome, tokens: int | None,
        outer: LLMCallInfo | None,
    ) -> None:  # fmt: skip
        """Release outside the pump (a stream's end): inline for a local state, blocking for
        a shared one in a sync router, a task for a shared one in an async router (a stream
        can end in ``__del__``, which awaits nothing)."""
        state = self.state
        now = state.clock()
        if state.local or not self.is_async:
            try:
                transitions = state.release(member.name, member.policy, grant, outcome, tokens, now)
            except Exception:  # a shared state's failure never breaks the stream
                return
            for transition in transitions:
                self._circuit(member, transition, outer)
            return
        self._later(state.arelease(member.name, member.policy, grant, outcome, tokens, now))

    def _later(self, coroutine: Any) -> None:
        """Run ``coroutine`` as a task of the running loop (an async stream's end, which can
        be in ``__del__``, where nothing can be awaited); it never fails the stream."""
        import asyncio

        try:
            task = asyncio.get_running_loop().create_task(coroutine)
        except RuntimeError:  # no running loop (interpreter shutdown): nothing to run it on
            coroutine.close()
            return
        _PENDING.add(task)
        task.add_done_callback(_PENDING.discard)

    def _wait(
        self, waits: list[tuple[float, str]], deadline: float | None,
        attempts: list[FailedAttempt], skipped: dict[str, str],
    ) -> Flow[None]:  # fmt: skip
        """Every remaining target was refused: sleep until the earliest frees, or raise.

        A rate budget or a concurrency slot is waited for (within the deadline); an open
        circuit only when a deadline bounds the wait and its recovery ends within it (without
        one, a call does not hang on a target that is down). Nothing to wait for: the failed
        attempts (:class:`AllTargetsFailedError`), or, when none was made,
        :class:`~metallm.RateLimitError` with ``retry_after``.
        """
        budgets = [w if reason != "concurrency" else _CONCURRENCY_POLL
                   for w, reason in waits if reason != "circuit_open"]  # fmt: skip
        circuits = [w for w, reason in waits if reason == "circuit_open"]
        if deadline is not None:
            budgets += circuits
        earliest = max(min(budgets or circuits), 0.001)
        if budgets and (deadline is None or time.perf_counter() + earliest <= deadline):
            yield Sleep(earliest)
            return
        if attempts:
            raise AllTargetsFailedError(attempts, skipped, earliest)
        reasons = ", ".join(f"{n}: {r}" for n, r in skipped.items())
        raise RateLimitError(
            f"no target can take the call for the next {earliest:.2f}s ({reasons})"
            + (", past the routed call's deadline" if deadline is not None else ""),
            provider="router",
            retry_after=earliest,
        )

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
                    member.name, type(error).__name__,
                )  # fmt: skip
        if outer is not None and self.hooks:
            attrs: dict[str, Any] = {"target": member.name, "error": error}
            if pending:
                attrs["next"] = pending[0].name
            self.hooks.on_outer_event(outer, "fallback", attrs)

    def _circuit(self, member: Member, transition: str, outer: LLMCallInfo | None) -> None:
        member.breaker = transition
        log = self.logger
        if log.isEnabledFor(logging.INFO):
            log.info("router target %s: circuit %s", member.name, transition)
        if self.hooks and outer is not None:
            self.hooks.on_outer_event(
                outer, "circuit", {"target": member.name, "state": transition}
            )


def _for(member: Member, request: Any) -> Any:
    """The request as ``member`` takes it: its own model name."""
    if request.model == member.model:
        return request
    return request.model_copy(update={"model": member.model})


def _estimate(request: Any) -> int:
    """The tokens a call will use, before it is sent: its input estimated locally, plus the
    output it may produce (``max_tokens``, when set)."""
    if isinstance(request, ChatCompletionRequest):
        return estimate_tokens(request) + (request.max_tokens or 0)
    if isinstance(request, EmbeddingsRequest):
        return sum(-(-len(text) // 4) for text in request.inputs if isinstance(text, str))
    return 0


def stream_first(tracker: Any) -> float:
    """A stream attempt's latency: seconds to its first chunk (0 when it had none)."""
    return float(tracker.call.info.time_to_first_chunk or 0.0)


def _tokens_used(result: Any) -> int | None:
    usage = getattr(result, "usage", None)
    total = getattr(usage, "total_tokens", None)
    return total if isinstance(total, int) and total else None


def _call_with(acquire: Any, member: Member, tokens: int, now: float) -> Callable[[Any], Any]:
    return lambda _: acquire(member.name, member.policy, tokens, now)


def _release_with(
    release: Any, member: Member, grant: Grant, outcome: Outcome, tokens: int | None, now: float
) -> Callable[[Any], Any]:
    return lambda _: release(member.name, member.policy, grant, outcome, tokens, now)


def _bounded(flow: Flow[Any], deadline: float, is_async: bool) -> Flow[Any]:
    """Drive ``flow`` within ``deadline`` (a ``perf_counter`` reading): an attempt gets what
    is left as its timeout (and, async, is cancelled there); a wait that would end past the
    deadline ends the attempt with :class:`~metallm.APITimeoutError` instead."""
    outcome: Any = None
    thrown: BaseException | None = None
    while True:
        try:
            action = flow.send(outcome) if thrown is None else flow.throw(thrown)
        except StopIteration as stop:
            return stop.value
        thrown = None
        left = deadline - time.perf_counter()
        if left <= 0 or (type(action) is Sleep and action.seconds >= left):
            what = f"a retry wait of {action.seconds:.2f}s" if type(action) is Sleep else "a retry"
            thrown = APITimeoutError(
                f"{what} would end past the routed call's deadline ({max(left, 0):.2f}s left)",
                provider="router",
            )
            continue
        if type(action) is Attempt:
            arg = action.arg
            if isinstance(arg, HTTPRequest):
                arg = dataclasses.replace(arg, timeout=left)
            fn = _cut_at(action.fn, left) if is_async else action.fn
            action = Attempt(fn, arg, action.context)
        try:
            outcome = yield action
        except BaseException as exc:  # thrown in by the pump: hand it to the attempt's flow
            thrown = exc


def _cut_at(fn: Callable[[Any], Any], seconds: float) -> Callable[[Any], Any]:
    """An async attempt cancelled after ``seconds`` (as an APITimeoutError)."""

    async def bounded(arg: Any) -> Any:
        import anyio

        try:
            with anyio.fail_after(seconds):
                return await fn(arg)
        except TimeoutError:
            raise APITimeoutError(
                f"the routed call's deadline passed during this attempt ({seconds:.2f}s left)",
                provider="router",
            ) from None

    return bounded
