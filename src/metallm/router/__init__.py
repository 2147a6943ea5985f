"""Routing across targets: fallbacks, strategies, rate limits and circuit breakers."""

from typing import TYPE_CHECKING, Any

from ._config import STRATEGIES, CircuitBreaker, RateLimit, Strategy, Target
from ._limits import Grant, Outcome, Policy
from ._state import LocalRouterState, RouterState

if TYPE_CHECKING:
    from .redis_state import RedisRouterState

__all__ = [
    "STRATEGIES",
    "CircuitBreaker",
    "Grant",
    "LocalRouterState",
    "Outcome",
    "Policy",
    "RateLimit",
    "RedisRouterState",
    "RouterState",
    "Strategy",
    "Target",
]


def __getattr__(name: str) -> Any:
    """``RedisRouterState`` on first use: importing this package never imports ``redis``."""
    if name == "RedisRouterState":
        from .redis_state import RedisRouterState

        return RedisRouterState
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
