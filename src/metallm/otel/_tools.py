"""The tool loop's spans: ``invoke_agent`` around a ``run_tools`` loop, ``execute_tool`` per tool.

Per the conventions' agent spans (``gen-ai-agent-spans.md``): the loop is an in-process agent
invocation, so its span is ``invoke_agent`` (``invoke_agent {agent name}`` when the caller named
it), kind INTERNAL, with ``gen_ai.operation.name=invoke_agent``, the provider and request model;
the loop's inference spans are its children (the span is current while the client drives the
loop), and it ends with the last reply's response attributes and the number of model steps.
Each tool execution is ``execute_tool {tool name}``, INTERNAL, with ``gen_ai.tool.name``,
``gen_ai.tool.call.id``, ``gen_ai.tool.type=function``, ``error.type`` when it failed, and its
arguments and result only when content capture puts content on spans.

These functions are the OTel hook's tool-loop methods; with no tracer provider installed they
return at once (a loop records no metrics of its own: its model calls already do).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from ..hooks import Failure
from ..types import ChatCompletionResponse
from . import attributes as A
from ._context import NULL, Active, tracing_unset
from ._span_attributes import error_type
from .content import CaptureMode

if TYPE_CHECKING:  # only a tool loop makes them
    from ..hooks import ToolCallInfo, ToolLoopInfo

__all__ = ["end_loop", "end_tool", "loop_context", "start_loop", "start_tool", "tool_context"]


class _SpanState:
    __slots__ = ("ctx", "span")

    def __init__(self, span: trace.Span) -> None:
        self.span = span
        self.ctx = trace.set_span_in_context(span)


def start_loop(tracer: trace.Tracer, key: object, loop: ToolLoopInfo) -> None:
    """Start the ``invoke_agent`` span."""
    attrs: dict[str, Any] = {
        A.OPERATION_NAME: A.OPERATION_INVOKE_AGENT,
        A.PROVIDER_NAME: loop.semconv_name or loop.provider_name,
        A.REQUEST_MODEL: loop.model,
    }
    name = A.OPERATION_INVOKE_AGENT
    if loop.agent_name:
        attrs[A.AGENT_NAME] = loop.agent_name
        name = f"{name} {loop.agent_name}"
    if loop.conversation_id:
        attrs[A.CONVERSATION_ID] = loop.conversation_id
    span = tracer.start_span(
        name, kind=SpanKind.INTERNAL, attributes=attrs, start_time=int(loop.start_time * 1e9)
    )
    loop.state[key] = _SpanState(span)


def loop_context(key: object, loop: ToolLoopInfo) -> Any:
    """The loop's span made current (its model calls and tools nest under it)."""
    state: _SpanState | None = loop.state.get(key)
    return NULL if state is None else Active(state.ctx)


def end_loop(
    key: object,
    loop: ToolLoopInfo,
    response: ChatCompletionResponse | None,
    error: Failure,
    error_type: Any,
) -> None:
    """End the loop's span with the final reply (or the error)."""
    state: _SpanState | None = loop.state.pop(key, None)
    if state is None:
        return
    span = state.span
    end: dict[str, Any] = {A.LOOP_STEPS: loop.steps}
    if response is not None:
        if response.id:
            end[A.RESPONSE_ID] = response.id
        if response.model:
            end[A.RESPONSE_MODEL] = response.model
        end[A.RESPONSE_FINISH_REASONS] = [str(c.finish_reason or "") for c in response.choices]
    if error is not None:
        end[A.ERROR_TYPE] = error_type(error)
        span.set_status(Status(StatusCode.ERROR, loop.redact(f"{type(error).__name__}: {error}")))
    span.set_attributes(end)
    span.end()


def start_tool(tracer: trace.Tracer, key: object, call: ToolCallInfo, content: bool) -> None:
    """Start one ``execute_tool`` span (a child of whatever is current: the loop's span)."""
    attrs: dict[str, Any] = {
        A.OPERATION_NAME: A.OPERATION_EXECUTE_TOOL,
        A.TOOL_NAME: call.name,
        A.TOOL_CALL_ID: call.call_id,
        A.TOOL_TYPE: A.TOOL_TYPE_FUNCTION,
    }
    if call.description:
        attrs[A.TOOL_DESCRIPTION] = call.description
    if content:
        attrs[A.TOOL_CALL_ARGUMENTS] = call.loop.redact(call.arguments)
    parent = call.loop.state.get(key)
    context = parent.ctx if isinstance(parent, _SpanState) else None
    span = tracer.start_span(
        f"{A.OPERATION_EXECUTE_TOOL} {call.name}",
        context=context,
        kind=SpanKind.INTERNAL,
        attributes=attrs,
    )
    call.state[key] = (_SpanState(span), content)


def tool_context(key: object, call: ToolCallInfo) -> Any:
    """The tool's span made current around the tool (its own spans nest under it)."""
    entry = call.state.get(key)
    return NULL if entry is None else Active(entry[0].ctx)


def end_tool(key: object, call: ToolCallInfo, error_type: Any) -> None:
    """End one ``execute_tool`` span."""
    entry = call.state.pop(key, None)
    if entry is None:
        return
    state, content = entry
    span = state.span
    if content and call.result is not None:
        span.set_attribute(A.TOOL_CALL_RESULT, call.loop.redact(call.result))
    error = call.error
    if error is not None:
        span.set_attribute(A.ERROR_TYPE, error_type(error))
        span.set_status(
            Status(StatusCode.ERROR, call.loop.redact(f"{type(error).__name__}: {error}"))
        )
    span.end()


class _Host(Protocol):
    """What these methods read of the :class:`~metallm.otel.OTelHook` they are mixed into."""

    _explicit_tracing: bool
    _tracer: trace.Tracer

    def _mode_for(self, client_setting: str | None) -> CaptureMode: ...


class ToolLoopSpans:
    """The tool-loop methods of :class:`~metallm.otel.OTelHook` (``run_tools``): the loop's
    ``invoke_agent`` span and one ``execute_tool`` span per execution, through the functions
    above. A mixin, so the hook module stays about calls."""

    def before_tool_loop(self: _Host, loop: ToolLoopInfo) -> None:
        """Start the loop's ``invoke_agent`` span (nothing without a tracer provider)."""
        if self._explicit_tracing or not tracing_unset():
            start_loop(self._tracer, self, loop)

    def tool_loop_context(self: _Host, loop: ToolLoopInfo) -> Any:
        """Make the loop's span current while the loop runs."""
        return loop_context(self, loop)

    def after_tool_loop(
        self: _Host, loop: ToolLoopInfo, response: ChatCompletionResponse | None, error: Failure
    ) -> None:
        """End the loop's span."""
        end_loop(self, loop, response, error, error_type)

    def before_tool(self: _Host, call: ToolCallInfo) -> None:
        """Start one ``execute_tool`` span (only inside a traced loop)."""
        if self in call.loop.state:
            content = self._mode_for(call.loop.capture_content).span
            start_tool(self._tracer, self, call, content)

    def tool_context(self: _Host, call: ToolCallInfo) -> Any:
        """Make the tool's span current around the tool function."""
        return tool_context(self, call)

    def after_tool(self: _Host, call: ToolCallInfo) -> None:
        """End the tool's span, with ``error.type`` when it failed."""
        end_tool(self, call, error_type)
