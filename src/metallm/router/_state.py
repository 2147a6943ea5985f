"""Where a router keeps its targets' limits and breakers: the protocol, and the in-process one.

A state answers two questions per routed attempt, atomically: may this call go to this
target now (:meth:`RouterState.acquire`, which also reserves the request, its estimated
tokens and a concurrency slot), and how did it end (:meth:`RouterState.release`, which
corrects the tokens, frees the slot and moves the breaker). The rules are
:mod:`metallm.router._limits`'. :class:`LocalRouterState` keeps them in this process (the
default); :class:`~metallm.RedisRouterState` keeps them in Redis so every worker process of a
service shares one limit. ``local`` tells the router whether the state does I/O: a local
state is called inline, a shared one through the pump's actions (awaited in ``AsyncRouter``).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from ._limits import (
    BUCKETS,
    PROBE_LEASE,
    Grant,
    Outcome,
    Policy,
    bucket_of,
    wait_for,
    window_sum,
)

__all__ = ["LocalRouterState", "RouterState"]


@runtime_checkable
class RouterState(Protocol):
    """The shared-state protocol a router's ``state=`` implements."""

    local: bool
    """True when calls do no I/O (the router then calls them inline)."""
    clock: Callable[[], float]
    """The clock (seconds) the router reads ``now`` from."""

    def acquire(self, key: str, policy: Policy, tokens: int, now: float) -> Grant: ...

    def release(
        self, key: str, policy: Policy, grant: Grant, outcome: Outcome, tokens: int | None,
        now: float,
    ) -> tuple[str, ...]: ...  # fmt: skip

    async def aacquire(self, key: str, policy: Policy, tokens: int, now: float) -> Grant: ...

    async def arelease(
        self, key: str, policy: Policy, grant: Grant, outcome: Outcome, tokens: int | None,
        now: float,
    ) -> tuple[str, ...]: ...  # fmt: skip


class _Target:
    """One target's state in this process."""

    __slots__ = ("breaker", "failures", "in_flight", "opened_at", "probe_until", "requests",
                 "tokens")  # fmt: skip

    def __init__(self) -> None:
        self.requests: dict[int, int] = {}
        self.tokens: dict[int, int] = {}
        self.in_flight = 0
        self.breaker = "closed"
        self.failures = 0
        self.opened_at = 0.0
        self.probe_until = 0.0


_leases = itertools.count(1)


class LocalRouterState:
    """Limits and breakers in this process (thread-safe; shared by the router's threads and
    tasks). ``clock`` is the time source every rule reads (``time.time`` by default; tests
    pass a fake one)."""

    local = True

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._targets: dict[str, _Target] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str, policy: Policy, tokens: int, now: float) -> Grant:
        """Admit a call to ``key`` now, reserving its request, tokens and slot; or refuse."""
        target = self._targets.get(key)
        if target is not None and target.breaker == "closed" and policy.unlimited:
            # nothing to count or reserve: the closed breaker alone decides (no lock needed,
            # the breaker only changes on a release)
            return Grant(True, failures=target.failures)
        with self._lock:
            target = self._targets.get(key)
            if target is None:
                target = self._targets[key] = _Target()
            return _acquire(target, policy, tokens, now)

    def release(
        self,
        key: str,
        policy: Policy,
        grant: Grant,
        outcome: Outcome,
        tokens: int | None,
        now: float,
    ) -> tuple[str, ...]:
        """End an admitted call: correct its tokens, free its slot, move the breaker; returns
        the breaker's transitions (``open``, ``closed``)."""
        with self._lock:
            target = self._targets.get(key)
            if target is None:  # pragma: no cover - released without an acquire
                return ()
            return _release(target, policy, grant, outcome, tokens, now)

    async def aacquire(self, key: str, policy: Policy, tokens: int, now: float) -> Grant:
        """:meth:`acquire` (no I/O: the same call)."""
        return self.acquire(key, policy, tokens, now)

    async def arelease(
        self,
        key: str,
        policy: Policy,
        grant: Grant,
        outcome: Outcome,
        tokens: int | None,
        now: float,
    ) -> tuple[str, ...]:
        """:meth:`release` (no I/O: the same call)."""
        return self.release(key, policy, grant, outcome, tokens, now)

    def __repr__(self) -> str:
        return f"LocalRouterState(targets={len(self._targets)})"


def _acquire(target: _Target, policy: Policy, tokens: int, now: float) -> Grant:
    transitions: tuple[str, ...] = ()
    probe = False
    if target.breaker == "open":
        reopen = target.opened_at + policy.recovery_time
        if now < reopen:
            return Grant(False, wait=reopen - now, reason="circuit_open", breaker="open",
                         failures=target.failures)  # fmt: skip
        target.breaker = "half_open"
        transitions = ("half_open",)
    if target.breaker == "half_open":
        if target.probe_until > now:
            return Grant(False, wait=target.probe_until - now, reason="circuit_open",
                         breaker="half_open", failures=target.failures)  # fmt: skip
        probe = True
    limit = policy.max_concurrency
    if limit is not None and target.in_flight >= limit:
        return Grant(False, wait=0.0, reason="concurrency", breaker=target.breaker,  # type: ignore[arg-type]
                     failures=target.failures, transitions=transitions)  # fmt: skip
    rpm, tpm = policy.requests_per_minute, policy.tokens_per_minute
    remaining_requests = remaining_tokens = None
    if rpm is not None:
        used = window_sum(target.requests, now)
        if used + 1 > rpm:
            return Grant(False, wait=wait_for(target.requests, now, used, 1, rpm),
                         reason="requests", breaker=target.breaker,  # type: ignore[arg-type]
                         failures=target.failures, transitions=transitions)  # fmt: skip
        remaining_requests = rpm - used - 1
    if tpm is not None:
        need = min(tokens, tpm)  # a request larger than the whole limit goes alone
        used = window_sum(target.tokens, now)
        if used + need > tpm:
            return Grant(False, wait=wait_for(target.tokens, now, used, need, tpm),
                         reason="tokens", breaker=target.breaker,  # type: ignore[arg-type]
                         failures=target.failures, transitions=transitions)  # fmt: skip
        remaining_tokens = tpm - used - need
    bucket = bucket_of(now)
    if rpm is not None:
        target.requests[bucket] = target.requests.get(bucket, 0) + 1
    if tpm is not None and tokens:
        target.tokens[bucket] = target.tokens.get(bucket, 0) + tokens
    target.in_flight += 1
    if probe:
        target.probe_until = now + PROBE_LEASE
    return Grant(
        True,
        probe=probe,
        bucket=bucket,
        tokens=tokens,
        lease=str(next(_leases)),
        breaker=target.breaker,  # type: ignore[arg-type]
        failures=target.failures,
        remaining_requests=remaining_requests,
        remaining_tokens=remaining_tokens,
        transitions=transitions,
    )


def _release(
    target: _Target, policy: Policy, grant: Grant, outcome: Outcome, tokens: int | None,
    now: float,
) -> tuple[str, ...]:  # fmt: skip
    target.in_flight = max(0, target.in_flight - 1)
    if (
        tokens is not None
        and policy.tokens_per_minute is not None
        and tokens != grant.tokens
        and grant.bucket >= bucket_of(now) - BUCKETS
    ):  # still in the window: correct the reservation in place (a reservation of 0 tokens
        # left no entry, so the bucket's presence is not the test)
        kept = target.tokens.get(grant.bucket, 0)
        target.tokens[grant.bucket] = max(0, kept + tokens - grant.tokens)
    if grant.probe:
        target.probe_until = 0.0
        was = target.breaker  # a probe reporting after its lease ran out may find it moved on
        if outcome == "success":
            target.breaker, target.failures = "closed", 0
            return ("closed",) if was != "closed" else ()
        if outcome == "failure":
            target.breaker, target.opened_at = "open", now
            target.failures += 1
            return ("open",) if was != "open" else ()
        return ()
    if outcome == "success":
        if target.breaker == "closed":
            target.failures = 0
        return ()
    if outcome == "failure" and target.breaker == "closed":
        target.failures += 1
        if target.failures >= policy.failure_threshold:
            target.breaker, target.opened_at = "open", now
            return ("open",)
    return ()
