"""What a router is made of: its targets, their limits, the breaker, the strategy names.

Every value is checked when it is built, so a router that constructs is one that can run: a
bad weight, a negative limit, a duplicate name or an unknown strategy is a
:class:`~metallm.ConfigurationError` naming the target, before any client exists. A target's
``api_key`` lives only in its :class:`~metallm.ClientConfig` (kept out of every ``repr``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from ..config import ClientConfig
from ..errors import ConfigurationError

__all__ = [
    "STRATEGIES",
    "CircuitBreaker",
    "FallbackOn",
    "RateLimit",
    "Strategy",
    "Target",
]

Strategy = Literal["fallback", "round_robin", "weighted", "least_busy", "lowest_latency"]
STRATEGIES: tuple[str, ...] = (
    "fallback",
    "round_robin",
    "weighted",
    "least_busy",
    "lowest_latency",
)

FallbackOn = Callable[[BaseException], bool]
"""Whether an attempt's error sends the routed call on to the next target."""

_CONFIG_FIELDS = frozenset(ClientConfig.__dataclass_fields__)


def _count(owner: str, name: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigurationError(f"{owner}: {name} must be a positive int or None, got {value!r}")
    return value


@dataclass(frozen=True)
class RateLimit:
    """A target's client-side limits, so a service never sends what the provider would
    refuse with 429: requests and tokens per minute (a sliding minute), and how many calls
    may be in flight at once. None means no limit of that kind.

    Tokens are estimated before a call from its request (the local count plus
    ``max_tokens``) and corrected by the reported usage after it.
    """

    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None
    max_concurrency: int | None = None

    def __post_init__(self) -> None:
        _count("RateLimit", "requests_per_minute", self.requests_per_minute)
        _count("RateLimit", "tokens_per_minute", self.tokens_per_minute)
        _count("RateLimit", "max_concurrency", self.max_concurrency)

    @property
    def limits_rate(self) -> bool:
        """Whether any per-minute limit is set."""
        return self.requests_per_minute is not None or self.tokens_per_minute is not None


@dataclass(frozen=True)
class CircuitBreaker:
    """Per target: open after ``failure_threshold`` consecutive failures that another target
    could have answered (a 4xx caused by the request itself does not count), half-open after
    ``recovery_time`` seconds (one probe call goes through), closed again when it succeeds."""

    failure_threshold: int = 5
    recovery_time: float = 30.0

    def __post_init__(self) -> None:
        _count("CircuitBreaker", "failure_threshold", self.failure_threshold)
        if (
            isinstance(self.recovery_time, bool)
            or not isinstance(self.recovery_time, int | float)
            or not math.isfinite(self.recovery_time)
            or self.recovery_time < 0
        ):
            raise ConfigurationError(
                f"CircuitBreaker: recovery_time must be a number of seconds >= 0, "
                f"got {self.recovery_time!r}"
            )


class Target:
    """One place a routed call can go: a client configuration or an existing client, plus the
    ``model`` it serves there.

    ``Target(provider="openai", model="gpt-4o-mini", api_key=..., ...)`` takes every
    :class:`~metallm.ClientConfig` field (or ``config=ClientConfig(...)``); the router builds
    the client and closes it. ``Target(client=existing, model=...)`` uses a client the caller
    owns (and closes). ``name`` must be unique in a router (default ``provider/model``);
    ``weight`` (> 0) is the share the ``weighted`` strategy gives it; ``limits`` its
    :class:`RateLimit`.
    """

    __slots__ = ("client", "config", "limits", "model", "name", "weight")

    def __init__(
        self,
        *,
        model: str,
        client: Any = None,
        name: str | None = None,
        weight: float = 1.0,
        limits: RateLimit | None = None,
        config: ClientConfig | None = None,
        **fields: Any,
    ) -> None:
        label = name or model or "target"
        if not isinstance(model, str) or not model:
            raise ConfigurationError(f"target {label!r}: model must be a non-empty string")
        unknown = sorted(set(fields) - _CONFIG_FIELDS)
        if unknown:
            raise ConfigurationError(
                f"target {label!r}: unknown field(s) {', '.join(unknown)}; a Target takes "
                "model, client, name, weight, limits, config and the ClientConfig fields"
            )
        if client is not None and (config is not None or fields):
            raise ConfigurationError(
                f"target {label!r}: pass either client= or a client configuration, not both"
            )
        if config is not None and fields:
            config = ClientConfig(**{**config.__dict__, **fields})
        elif config is None and fields:
            config = ClientConfig(**fields)
        if client is None and (
            config is None or (not config.provider and config.custom_provider is None)
        ):
            raise ConfigurationError(
                f"target {label!r}: give it a provider (provider='openai', ...), a "
                "custom_provider, or an existing client="
            )
        provider = getattr(client, "provider_name", None) if client is not None else None
        if provider is None and config is not None:
            provider = config.provider or type(config.custom_provider).__name__
        if (
            isinstance(weight, bool)
            or not isinstance(weight, int | float)
            or not math.isfinite(weight)
            or weight <= 0
        ):
            raise ConfigurationError(f"target {label!r}: weight must be > 0, got {weight!r}")
        if limits is not None and not isinstance(limits, RateLimit):
            raise ConfigurationError(f"target {label!r}: limits must be a metallm.RateLimit")
        if name is not None and (not isinstance(name, str) or not name):
            raise ConfigurationError("a target's name must be a non-empty string")
        self.model = model
        self.client = client
        self.config = config
        self.name = name or f"{provider}/{model}"
        self.weight = float(weight)
        self.limits = limits

    def __repr__(self) -> str:
        return f"Target(name={self.name!r}, model={self.model!r}, weight={self.weight:g})"
