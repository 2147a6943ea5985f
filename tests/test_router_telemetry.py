"""A routed call's telemetry: one INTERNAL span over one CLIENT span per attempt (a single
eligible target: that one CLIENT span), ``metallm.router.*`` attributes, fallback and breaker
events, metrics per attempt plus the router's own, and what hooks see; ``parse`` and
``run_tools`` on a router nest the same way."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pydantic
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

import metallm
from _helpers import MODES
from _router_helpers import FakeClock, Harness, target
from metallm.otel import OTelHook
from metallm.otel import attributes as A
from metallm.testing import FakeLLMServer, ScriptedReply, ScriptedUsage

R = ScriptedReply


@pytest.fixture
def a() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as server:
        yield server


@pytest.fixture
def b() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as server:
        yield server


def _hook() -> tuple[OTelHook, InMemorySpanExporter, InMemoryMetricReader]:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    hook = OTelHook(tracer_provider=provider, meter_provider=MeterProvider(metric_readers=[reader]))
    return hook, spans, reader


def _points(reader: InMemoryMetricReader, name: str) -> list[Any]:
    data = reader.get_metrics_data()
    assert data is not None
    return [
        point
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for metric in sm.metrics
        if metric.name == name
        for point in metric.data.data_points  # type: ignore[union-attr]
    ]


def _children(spans: list[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    kids = [s for s in spans if s.parent is not None and s.parent.span_id == parent.context.span_id]
    return sorted(kids, key=lambda s: s.start_time or 0)


def _targets(a: FakeLLMServer, b: FakeLLMServer, hook: OTelHook) -> list[metallm.Target]:
    return [
        target(a, "openai", name="oai", hooks=[hook]),
        target(b, "anthropic", name="claude", hooks=[hook]),
    ]


@pytest.mark.parametrize("mode", MODES)
def test_a_fallback_is_a_parent_span_with_one_client_span_per_attempt(
    mode: str, a: FakeLLMServer, b: FakeLLMServer
) -> None:
    hook, exporter, reader = _hook()
    a.enqueue(R.error(503, "down"), R.error(503, "down"))
    b.enqueue(R(text="hello", usage=ScriptedUsage(12, 3), id="msg_answer"))
    with Harness(mode, _targets(a, b, hook), hooks=[hook]) as h:
        h.chat()
    spans = list(exporter.get_finished_spans())
    parent = next(s for s in spans if s.kind == SpanKind.INTERNAL)
    assert parent.name == "chat gpt-4o-mini"  # the first eligible target's model
    attempts = _children(spans, parent)
    assert len(spans) == 3 and [s.kind for s in attempts] == [SpanKind.CLIENT] * 2
    first, second = (dict(s.attributes or {}) for s in attempts)
    assert first[A.PROVIDER_NAME] == "openai" and first[A.ERROR_TYPE] == "503"
    assert first[A.ROUTER_TARGET] == "oai" and first[A.ROUTER_ATTEMPT] == 1
    assert attempts[0].status.status_code == StatusCode.ERROR
    assert second[A.PROVIDER_NAME] == "anthropic" and A.ERROR_TYPE not in second
    assert second[A.ROUTER_TARGET] == "claude" and second[A.ROUTER_ATTEMPT] == 2
    assert attempts[1].name == "chat claude-sonnet-4-5"
    top = dict(parent.attributes or {})
    assert top[A.ROUTER_STRATEGY] == "fallback"
    assert top[A.ROUTER_ATTEMPTS] == 2
    assert top[A.ROUTER_TARGETS_TRIED] == ("oai", "claude")
    assert top[A.ROUTER_TARGET] == "claude"
    assert top[A.RESPONSE_ID] == "msg_answer" and top[A.USAGE_INPUT_TOKENS] == 12
    assert parent.status.status_code != StatusCode.ERROR
    fallback = [e for e in parent.events if e.name == A.ROUTER_FALLBACK_EVENT]
    assert len(fallback) == 1
    assert dict(fallback[0].attributes or {}) == {
        A.ROUTER_TARGET: "oai", A.ERROR_TYPE: "503", A.ROUTER_NEXT_TARGET: "claude"
    }  # fmt: skip
    durations = _points(reader, A.METRIC_DURATION)
    assert sorted(p.attributes[A.PROVIDER_NAME] for p in durations) == ["anthropic", "openai"]
    assert sum(p.count for p in durations) == 2  # per attempt, never for the routed call
    assert all(A.ROUTER_TARGET not in p.attributes for p in durations)
    [fallbacks] = _points(reader, A.METRIC_ROUTER_FALLBACKS)
    assert fallbacks.value == 1 and fallbacks.attributes[A.ROUTER_TARGET] == "oai"


@pytest.mark.parametrize("mode", MODES)
def test_a_single_eligible_target_is_one_client_span(mode: str, a: FakeLLMServer) -> None:
    hook, exporter, _ = _hook()
    with Harness(mode, [target(a, "openai", name="only", hooks=[hook])], hooks=[hook]) as h:
        h.chat()
    [span] = exporter.get_finished_spans()
    attrs = dict(span.attributes or {})
    assert span.kind == SpanKind.CLIENT and span.parent is None
    assert attrs[A.ROUTER_TARGET] == "only" and attrs[A.ROUTER_ATTEMPTS] == 1
    assert attrs[A.ROUTER_STRATEGY] == "fallback"


@pytest.mark.parametrize("mode", MODES)
def test_every_target_failing_ends_the_parent_span_in_error(
    mode: str, a: FakeLLMServer, b: FakeLLMServer
) -> None:
    hook, exporter, _ = _hook()
    a.enqueue(R.error(503, "down"), R.error(503, "down"))
    b.enqueue(R.error(529, "overloaded", type="overloaded_error"),
              R.error(529, "overloaded", type="overloaded_error"))  # fmt: skip
    with (
        Harness(mode, _targets(a, b, hook), hooks=[hook]) as h,
        pytest.raises(metallm.AllTargetsFailedError),
    ):
        h.chat()
    spans = list(exporter.get_finished_spans())
    parent = next(s for s in spans if s.kind == SpanKind.INTERNAL)
    assert parent.status.status_code == StatusCode.ERROR
    assert dict(parent.attributes or {})[A.ERROR_TYPE] == "529"  # the last attempt's status
    assert "AllTargetsFailedError" in (parent.status.description or "")
    assert all(s.status.status_code == StatusCode.ERROR for s in _children(spans, parent))
    assert "sk-router-test" not in str([s.to_json() for s in spans])


@pytest.mark.parametrize("mode", MODES)
def test_a_routed_stream_parent_ends_with_the_stream(
    mode: str, a: FakeLLMServer, b: FakeLLMServer
) -> None:
    hook, exporter, reader = _hook()
    a.enqueue(R(text="x", cut_after=0))
    b.enqueue(R(text="streamed answer", usage=ScriptedUsage(5, 2)))
    with Harness(mode, _targets(a, b, hook), hooks=[hook]) as h:
        text, answered, _ = h.stream()
    assert (text, answered) == ("streamed answer", "claude")
    spans = list(exporter.get_finished_spans())
    parent = next(s for s in spans if s.kind == SpanKind.INTERNAL)
    kids = _children(spans, parent)
    assert len(kids) == 2 and parent.end_time is not None
    assert parent.end_time >= max(k.end_time or 0 for k in kids)
    assert dict(parent.attributes or {})[A.USAGE_OUTPUT_TOKENS] == 2
    assert len(_points(reader, A.METRIC_TIME_TO_FIRST_CHUNK)) == 1  # the answering attempt


@pytest.mark.parametrize("mode", MODES)
def test_breaker_transitions_are_events_and_a_gauge(
    mode: str, a: FakeLLMServer, b: FakeLLMServer
) -> None:
    hook, exporter, reader = _hook()
    clock = FakeClock()
    targets = [
        target(a, "openai", name="oai", hooks=[hook], retry=metallm.RetryPolicy.none()),
        target(b, "anthropic", name="claude", hooks=[hook]),
    ]
    breaker = metallm.CircuitBreaker(failure_threshold=1, recovery_time=10.0)
    state = metallm.LocalRouterState(clock=clock)
    with Harness(mode, targets, hooks=[hook], circuit_breaker=breaker, state=state) as h:
        a.enqueue(R.error(503, "down"))
        h.chat()
        [gauge] = _points(reader, A.METRIC_ROUTER_CIRCUIT_STATE)
        assert gauge.value == 2 and gauge.attributes[A.ROUTER_TARGET] == "oai"
        clock.advance(10.0)
        exporter.clear()
        h.chat()  # half-open probe succeeds: closed
    [gauge] = _points(reader, A.METRIC_ROUTER_CIRCUIT_STATE)
    assert gauge.value == 0
    parent = next(s for s in exporter.get_finished_spans() if s.kind == SpanKind.INTERNAL)
    states = [
        dict(e.attributes or {})[A.ROUTER_CIRCUIT_STATE]
        for e in parent.events
        if e.name == A.ROUTER_CIRCUIT_EVENT
    ]
    assert states == ["half_open", "closed"]


class Recorder(metallm.hooks.BaseHook):
    def __init__(self) -> None:
        self.seen: list[tuple[str | None, int, str]] = []
        self.outer: list[Any] = []

    def after_response(self, info: Any, request: Any, response: Any, error: Any) -> None:
        self.seen.append((info.target, info.attempt, info.provider_name))

    def after_outer(self, info: Any, request: Any, response: Any, error: Any) -> None:
        self.outer.append(info.route)


@pytest.mark.parametrize("mode", MODES)
def test_hooks_see_each_attempt_with_its_target_and_number(
    mode: str, a: FakeLLMServer, b: FakeLLMServer
) -> None:
    rec = Recorder()
    targets = [
        target(a, "openai", name="oai", hooks=[rec]),
        target(b, "anthropic", name="c", hooks=[rec]),
    ]
    a.enqueue(R.error(503, "down"), R.error(503, "down"))
    with Harness(mode, targets, hooks=[rec]) as h:
        h.chat()
    assert rec.seen == [("oai", 1, "openai"), ("c", 2, "anthropic")]
    [route] = rec.outer
    assert (route.tried, route.target, route.attempts, route.eligible) == (["oai", "c"], "c", 2, 2)


class City(pydantic.BaseModel):
    name: str
    population: int


@pytest.mark.parametrize("mode", MODES)
def test_parse_on_a_router_nests_routed_attempts_under_the_parse_span(
    mode: str, a: FakeLLMServer, b: FakeLLMServer
) -> None:
    hook, exporter, _ = _hook()
    a.enqueue(R.error(503, "down"), R.error(503, "down"))
    b.enqueue(R(tool_calls=[metallm.testing.ScriptedToolCall(
        name="City", arguments={"name": "Paris", "population": 2_100_000})]))  # fmt: skip
    with Harness(mode, _targets(a, b, hook), hooks=[hook]) as h:
        result = h.call("parse", City, messages=[{"role": "user", "content": "Paris?"}])
    assert result.parsed == City(name="Paris", population=2_100_000)
    spans = list(exporter.get_finished_spans())
    roots = [s for s in spans if s.parent is None]
    assert len(roots) == 1 and roots[0].kind == SpanKind.INTERNAL  # the parse
    [routed] = _children(spans, roots[0])
    assert routed.kind == SpanKind.INTERNAL
    assert dict(routed.attributes or {})[A.ROUTER_ATTEMPTS] == 2
    assert [s.kind for s in _children(spans, routed)] == [SpanKind.CLIENT] * 2


def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


@pytest.mark.parametrize("mode", MODES)
def test_run_tools_on_a_router(mode: str, a: FakeLLMServer, b: FakeLLMServer) -> None:
    call = metallm.testing.ScriptedToolCall(name="get_weather", arguments={"city": "Oslo"})
    a.enqueue(R(tool_calls=[call]), R.error(503, "down"), R.error(503, "down"))
    b.enqueue(R(text="It is sunny in Oslo."))
    with Harness(mode, [target(a, name="oai"), target(b, "anthropic", name="c")]) as h:
        result = h.call("run_tools", messages=[{"role": "user", "content": "Oslo?"}],
                        tools=[get_weather])  # fmt: skip
    assert result.response.choices[0].message.content == "It is sunny in Oslo."
    assert [s.response.provider for s in result.steps] == ["openai", "anthropic"]
    sent = b.last_request.json["messages"]
    assert any("sunny in Oslo" in str(m.get("content")) for m in sent)


def test_count_tokens_uses_the_first_eligible_target(a: FakeLLMServer) -> None:
    async def go() -> Any:
        async with metallm.AsyncRouter(targets=[target(a, name="oai")], hooks=[]) as r:
            return await r.count_tokens(messages=[{"role": "user", "content": "hello there"}])

    counted = asyncio.run(go())
    assert counted.input_tokens > 0


@pytest.mark.parametrize("mode", MODES)
def test_a_single_targets_breaker_still_sets_the_gauge(mode: str, a: FakeLLMServer) -> None:
    hook, exporter, reader = _hook()
    breaker = metallm.CircuitBreaker(failure_threshold=1, recovery_time=30.0)
    targets = [target(a, "openai", name="only", hooks=[hook], retry=metallm.RetryPolicy.none())]
    a.enqueue(R.error(503, "down"))
    h = Harness(mode, targets, hooks=[hook], circuit_breaker=breaker)
    with h, pytest.raises(metallm.AllTargetsFailedError):
        h.chat()
    [gauge] = _points(reader, A.METRIC_ROUTER_CIRCUIT_STATE)
    assert gauge.value == 2 and gauge.attributes[A.ROUTER_TARGET] == "only"
    assert [s.kind for s in exporter.get_finished_spans()] == [SpanKind.CLIENT]
