"""The Gemini embeddings codec, pure: Gemini API ``embedContent``/``batchEmbedContents`` and
Vertex AI ``predict``/``embedContent``, corpus replies field by field, exact bodies and URLs,
limits, garbled replies.

Expected bodies follow Google's references: the Gemini API Embeddings page
(``EmbedContentRequest``: ``content``, ``taskType``, ``title``, ``outputDimensionality``;
``batchEmbedContents``: ``requests`` each naming ``models/{model}``, at most 100) and Vertex's
Text embeddings API (``instances[].content``/``task_type``/``title``,
``parameters.outputDimensionality``).
"""

from __future__ import annotations

from typing import Any

import pytest

from _embedding_helpers import (
    embeddings_entry,
    embeddings_files,
    json_reply,
    recorded_json,
    recorded_reply,
    sent_json,
)
from metallm import (
    ConfigurationError,
    EmbeddingsRequest,
    InvalidRequestError,
    ResponseValidationError,
    UnsupportedFeatureError,
)
from metallm.provider import EmbeddingsCodec, ProviderSettings
from metallm.providers.gemini import GeminiProvider, create
from metallm.providers.gemini._embeddings import vertex_method

KEY = "AIza-test-0123456789abcdef"
TOKEN = "ya29.test-access-token-0123"
API = "https://generativelanguage.googleapis.com/v1beta/models"
VERTEX = "https://aiplatform.googleapis.com"


def gemini() -> GeminiProvider:
    return create(ProviderSettings("gemini", KEY, ""))


def vertex(**extra: Any) -> GeminiProvider:
    settings = {"project": "pydantic-ai", "location": "global", **extra}
    return create(ProviderSettings("gemini", TOKEN, VERTEX, settings))


def req(
    input: str | list[str], model: str = "gemini-embedding-001", **kw: Any
) -> EmbeddingsRequest:
    return EmbeddingsRequest(model=model, input=input, **kw)


def test_codec_implements_the_embeddings_protocol_with_per_model_limits() -> None:
    assert isinstance(gemini(), EmbeddingsCodec)
    assert gemini().max_embeddings_inputs == 100
    assert gemini().embeddings_batch_limit(req("a", "text-embedding-004")) == 100
    assert vertex().max_embeddings_inputs == 1
    assert vertex().embeddings_batch_limit(req("a", "text-embedding-005")) == 250
    assert vertex().embeddings_batch_limit(req("a", "text-multilingual-embedding-002")) == 250
    assert vertex().embeddings_batch_limit(req("a", "gemini-embedding-001")) == 1
    assert vertex().embeddings_batch_limit(req("a", "gemini-embedding-2")) == 1
    assert vertex_method("gemini-embedding-001") == "predict"
    assert vertex_method("text-embedding-005") == "predict"
    assert vertex_method("gemini-embedding-2-preview") == "embedContent"


# -- corpus -------------------------------------------------------------------------------------


def test_every_gemini_embeddings_recording_parses() -> None:
    files = embeddings_files("gemini")
    if not files:
        embeddings_entry("gemini", "embeddings_batch_embed_contents")  # skips or fails visibly
    for path in files:
        entry = embeddings_entry("gemini", path.stem)
        body = entry.request_body
        count = len(body.get("requests") or body.get("instances") or [body])
        parsed = gemini().parse_embeddings_response(recorded_reply(entry), req(["x"] * count))
        assert len(parsed.data) == count, path.name
        assert parsed.dimensions == 3072, path.name


def test_batch_embed_contents_recording_field_by_field() -> None:
    entry = embeddings_entry("gemini", "embeddings_batch_embed_contents")
    texts = ["Why is the sky blue?", "What is the capital of France?"]
    http = gemini().build_embeddings_request(req(texts))
    assert http.url == f"{API}/gemini-embedding-001:batchEmbedContents"
    assert entry.request_path == "/v1beta/models/gemini-embedding-001:batchEmbedContents"
    assert sent_json(http) == {
        "requests": [
            {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": texts[0]}]}},
            {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": texts[1]}]}},
        ]
    }
    parsed = gemini().parse_embeddings_response(recorded_reply(entry), req(texts))
    raw = recorded_json(entry)
    assert parsed.vectors == [e["values"] for e in raw["embeddings"]]
    assert parsed.data[0].embedding[:2] == [0.0022283257, 0.0126097845]
    assert [item.index for item in parsed.data] == [0, 1]
    assert parsed.model == "gemini-embedding-001"
    assert parsed.provider == "gemini"
    assert (parsed.usage.prompt_tokens, parsed.usage.total_tokens) == (0, 0)  # none reported


def test_vertex_predict_recording_field_by_field() -> None:
    entry = embeddings_entry("gemini", "embeddings_predict_vertex")
    codec = vertex(api_version="v1beta1")
    request = req("Hello, world!", extra={"task_type": "RETRIEVAL_QUERY"})
    http = codec.build_embeddings_request(request)
    assert http.url == VERTEX + entry.request_path
    assert http.headers["authorization"] == f"Bearer {TOKEN}"
    assert (
        sent_json(http)
        == entry.request_body
        == {"instances": [{"content": "Hello, world!", "task_type": "RETRIEVAL_QUERY"}]}
    )
    parsed = codec.parse_embeddings_response(recorded_reply(entry), request)
    values = recorded_json(entry)["predictions"][0]["embeddings"]["values"]
    assert parsed.vectors == [values]
    assert parsed.data[0].embedding[0] == -0.020920176059007645
    assert parsed.model == "gemini-embedding-001"
    assert (parsed.usage.prompt_tokens, parsed.usage.total_tokens) == (4, 4)  # token_count


def test_vertex_embed_content_recording_field_by_field() -> None:
    entry = embeddings_entry("gemini", "embeddings_embed_content_vertex")
    codec = vertex(api_version="v1beta1")
    text = "task: question answering | query: Hello, world!"
    request = req(text, "gemini-embedding-2")
    http = codec.build_embeddings_request(request)
    assert http.url == VERTEX + entry.request_path
    assert sent_json(http) == entry.request_body
    parsed = codec.parse_embeddings_response(recorded_reply(entry), request)
    assert parsed.vectors == [recorded_json(entry)["embedding"]["values"]]
    assert parsed.dimensions == 3072
    assert parsed.data[0].embedding[:2] == [-0.006532297, 0.020047152]
    assert parsed.model == "gemini-embedding-2"
    assert (parsed.usage.prompt_tokens, parsed.usage.total_tokens) == (11, 11)  # usageMetadata


# -- Gemini API requests ------------------------------------------------------------------------


def test_a_single_string_goes_to_embed_content_with_the_key_in_a_header() -> None:
    http = gemini().build_embeddings_request(req("hi there"))
    assert http.method == "POST"
    assert http.url == f"{API}/gemini-embedding-001:embedContent"
    assert KEY not in http.url
    assert http.headers["x-goog-api-key"] == KEY
    assert sent_json(http) == {"content": {"parts": [{"text": "hi there"}]}}


def test_a_list_goes_to_batch_embed_contents_with_every_option_per_request() -> None:
    request = req(
        ["doc one", "doc two"],
        "models/gemini-embedding-001",
        dimensions=768,
        extra={"task_type": "RETRIEVAL_DOCUMENT", "title": "Handbook"},
    )
    http = gemini().build_embeddings_request(request)
    assert http.url == f"{API}/gemini-embedding-001:batchEmbedContents"
    expected = [
        {
            "model": "models/gemini-embedding-001",
            "content": {"parts": [{"text": text}]},
            "taskType": "RETRIEVAL_DOCUMENT",
            "title": "Handbook",
            "outputDimensionality": 768,
        }
        for text in ("doc one", "doc two")
    ]
    assert sent_json(http) == {"requests": expected}


def test_a_list_of_one_is_still_a_batch() -> None:
    http = gemini().build_embeddings_request(req(["only"]))
    assert http.url.endswith(":batchEmbedContents")
    assert len(sent_json(http)["requests"]) == 1


def test_other_extra_keys_are_merged_into_each_request_and_none_removes() -> None:
    request = req("x", dimensions=8, extra={"outputDimensionality": None, "autoTruncate": False})
    assert sent_json(gemini().build_embeddings_request(request)) == {
        "content": {"parts": [{"text": "x"}]},
        "autoTruncate": False,
    }


def test_gemini_api_refuses_more_than_100_inputs_user_and_bad_options_before_io() -> None:
    gemini().build_embeddings_request(req(["x"] * 100))
    with pytest.raises(InvalidRequestError, match=r"101 embeddings inputs.*at most 100"):
        gemini().build_embeddings_request(req(["x"] * 101))
    with pytest.raises(UnsupportedFeatureError, match="user"):
        gemini().build_embeddings_request(req("x", user="u-1"))
    with pytest.raises(InvalidRequestError, match="task_type"):
        gemini().build_embeddings_request(req("x", extra={"task_type": 3}))
    with pytest.raises(ConfigurationError, match="invalid model name"):
        gemini().build_embeddings_request(req("x", "bad/model"))


# -- Vertex requests ----------------------------------------------------------------------------


def test_vertex_predict_batches_with_parameters() -> None:
    codec = vertex(location="us-central1")
    request = req(
        ["a", "b"],
        "text-embedding-005",
        dimensions=256,
        extra={"task_type": "RETRIEVAL_DOCUMENT", "title": "T", "autoTruncate": False},
    )
    http = codec.build_embeddings_request(request)
    assert http.url == (
        "https://aiplatform.googleapis.com/v1/projects/pydantic-ai/locations/us-central1/"
        "publishers/google/models/text-embedding-005:predict"
    )
    assert sent_json(http) == {
        "instances": [
            {"content": "a", "task_type": "RETRIEVAL_DOCUMENT", "title": "T"},
            {"content": "b", "task_type": "RETRIEVAL_DOCUMENT", "title": "T"},
        ],
        "parameters": {"outputDimensionality": 256, "autoTruncate": False},
    }


def test_vertex_embed_content_models_take_options_in_camel_case() -> None:
    request = req(["one"], "gemini-embedding-2", dimensions=128, extra={"task_type": "CLUSTERING"})
    http = vertex().build_embeddings_request(request)
    assert http.url.endswith("/publishers/google/models/gemini-embedding-2:embedContent")
    assert sent_json(http) == {
        "content": {"parts": [{"text": "one"}]},
        "taskType": "CLUSTERING",
        "outputDimensionality": 128,
    }


def test_vertex_limits_are_per_model_and_refused_before_io() -> None:
    codec = vertex()
    codec.build_embeddings_request(req(["x"] * 250, "text-embedding-005"))
    with pytest.raises(InvalidRequestError, match="at most 250"):
        codec.build_embeddings_request(req(["x"] * 251, "text-embedding-005"))
    with pytest.raises(InvalidRequestError, match="gemini-embedding-001 takes at most 1"):
        codec.build_embeddings_request(req(["x", "y"], "gemini-embedding-001"))
    with pytest.raises(InvalidRequestError, match="gemini-embedding-2 takes at most 1"):
        codec.build_embeddings_request(req(["x", "y"], "gemini-embedding-2"))


# -- garbled replies ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"not json", "not JSON"),
        ("[]", "not a JSON object"),
        ({"values": [1.0]}, "no 'embeddings', 'embedding' or 'predictions'"),
        ({"embeddings": {"values": [1.0]}}, "'embeddings' is not a list"),
        ({"embeddings": [{"value": [1.0]}]}, r"embeddings\[0\] has no 'values' list"),
        ({"embeddings": [{"values": ["1"]}]}, r"embeddings\[0\] has no 'values' list"),
        ({"embedding": [1.0]}, "embedding has no 'values' list"),
        ({"embedding": {"values": [1.0]}, "usageMetadata": []}, "'usageMetadata' is not an"),
        (
            {"embedding": {"values": [1.0]}, "usageMetadata": {"promptTokenCount": "3"}},
            "'usageMetadata' is garbled",
        ),
        ({"predictions": {}}, "'predictions' is not a list"),
        ({"predictions": [{"values": [1.0]}]}, r"predictions\[0\] has no embeddings.values"),
        (
            {"predictions": [{"embeddings": {"values": [1.0], "statistics": []}}]},
            r"predictions\[0\] statistics are garbled",
        ),
    ],
)
def test_garbled_replies_raise_response_validation_error(body: Any, why: str) -> None:
    with pytest.raises(ResponseValidationError, match=why) as info:
        gemini().parse_embeddings_response(json_reply(body), req("a"))
    assert info.value.provider == "gemini"


def test_short_and_ragged_replies_raise_with_the_counts() -> None:
    short = {"embeddings": [{"values": [1.0, 2.0]}]}
    with pytest.raises(ResponseValidationError, match="has 1 vectors for 2 inputs"):
        gemini().parse_embeddings_response(json_reply(short), req(["a", "b"]))
    ragged = {"predictions": [{"embeddings": {"values": v}} for v in ([1.0], [1.0, 2.0])]}
    with pytest.raises(ResponseValidationError, match=r"differing length \(1 and 2, vector 1\)"):
        vertex().parse_embeddings_response(json_reply(ragged), req(["a", "b"]))


def test_predict_usage_sums_every_instance_and_integers_become_floats() -> None:
    body = {
        "predictions": [
            {"embeddings": {"values": [0, 1], "statistics": {"token_count": 3}}},
            {"embeddings": {"values": [0.5, 0.25], "statistics": {"tokenCount": 4}}},
        ]
    }
    parsed = vertex().parse_embeddings_response(json_reply(body), req(["a", "b"]))
    assert parsed.vectors == [[0.0, 1.0], [0.5, 0.25]]
    assert all(type(x) is float for x in parsed.vectors[0])
    assert (parsed.usage.prompt_tokens, parsed.usage.total_tokens) == (7, 7)
