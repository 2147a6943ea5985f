"""The rules every router state applies, in one place: sliding windows and the breaker.

A :class:`LocalRouterState` runs them in process; :mod:`metallm.router.redis_state` runs the
same rules as Lua scripts inside Redis (its tests hold both to the same cases). Time is
the caller's clock reading (``now``, seconds), never read here, so a fake or scaled clock
drives every rule in tests.

**Windows.** A per-minute limit counts what was admitted in a sliding window of
``WINDOW`` seconds kept as ``BUCKETS`` buckets (3 s each for a minute). An admission stays
counted for the ``BUCKETS + 1`` buckets from its own, so it is counted for at least a whole
window (at most one bucket longer): the limit is never exceeded in any window, at the price
of admitting a little under it. Tokens are reserved with the estimate and corrected in the
same bucket when the usage is known.

**Breaker.** ``closed`` counts consecutive failures and opens at the threshold; ``open``
refuses until ``recovery_time`` has passed, then turns ``half_open`` and lets one probe through
(a probe that never reports back frees its slot after ``PROBE_LEASE`` seconds); the probe's
success closes it, its failure opens it again. A success of a call that was already in flight
when the breaker opened does not close it: only a probe does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "BUCKETS",
    "PROBE_LEASE",
    "WINDOW",
    "Grant",
    "Outcome",
    "Policy",
    "bucket_of",
    "wait_for",
    "window_sum",
]

WINDOW = 60.0
"""The length of a "per minute" window, in seconds of the state's clock."""
BUCKETS = 20
"""Buckets per window."""
PROBE_LEASE = 60.0
"""Seconds a half-open probe holds its slot if it never reports back."""

Outcome = Literal["success", "failure", "neutral"]
"""How an admitted call ended, for the breaker: ``neutral`` is an error caused by the
request itself (or a cancelled call), which says nothing about the target's health."""

BreakerState = Literal["closed", "open", "half_open"]


@dataclass(frozen=True, slots=True)
class Policy:
    """What a state enforces for one target (read from its Target and the router)."""

    requests_per_minute: int | None
    tokens_per_minute: int | None
    max_concurrency: int | None
    failure_threshold: int
    recovery_time: float

    @property
    def unlimited(self) -> bool:
        """No rate or concurrency limit: only the breaker decides."""
        return (
            self.requests_per_minute is None
            and self.tokens_per_minute is None
            and self.max_concurrency is None
        )


class Grant:
    """An admission decision. ``ok``: the call may go (``probe`` when it is the half-open
    breaker's one probe); else ``wait`` is the seconds until it could and ``reason`` says
    why (``requests``, ``tokens``, ``concurrency`` or ``circuit_open``). ``bucket`` and
    ``tokens`` are the reservation to correct; ``remaining_*`` the budget left after it;
    ``transitions`` the breaker changes this acquire caused (``half_open``)."""

    __slots__ = (
        "breaker",
        "bucket",
        "failures",
        "lease",
        "ok",
        "probe",
        "reason",
        "remaining_requests",
        "remaining_tokens",
        "tokens",
        "transitions",
        "wait",
    )

    def __init__(
        self,
        ok: bool,
        *,
        wait: float = 0.0,
        reason: str | None = None,
        probe: bool = False,
        bucket: int = 0,
        tokens: int = 0,
        lease: str | None = None,
        breaker: BreakerState = "closed",
        failures: int = 0,
        remaining_requests: int | None = None,
        remaining_tokens: int | None = None,
        transitions: tuple[str, ...] = (),
    ) -> None:
        self.ok = ok
        self.wait = wait
        self.reason = reason
        self.probe = probe
        self.bucket = bucket
        self.tokens = tokens
        self.lease = lease
        self.breaker = breaker
        self.failures = failures
        self.remaining_requests = remaining_requests
        self.remaining_tokens = remaining_tokens
        self.transitions = transitions

    def __repr__(self) -> str:
        if self.ok:
            return f"Grant(ok, probe={self.probe}, breaker={self.breaker})"
        return f"Grant(refused: {self.reason}, wait={self.wait:.3f})"


def bucket_of(now: float) -> int:
    """The bucket index a moment falls in."""
    return int(now // (WINDOW / BUCKETS))


def window_sum(buckets: dict[int, int], now: float) -> int:
    """What the window ending now holds (and drops buckets that left it)."""
    oldest = bucket_of(now) - BUCKETS
    total = 0
    for index in list(buckets):
        if index < oldest:
            del buckets[index]
        else:
            total += buckets[index]
    return total


def wait_for(buckets: dict[int, int], now: float, used: int, need: int, limit: int) -> float:
    """Seconds until ``need`` more fits under ``limit``, as old buckets leave the window."""
    width = WINDOW / BUCKETS
    excess = used + need - limit
    for index in sorted(buckets):
        excess -= buckets[index]
        if excess <= 0:
            return max(0.0, (index + BUCKETS + 1) * width - now)
    return WINDOW  # pragma: no cover - need > limit is clamped by the callers
