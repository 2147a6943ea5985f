"""A router's targets at run time: each one's client, exchange, policy and figures.

A :class:`Member` is built once per target when the router is made: the client (built from
the target's configuration, or the caller's own), the exchange the router drives, the
:class:`~metallm.router._limits.Policy` its state enforces, the model's context window from
the catalog (for context-length fallbacks), and this process's figures for
:meth:`~metallm.Router.stats` (calls, failures, in flight, recent latencies, the breaker and
rate budget as of the state's last answer).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

from ..hooks import LatencyStats
from ..models import model_info
from ._config import CircuitBreaker, Target
from ._limits import Grant, Policy

__all__ = ["LATENCY_WINDOW", "Member", "TargetStats"]

LATENCY_WINDOW = 256
"""Recent latencies kept per target (for p50/p90 and the lowest_latency strategy)."""


@dataclass(frozen=True)
class TargetStats:
    """One target's figures in this process (:meth:`~metallm.Router.stats`).

    ``calls`` attempts sent, ``failures`` those that failed, ``in_flight`` running now,
    ``breaker`` its circuit (``closed``, ``open``, ``half_open``), ``latency`` the recent
    successful attempts' seconds (None before the first), ``remaining_requests`` /
    ``remaining_tokens`` what its rate budget had left at its last admission (None: no limit).
    With a shared state the breaker and budget are as the state last reported them.
    """

    name: str
    provider: str
    model: str
    calls: int
    failures: int
    in_flight: int
    breaker: str
    latency: LatencyStats | None
    remaining_requests: int | None
    remaining_tokens: int | None

    @property
    def latency_p50(self) -> float | None:
        """The median recent latency in seconds."""
        return None if self.latency is None else self.latency.p50

    @property
    def latency_p90(self) -> float | None:
        """The 90th percentile of recent latencies in seconds."""
        return None if self.latency is None else self.latency.p90


class Member:
    """One target inside a router."""

    __slots__ = (
        "breaker",
        "calls",
        "client",
        "exchange",
        "failures",
        "in_flight",
        "index",
        "latencies",
        "model",
        "name",
        "owned",
        "policy",
        "quiet",
        "remaining",
        "sorted_p50",
        "target",
        "weight",
        "window",
    )

    def __init__(
        self, index: int, target: Target, client: Any, owned: bool, breaker: CircuitBreaker
    ) -> None:
        self.index = index
        self.target = target
        self.name = target.name
        self.model = target.model
        self.weight = target.weight
        self.client = client
        self.owned = owned
        self.exchange: Any = client._exchange
        limits = target.limits
        self.policy = Policy(
            None if limits is None else limits.requests_per_minute,
            None if limits is None else limits.tokens_per_minute,
            None if limits is None else limits.max_concurrency,
            breaker.failure_threshold,
            breaker.recovery_time,
        )
        # nothing to tell a state after a clean success: no slot to free, no tokens to correct
        self.quiet = limits is None or (
            limits.max_concurrency is None and limits.tokens_per_minute is None
        )
        info = model_info(target.model)
        self.window: int | None = None if info is None else info.context_window
        self.calls = 0
        self.failures = 0
        self.in_flight = 0
        self.latencies: deque[float] = deque(maxlen=LATENCY_WINDOW)
        self.sorted_p50: float | None = None
        self.breaker = "closed"
        self.remaining: tuple[int | None, int | None] = (None, None)

    @property
    def provider_name(self) -> str:
        """The provider's name (``openai``, ...)."""
        return str(self.exchange.provider_name)

    def admitted(self, grant: Grant) -> None:
        """Count an attempt the state admitted."""
        self.calls += 1
        self.in_flight += 1
        self.breaker = grant.breaker
        self.remaining = (grant.remaining_requests, grant.remaining_tokens)

    def ended(self, seconds: float | None) -> None:
        """Count an attempt's end: its latency on success, a failure otherwise."""
        self.in_flight -= 1
        if seconds is None:
            self.failures += 1
        else:
            self.latencies.append(seconds)
            self.sorted_p50 = None

    def p50(self) -> float | None:
        """The median recent latency (cached until the next sample)."""
        if self.sorted_p50 is None and self.latencies:
            ordered = sorted(self.latencies)
            self.sorted_p50 = ordered[(len(ordered) - 1) // 2]
        return self.sorted_p50

    def stats(self) -> TargetStats:
        """This target's figures now."""
        return TargetStats(
            self.name,
            self.provider_name,
            self.model,
            self.calls,
            self.failures,
            self.in_flight,
            self.breaker,
            LatencyStats.of(self.latencies),
            *self.remaining,
        )
