"""Routing across targets: fallbacks, strategies, rate limits and circuit breakers."""

from ._config import STRATEGIES, CircuitBreaker, RateLimit, Strategy, Target
from ._limits import Grant, Outcome, Policy
from ._state import LocalRouterState, RouterState

__all__ = [
    "STRATEGIES",
    "CircuitBreaker",
    "Grant",
    "LocalRouterState",
    "Outcome",
    "Policy",
    "RateLimit",
    "RouterState",
    "Strategy",
    "Target",
]
