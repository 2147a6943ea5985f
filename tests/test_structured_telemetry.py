"""The span tree of ``parse``: one INTERNAL parent span for the call, one CLIENT inference span
per attempt under it, validation retries as events on the parent, metrics per attempt only."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

import metallm
from _helpers import MODES
from _structured_helpers import ORDER, Order, client_kwargs, messages, parse, reply
from metallm.otel import OTelHook
from metallm.otel import attributes as A
from metallm.testing import FakeLLMServer, ScriptedReply, ScriptedUsage

BAD = {"customer": "Ann", "items": "none"}


def _hook() -> tuple[OTelHook, InMemorySpanExporter, InMemoryMetricReader]:
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    hook = OTelHook(
        tracer_provider=tracer_provider, meter_provider=MeterProvider(metric_readers=[reader])
    )
    return hook, spans, reader


def _tree(spans: InMemorySpanExporter) -> tuple[ReadableSpan, list[ReadableSpan]]:
    finished = list(spans.get_finished_spans())
    parents = [s for s in finished if s.kind == SpanKind.INTERNAL]
    assert len(parents) == 1, finished
    parent = parents[0]
    children = sorted(
        (s for s in finished if s.kind == SpanKind.CLIENT), key=lambda s: s.start_time or 0
    )
    assert len(finished) == 1 + len(children)
    for child in children:
        assert child.parent is not None and child.parent.span_id == parent.context.span_id
        assert child.context.trace_id == parent.context.trace_id
    return parent, children


def _duration_points(reader: InMemoryMetricReader) -> int:
    data = reader.get_metrics_data()
    assert data is not None
    return sum(
        point.count
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for metric in sm.metrics
        if metric.name == A.METRIC_DURATION
        for point in metric.data.data_points  # type: ignore[union-attr]
    )


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", ["openai", "anthropic", "bedrock"])
def test_parent_span_with_one_chat_span_per_attempt(mode: str, provider: str) -> None:
    hook, spans, reader = _hook()
    with FakeLLMServer() as server:
        first = reply(provider, BAD, usage=ScriptedUsage(10, 4))
        second = reply(provider, ORDER, usage=ScriptedUsage(30, 9), id="resp-final")
        server.enqueue(first, second)
        kw = client_kwargs(server, provider, hooks=[hook])
        model = "claude-sonnet-4-5" if provider == "anthropic" else "m-1"
        result = parse(mode, kw, Order, model=model, messages=messages())
    assert result.attempts == 2
    parent, children = _tree(spans)
    assert len(children) == 2
    assert parent.name == f"chat {model}" and all(c.name == f"chat {model}" for c in children)
    attrs: dict[str, Any] = dict(parent.attributes or {})
    assert attrs[A.OUTPUT_TYPE] == "json" and attrs[A.OPERATION_NAME] == "chat"
    assert attrs[A.STRUCTURED_ATTEMPTS] == 2
    assert attrs[A.USAGE_INPUT_TOKENS] == 30 and attrs[A.USAGE_OUTPUT_TOKENS] == 9
    assert parent.status.status_code == StatusCode.UNSET
    for child, tokens in zip(children, (10, 30), strict=True):
        assert dict(child.attributes or {})[A.OUTPUT_TYPE] == "json"
        assert dict(child.attributes or {})[A.USAGE_INPUT_TOKENS] == tokens
        assert child.status.status_code == StatusCode.UNSET
    (event,) = parent.events
    assert event.name == A.VALIDATION_RETRY_EVENT
    assert dict(event.attributes or {}) == {A.STRUCTURED_ATTEMPT: 1, A.STRUCTURED_ERROR_COUNT: 1}
    assert _duration_points(reader) == 2  # one per attempt, none for the parent


@pytest.mark.parametrize("mode", MODES)
def test_exhausted_retries_fail_the_parent_span_only(mode: str) -> None:
    hook, spans, _ = _hook()
    with FakeLLMServer() as server:
        server.enqueue(*(reply("openai", BAD) for _ in range(3)))
        kw = client_kwargs(server, "openai", hooks=[hook])
        with pytest.raises(metallm.StructuredOutputError):
            parse(mode, kw, Order, model="m-1", messages=messages(), max_validation_retries=2)
    parent, children = _tree(spans)
    assert len(children) == 3
    assert all(c.status.status_code == StatusCode.UNSET for c in children)
    assert parent.status.status_code == StatusCode.ERROR
    attrs = dict(parent.attributes or {})
    assert attrs[A.ERROR_TYPE] == "metallm.errors.StructuredOutputError"
    assert attrs[A.STRUCTURED_ATTEMPTS] == 3
    names = [e.name for e in parent.events]
    assert names == [A.VALIDATION_RETRY_EVENT] * 2 + ["exception"]
    assert [dict(e.attributes or {})[A.STRUCTURED_ATTEMPT] for e in parent.events[:2]] == [1, 2]
    assert "sk-structured-test-key" not in str([s.to_json() for s in spans.get_finished_spans()])


@pytest.mark.parametrize("mode", MODES)
def test_refusal_and_api_errors_end_the_parent_span(mode: str) -> None:
    hook, spans, _ = _hook()
    with FakeLLMServer() as server:
        server.enqueue(ScriptedReply(text="No.", finish_reason="content_filter"))
        server.enqueue(ScriptedReply.error(400, "bad request"))
        kw = client_kwargs(server, "openai", hooks=[hook], max_retries=0)
        with pytest.raises(metallm.RefusalError):
            parse(mode, kw, Order, model="m-1", messages=messages())
        parent, (child,) = _tree(spans)
        assert dict(parent.attributes or {})[A.ERROR_TYPE] == "metallm.errors.RefusalError"
        assert dict(parent.attributes or {})[A.RESPONSE_FINISH_REASONS] == ("content_filter",)
        spans.clear()
        with pytest.raises(metallm.BadRequestError):
            parse(mode, kw, Order, model="m-1", messages=messages())
    parent, (child,) = _tree(spans)
    assert parent.status.status_code == StatusCode.ERROR
    assert child.status.status_code == StatusCode.ERROR
    assert dict(parent.attributes or {})[A.ERROR_TYPE] == "400"


def test_call_counting_hooks_see_each_attempt_once() -> None:
    collector = metallm.MetricsCollector()
    with FakeLLMServer() as server:
        server.enqueue(reply("openai", BAD), reply("openai", ORDER))
        kw = client_kwargs(server, "openai", hooks=[collector])
        parse("sync", kw, Order, model="m-1", messages=messages())
    assert collector.totals().calls == 2
