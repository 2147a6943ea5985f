"""``OTelHook``: the default hook, turning every call into a GenAI span and metrics.

One CLIENT span per call, named ``{operation} {model}`` (``chat gpt-4o``,
``embeddings text-embedding-3-small``), started before the first attempt with the attributes
samplers need, made current around each HTTP attempt (so an httpx
instrumentation's spans nest under it) and never between stream chunks (so the user's own work
is not parented under it), and ended exactly once when the call ends, which the client
guarantees for streams too. The four GenAI histograms (two for embeddings) are recorded at
the end, and the cost histogram and ``gen_ai.usage.cost`` for a call whose cost is known in USD
(``response.cost``, priced by the client before this hook runs; never for an unknown model);
a call split into several requests gets one span event per part. Stream timing
(time to first chunk, gaps between chunks) is measured by the client and read from
``LLMCallInfo``, so the hook adds no per-chunk work of its own. A provider's own span
attributes (OpenAI's ``openai.response.system_fingerprint``, ...) come from its
``info.span_attributes`` function, called once at the end and set on the span alone: this
module names no provider.

Only ``opentelemetry-api`` is used: with no SDK configured every call below is a no-op and the
hook costs next to nothing. ``metallm.otel.setup()`` configures an SDK for applications that
have none.
"""

from __future__ import annotations

import logging
import os
import traceback
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from ..embeddings import EmbeddingsRequest, EmbeddingsResponse
from ..hooks import (
    AnyRequest,
    AnyResponse,
    Failure,
    LLMCallInfo,
    SubRequest,
)
from ..retry import RetryEvent
from ..types import ChatCompletionRequest, ChatCompletionResponse
from . import attributes as A
from ._context import NULL, Active, logs_unset, metrics_unset, tracing_unset
from ._instruments import MAKING, SCOPE, VERSION, Instruments
from ._outer import OuterSpans, parent_context
from ._router import RouterMetrics, route_end, route_start
from ._span_attributes import (
    embeddings_request_attributes,
    embeddings_response_attributes,
    error_type,
    request_attributes,
    response_attributes,
)
from ._tools import ToolLoopSpans
from .content import (
    CaptureMode,
    Content,
    capture_mode,
    render_content,
    render_embeddings_input,
    render_output,
    to_json,
)

if TYPE_CHECKING:
    from opentelemetry.metrics import Meter, MeterProvider

__all__ = ["OTelHook", "error_type"]

_SCOPE, _VERSION = SCOPE, VERSION

_logger = logging.getLogger(__name__)


class _CallState:
    __slots__ = ("attrs", "content", "ctx", "metric_attrs", "span")
    ctx: otel_context.Context | None

    def __init__(self, span: trace.Span, attrs: dict[str, Any], metric_attrs: dict[str, Any]):
        self.span = span
        self.attrs = attrs
        self.metric_attrs = metric_attrs
        self.ctx = trace.set_span_in_context(span) if span is not trace.INVALID_SPAN else None
        self.content: Content | None = None


class OTelHook(ToolLoopSpans, OuterSpans):
    """GenAI spans, metrics and (opt-in) content events for every call.

    ``tracer_provider`` / ``meter_provider`` / ``logger_provider`` default to the global ones.
    ``capture_content`` is a mode name (see :mod:`metallm.otel.content`); None reads
    ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``; a client's own ``capture_content``
    wins over both.
    """

    def __init__(
        self,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        logger_provider: Any = None,
        capture_content: str | None = None,
    ) -> None:
        self._tracer = trace.get_tracer(_SCOPE, _VERSION, tracer_provider)
        self._explicit_tracing = tracer_provider is not None
        if os.environ.get("OTEL_PYTHON_TRACER_PROVIDER"):
            trace.get_tracer_provider()  # let the API load the configured provider now
        self._explicit_metrics = meter_provider is not None
        self._meter_provider = meter_provider
        self._instruments: Instruments | None = None
        if os.environ.get("OTEL_PYTHON_METER_PROVIDER"):
            from opentelemetry.metrics import get_meter_provider

            get_meter_provider()  # likewise for a configured meter provider
        self._router_metrics = RouterMetrics(self._meter)
        self._logger_provider = logger_provider
        self._event_logger: Any = None
        self._capture = capture_content

    def _meter(self) -> Meter:
        return self._metrics().meter

    def _metrics(self) -> Instruments:
        """The histograms, made at the first record: a hook on no meter provider at all never
        imports the metrics API (see :mod:`metallm.otel._context`), and one made before the
        application installs its provider gets real instruments, not the API's proxies."""
        instruments = self._instruments
        if instruments is None:
            with MAKING:
                instruments = self._instruments
                if instruments is None:
                    instruments = self._instruments = Instruments(self._meter_provider)
        return instruments

    # -- start --------------------------------------------------------------------------------

    def before_request(self, info: LLMCallInfo, request: AnyRequest) -> None:
        """Start the span with the request's attributes."""
        no_tracing = not self._explicit_tracing and tracing_unset()
        nothing_installed = no_tracing and not self._explicit_metrics and metrics_unset()
        if nothing_installed and not self._wants_events(info):
            return  # no SDK behind the API at all: nothing would be recorded
        operation = info.operation
        base: dict[str, Any] = {
            A.OPERATION_NAME: operation,
            A.PROVIDER_NAME: info.semconv_name or info.provider_name,
            A.REQUEST_MODEL: request.model,
        }
        if info.server_address:
            base[A.SERVER_ADDRESS] = info.server_address
            base[A.SERVER_PORT] = info.server_port
        if no_tracing and not self._wants_events(info):
            # No tracer behind the API: skip the span's work; the metrics are real.
            info.state[self] = _CallState(trace.INVALID_SPAN, base, base)
            return
        attrs = dict(base)
        if isinstance(request, ChatCompletionRequest):
            request_attributes(attrs, request, info)
        if info.target is not None:  # an attempt of a routed call
            route_start(attrs, info)
        elif isinstance(request, EmbeddingsRequest):
            embeddings_request_attributes(attrs, request)
        if no_tracing:  # content events only: a logger provider without a tracer
            state = _CallState(trace.INVALID_SPAN, attrs, base)
            state.content = self._render(info, request)
            info.state[self] = state
            return
        name = f"{operation} {request.model}" if request.model else operation
        span = self._tracer.start_span(
            name,
            parent_context(self, info) if info.parent is not None else None,
            kind=SpanKind.CLIENT,
            attributes=attrs,
            start_time=int(info.start_time * 1e9),
        )
        state = _CallState(span, attrs, base)
        if self._mode(info).any:
            state.content = self._render(info, request)
        info.state[self] = state

    def _render(self, info: LLMCallInfo, request: AnyRequest) -> Content | None:
        if isinstance(request, ChatCompletionRequest):
            return render_content(
                request, system_apart=info.system_instructions_apart, redact=info.redact
            )
        if isinstance(request, EmbeddingsRequest):
            return render_embeddings_input(request, info.redact)
        return None

    def _wants_events(self, info: LLMCallInfo) -> bool:
        """Whether content events go to a logger provider (checked only without a tracer)."""
        has_logs = self._logger_provider is not None or not logs_unset()
        return has_logs and self._mode(info).event

    def _mode(self, info: LLMCallInfo) -> CaptureMode:
        """The client's setting, else this hook's, else the environment's (read per call)."""
        return self._mode_for(info.capture_content)

    def _mode_for(self, client_setting: str | None) -> CaptureMode:
        return capture_mode(client_setting if client_setting is not None else self._capture)

    def attempt(self, info: LLMCallInfo) -> Any:
        """Make the span current around one HTTP attempt."""
        state: _CallState | None = info.state.get(self)
        if state is None or state.ctx is None:
            return NULL
        return Active(state.ctx)

    def on_retry(self, info: LLMCallInfo, event: RetryEvent) -> None:
        """One span event per retry: attempt number, what failed, the delay."""
        state: _CallState | None = info.state.get(self)
        if state is None:
            return
        attrs: dict[str, Any] = {A.HTTP_RESEND_COUNT: event.attempt, A.RETRY_DELAY: event.delay}
        if event.status_code is not None:
            attrs[A.HTTP_STATUS_CODE] = event.status_code
        if event.error is not None:
            attrs[A.ERROR_TYPE] = error_type(event.error)
        state.span.add_event(A.RETRY_EVENT, attrs)

    # -- end ----------------------------------------------------------------------------------

    def after_response(
        self, info: LLMCallInfo, request: AnyRequest, response: AnyResponse | None, error: Failure
    ) -> None:
        """End the span (once) and record the metrics."""
        state: _CallState | None = info.state.pop(self, None)
        if state is None:
            return
        span = state.span
        cost = getattr(response, "cost", None)
        usd = float(cost.total) if cost is not None and cost.currency == A.COST_CURRENCY else None
        failed_type: str | None = None
        if info.end_reason == "garbage_collected":
            failed_type = A.ERROR_TYPE_OTHER
        elif error is not None:
            failed_type = error_type(error)
        if span is trace.INVALID_SPAN:
            if state.content is not None:  # a content event without a span to carry it
                chat = response if isinstance(response, ChatCompletionResponse) else None
                if info.operation == "chat":
                    state.content.output = render_output(chat, info.redact)
                self._emit_event(state, state.content)
            self._record_metrics(info, state, response, failed_type, usd)
            return
        end: dict[str, Any] = {}
        if isinstance(response, ChatCompletionResponse):
            response_attributes(end, response)
        elif isinstance(response, EmbeddingsResponse):
            embeddings_response_attributes(end, response)
        if info.time_to_first_chunk is not None:
            end[A.RESPONSE_TIME_TO_FIRST_CHUNK] = info.time_to_first_chunk
        if usd is not None:
            end[A.USAGE_COST] = usd
        if info.retries:
            end[A.HTTP_RESEND_COUNT] = info.retries
        if info.route is not None:  # this one attempt is the whole routed call
            route_end(end, info.route)
        if failed_type is not None:
            end[A.ERROR_TYPE] = failed_type
        if state.content is not None:  # only the content event reads ``state.attrs``
            if info.operation == "chat":
                chat = response if isinstance(response, ChatCompletionResponse) else None
                state.content.output = render_output(chat, info.redact)
            state.attrs.update(end)
        if info.span_attributes is not None and isinstance(request, ChatCompletionRequest):
            end.update(_provider_attributes(info, request, response))  # not in attrs: span only
        span.set_attributes(end)
        for part in info.sub_requests:
            span.add_event(A.PART_EVENT, _part_attributes(part), timestamp=part.end_ns)
        if state.content is not None:
            self._content_to_span(span, state, info)
        if failed_type is not None:
            description = info.redact(f"{type(error).__name__}: {error}") if error else "_OTHER"
            span.set_status(Status(StatusCode.ERROR, description))
            if error is not None:
                span.record_exception(error, attributes=_exception_attributes(error, info))
        span.end()
        self._record_metrics(info, state, response, failed_type, usd)

    def _content_to_span(self, span: trace.Span, state: _CallState, info: LLMCallInfo) -> None:
        content = state.content
        if content is None:
            return
        mode = self._mode(info)
        if mode.span:
            values: dict[str, Any] = {}
            if content.input is not None:
                values[A.INPUT_MESSAGES] = to_json(content.input)
            if content.system:
                values[A.SYSTEM_INSTRUCTIONS] = to_json(content.system)
            if content.tools:
                values[A.TOOL_DEFINITIONS] = to_json(content.tools)
            if content.output is not None:
                values[A.OUTPUT_MESSAGES] = to_json(content.output)
            span.set_attributes(values)
        if mode.event:
            self._emit_event(state, content)

    def _emit_event(self, state: _CallState, content: Content) -> None:
        from opentelemetry._logs import LogRecord, get_logger

        if self._event_logger is None:
            self._event_logger = get_logger(_SCOPE, _VERSION, self._logger_provider)
        attrs: dict[str, Any] = dict(state.attrs)
        if content.input is not None:
            attrs[A.INPUT_MESSAGES] = content.input
        if content.system:
            attrs[A.SYSTEM_INSTRUCTIONS] = content.system
        if content.tools:
            attrs[A.TOOL_DEFINITIONS] = content.tools
        if content.output is not None:
            attrs[A.OUTPUT_MESSAGES] = content.output
        self._event_logger.emit(
            LogRecord(event_name=A.CONTENT_EVENT, context=state.ctx, attributes=attrs)
        )

    def _record_metrics(
        self,
        info: LLMCallInfo,
        state: _CallState,
        response: AnyResponse | None,
        failed_type: str | None,
        usd: float | None,
    ) -> None:
        """Every histogram record of the call, with attribute sets built once here.

        ``usd`` is the call's cost in USD as ``after_response`` read it (None: unknown, or in
        another currency), so the response is not asked twice.
        """
        attrs = state.metric_attrs
        if response is not None and response.model:
            attrs[A.RESPONSE_MODEL] = response.model
        ctx = state.ctx  # exemplars attach to this call's span, not to whatever is current now
        duration_attrs = {**attrs, A.ERROR_TYPE: failed_type} if failed_type is not None else attrs
        m = self._instruments or self._metrics()
        if usd is not None:
            m.cost.record(usd, duration_attrs, ctx)
        if info.operation == "embeddings":
            m.embeddings_duration.record(info.elapsed, duration_attrs, ctx)
            if isinstance(response, EmbeddingsResponse):
                m.embeddings_tokens.record(response.usage.prompt_tokens, attrs, ctx)
            return
        m.duration.record(info.elapsed, duration_attrs, ctx)
        usage = response.usage if isinstance(response, ChatCompletionResponse) else None
        if usage is not None:
            m.tokens.record(usage.prompt_tokens, {**attrs, A.TOKEN_TYPE: "input"}, ctx)
            m.tokens.record(usage.completion_tokens, {**attrs, A.TOKEN_TYPE: "output"}, ctx)
        if info.time_to_first_chunk is not None:
            m.ttfc.record(info.time_to_first_chunk, attrs, ctx)
            record = m.tpoc.record
            for gap in info.chunk_gaps:
                record(gap, attrs, ctx)


def _exception_attributes(error: BaseException, info: LLMCallInfo) -> dict[str, str]:
    """The exception event's message and stack trace, redacted: the SDK's own trace would
    print a chained exception's text (or a foreign exception's) as it is, key included."""
    trace_text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return {
        "exception.message": info.redact(str(error)),
        "exception.stacktrace": info.redact(trace_text),
    }


def _provider_attributes(
    info: LLMCallInfo, request: ChatCompletionRequest, response: Any
) -> Mapping[str, Any]:
    """The provider's own attributes, for the span only (not in ``attrs``, which the metrics and
    the content event share). A provider function that fails costs its attributes, never the
    span's end."""
    function = info.span_attributes
    if function is None:
        return {}
    chat = response if isinstance(response, ChatCompletionResponse) else None
    try:
        return function(request, chat)
    except Exception:
        _logger.warning(
            "the %s provider's span_attributes failed", info.provider_name, exc_info=True
        )
        return {}


def _part_attributes(part: SubRequest) -> dict[str, Any]:
    """One part of a split call, as a span event's attributes."""
    attrs: dict[str, Any] = {
        A.PART_INDEX: part.index,
        A.PART_INPUTS: part.inputs,
        A.PART_DURATION: (part.end_ns - part.start_ns) / 1e9,
    }
    if part.input_tokens is not None:
        attrs[A.USAGE_INPUT_TOKENS] = part.input_tokens
    if part.error is not None:
        attrs[A.ERROR_TYPE] = error_type(part.error)
    return attrs
