"""Routing across targets: fallbacks, strategies, rate limits and circuit breakers.

``Router``/``AsyncRouter`` (:mod:`metallm.router._router`) drive one routed flow
(:mod:`metallm.router._flow`) over the exchanges of their targets' clients; limits and breakers
live in a state (:mod:`metallm.router._state`, or Redis through
:mod:`metallm.router.redis_state`, imported only when used).
"""

from ._config import STRATEGIES, CircuitBreaker, FallbackOn, RateLimit, Strategy, Target
from ._errors import AllTargetsFailedError, FailedAttempt
from ._fallback import default_fallback_on, health_outcome
from ._limits import Grant, Outcome, Policy
from ._members import TargetStats
from ._router import AsyncRouter, Router
from ._state import LocalRouterState, RouterState

__all__ = [
    "STRATEGIES",
    "AllTargetsFailedError",
    "AsyncRouter",
    "CircuitBreaker",
    "FailedAttempt",
    "FallbackOn",
    "Grant",
    "LocalRouterState",
    "Outcome",
    "Policy",
    "RateLimit",
    "Router",
    "RouterState",
    "Strategy",
    "Target",
    "TargetStats",
    "default_fallback_on",
    "health_outcome",
]
