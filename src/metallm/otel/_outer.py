"""The span of an outer call: one INTERNAL span over several inference spans.

``parse`` re-asks the model when a reply does not validate; each re-ask is a call of its own
(its own CLIENT span, metrics and retries), and the conventions' rule for several attempts of
one request ("Several attempts for one call" in OTEL-GENAI.md) puts them under one outer span
named like an inference span (``chat {model}``) but of kind INTERNAL, carrying the answering
attempt's response and usage attributes. Metrics are recorded per attempt only, never for the
outer span, so nothing is counted twice. Validation retries are events on the outer span.

The hook keeps an :class:`OuterState` in the outer info's ``state``; an inner call's
``before_request`` finds it through ``info.parent`` and starts its span in
:attr:`OuterState.ctx`, which is how the tree is built without making anything current
between the pump's steps (the sans-IO exchange has no "current" to rely on).
"""

from __future__ import annotations

from typing import Any, Protocol

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from ..hooks import AnyRequest, AnyResponse, Failure, LLMCallInfo
from ..types import ChatCompletionRequest, ChatCompletionResponse
from . import attributes as A
from ._context import tracing_unset
from ._router import ROUTER_EVENTS, RouterMetrics, route_end, route_start, router_event_attributes
from ._span_attributes import error_type, request_attributes, response_attributes

__all__ = ["OuterState", "end_outer", "outer_event", "parent_context", "start_outer"]

_EVENTS = {"validation_retry": A.VALIDATION_RETRY_EVENT}
_EVENT_ATTRIBUTES = {
    "attempt": A.STRUCTURED_ATTEMPT,
    "error_count": A.STRUCTURED_ERROR_COUNT,
    "error_type": A.ERROR_TYPE,
}


class OuterState:
    """An outer call's span and the context its inner calls' spans start in."""

    __slots__ = ("attempts", "ctx", "span")

    def __init__(self, span: trace.Span) -> None:
        self.span = span
        self.attempts = 0
        self.ctx: otel_context.Context = trace.set_span_in_context(span)


def start_outer(
    tracer: trace.Tracer, info: LLMCallInfo, request: AnyRequest, owner: object = None
) -> OuterState:
    """Start the outer span (INTERNAL) with the attributes an inference span starts with,
    nested under its own outer call when it has one (a routed call inside a ``parse``)."""
    attrs: dict[str, Any] = {
        A.OPERATION_NAME: info.operation,
        A.PROVIDER_NAME: info.semconv_name or info.provider_name,
        A.REQUEST_MODEL: request.model,
    }
    if info.server_address:
        attrs[A.SERVER_ADDRESS] = info.server_address
        attrs[A.SERVER_PORT] = info.server_port
    if isinstance(request, ChatCompletionRequest):
        request_attributes(attrs, request, info)
    route_start(attrs, info)
    name = f"{info.operation} {request.model}" if request.model else info.operation
    span = tracer.start_span(
        name,
        parent_context(owner, info),
        kind=SpanKind.INTERNAL,
        attributes=attrs,
        start_time=int(info.start_time * 1e9),
    )
    return OuterState(span)


def parent_context(owner: object, info: LLMCallInfo) -> otel_context.Context | None:
    """The context an inner call's span starts in (None: a call on its own). The outer
    span may have been started by another OTel hook (a router's own hooks, a target client's
    own): any outer span on the parent will do."""
    parent = info.parent
    if parent is None:
        return None
    state = parent.state.get(owner)
    if not isinstance(state, OuterState):
        state = next((s for s in parent.state.values() if isinstance(s, OuterState)), None)
        if state is None:
            return None
    state.attempts += 1
    return state.ctx


def outer_event(state: OuterState, name: str, attributes: dict[str, Any]) -> None:
    """A span event on the outer span (a validation retry), its attribute names mapped."""
    attrs = {
        _EVENT_ATTRIBUTES.get(key, f"metallm.structured.{key}"): value
        for key, value in attributes.items()
    }
    state.span.add_event(_EVENTS.get(name, f"metallm.{name}"), attrs)


def end_outer(
    state: OuterState,
    info: LLMCallInfo,
    response: AnyResponse | None,
    error: Failure,
    error_type: str | None,
) -> None:
    """End the outer span: the answering attempt's response attributes, or the failure."""
    span = state.span
    end: dict[str, Any] = {}
    if info.route is not None:
        route_end(end, info.route)
    else:
        end[A.STRUCTURED_ATTEMPTS] = state.attempts
    if isinstance(response, ChatCompletionResponse):
        response_attributes(end, response)
    if error is not None and error_type is not None:
        end[A.ERROR_TYPE] = error_type
    span.set_attributes(end)
    if error is not None:
        span.set_status(Status(StatusCode.ERROR, info.redact(f"{type(error).__name__}: {error}")))
        span.record_exception(error, attributes={"exception.message": info.redact(str(error))})
    span.end()


class _Host(Protocol):
    """What these methods read of the :class:`~metallm.otel.OTelHook` they are mixed into."""

    _explicit_tracing: bool
    _tracer: trace.Tracer
    _router_metrics: RouterMetrics


class OuterSpans:
    """The outer-call methods of :class:`~metallm.otel.OTelHook` (``parse`` and its re-asks):
    the parent span its attempts nest under. A mixin, so the hook module stays about calls."""

    def before_outer(self: _Host, info: LLMCallInfo, request: AnyRequest) -> None:
        """Start the outer span that the call's attempts' spans nest under."""
        if not self._explicit_tracing and tracing_unset():
            return
        info.state[self] = start_outer(self._tracer, info, request, self)

    def on_outer_event(
        self: _Host, info: LLMCallInfo, name: str, attributes: dict[str, Any]
    ) -> None:
        """An event on the outer span (a validation retry; a router's fallback or breaker
        transition, also recorded on the router's metrics)."""
        state = info.state.get(self)
        if name in ROUTER_EVENTS:
            attrs = router_event_attributes(name, attributes)
            self._router_metrics.record(name, attrs)
            if isinstance(state, OuterState):
                state.span.add_event(ROUTER_EVENTS[name], attrs)
            return
        if isinstance(state, OuterState):
            outer_event(state, name, attributes)

    def after_outer(
        self: _Host,
        info: LLMCallInfo,
        request: AnyRequest,
        response: AnyResponse | None,
        error: Failure,
    ) -> None:
        """End the outer span (no metrics: each attempt recorded its own)."""
        state = info.state.pop(self, None)
        if isinstance(state, OuterState):
            end_outer(state, info, response, error, None if error is None else error_type(error))
