"""FakeLLMServer's embeddings endpoints over real sockets (raw httpx; the client has no
``create_embeddings`` yet): every provider's path and shape, deterministic order-preserving
vectors, ``dimensions``, base64, usage, recording, scripted errors and failures, bad bodies,
and a round trip through each codec (fake server and codec agree).
"""

from __future__ import annotations

import base64
import json
import math
import struct
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from metallm import APIError, EmbeddingsRequest, RateLimitError
from metallm.provider import HTTPResponse, ProviderSettings
from metallm.providers.bedrock import BedrockProvider
from metallm.providers.gemini import create as gemini_create
from metallm.providers.ollama import create as ollama_create
from metallm.providers.openai import create as openai_create
from metallm.providers.xai import create as xai_create
from metallm.testing.fake_server import FakeLLMServer
from metallm.testing.script import ScriptedReply
from metallm.testing.wire_embeddings import DEFAULT_DIMENSIONS, fake_embedding, fake_token_count

TIMEOUT = httpx.Timeout(10.0)
TEXTS = ["the quick brown fox", "jumps", "over the lazy dog"]
VERTEX_PATH = "/v1/projects/p/locations/global/publishers/google/models"


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as s:
        yield s


@pytest.fixture(autouse=True)
def _clean(server: FakeLLMServer) -> Iterator[None]:
    server.clear()
    yield
    server.clear()


def post(server: FakeLLMServer, path: str, body: Any) -> httpx.Response:
    return httpx.post(server.url + path, json=body, timeout=TIMEOUT)


def tokens(texts: list[str]) -> int:
    return sum(fake_token_count(t) for t in texts)


def test_fake_vectors_are_deterministic_unit_float32_and_text_dependent() -> None:
    first = fake_embedding("hello")
    assert first == fake_embedding("hello")
    assert first != fake_embedding("hello!")
    assert len(first) == DEFAULT_DIMENSIONS == 8
    assert len(fake_embedding("hello", 1536)) == 1536
    assert math.isclose(math.fsum(x * x for x in first), 1.0, abs_tol=1e-6)
    assert list(struct.unpack("<8f", struct.pack("<8f", *first))) == first
    assert fake_token_count("three short words") == 3
    assert fake_token_count("   ") == 1


# -- each provider's wire format --------------------------------------------------------------


@pytest.mark.parametrize("provider", ["openai", "xai"])
def test_openai_shape_float_and_order(server: FakeLLMServer, provider: str) -> None:
    url = server.base_url(provider) + "/embeddings"
    r = httpx.post(url, json={"model": "m-1", "input": TEXTS}, timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.headers["x-request-id"].startswith("req_")
    body = r.json()
    assert body["object"] == "list"
    assert body["model"] == "m-1"
    assert [d["index"] for d in body["data"]] == [0, 1, 2]
    assert {d["object"] for d in body["data"]} == {"embedding"}
    assert [d["embedding"] for d in body["data"]] == [fake_embedding(t) for t in TEXTS]
    assert body["usage"] == {"prompt_tokens": tokens(TEXTS), "total_tokens": tokens(TEXTS)}
    again = httpx.post(url, json={"model": "m-1", "input": TEXTS[::-1]}, timeout=TIMEOUT)
    assert [d["embedding"] for d in again.json()["data"]] == [fake_embedding(t) for t in TEXTS][
        ::-1
    ]


def test_openai_base64_dimensions_and_a_single_string(server: FakeLLMServer) -> None:
    payload = {"model": "m", "input": "one text", "encoding_format": "base64", "dimensions": 5}
    data = post(server, "/v1/embeddings", payload).json()["data"]
    assert len(data) == 1
    raw = base64.b64decode(data[0]["embedding"])
    assert list(struct.unpack("<5f", raw)) == fake_embedding("one text", 5)


def test_gemini_batch_and_embed_content(server: FakeLLMServer) -> None:
    requests = [
        {"model": "models/e", "content": {"parts": [{"text": t}]}, "outputDimensionality": 3}
        for t in TEXTS
    ]
    r = post(server, "/v1beta/models/e:batchEmbedContents", {"requests": requests})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json; charset=UTF-8"
    assert r.json() == {"embeddings": [{"values": fake_embedding(t, 3)} for t in TEXTS]}
    single = {"content": {"parts": [{"text": "a"}, {"text": "b"}]}}
    assert post(server, "/v1beta/models/e:embedContent", single).json() == {
        "embedding": {"values": fake_embedding("a b")}
    }


def test_vertex_predict_and_embed_content(server: FakeLLMServer) -> None:
    instances = [{"content": t, "task_type": "RETRIEVAL_QUERY"} for t in TEXTS]
    body = {"instances": instances, "parameters": {"outputDimensionality": 4}}
    reply = post(server, f"{VERTEX_PATH}/text-embedding-005:predict", body).json()
    assert reply["metadata"] == {"billableCharacterCount": sum(len(t) for t in TEXTS)}
    assert reply["predictions"] == [
        {
            "embeddings": {
                "statistics": {"token_count": fake_token_count(t), "truncated": False},
                "values": fake_embedding(t, 4),
            }
        }
        for t in TEXTS
    ]
    content = {"content": {"parts": [{"text": "hello there"}]}}
    reply = post(server, f"{VERTEX_PATH}/gemini-embedding-2:embedContent", content).json()
    assert reply == {
        "embedding": {"values": fake_embedding("hello there")},
        "usageMetadata": {"promptTokenCount": 2, "totalTokenCount": 2},
    }


def test_ollama_embed(server: FakeLLMServer) -> None:
    r = post(server, "/api/embed", {"model": "all-minilm", "input": TEXTS, "dimensions": 6})
    body = r.json()
    assert r.status_code == 200
    assert body["model"] == "all-minilm"
    assert body["embeddings"] == [fake_embedding(t, 6) for t in TEXTS]
    assert body["prompt_eval_count"] == tokens(TEXTS)
    assert isinstance(body["total_duration"], int)


def test_bedrock_titan_cohere_and_an_unknown_family(server: FakeLLMServer) -> None:
    r = post(server, "/model/amazon.titan-embed-text-v2%3A0/invoke", {"inputText": "a b c"})
    assert r.json() == {
        "embedding": fake_embedding("a b c"),
        "embeddingsByType": {"float": fake_embedding("a b c")},
        "inputTextTokenCount": 3,
    }
    assert r.headers["x-amzn-bedrock-input-token-count"] == "3"
    payload = {"texts": TEXTS, "input_type": "search_document", "output_dimension": 2}
    r = post(server, "/model/cohere.embed-v4%3A0/invoke", payload)
    body = r.json()
    assert body["embeddings"] == [fake_embedding(t, 2) for t in TEXTS]
    assert body["response_type"] == "embeddings_floats"
    assert body["texts"] == [t.lower() for t in TEXTS]
    assert r.headers["x-amzn-bedrock-input-token-count"] == str(tokens(TEXTS))
    typed = post(
        server, "/model/cohere.embed-v4%3A0/invoke", {**payload, "embedding_types": ["float"]}
    )
    assert typed.json()["embeddings"] == {"float": [fake_embedding(t, 2) for t in TEXTS]}
    r = post(server, "/model/meta.llama3-8b-instruct-v1%3A0/invoke", {"prompt": "hi"})
    assert r.status_code == 400
    assert r.headers["x-amzn-errortype"].startswith("ValidationException:")
    assert "meta.llama3-8b-instruct-v1:0" in r.json()["message"]


@pytest.mark.parametrize(
    ("path", "body", "check"),
    [
        ("/v1/embeddings", {"model": "m", "input": []}, lambda b: b["error"]["type"]),
        ("/v1/embeddings", {"model": "m", "input": "x", "dimensions": 0}, lambda b: b["error"]),
        ("/v1beta/models/e:batchEmbedContents", {"requests": []}, lambda b: b["error"]["status"]),
        ("/v1beta/models/e:embedContent", {"content": {}}, lambda b: b["error"]["code"]),
        (f"{VERTEX_PATH}/m:predict", {"instances": [{"text": "x"}]}, lambda b: b["error"]),
        ("/api/embed", {"model": "m", "input": [1, 2]}, lambda b: b["error"]),
        ("/model/cohere.embed-v4%3A0/invoke", {"texts": ["a"]}, lambda b: b["message"]),
        ("/model/amazon.titan-embed-text-v2%3A0/invoke", {}, lambda b: b["message"]),
    ],
)
def test_a_body_the_wire_format_cannot_read_gets_a_400(
    server: FakeLLMServer, path: str, body: Any, check: Callable[[Any], Any]
) -> None:
    r = post(server, path, body)
    assert r.status_code == 400
    assert check(r.json())


# -- recording, scripted errors and failures --------------------------------------------------


def test_paths_outside_the_embeddings_formats_are_not_served(server: FakeLLMServer) -> None:
    # Ollama's superseded /api/embeddings is not OpenAI's /embeddings
    assert post(server, "/api/embeddings", {"model": "m", "prompt": "x"}).status_code == 404
    assert post(server, "/model/x/invoke-with-response-stream", {}).status_code == 404


def test_embeddings_requests_are_recorded(server: FakeLLMServer) -> None:
    payload = {"model": "m", "input": TEXTS, "encoding_format": "float"}
    post(server, "/v1/embeddings", payload)
    recorded = server.last_request
    assert recorded.method == "POST"
    assert recorded.path == "/v1/embeddings"
    assert recorded.json == payload
    assert json.loads(recorded.body) == payload
    assert recorded.headers["content-type"] == "application/json"


ERROR_CASES = [
    ("/v1/embeddings", {"model": "m", "input": "x"}, lambda b: b["error"]["message"]),
    (
        "/v1beta/models/e:batchEmbedContents",
        {"requests": [{"model": "models/e", "content": {"parts": [{"text": "x"}]}}]},
        lambda b: b["error"]["message"],
    ),
    (
        f"{VERTEX_PATH}/m:predict",
        {"instances": [{"content": "x"}]},
        lambda b: b["error"]["message"],
    ),
    ("/api/embed", {"model": "m", "input": "x"}, lambda b: b["error"]),
    (
        "/model/cohere.embed-v4%3A0/invoke",
        {"texts": ["x"], "input_type": "x"},
        lambda b: b["message"],
    ),
]


@pytest.mark.parametrize(("path", "body", "message"), ERROR_CASES)
def test_a_scripted_error_applies_to_the_next_embeddings_request(
    server: FakeLLMServer, path: str, body: Any, message: Callable[[Any], str]
) -> None:
    server.enqueue(ScriptedReply.error(429, "slow down", headers={"retry-after": "2"}))
    r = post(server, path, body)
    assert r.status_code == 429
    assert r.headers["retry-after"] == "2"
    assert message(r.json()) == "slow down"
    assert server.pending == 0
    assert post(server, path, body).status_code == 200  # the queue is consumed


def test_scripted_model_headers_and_transport_failures(server: FakeLLMServer) -> None:
    server.enqueue(ScriptedReply(model="pinned-model", headers={"x-request-id": "req_fixed"}))
    r = post(server, "/v1/embeddings", {"model": "m", "input": "x"})
    assert r.json()["model"] == "pinned-model"
    assert r.headers["x-request-id"] == "req_fixed"
    server.enqueue(ScriptedReply(disconnect=True))
    with pytest.raises(httpx.TransportError):
        post(server, "/api/embed", {"model": "m", "input": "x"})
    assert post(server, "/api/embed", {"model": "m", "input": "x"}).status_code == 200
    raw = b'{"embeddings": [[1.0]]}'
    server.enqueue(ScriptedReply.raw(200, {"content-type": "application/json"}, raw))
    assert post(server, "/api/embed", {"model": "m", "input": "x"}).content == raw


# -- the codecs and the fake server agree ------------------------------------------------------


def _codecs(server: FakeLLMServer) -> list[tuple[str, Any, str, list[str] | str]]:
    vertex = {"project": "p", "location": "global"}
    bedrock = BedrockProvider(
        region="us-east-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="fake-secret-0123456789",
        endpoint_url=server.url,
    )
    gemini = gemini_create(ProviderSettings("gemini", "k-123", server.base_url("gemini")))
    vertex_codec = gemini_create(
        ProviderSettings("gemini", "tok-123", server.url + "/aiplatform.googleapis.com", vertex)
    )
    return [
        (
            "openai",
            openai_create(ProviderSettings("openai", "sk-1", server.base_url("openai"))),
            "e",
            TEXTS,
        ),
        ("xai", xai_create(ProviderSettings("xai", "xai-1", server.base_url("xai"))), "v1", TEXTS),
        ("gemini batch", gemini, "gemini-embedding-001", TEXTS),
        ("gemini single", gemini, "gemini-embedding-001", "a single text"),
        ("vertex predict", vertex_codec, "text-embedding-005", TEXTS),
        ("vertex embedContent", vertex_codec, "gemini-embedding-2", "one text only"),
        (
            "ollama",
            ollama_create(ProviderSettings("ollama", None, server.url)),
            "all-minilm",
            TEXTS,
        ),
        ("bedrock titan", bedrock, "amazon.titan-embed-text-v2:0", "titan text"),
        ("bedrock cohere", bedrock, "cohere.embed-english-v3", TEXTS),
    ]


@pytest.mark.parametrize("dimensions", [None, 3])
def test_every_codec_round_trips_through_the_fake_server(
    server: FakeLLMServer, dimensions: int | None
) -> None:
    for name, codec, model, inputs in _codecs(server):
        if dimensions is not None and model == "cohere.embed-english-v3":
            continue  # Cohere v3 takes no dimensions
        request = EmbeddingsRequest(model=model, input=inputs, dimensions=dimensions)
        http = codec.build_embeddings_request(request)
        r = httpx.post(http.url, headers=dict(http.headers), content=http.content, timeout=TIMEOUT)
        assert r.status_code == 200, (name, r.text)
        parsed = codec.parse_embeddings_response(
            HTTPResponse(r.status_code, r.headers, r.content), request
        )
        size = dimensions or DEFAULT_DIMENSIONS
        assert parsed.vectors == [fake_embedding(t, size) for t in request.inputs], name
        assert parsed.provider == codec.name
        expected = 0 if name.startswith("gemini") else tokens(request.inputs)
        assert parsed.usage.prompt_tokens == parsed.usage.total_tokens == expected, name
        assert server.last_request.json == json.loads(http.content or b"null"), name


def test_a_scripted_error_reaches_each_codec_as_its_typed_error(server: FakeLLMServer) -> None:
    for name, codec, model, inputs in _codecs(server):
        server.enqueue(ScriptedReply.error(429, "too many", headers={"retry-after": "3"}))
        http = codec.build_embeddings_request(EmbeddingsRequest(model=model, input=inputs))
        r = httpx.post(http.url, headers=dict(http.headers), content=http.content, timeout=TIMEOUT)
        error = codec.parse_error(HTTPResponse(r.status_code, r.headers, r.content))
        assert isinstance(error, RateLimitError), name
        assert isinstance(error, APIError)
        assert error.retry_after == 3.0, name
        assert "too many" in error.message, name
