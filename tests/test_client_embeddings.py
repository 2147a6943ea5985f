"""``create_embeddings`` end to end: real sockets to FakeLLMServer, sync and async, every provider.

Each case runs through the real client, its exchange and transport: request bodies and URLs as
each provider's reference asks, vectors equal to the server's deterministic ones and in input
order, long lists split and merged, a 429 on one part retried, errors typed, bad input refused
before any I/O, every recorded embeddings exchange of the corpus replayed, and the telemetry
(one span, the embeddings metrics, one event per part) checked against in-memory exporters.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

import metallm
from _helpers import MODES
from metallm.otel import OTelHook
from metallm.otel import attributes as A
from metallm.providers.bedrock import BedrockProvider
from metallm.testing import FakeLLMServer, ScriptedReply
from metallm.testing.corpus import corpus_files, load_corpus_entry
from metallm.testing.wire_embeddings import fake_embedding, fake_token_count

KEY = "sk-embed-SECRET-0123456789"
AWS_SECRET = "aws-secret-EMBED-0123456789"
FAST = metallm.RetryPolicy(initial_backoff=0.001, jitter=0)
TEXTS = ["alpha beta", "gamma", "delta epsilon zeta"]


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as s:
        yield s


@pytest.fixture(autouse=True)
def _clean(server: FakeLLMServer) -> None:
    server.clear()


def _bedrock(server: FakeLLMServer) -> BedrockProvider:
    return BedrockProvider(
        region="us-east-1",
        endpoint_url=server.url,
        aws_access_key_id="AKIDEMBEDTEST",
        aws_secret_access_key=AWS_SECRET,
    )


CASES: dict[str, tuple[str, str]] = {
    # case -> (provider for client kwargs, model)
    "openai": ("openai", "text-embedding-3-small"),
    "xai": ("xai", "v1"),
    "gemini": ("gemini", "gemini-embedding-001"),
    "ollama": ("ollama", "nomic-embed-text"),
    "bedrock-titan": ("bedrock", "amazon.titan-embed-text-v2:0"),
    "bedrock-cohere": ("bedrock", "cohere.embed-english-v3"),
}


def kw(server: FakeLLMServer, case: str, **extra: Any) -> dict[str, Any]:
    provider = CASES[case][0]
    base: dict[str, Any] = {"retry": FAST, "hooks": []}
    if provider == "bedrock":
        base["custom_provider"] = _bedrock(server)
    else:
        base.update(provider=provider, api_key=KEY, base_url=server.base_url(provider))
    return {**base, **extra}


def embed(mode: str, client_kwargs: dict[str, Any], **request: Any) -> metallm.EmbeddingsResponse:
    if mode == "sync":
        with metallm.Client(**client_kwargs) as client:
            return client.create_embeddings(**request)

    async def go() -> metallm.EmbeddingsResponse:
        async with metallm.AsyncClient(**client_kwargs) as client:
            return await client.create_embeddings(**request)

    return asyncio.run(go())


def _expected_requests(case: str, model: str) -> list[tuple[str, Any]]:
    """(path, JSON body) of each request the provider's reference asks for, in order."""
    if case in ("openai", "xai"):
        return [("/v1/embeddings", {"model": model, "input": TEXTS, "encoding_format": "base64"})]
    if case == "gemini":
        parts = [{"model": f"models/{model}", "content": {"parts": [{"text": t}]}} for t in TEXTS]
        return [(f"/v1beta/models/{model}:batchEmbedContents", {"requests": parts})]
    if case == "ollama":
        return [("/api/embed", {"model": model, "input": TEXTS})]
    path = "/model/" + model.replace(":", "%3A") + "/invoke"
    if case == "bedrock-titan":  # one text per request
        return [(path, {"inputText": t}) for t in TEXTS]
    return [(path, {"texts": TEXTS, "input_type": "search_document"})]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", list(CASES))
def test_every_provider_embeds_in_order_with_its_own_wire_format(
    server: FakeLLMServer, case: str, mode: str
) -> None:
    model = CASES[case][1]
    resp = embed(mode, kw(server, case), model=model, input=TEXTS)
    assert resp.vectors == [fake_embedding(t) for t in TEXTS]
    assert [item.index for item in resp.data] == [0, 1, 2] and resp.dimensions == 8
    assert resp.provider == CASES[case][0] and resp.model
    sent = [(r.path, r.json) for r in server.requests]
    if mode == "async":  # parts run concurrently: they may arrive in any order
        sent.sort(key=json.dumps)
        assert sent == sorted(_expected_requests(case, model), key=json.dumps)
    else:
        assert sent == _expected_requests(case, model)
    if case not in ("gemini", "bedrock-cohere"):  # no counts in those replies (see README)
        assert resp.usage.prompt_tokens == sum(fake_token_count(t) for t in TEXTS)
    for recorded in server.requests:
        assert KEY not in recorded.body.decode()


@pytest.mark.parametrize("mode", MODES)
def test_one_text_and_dimensions(server: FakeLLMServer, mode: str) -> None:
    resp = embed(mode, kw(server, "openai"), model="m", input="just one", dimensions=4)
    assert resp.vectors == [fake_embedding("just one", 4)]
    assert server.last_request.json == {
        "model": "m",
        "input": "just one",
        "dimensions": 4,
        "encoding_format": "base64",
    }


@pytest.mark.parametrize("mode", MODES)
def test_base64_and_float_replies_decode_to_the_same_vectors(
    server: FakeLLMServer, mode: str
) -> None:
    b64 = embed(mode, kw(server, "openai"), model="m", input=TEXTS)
    floats = embed(mode, kw(server, "openai"), model="m", input=TEXTS, encoding_format="float")
    assert server.last_request.json["encoding_format"] == "float"
    assert b64.vectors == floats.vectors == [fake_embedding(t) for t in TEXTS]


@pytest.mark.parametrize("mode", MODES)
def test_5000_inputs_are_split_by_the_limit_and_merged_in_order(
    server: FakeLLMServer, mode: str
) -> None:
    texts = [f"text number {i}" for i in range(5000)]
    resp = embed(mode, kw(server, "openai"), model="m", input=texts)
    sizes = sorted(len(r.json["input"]) for r in server.requests)
    assert sizes == [904, 2048, 2048]
    assert len(resp.data) == 5000 and [item.index for item in resp.data] == list(range(5000))
    assert resp.vectors[0] == fake_embedding(texts[0])
    assert resp.vectors[2048] == fake_embedding(texts[2048])
    assert resp.vectors[4999] == fake_embedding(texts[4999])
    assert resp.usage.prompt_tokens == 3 * 5000


@pytest.mark.parametrize("mode", MODES)
def test_a_429_on_the_second_part_is_retried(server: FakeLLMServer, mode: str) -> None:
    texts = [f"t{i}" for i in range(150)]  # Gemini API batches hold 100: two parts
    server.enqueue(
        ScriptedReply(),
        ScriptedReply.error(429, "slow down", headers={"retry-after": "0"}),
    )
    resp = embed(mode, kw(server, "gemini"), model="gemini-embedding-001", input=texts)
    assert resp.vectors == [fake_embedding(t) for t in texts]
    assert len(server.requests) == 3  # part one, part two refused, part two again


@pytest.mark.parametrize("mode", MODES)
def test_errors_are_typed_and_redacted(server: FakeLLMServer, mode: str) -> None:
    server.enqueue(ScriptedReply.error(404, f"no such model (key {KEY})", code="model_not_found"))
    with pytest.raises(metallm.NotFoundError) as info:
        embed(mode, kw(server, "openai", max_retries=0, retry=None), model="nope", input=["x"])
    assert info.value.code == "model_not_found" and KEY not in str(info.value)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("request_fields", "why"),
    [
        ({"input": []}, "empty list"),
        ({"input": ["ok", ""]}, r"input\[1\] is an empty string"),
        ({"input": ["ok", 3]}, r"input\[1\] is a int"),
        ({"input": "x", "dimensions": 0}, "dimensions must be >= 1"),
        ({"input": "x", "dimension": 3}, "unknown field 'dimension'"),
    ],
)
def test_bad_input_is_refused_before_any_io(
    server: FakeLLMServer, mode: str, request_fields: dict[str, Any], why: str
) -> None:
    with pytest.raises(metallm.InvalidRequestError, match=why):
        embed(mode, kw(server, "openai"), model="m", **request_fields)
    assert server.requests == []


@pytest.mark.parametrize("mode", MODES)
def test_anthropic_points_to_voyage_before_any_io(server: FakeLLMServer, mode: str) -> None:
    client_kwargs = {
        "provider": "anthropic",
        "api_key": KEY,
        "base_url": server.base_url("anthropic"),
        "hooks": [],
    }
    with pytest.raises(metallm.UnsupportedFeatureError, match="Voyage"):
        embed(mode, client_kwargs, model="claude-sonnet-4-5", input=["x"])
    assert server.requests == []


class _Embedder:
    """A custom provider bringing its own embeddings (sync and async)."""

    name = "homegrown"

    def __init__(self) -> None:
        self.calls = 0

    def _reply(self, request: metallm.EmbeddingsRequest) -> metallm.EmbeddingsResponse:
        self.calls += 1
        if self.calls == 1:
            raise metallm.APIConnectionError("flaky", provider=self.name)
        data = [
            metallm.Embedding(index=i, embedding=[float(len(t))])
            for i, t in enumerate(request.inputs)
        ]
        return metallm.EmbeddingsResponse(model=request.model, data=data)

    def create_embeddings(self, request: metallm.EmbeddingsRequest) -> metallm.EmbeddingsResponse:
        return self._reply(request)

    async def acreate_embeddings(
        self, request: metallm.EmbeddingsRequest
    ) -> metallm.EmbeddingsResponse:
        return self._reply(request)

    def create_chat_completion(self, request: Any) -> Any:
        raise AssertionError

    def create_chat_completion_stream(self, request: Any) -> Any:
        raise AssertionError

    async def acreate_chat_completion(self, request: Any) -> Any:
        raise AssertionError

    async def acreate_chat_completion_stream(self, request: Any) -> Any:
        raise AssertionError

    def close(self) -> None:
        pass

    async def aclose(self) -> None:
        pass


@pytest.mark.parametrize("mode", MODES)
def test_a_custom_provider_embeds_with_retries(mode: str) -> None:
    provider = _Embedder()
    client_kwargs = {"custom_provider": provider, "retry": FAST, "hooks": []}
    resp = embed(mode, client_kwargs, model="m", input=["ab", "abcd"])
    assert resp.vectors == [[2.0], [4.0]] and resp.provider == "homegrown"
    assert provider.calls == 2


# -- the corpus --------------------------------------------------------------------------------


def _corpus() -> list[Any]:
    files = [p for prov in ("openai", "gemini") for p in corpus_files(prov, operation="embeddings")]
    return [pytest.param(p, id=f"{p.parent.name}/{p.stem}") for p in files] or [
        pytest.param(None, id="no-corpus")
    ]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("path", _corpus())
def test_recorded_embeddings_replay_through_the_client(
    server: FakeLLMServer, path: Any, mode: str
) -> None:
    if path is None:
        pytest.skip("corpus not found (set METALLM_CORPUS)")
    entry = load_corpus_entry(path)
    body = entry.request_body or {}
    provider = entry.provider
    if provider == "gemini":
        if "/projects/" in entry.request_path:
            pytest.skip("Vertex paths are replayed by the Gemini codec tests")
        inputs = [r["content"]["parts"][0]["text"] for r in body["requests"]]
        model = entry.request_path.split("/models/")[1].split(":")[0]
    else:
        inputs, model = body["input"], body["model"]
    server.replay(entry)
    client_kwargs = {
        "provider": provider,
        "api_key": KEY,
        "base_url": server.base_url(provider),
        "hooks": [],
        "max_retries": 0,
    }
    if entry.status >= 400:
        with pytest.raises(metallm.NotFoundError) as info:
            embed(mode, client_kwargs, model=model, input=inputs)
        assert info.value.status_code == entry.status
        assert info.value.message == json.loads(entry.body_text)["error"]["message"]
        return
    resp = embed(mode, client_kwargs, model=model, input=inputs)
    recorded = json.loads(entry.body_text)
    assert len(resp.data) == len(inputs)
    if provider == "openai":
        assert resp.usage.prompt_tokens == recorded["usage"]["prompt_tokens"]
        first = recorded["data"][0]["embedding"]
        if isinstance(first, list):
            assert resp.vectors[0] == pytest.approx(first)
    else:
        assert resp.vectors[0] == recorded["embeddings"][0]["values"]


# -- telemetry -------------------------------------------------------------------------------


def _traced() -> tuple[InMemorySpanExporter, TracerProvider]:
    """An in-memory span exporter on its own tracer provider."""
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    return spans, tracer_provider


@pytest.mark.parametrize("mode", MODES)
def test_one_embeddings_span_with_part_events_and_the_embeddings_metrics(
    server: FakeLLMServer, mode: str
) -> None:
    spans, tracer_provider = _traced()
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    hook = OTelHook(tracer_provider=tracer_provider, meter_provider=meter_provider)
    texts = [f"w{i}" for i in range(150)]
    server.enqueue(ScriptedReply(), ScriptedReply.error(503, "busy"))
    resp = embed(
        mode,
        kw(server, "gemini", hooks=[hook]),
        model="gemini-embedding-001",
        input=texts,
        dimensions=8,
        encoding_format="float",
    )
    assert len(resp.data) == 150
    (span,) = spans.get_finished_spans()
    assert span.name == "embeddings gemini-embedding-001" and span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    attrs = dict(span.attributes or {})
    assert attrs[A.OPERATION_NAME] == "embeddings"
    assert attrs[A.PROVIDER_NAME] == "gcp.gemini"
    assert attrs[A.REQUEST_MODEL] == "gemini-embedding-001"
    assert attrs[A.SERVER_ADDRESS] == "127.0.0.1"
    assert attrs[A.EMBEDDINGS_DIMENSION_COUNT] == 8
    assert list(attrs[A.REQUEST_ENCODING_FORMATS]) == ["float"]
    assert attrs[A.RESPONSE_MODEL] == "gemini-embedding-001"
    assert attrs[A.USAGE_INPUT_TOKENS] == 0  # the Gemini API reports no counts
    assert attrs[A.HTTP_RESEND_COUNT] == 1
    assert A.INPUT_MESSAGES not in attrs  # inputs are content: off by default
    parts = [e for e in span.events if e.name == A.PART_EVENT]
    assert sorted(e.attributes[A.PART_INDEX] for e in parts) == [0, 1]  # type: ignore[index]
    assert sorted(e.attributes[A.PART_INPUTS] for e in parts) == [50, 100]  # type: ignore[index]
    assert [e.name for e in span.events].count(A.RETRY_EVENT) == 1
    data = reader.get_metrics_data()
    names = {
        m.name: m for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics
    }
    assert set(names) == {A.METRIC_EMBEDDINGS_DURATION, A.METRIC_EMBEDDINGS_INPUT_TOKENS}
    (point,) = names[A.METRIC_EMBEDDINGS_DURATION].data.data_points
    assert point.count == 1 and dict(point.attributes)[A.OPERATION_NAME] == "embeddings"
    assert names[A.METRIC_EMBEDDINGS_DURATION].unit == "s"
    assert names[A.METRIC_EMBEDDINGS_INPUT_TOKENS].unit == "{token}"
    tracer_provider.shutdown()
    meter_provider.shutdown()


@pytest.mark.parametrize("mode", MODES)
def test_a_failed_embeddings_call_is_an_error_span(server: FakeLLMServer, mode: str) -> None:
    spans, tracer_provider = _traced()
    hook = OTelHook(tracer_provider=tracer_provider, meter_provider=MeterProvider())
    server.enqueue(ScriptedReply.error(401, "bad key", code="invalid_api_key"))
    with pytest.raises(metallm.AuthenticationError):
        embed(mode, kw(server, "openai", hooks=[hook]), model="m", input=["x"])
    (span,) = spans.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert dict(span.attributes or {})[A.ERROR_TYPE] == "invalid_api_key"
    assert A.RESPONSE_FINISH_REASONS not in dict(span.attributes or {})


@pytest.mark.parametrize("mode", MODES)
def test_inputs_are_captured_only_with_content_capture_on(server: FakeLLMServer, mode: str) -> None:
    spans, tracer_provider = _traced()
    hook = OTelHook(tracer_provider=tracer_provider, meter_provider=MeterProvider())
    embed(
        mode,
        kw(server, "openai", hooks=[hook], capture_content=True),
        model="m",
        input=["first", f"leaks {KEY}?"],
    )
    (span,) = spans.get_finished_spans()
    captured = json.loads(str(dict(span.attributes or {})[A.INPUT_MESSAGES]))
    assert captured[0]["role"] == "user"
    assert [p["content"] for p in captured[0]["parts"]] == ["first", "leaks [REDACTED]?"]
    assert KEY not in json.dumps(captured)
