"""OTelHook against in-memory SDK exporters: spans, metrics and content, sync and async.

Every case runs for each provider the core supports, plain and streamed, over real sockets
against FakeLLMServer, and checks names, kinds, statuses, attribute values, metric points and
the content shapes exactly.
"""

from __future__ import annotations

import gc
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

import metallm
from _helpers import MODES, complete, stream, user
from metallm.otel import OTelHook
from metallm.otel import attributes as A
from metallm.testing import FakeLLMServer, ScriptedReply, ScriptedToolCall, ScriptedUsage

KEY = "sk-otel-SECRET-0123456789"
PROVIDERS = [("openai", "openai"), ("xai", "x_ai")]
# gpt-4o at OpenAI (genai-prices: $2.5 input, $1.25 cached input, $10 output per million):
# 8 uncached + 3 cached input tokens and 7 output tokens. xAI has no model named gpt-4o: no cost.
COST_ATTRIBUTES: dict[str, dict[str, Any]] = {
    "openai": {A.USAGE_COST: (8 * 2.5 + 3 * 1.25 + 7 * 10) / 1e6},
    "xai": {},
}
COST_METRICS: dict[str, tuple[str, ...]] = {"openai": (A.METRIC_COST,), "xai": ()}
# The OpenAI codec's own span attributes (FakeLLMServer's reply values); xAI reports none.
PROVIDER_SPAN_ATTRIBUTES: dict[str, dict[str, Any]] = {
    "openai": {
        "openai.response.service_tier": "default",
        "openai.response.system_fingerprint": "fp_fake",
    },
    "xai": {},
}


@dataclass
class Telemetry:
    spans: InMemorySpanExporter
    metrics: InMemoryMetricReader
    logs: InMemoryLogRecordExporter
    tracer_provider: TracerProvider

    def hook(self, **kw: Any) -> OTelHook:
        return OTelHook(
            tracer_provider=self.tracer_provider,
            meter_provider=self.meter_provider,
            logger_provider=self.logger_provider,
            **kw,
        )

    def finished(self) -> list[ReadableSpan]:
        return list(self.spans.get_finished_spans())

    def points(self) -> dict[str, list[tuple[dict[str, Any], HistogramDataPoint, str]]]:
        out: dict[str, list[tuple[dict[str, Any], HistogramDataPoint, str]]] = {}
        data = self.metrics.get_metrics_data()
        for rm in data.resource_metrics if data else []:
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    for p in m.data.data_points:
                        out.setdefault(m.name, []).append((dict(p.attributes), p, m.unit))
        return out


@pytest.fixture
def otel() -> Iterator[Telemetry]:
    spans = InMemorySpanExporter()
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    mp = MeterProvider(metric_readers=[reader])
    logs = InMemoryLogRecordExporter()
    lp = LoggerProvider()
    lp.add_log_record_processor(SimpleLogRecordProcessor(logs))
    t = Telemetry(spans, reader, logs, tp)
    t.meter_provider = mp  # type: ignore[attr-defined]
    t.logger_provider = lp  # type: ignore[attr-defined]
    yield t
    tp.shutdown()
    mp.shutdown()
    lp.shutdown()


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as s:
        yield s


@pytest.fixture(autouse=True)
def _clean(server: FakeLLMServer) -> None:
    server.clear()


def kw(server: FakeLLMServer, provider: str, hook: OTelHook, **extra: Any) -> dict[str, Any]:
    fast = metallm.RetryPolicy(initial_backoff=0.001)
    return {
        "provider": provider,
        "base_url": server.base_url(provider),
        "api_key": KEY,
        "hooks": [hook],
        "retry": fast,
        **extra,
    }


def _req(**extra: Any) -> metallm.ChatCompletionRequest:
    return metallm.ChatCompletionRequest(model="gpt-4o", messages=[user("hi")], **extra)


def _one(otel: Telemetry) -> ReadableSpan:
    spans = otel.finished()
    assert len(spans) == 1, [s.name for s in spans]
    return spans[0]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("provider", "otel_name"), PROVIDERS)
def test_plain_call_span_and_metrics(
    server: FakeLLMServer, otel: Telemetry, mode: str, provider: str, otel_name: str
) -> None:
    usage = ScriptedUsage(11, 7, cached_tokens=3, reasoning_tokens=2)
    server.enqueue(ScriptedReply(text="Hello there", usage=usage, id="resp-1", model="gpt-4o-2024"))
    complete(mode, kw(server, provider, otel.hook()), _req(max_tokens=50, temperature=0.5, seed=7))
    span = _one(otel)
    assert span.name == "chat gpt-4o" and span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    assert dict(span.attributes or {}) == {
        A.OPERATION_NAME: "chat",
        A.PROVIDER_NAME: otel_name,
        A.REQUEST_MODEL: "gpt-4o",
        A.SERVER_ADDRESS: "127.0.0.1",
        A.SERVER_PORT: server.port,
        A.REQUEST_MAX_TOKENS: 50,
        A.REQUEST_TEMPERATURE: 0.5,
        A.REQUEST_SEED: 7,
        A.OUTPUT_TYPE: "text",
        A.RESPONSE_ID: "resp-1",
        A.RESPONSE_MODEL: "gpt-4o-2024",
        A.RESPONSE_FINISH_REASONS: ("stop",),
        A.USAGE_INPUT_TOKENS: 11,
        A.USAGE_OUTPUT_TOKENS: 7,
        A.USAGE_CACHE_READ_INPUT_TOKENS: 3,
        A.USAGE_REASONING_OUTPUT_TOKENS: 2,
        **PROVIDER_SPAN_ATTRIBUTES[provider],
        **COST_ATTRIBUTES[provider],
    }
    points = otel.points()
    assert set(points) == {A.METRIC_DURATION, A.METRIC_TOKEN_USAGE} | set(COST_METRICS[provider])
    base = {
        A.OPERATION_NAME: "chat",
        A.PROVIDER_NAME: otel_name,
        A.REQUEST_MODEL: "gpt-4o",
        A.RESPONSE_MODEL: "gpt-4o-2024",
        A.SERVER_ADDRESS: "127.0.0.1",
        A.SERVER_PORT: server.port,
    }
    [(attrs, point, unit)] = points[A.METRIC_DURATION]
    assert attrs == base and unit == "s" and point.count == 1
    assert tuple(point.explicit_bounds) == A.DURATION_BUCKETS
    tokens = {
        a[A.TOKEN_TYPE]: (p.sum, u, tuple(p.explicit_bounds))
        for a, p, u in points[A.METRIC_TOKEN_USAGE]
    }
    assert tokens == {
        "input": (11, "{token}", A.TOKEN_BUCKETS),
        "output": (7, "{token}", A.TOKEN_BUCKETS),
    }


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("provider", "otel_name"), PROVIDERS)
def test_stream_span_and_metrics(
    server: FakeLLMServer, otel: Telemetry, mode: str, provider: str, otel_name: str
) -> None:
    server.enqueue(ScriptedReply(text="abcdefghij", chunk_size=2, usage=ScriptedUsage(5, 9)))
    chunks, final = stream(mode, kw(server, provider, otel.hook()), _req(stop="END", n=1))
    span = _one(otel)
    attrs = dict(span.attributes or {})
    assert attrs[A.REQUEST_STREAM] is True
    assert attrs[A.REQUEST_STOP_SEQUENCES] == ("END",)
    assert A.REQUEST_CHOICE_COUNT not in attrs
    assert attrs[A.RESPONSE_FINISH_REASONS] == ("stop",)
    assert (attrs[A.USAGE_INPUT_TOKENS], attrs[A.USAGE_OUTPUT_TOKENS]) == (5, 9)
    ttfc = attrs[A.RESPONSE_TIME_TO_FIRST_CHUNK]
    assert isinstance(ttfc, float) and 0 < ttfc < 5.0  # seconds, from the call's start
    points = otel.points()
    [(_, first, unit)] = points[A.METRIC_TIME_TO_FIRST_CHUNK]
    assert first.count == 1 and first.sum == pytest.approx(ttfc) and unit == "s"
    [(_, gaps, _)] = points[A.METRIC_TIME_PER_OUTPUT_CHUNK]
    assert gaps.count == len(chunks) - 1
    assert final.content == "abcdefghij"


@pytest.mark.parametrize("mode", MODES)
def test_http_error_fails_the_span(server: FakeLLMServer, otel: Telemetry, mode: str) -> None:
    server.enqueue(
        ScriptedReply.error(401, f"Incorrect API key provided: {KEY}", code="invalid_api_key")
    )
    with pytest.raises(metallm.AuthenticationError):
        complete(mode, kw(server, "openai", otel.hook()), _req())
    span = _one(otel)
    assert span.status.status_code is StatusCode.ERROR
    assert KEY not in (span.status.description or "")
    attrs = dict(span.attributes or {})
    assert attrs[A.ERROR_TYPE] == "invalid_api_key"
    assert A.RESPONSE_FINISH_REASONS not in attrs  # no choice was received at all
    [event] = [e for e in span.events if e.name == "exception"]
    assert KEY not in json.dumps(dict(event.attributes or {}))
    [(mattrs, _, _)] = otel.points()[A.METRIC_DURATION]
    assert mattrs[A.ERROR_TYPE] == "invalid_api_key"
    assert A.METRIC_TOKEN_USAGE not in otel.points()


@pytest.mark.parametrize("mode", MODES)
def test_status_without_code_is_the_error_type(
    server: FakeLLMServer, otel: Telemetry, mode: str
) -> None:
    server.enqueue(ScriptedReply.error(404, "no such model"))
    with pytest.raises(metallm.NotFoundError):
        complete(mode, kw(server, "openai", otel.hook()), _req())
    assert dict(_one(otel).attributes or {})[A.ERROR_TYPE] == "404"


@pytest.mark.parametrize("mode", MODES)
def test_error_event_and_cut_stream_fail_the_span(
    server: FakeLLMServer, otel: Telemetry, mode: str
) -> None:
    server.enqueue(ScriptedReply(text="partial words", chunk_size=2, error_event_after=2))
    with pytest.raises(metallm.APIError):
        stream(mode, kw(server, "openai", otel.hook()), _req())
    server.enqueue(ScriptedReply(text="partial words", chunk_size=2, cut_after=3))
    with pytest.raises(metallm.APIConnectionError):
        stream(mode, kw(server, "openai", otel.hook()), _req())
    first, second = otel.finished()
    for span in (first, second):
        assert span.status.status_code is StatusCode.ERROR
        assert dict(span.attributes or {})[A.RESPONSE_FINISH_REASONS] == ("error",)
    assert dict(second.attributes or {})[A.ERROR_TYPE] == "metallm.errors.StreamError"


@pytest.mark.parametrize("mode", MODES)
def test_early_close_succeeds_with_error_finish_reason(
    server: FakeLLMServer, otel: Telemetry, mode: str
) -> None:
    server.enqueue(ScriptedReply(text="a long reply " * 20, chunk_size=3))
    stream(mode, kw(server, "openai", otel.hook()), _req(), take=3)
    span = _one(otel)
    assert span.status.status_code is StatusCode.UNSET
    attrs = dict(span.attributes or {})
    assert attrs[A.RESPONSE_FINISH_REASONS] == ("error",) and A.ERROR_TYPE not in attrs


def test_garbage_collected_stream_fails_with_other(server: FakeLLMServer, otel: Telemetry) -> None:
    server.enqueue(ScriptedReply(text="dropped " * 20, chunk_size=3))
    client = metallm.Client(**kw(server, "openai", otel.hook()))
    s = client.create_chat_completion_stream(_req())
    next(s)
    del s
    gc.collect()
    span = _one(otel)
    assert span.status.status_code is StatusCode.ERROR
    assert dict(span.attributes or {})[A.ERROR_TYPE] == "_OTHER"
    client.close()


def test_exception_in_users_block_fails_the_span(server: FakeLLMServer, otel: Telemetry) -> None:
    server.enqueue(ScriptedReply(text="some reply here", chunk_size=3))
    client = metallm.Client(**kw(server, "openai", otel.hook()))
    with pytest.raises(KeyError), client.create_chat_completion_stream(_req()) as s:
        next(s)
        raise KeyError("user bug")
    client.close()
    span = _one(otel)
    assert span.status.status_code is StatusCode.ERROR
    assert dict(span.attributes or {})[A.ERROR_TYPE] == "KeyError"


@pytest.mark.parametrize("mode", MODES)
def test_retries_show_as_events_and_resend_count(
    server: FakeLLMServer, otel: Telemetry, mode: str
) -> None:
    server.enqueue(
        ScriptedReply.error(503, "busy"), ScriptedReply(disconnect=True), ScriptedReply(text="ok")
    )
    complete(mode, kw(server, "openai", otel.hook()), _req())
    span = _one(otel)
    retries = [e for e in span.events if e.name == A.RETRY_EVENT]
    assert [dict(e.attributes or {}).get(A.HTTP_STATUS_CODE) for e in retries] == [503, None]
    assert dict(retries[1].attributes or {})[A.ERROR_TYPE] == "metallm.errors.APIConnectionError"
    assert dict(span.attributes or {})[A.HTTP_RESEND_COUNT] == 2
    assert span.status.status_code is StatusCode.UNSET


def test_span_is_current_during_http_attempts_only(server: FakeLLMServer, otel: Telemetry) -> None:
    seen: list[trace.Span] = []
    http = httpx.Client(event_hooks={"request": [lambda r: seen.append(trace.get_current_span())]})
    tracer = otel.tracer_provider.get_tracer("user")
    server.enqueue(ScriptedReply(text="abcdefgh", chunk_size=2))
    between: list[trace.Span] = []
    client = metallm.Client(**kw(server, "openai", otel.hook(), http_client=http))
    with (
        tracer.start_as_current_span("user-work") as parent,
        client.create_chat_completion_stream(_req()) as s,
    ):
        for _ in s:
            between.append(trace.get_current_span())
    client.close()
    http.close()
    ours = next(sp for sp in otel.finished() if sp.name == "chat gpt-4o")
    assert seen and all(sp.get_span_context().span_id == ours.context.span_id for sp in seen)
    assert all(sp is parent for sp in between)
    assert ours.parent is not None and ours.parent.span_id == parent.get_span_context().span_id


def _content_request() -> metallm.ChatCompletionRequest:
    weather = metallm.Tool(
        function=metallm.FunctionDefinition(
            name="get_weather", description="Weather", parameters={"type": "object"}
        )
    )
    return metallm.ChatCompletionRequest(
        model="gpt-4o",
        messages=[
            metallm.Message(role="system", content="Be brief."),
            metallm.Message(role="user", content=[
                metallm.TextPart(text=f"my key is {KEY}, weather in Paris?"),
                metallm.ImagePart.from_url("https://example.com/p.png"),
                metallm.ImagePart.from_base64("aGVsbG8=", "image/png"),
            ]),
            metallm.Message(role="assistant", tool_calls=[metallm.ToolCall(
                id="c1",
                function=metallm.FunctionCall(name="get_weather", arguments='{"city":"Paris"}'),
            )]),
            metallm.Message(role="tool", tool_call_id="c1", content='{"temp": 18}'),
        ],
        tools=[weather],
        response_format=metallm.ResponseFormat(type="json_object"),
    )  # fmt: skip


EXPECTED_INPUT = [
    {"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
    {"role": "user", "parts": [
        {"type": "text", "content": "my key is [REDACTED], weather in Paris?"},
        {"type": "uri", "modality": "image", "uri": "https://example.com/p.png"},
        {"type": "blob", "mime_type": "image/png", "modality": "image", "content": "aGVsbG8="},
    ]},
    {"role": "assistant", "parts": [
        {"type": "tool_call", "id": "c1", "name": "get_weather", "arguments": {"city": "Paris"}},
    ]},
    {"role": "tool", "parts": [
        {"type": "tool_call_response", "id": "c1", "response": '{"temp": 18}'},
    ]},
]  # fmt: skip


@pytest.mark.parametrize("mode", MODES)
def test_content_on_span_and_event(server: FakeLLMServer, otel: Telemetry, mode: str) -> None:
    server.enqueue(ScriptedReply(text="Sunny.", reasoning="Look at the tool result."))
    client_kw = kw(server, "xai", otel.hook(), capture_content="SPAN_AND_EVENT")
    complete(mode, client_kw, _content_request())
    attrs = dict(_one(otel).attributes or {})
    assert attrs[A.OUTPUT_TYPE] == "json"
    assert json.loads(str(attrs[A.INPUT_MESSAGES])) == EXPECTED_INPUT
    assert json.loads(str(attrs[A.OUTPUT_MESSAGES])) == [
        {"role": "assistant", "finish_reason": "stop", "parts": [
            {"type": "reasoning", "content": "Look at the tool result."},
            {"type": "text", "content": "Sunny."},
        ]},
    ]  # fmt: skip
    assert json.loads(str(attrs[A.TOOL_DEFINITIONS])) == [
        {
            "type": "function",
            "name": "get_weather",
            "description": "Weather",
            "parameters": {"type": "object"},
        }
    ]
    assert A.SYSTEM_INSTRUCTIONS not in attrs  # OpenAI-shaped providers keep system in the history
    [record] = otel.logs.get_finished_logs()
    log = record.log_record
    assert log.event_name == A.CONTENT_EVENT and log.body is None
    assert log.span_id == _one(otel).context.span_id
    assert log.attributes is not None and log.attributes[A.PROVIDER_NAME] == "x_ai"
    assert KEY not in json.dumps(attrs, default=str) and KEY not in str(log.attributes)


def test_content_is_off_by_default_and_env_selects(
    server: FakeLLMServer,
    otel: Telemetry,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.delenv(A.CAPTURE_ENV, raising=False)
    server.enqueue(ScriptedReply(text="x"), ScriptedReply(text="y"), ScriptedReply(text="z"))
    complete("sync", kw(server, "openai", otel.hook()), _req())
    monkeypatch.setenv(A.CAPTURE_ENV, "EVENT_ONLY")
    complete("sync", kw(server, "openai", otel.hook()), _req())
    monkeypatch.setenv(A.CAPTURE_ENV, "verbose-please")
    with caplog.at_level(logging.WARNING, logger="metallm.otel"):
        complete("sync", kw(server, "openai", otel.hook()), _req())
        complete("sync", kw(server, "openai", otel.hook()), _req())
    assert caplog.text.count("verbose-please") == 1  # warned once
    spans = otel.finished()
    assert all(A.INPUT_MESSAGES not in dict(s.attributes or {}) for s in spans)
    assert len(otel.logs.get_finished_logs()) == 1  # only the EVENT_ONLY call


def test_client_capture_argument_overrides_env(
    server: FakeLLMServer, otel: Telemetry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(A.CAPTURE_ENV, "SPAN_AND_EVENT")
    server.enqueue(ScriptedReply(text="x"))
    complete("sync", kw(server, "openai", otel.hook(), capture_content=False), _req())
    assert A.INPUT_MESSAGES not in dict(_one(otel).attributes or {})
    assert otel.logs.get_finished_logs() == ()
    with pytest.raises(metallm.ConfigurationError):
        metallm.Client(**kw(server, "openai", otel.hook(), capture_content="sometimes"))


def test_system_instructions_apart_for_providers_that_take_them_apart(otel: Telemetry) -> None:
    hook = otel.hook(capture_content="SPAN_ONLY")
    # The fact comes from the provider (its codec), as a client passes it on.
    apart = metallm.Client(provider="anthropic", api_key=KEY, hooks=[])._exchange.system_apart
    assert apart is True
    info = metallm.LLMCallInfo.start(
        "anthropic", "claude", streaming=False, is_async=False,
        redact=lambda text: text.replace(KEY, "[REDACTED]"), system_instructions_apart=apart,
    )  # fmt: skip
    req = _content_request()
    hook.before_request(info, req)
    hook.after_response(info, req, None, metallm.APIConnectionError("down"))
    attrs = dict(_one(otel).attributes or {})
    assert json.loads(str(attrs[A.SYSTEM_INSTRUCTIONS])) == [
        {"type": "text", "content": "Be brief."}
    ]
    assert json.loads(str(attrs[A.INPUT_MESSAGES])) == EXPECTED_INPUT[1:]
    assert json.loads(str(attrs[A.OUTPUT_MESSAGES])) == []


FULL = {
    "max_tokens": 9, "temperature": 0.1, "top_p": 0.9, "stop": ["a", "b"], "n": 2, "seed": 1,
    "frequency_penalty": 0.2, "presence_penalty": 0.3, "user": "u", "metadata": {"k": "v"},
    "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {}}},
    "reasoning_effort": "low", "tool_choice": "auto",
}  # fmt: skip


@pytest.mark.parametrize("fields", [{}, FULL], ids=["absent", "present"])
def test_attribute_values_are_always_valid_otel_types(
    server: FakeLLMServer, otel: Telemetry, fields: dict[str, Any]
) -> None:
    server.enqueue(ScriptedReply(text="x"))
    complete("sync", kw(server, "openai", otel.hook(capture_content="SPAN_ONLY")), _req(**fields))
    attrs = dict(_one(otel).attributes or {})
    for name, value in attrs.items():
        assert value is not None, name
        values = value if isinstance(value, tuple) else (value,)
        assert all(isinstance(v, str | bool | int | float) for v in values), (name, value)
    if fields:
        assert attrs[A.REQUEST_CHOICE_COUNT] == 2 and attrs[A.REQUEST_STOP_SEQUENCES] == ("a", "b")
        assert attrs[A.OUTPUT_TYPE] == "json" and attrs[A.REQUEST_TOP_P] == 0.9


def test_no_hooks_means_no_telemetry(server: FakeLLMServer, otel: Telemetry) -> None:
    server.enqueue(ScriptedReply(text="x"))
    with metallm.Client(**{**kw(server, "openai", otel.hook()), "hooks": []}) as client:
        client.create_chat_completion(_req())
    assert otel.finished() == []


def test_default_hook_is_otel_and_costs_nothing_without_sdk(server: FakeLLMServer) -> None:
    server.enqueue(ScriptedReply(text="x"))
    with metallm.Client(provider="openai", base_url=server.base_url("openai"), api_key=KEY) as c:
        assert any(isinstance(h, OTelHook) for h in c._exchange.hooks.hooks)
        assert c.create_chat_completion(_req()).content == "x"


def test_custom_hooks_run_beside_the_otel_hook(server: FakeLLMServer, otel: Telemetry) -> None:
    seen: list[str] = []

    class Mine:
        def after_response(self, info: Any, request: Any, response: Any, error: Any) -> None:
            seen.append(info.call_id)

    server.enqueue(ScriptedReply(tool_calls=[ScriptedToolCall(name="f", arguments="{}")]))
    complete("sync", {**kw(server, "openai", otel.hook()), "hooks": [otel.hook(), Mine()]}, _req())
    assert len(seen) == 1
    assert dict(_one(otel).attributes or {})[A.RESPONSE_FINISH_REASONS] == ("tool_calls",)


def test_the_span_covers_the_call_as_its_caller_times_it() -> None:
    """First-call work (building validators) falls inside the span, not before it."""
    import subprocess
    import sys

    code = """
import json, time
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
import metallm
from metallm.otel import OTelHook
from metallm.testing import FakeLLMServer
spans = InMemorySpanExporter()
tp = TracerProvider()
tp.add_span_processor(SimpleSpanProcessor(spans))
with FakeLLMServer() as server:
    client = metallm.Client(provider="openai", api_key="k", base_url=server.base_url("openai"),
                            hooks=[OTelHook(tracer_provider=tp)])
    timed = []
    for _ in range(3):
        t0 = time.perf_counter()
        client.create_chat_completion(model="m", messages=[{"role": "user", "content": "hi"}])
        timed.append(time.perf_counter() - t0)
got = [(s.end_time - s.start_time) / 1e9 for s in spans.get_finished_spans()]
print(json.dumps([timed, got]))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    timed, got = json.loads(out.stdout)
    assert abs(timed[0] - got[0]) < 0.005, (timed, got)  # the first call of a fresh process
    for caller, span in zip(timed[1:], got[1:], strict=True):
        assert abs(caller - span) < 0.001, (timed, got)


def test_content_events_go_to_a_logger_provider_even_without_a_tracer() -> None:
    """In a fresh process with only a logger provider: the event is emitted, no span needed."""
    import subprocess
    import sys

    code = """
import json
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
import metallm
from metallm.otel import OTelHook
from metallm.testing import FakeLLMServer
logs = InMemoryLogRecordExporter()
lp = LoggerProvider()
lp.add_log_record_processor(SimpleLogRecordProcessor(logs))
with FakeLLMServer() as server:
    client = metallm.Client(provider="openai", api_key="sk-k-0123456789",
                            base_url=server.base_url("openai"),
                            hooks=[OTelHook(logger_provider=lp, capture_content="EVENT_ONLY")])
    client.create_chat_completion(model="m", messages=[{"role": "user", "content": "hi"}])
records = [r.log_record for r in logs.get_finished_logs()]
print(json.dumps([[r.event_name, dict(r.attributes or {})["gen_ai.request.model"],
                   dict(r.attributes or {})["gen_ai.input.messages"][0]["parts"][0]["content"]]
                  for r in records]))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == [[A.CONTENT_EVENT, "m", "hi"]]


def _by_assignment() -> metallm.ChatCompletionRequest:
    request = _req()
    request.temperature = 0.25
    request.top_p = 0.5
    return request


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda: _req(temperature=0.25, top_p=0.5), id="constructor"),
        pytest.param(lambda: {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}],
                              "temperature": 0.25, "top_p": 0.5}, id="dict"),
        pytest.param(_by_assignment, id="assignment"),
        pytest.param(lambda: _req().model_copy(update={"temperature": 0.25, "top_p": 0.5}),
                     id="model_copy"),
        pytest.param(lambda: metallm.ChatCompletionRequest.model_construct(
            model="gpt-4o", messages=[user("hi")], temperature=0.25, top_p=0.5),
            id="model_construct"),
    ],
)
def test_request_parameters_reach_the_span_however_the_request_was_built(
    server: FakeLLMServer, otel: Telemetry, build: Any
) -> None:
    """The span reads only the parameters the caller set (pydantic's ``model_fields_set``):
    every way of setting one keeps it there, and one set to None shows nothing."""
    server.enqueue(ScriptedReply(text="ok"))
    request = build()
    if isinstance(request, dict):
        request["seed"] = None
    else:
        request.seed = None
    complete("sync", kw(server, "openai", otel.hook()), request)
    attrs = dict(_one(otel).attributes or {})
    assert attrs[A.REQUEST_TEMPERATURE] == 0.25
    assert attrs[A.REQUEST_TOP_P] == 0.5
    assert A.REQUEST_SEED not in attrs and A.REQUEST_MAX_TOKENS not in attrs
