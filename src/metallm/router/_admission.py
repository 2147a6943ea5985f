"""How a routed call deals with its state: admission, release, waits, breaker transitions.

A mixin of :class:`~metallm.router._flow.RoutedExchange`, kept apart so the flow module stays
the route itself. A local state is called inline (no I/O); a shared one through
:class:`~metallm._actions.Attempt` actions (awaited in the async pump), and a shared state's
failure never fails a call: an admission that cannot be asked is granted, a release that
cannot be told is dropped (the state's own leases expire). A target with no limits that
succeeds with a clean breaker needs no release at all, which spares a shared state's round
trip on the common path (a requests-per-minute limit needs none either: its count is final
at admission). A stream releases when it ends, outside the pump: inline, or for an
async router with a shared state as a task of the running loop.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

from .._actions import Attempt, Flow, Sleep
from .._outer_call import end_outer
from .._spending import Spending, spend_of
from ..embeddings import EmbeddingsRequest
from ..errors import RateLimitError
from ..hooks import HookChain, LLMCallInfo
from ..tokens import estimate_tokens
from ..types import ChatCompletionRequest
from ._errors import AllTargetsFailedError, FailedAttempt
from ._fallback import health_outcome
from ._limits import Grant, Outcome
from ._members import Member
from ._state import RouterState

__all__ = ["Admission", "quiet_success", "stream_first", "tokens_used"]

_PENDING: set[Any] = set()
"""Release tasks of async streams that ended, kept alive until they finish."""
_CONCURRENCY_POLL = 0.05
"""Seconds between looks at a target whose concurrency slots are all taken."""


class Admission:
    """The state steps of a routed call (mixed into the routed exchange)."""

    state: RouterState
    is_async: bool
    logger: logging.Logger
    hooks: HookChain
    spending: Spending | None
    secrets: tuple[str, ...]
    _acquire: Any
    _release: Any

    def _admit(self, member: Member, request: Any, outer: LLMCallInfo | None) -> Flow[Grant]:
        """Ask a shared state whether ``member`` may take the call now (an action: it is
        I/O); a local state is asked inline by :meth:`_admit_here`."""
        tokens = _estimate(request) if member.policy.tokens_per_minute is not None else 0
        now = self.state.clock()
        outcome = yield Attempt(_call_with(self._acquire, member, tokens, now), None, nullcontext)
        if isinstance(outcome, BaseException):  # a state's own failure: let the call go
            outcome = Grant(True, tokens=tokens)
        return self._admitted(member, outcome, outer)

    def _admit_here(self, member: Member, request: Any, outer: LLMCallInfo | None) -> Grant:
        """:meth:`_admit` for a local state: no I/O, so no action (and no generator)."""
        tokens = _estimate(request) if member.policy.tokens_per_minute is not None else 0
        state = self.state
        grant = state.acquire(member.name, member.policy, tokens, state.clock())
        return self._admitted(member, grant, outer)

    def _admitted(self, member: Member, grant: Grant, outer: LLMCallInfo | None) -> Grant:
        if grant.ok:
            member.admitted(grant)
        else:
            member.breaker = grant.breaker
        if grant.transitions:
            for transition in grant.transitions:
                self._circuit(member, transition, outer)
        return grant

    def _released(
        self, member: Member, grant: Grant, outcome: Outcome, tokens: int | None,
        outer: LLMCallInfo | None,
    ) -> Flow[None]:  # fmt: skip
        """Tell the state how an admitted attempt ended."""
        state = self.state
        if _nothing_to_tell(member, grant, outcome):
            return  # nothing to correct, free or reset: spare the call (a shared state's trip)
        if state.local:
            transitions = state.release(
                member.name, member.policy, grant, outcome, tokens, state.clock()
            )
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
            self._release_now(member, grant, outcome, tokens_used(response), outer)
            if outer is not None:
                end_outer(self, outer, request, response, error)
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
        if _nothing_to_tell(member, grant, outcome):
            return
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

    def _circuit(self, member: Member, transition: str, outer: LLMCallInfo | None) -> None:
        member.breaker = transition
        log = self.logger
        if log.isEnabledFor(logging.INFO):
            log.info("router target %s: circuit %s", member.name, transition)
        if self.hooks:
            # a single eligible target has no outer call: the event still reaches the hooks
            # (the OTel hook's gauge), on an info that stands for the target alone
            info = outer if outer is not None else self._standalone(member)
            self.hooks.on_outer_event(info, "circuit", {"target": member.name, "state": transition})

    def _standalone(self, member: Member) -> LLMCallInfo:
        exchange = member.exchange
        return LLMCallInfo.start(
            exchange.provider_name,
            member.model,
            streaming=False,
            is_async=self.is_async,
            semconv_name=exchange.semconv_name,
        )


def quiet_success(member: Member, grant: Grant) -> bool:
    """Whether a success leaves nothing to tell the state (see :func:`_nothing_to_tell`)."""
    return member.quiet and not grant.failures and not grant.probe


def _nothing_to_tell(member: Member, grant: Grant, outcome: Outcome) -> bool:
    """Whether a release would change nothing in the state (a clean success, no slot, no
    tokens): a shared state is then spared the round trip."""
    return member.quiet and outcome == "success" and not grant.failures and not grant.probe


def stream_first(tracker: Any) -> float:
    """A stream attempt's latency: seconds to its first chunk (0 when it had none)."""
    return float(tracker.call.info.time_to_first_chunk or 0.0)


def _estimate(request: Any) -> int:
    """The tokens a call will use, before it is sent: its input estimated locally, plus the
    output it may produce (``max_tokens``, when set)."""
    if isinstance(request, ChatCompletionRequest):
        return estimate_tokens(request) + (request.max_tokens or 0)
    if isinstance(request, EmbeddingsRequest):
        return sum(-(-len(text) // 4) for text in request.inputs if isinstance(text, str))
    return 0


def tokens_used(result: Any) -> int | None:
    usage = getattr(result, "usage", None)
    total = getattr(usage, "total_tokens", None)
    return total if isinstance(total, int) and total else None


def _call_with(acquire: Any, member: Member, tokens: int, now: float) -> Callable[[Any], Any]:
    return lambda _: acquire(member.name, member.policy, tokens, now)


def _release_with(
    release: Any, member: Member, grant: Grant, outcome: Outcome, tokens: int | None, now: float
) -> Callable[[Any], Any]:
    return lambda _: release(member.name, member.policy, grant, outcome, tokens, now)
