"""A provider's own span attributes (``HTTPCodec.span_attributes``): OpenAI's ``openai.*``.

Real calls through ``Client``/``AsyncClient`` and FakeLLMServer (which answers OpenAI requests
with ``system_fingerprint`` and the ``service_tier`` asked for, as OpenAI does), recorded by
in-memory SDK exporters: the three ``openai.*`` attributes land on the span, plain and
streamed, and never on a metric point or a content event; no other provider's span has them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.semconv._incubating.attributes import openai_attributes
from opentelemetry.trace import StatusCode

import metallm
from _codec_helpers import accumulate, corpus_entries, decode_pieces, entry_id, require_entry
from _helpers import MODES, complete, stream, user
from metallm.otel import OTelHook
from metallm.otel import attributes as A
from metallm.provider import HTTPResponse, ProviderSettings
from metallm.providers.openai import OpenAIProvider
from metallm.providers.openai._telemetry import (
    REQUEST_SERVICE_TIER,
    RESPONSE_SERVICE_TIER,
    RESPONSE_SYSTEM_FINGERPRINT,
    openai_span_attributes,
)
from metallm.testing import FakeLLMServer, ScriptedReply, ScriptedUsage

KEY = "sk-attrs-SECRET-0123456789"
AWS = {
    "region": "us-east-1",
    "aws_access_key_id": "AKIDEXAMPLE",
    "aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
}


@dataclass
class Telemetry:
    spans: InMemorySpanExporter
    reader: InMemoryMetricReader
    logs: InMemoryLogRecordExporter
    hook: OTelHook

    def span(self) -> ReadableSpan:
        [span] = self.spans.get_finished_spans()
        return span

    def metric_point_attributes(self) -> list[dict[str, Any]]:
        data = self.reader.get_metrics_data()
        return [
            dict(point.attributes or {})
            for rm in (data.resource_metrics if data else [])
            for sm in rm.scope_metrics
            for metric in sm.metrics
            for point in metric.data.data_points
        ]


@pytest.fixture
def otel() -> Iterator[Telemetry]:
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    logs = InMemoryLogRecordExporter()
    logger_provider = LoggerProvider()
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
    hook = OTelHook(tracer_provider, meter_provider, logger_provider)
    yield Telemetry(spans, reader, logs, hook)
    tracer_provider.shutdown()
    meter_provider.shutdown()
    logger_provider.shutdown()


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as s:
        yield s


@pytest.fixture(autouse=True)
def _clean(server: FakeLLMServer) -> None:
    server.clear()


def _kw(server: FakeLLMServer, provider: str, otel: Telemetry, **extra: Any) -> dict[str, Any]:
    kw: dict[str, Any] = {
        "provider": provider,
        "base_url": server.base_url(provider),
        "hooks": [otel.hook],
        "retry": metallm.RetryPolicy(max_retries=0),
        "capture_content": "SPAN_AND_EVENT",
        **extra,
    }
    if provider == "bedrock":
        kw["extra"] = AWS
    else:
        kw["api_key"] = KEY
    return kw


def _openai_keys(attrs: Any) -> set[str]:
    return {key for key in dict(attrs or {}) if key.startswith("openai.")}


def test_names_are_the_semantic_conventions_own() -> None:
    assert REQUEST_SERVICE_TIER == openai_attributes.OPENAI_REQUEST_SERVICE_TIER
    assert RESPONSE_SERVICE_TIER == openai_attributes.OPENAI_RESPONSE_SERVICE_TIER
    assert RESPONSE_SYSTEM_FINGERPRINT == openai_attributes.OPENAI_RESPONSE_SYSTEM_FINGERPRINT


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("streamed", [False, True], ids=["plain", "stream"])
def test_openai_attributes_on_the_span_only(
    server: FakeLLMServer, otel: Telemetry, mode: str, streamed: bool
) -> None:
    server.enqueue(ScriptedReply(text="Hello there", chunk_size=3, usage=ScriptedUsage(4, 2)))
    request = metallm.ChatCompletionRequest(
        model="gpt-4o", messages=[user("hi")], extra={"service_tier": "flex"}
    )
    kw = _kw(server, "openai", otel)
    response = stream(mode, kw, request)[1] if streamed else complete(mode, kw, request)
    assert server.requests[0].json["service_tier"] == "flex"  # sent through extra=
    # the unified response carries what the reply (or, accumulated, the chunks) said
    assert (response.service_tier, response.system_fingerprint) == ("flex", "fp_fake")

    attrs = dict(otel.span().attributes or {})
    assert attrs[REQUEST_SERVICE_TIER] == "flex"
    assert attrs[RESPONSE_SERVICE_TIER] == "flex"
    assert attrs[RESPONSE_SYSTEM_FINGERPRINT] == "fp_fake"
    assert attrs[A.PROVIDER_NAME] == "openai"
    points = otel.metric_point_attributes()
    assert points and all(not _openai_keys(p) for p in points)  # never on metrics
    [event] = otel.logs.get_finished_logs()
    assert _openai_keys(event.log_record.attributes) == set()


@pytest.mark.parametrize("mode", MODES)
def test_without_a_tier_asked_only_the_reply_attributes(
    server: FakeLLMServer, otel: Telemetry, mode: str
) -> None:
    server.enqueue(ScriptedReply(text="Hi"))
    request = metallm.ChatCompletionRequest(model="gpt-4o", messages=[user("hi")])
    complete(mode, _kw(server, "openai", otel), request)
    attrs = dict(otel.span().attributes or {})
    assert {k: attrs[k] for k in _openai_keys(attrs)} == {
        RESPONSE_SERVICE_TIER: "default",  # what OpenAI answers when no tier is asked
        RESPONSE_SYSTEM_FINGERPRINT: "fp_fake",
    }


@pytest.mark.parametrize("mode", MODES)
def test_a_failed_call_keeps_the_tier_it_asked_for(
    server: FakeLLMServer, otel: Telemetry, mode: str
) -> None:
    server.enqueue(ScriptedReply.error(400, "bad tier", code="invalid_value"))
    request = metallm.ChatCompletionRequest(
        model="gpt-4o", messages=[user("hi")], extra={"service_tier": "priority"}
    )
    with pytest.raises(metallm.BadRequestError):
        complete(mode, _kw(server, "openai", otel), request)
    span = otel.span()
    assert span.status.status_code is StatusCode.ERROR
    attrs = dict(span.attributes or {})
    assert {k: attrs[k] for k in _openai_keys(attrs)} == {REQUEST_SERVICE_TIER: "priority"}


@pytest.mark.parametrize("streamed", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("provider", ["xai", "anthropic", "gemini", "ollama", "bedrock"])
def test_other_providers_report_no_openai_attributes(
    server: FakeLLMServer, otel: Telemetry, provider: str, streamed: bool
) -> None:
    """xAI speaks OpenAI's protocol (and sends a fingerprint) but is ``x_ai``: no ``openai.*``."""
    model = "grok-4" if provider == "xai" else "m-1"
    server.enqueue(ScriptedReply(text="Hello", chunk_size=2, usage=ScriptedUsage(3, 1)))
    extra = {"service_tier": "flex"} if provider == "xai" else {}
    request = metallm.ChatCompletionRequest(model=model, messages=[user("hi")], extra=extra)
    kw = _kw(server, provider, otel)
    response = stream("sync", kw, request)[1] if streamed else complete("sync", kw, request)
    assert response.content == "Hello"
    attrs = dict(otel.span().attributes or {})
    assert attrs[A.USAGE_INPUT_TOKENS] == 3
    assert _openai_keys(attrs) == set()


def test_a_failing_provider_function_costs_only_its_attributes(
    server: FakeLLMServer, otel: Telemetry, caplog: pytest.LogCaptureFixture
) -> None:
    """A third-party codec whose ``span_attributes`` raises: the span still ends, complete."""

    def broken(request: Any, response: Any) -> dict[str, str]:
        raise RuntimeError("no attributes today")

    class Custom(OpenAIProvider):
        span_attributes = staticmethod(broken)

    codec = Custom(ProviderSettings("openai", api_key=KEY, base_url=server.base_url("openai")))
    server.enqueue(ScriptedReply(text="Hi", usage=ScriptedUsage(2, 1)))
    with (
        caplog.at_level(logging.WARNING, "metallm.otel.hook"),
        metallm.Client(custom_provider=codec, hooks=[otel.hook]) as client,
    ):
        response = client.create_chat_completion(model="gpt-4o", messages=[user("hi")])
    assert response.content == "Hi"
    span = otel.span()
    assert span.status.status_code is StatusCode.UNSET
    assert dict(span.attributes or {})[A.USAGE_OUTPUT_TOKENS] == 1
    assert _openai_keys(span.attributes) == set()
    assert "span_attributes failed" in caplog.text


def test_the_function_leaves_out_what_is_missing() -> None:
    request = metallm.ChatCompletionRequest(model="gpt-4o", messages=[user("hi")])
    assert openai_span_attributes(request, None) == {}
    empty = metallm.ChatCompletionResponse(system_fingerprint="", service_tier=None)
    assert openai_span_attributes(request, empty) == {}
    asked = request.model_copy(update={"extra": {"service_tier": 3}})  # not a tier: left out
    assert openai_span_attributes(asked, None) == {}


@pytest.mark.parametrize("entry", corpus_entries("openai", "stream"), ids=entry_id)
def test_corpus_streams_accumulate_the_tier_and_fingerprint(entry: Any) -> None:
    """Every recorded OpenAI stream: the accumulated response says what the chunks said."""
    entry = require_entry(entry, "openai")
    codec = OpenAIProvider(ProviderSettings("openai", api_key=KEY))
    request = metallm.ChatCompletionRequest(model="gpt-4o", messages=[user("hi")])
    response = accumulate(decode_pieces(codec, request, entry.body_bytes), "openai")
    events = [
        json.loads(line[len("data: ") :])
        for line in entry.body_text.splitlines()
        if line.startswith("data: {")
    ]
    tiers = [e["service_tier"] for e in events if e.get("service_tier")]
    prints = [e["system_fingerprint"] for e in events if e.get("system_fingerprint")]
    assert response.service_tier == (tiers[-1] if tiers else None)
    assert response.system_fingerprint == (prints[-1] if prints else None)
    want = {RESPONSE_SERVICE_TIER: tiers[-1]} if tiers else {}
    if prints:
        want[RESPONSE_SYSTEM_FINGERPRINT] = prints[-1]
    assert openai_span_attributes(request, response) == want


@pytest.mark.parametrize("entry", corpus_entries("openai", "chat"), ids=entry_id)
def test_corpus_replies_give_the_attributes(entry: Any) -> None:
    entry = require_entry(entry, "openai")
    raw = json.loads(entry.body_text)
    codec = OpenAIProvider(ProviderSettings("openai", api_key=KEY))
    response = codec.parse_response(HTTPResponse(entry.status, {}, entry.body_bytes))
    request = metallm.ChatCompletionRequest(model="gpt-4o", messages=[user("hi")])
    assert openai_span_attributes(request, response) == {
        RESPONSE_SERVICE_TIER: raw["service_tier"],  # "default" in every recorded reply
        RESPONSE_SYSTEM_FINGERPRINT: raw["system_fingerprint"],
    }
