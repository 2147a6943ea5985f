"""What a routed call adds to the spans and metrics: ``metallm.router.*``.

A routed call is one outer span (:mod:`metallm.otel._outer`) over one inference span per
attempt, or, when a single target was eligible, that one attempt's CLIENT span alone; the span
that stands for the routed call (the info with ``route`` set) gets the strategy at its start
and, at its end, the attempt count, the targets tried and the target that answered. Each
attempt's span names its target and attempt number (span only: the metrics keep the
conventions' attributes, so a dashboard per provider stays true). Fallbacks and breaker
transitions are span events on the outer span and the two metrics
``metallm.router.fallbacks`` (a counter) and ``metallm.router.circuit.state`` (a gauge: 0
closed, 1 half-open, 2 open), both with the target's name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..hooks import LLMCallInfo, RouteInfo
from . import attributes as A
from ._span_attributes import error_type

if TYPE_CHECKING:
    from opentelemetry.metrics import Meter

__all__ = ["ROUTER_EVENTS", "RouterMetrics", "route_end", "route_start", "router_event_attributes"]

ROUTER_EVENTS = {"fallback": A.ROUTER_FALLBACK_EVENT, "circuit": A.ROUTER_CIRCUIT_EVENT}


def route_start(attrs: dict[str, Any], info: LLMCallInfo) -> None:
    """The start attributes of a span of a routed call (the attempt's target, the strategy)."""
    if info.target is not None:
        attrs[A.ROUTER_TARGET] = info.target
        attrs[A.ROUTER_ATTEMPT] = info.attempt
    if info.route is not None:
        attrs[A.ROUTER_STRATEGY] = info.route.strategy


def route_end(end: dict[str, Any], route: RouteInfo) -> None:
    """The end attributes of the span standing for a routed call."""
    end[A.ROUTER_ATTEMPTS] = route.attempts
    end[A.ROUTER_TARGETS_TRIED] = list(route.tried)
    if route.target is not None:
        end[A.ROUTER_TARGET] = route.target


def router_event_attributes(name: str, attributes: dict[str, Any]) -> dict[str, Any]:
    """A router event's span-event attributes."""
    attrs: dict[str, Any] = {A.ROUTER_TARGET: str(attributes.get("target", ""))}
    if name == "fallback":
        error = attributes.get("error")
        if isinstance(error, BaseException):
            attrs[A.ERROR_TYPE] = error_type(error)
        if attributes.get("next"):
            attrs[A.ROUTER_NEXT_TARGET] = str(attributes["next"])
    else:
        attrs[A.ROUTER_CIRCUIT_STATE] = str(attributes.get("state", ""))
    return attrs


class RouterMetrics:
    """The router's two instruments, made on first use (a hook that never sees a router
    makes none); ``meter`` gives the hook's meter, itself made on first use."""

    __slots__ = ("_circuit", "_fallbacks", "_meter")

    def __init__(self, meter: Callable[[], Meter]) -> None:
        self._meter = meter
        self._fallbacks: Any = None
        self._circuit: Any = None

    def record(self, name: str, attrs: dict[str, Any]) -> None:
        """Count a fallback, or set a breaker's gauge."""
        if name == "fallback":
            if self._fallbacks is None:
                self._fallbacks = self._meter().create_counter(
                    A.METRIC_ROUTER_FALLBACKS,
                    unit="{fallback}",
                    description="Routed calls that moved on from a failed target",
                )
            metric = {A.ROUTER_TARGET: attrs[A.ROUTER_TARGET]}
            if A.ERROR_TYPE in attrs:
                metric[A.ERROR_TYPE] = attrs[A.ERROR_TYPE]
            self._fallbacks.add(1, metric)
            return
        if self._circuit is None:
            self._circuit = self._meter().create_gauge(
                A.METRIC_ROUTER_CIRCUIT_STATE,
                unit="1",
                description="A router target's circuit breaker: 0 closed, 1 half-open, 2 open",
            )
        value = A.CIRCUIT_STATES.get(attrs[A.ROUTER_CIRCUIT_STATE])
        if value is not None:
            self._circuit.set(value, {A.ROUTER_TARGET: attrs[A.ROUTER_TARGET]})
