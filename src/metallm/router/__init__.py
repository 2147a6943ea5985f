"""Routing across targets: fallbacks, strategies, rate limits and circuit breakers.

``Router``/``AsyncRouter`` (:mod:`metallm.router._router`) drive one routed flow
(:mod:`metallm.router._flow`) over the exchanges of their targets' clients; limits and breakers
live in a state (:mod:`metallm.router._state`, or Redis through
:mod:`metallm.router.redis_state`, imported only when used).
"""

from typing import TYPE_CHECKING, Any

from ._config import STRATEGIES, CircuitBreaker, FallbackOn, RateLimit, Strategy, Target
from ._errors import AllTargetsFailedError, FailedAttempt
from ._fallback import default_fallback_on, health_outcome
from ._limits import Grant, Outcome, Policy
from ._members import TargetStats
from ._router import AsyncRouter, Router
from ._state import LocalRouterState, RouterState

if TYPE_CHECKING:
    from .redis_state import RedisRouterState

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
    "RedisRouterState",
    "Router",
    "RouterState",
    "Strategy",
    "Target",
    "TargetStats",
    "default_fallback_on",
    "health_outcome",
]


def __getattr__(name: str) -> Any:
    """``RedisRouterState`` on first use: importing this package never imports ``redis``."""
    if name == "RedisRouterState":
        from .redis_state import RedisRouterState

        return RedisRouterState
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
