"""The Ollama embeddings codec, pure: ``POST /api/embed`` bodies and URLs, reply parsing,
garbled replies.

The corpus holds no Ollama embeddings recording (``/api/embed`` was recorded nowhere its
authors searched), so replies here are the shape of the example in Ollama's API reference
("Generate Embeddings"): ``{"model", "embeddings": [[...]], "total_duration",
"load_duration", "prompt_eval_count"}``.
"""

from __future__ import annotations

from typing import Any

import pytest

from _embedding_helpers import embeddings_files, json_reply, sent_json
from metallm import (
    EmbeddingsRequest,
    InvalidRequestError,
    ResponseValidationError,
    UnsupportedFeatureError,
)
from metallm.provider import EmbeddingsCodec, HTTPResponse, ProviderSettings
from metallm.providers.ollama import OllamaProvider, create
from metallm.testing.corpus import load_corpus_entry

MODEL = "all-minilm"


def make(key: str | None = None, base: str = "") -> OllamaProvider:
    return create(ProviderSettings("ollama", key, base))


def req(input: str | list[str], **kw: Any) -> EmbeddingsRequest:
    return EmbeddingsRequest(model=MODEL, input=input, **kw)


def reference_reply(vectors: list[list[Any]], prompt_eval_count: Any = 8) -> dict[str, Any]:
    return {
        "model": MODEL,
        "embeddings": vectors,
        "total_duration": 14143917,
        "load_duration": 1019500,
        "prompt_eval_count": prompt_eval_count,
    }


def test_codec_implements_the_embeddings_protocol() -> None:
    assert isinstance(make(), EmbeddingsCodec)
    assert make().max_embeddings_inputs == 2048


def test_any_ollama_embeddings_recording_parses() -> None:
    # none today (see the module docstring); one added later is checked here
    for path in embeddings_files("ollama"):
        entry = load_corpus_entry(path)
        inputs = entry.request_body["input"]
        request = req(inputs)
        reply = HTTPResponse(entry.status, entry.response_headers, entry.body_bytes)
        parsed = make().parse_embeddings_response(reply, request)
        assert len(parsed.data) == len(request.inputs), path.name


def test_request_body_and_url_follow_the_reference() -> None:
    http = make().build_embeddings_request(req(["Why is the sky blue?", "Why is the grass green?"]))
    assert http.method == "POST"
    assert http.url == "http://localhost:11434/api/embed"
    assert http.headers["content-type"] == "application/json"
    assert http.headers["accept"] == "application/json"
    assert "authorization" not in http.headers
    assert sent_json(http) == {
        "model": MODEL,
        "input": ["Why is the sky blue?", "Why is the grass green?"],
    }


def test_options_ride_in_extra_and_dimensions_is_sent() -> None:
    request = req(
        "hi",
        dimensions=384,
        extra={"truncate": False, "options": {"num_ctx": 512}, "keep_alive": "10m"},
    )
    http = make("proxy-key-123", "http://gpu-box:11434/").build_embeddings_request(request)
    assert http.url == "http://gpu-box:11434/api/embed"
    assert http.headers["authorization"] == "Bearer proxy-key-123"
    assert sent_json(http) == {
        "model": MODEL,
        "input": "hi",
        "dimensions": 384,
        "truncate": False,
        "options": {"num_ctx": 512},
        "keep_alive": "10m",
    }


def test_extra_none_removes_a_field_and_encoding_format_is_not_sent() -> None:
    request = req("hi", dimensions=3, encoding_format="float", extra={"dimensions": None})
    assert sent_json(make().build_embeddings_request(request)) == {"model": MODEL, "input": "hi"}


def test_user_and_oversized_batches_are_refused_before_io() -> None:
    with pytest.raises(UnsupportedFeatureError, match="ollama does not support user"):
        make().build_embeddings_request(req("x", user="u"))
    make().build_embeddings_request(req(["x"] * 2048))
    with pytest.raises(InvalidRequestError, match="2049 embeddings inputs"):
        make().build_embeddings_request(req(["x"] * 2049))


def test_reference_reply_field_by_field() -> None:
    vectors = [[0.010071029, -0.0017594862, 0.05007221], [-0.0098027075, 0.06042469, 0.025257962]]
    parsed = make().parse_embeddings_response(
        json_reply(reference_reply(vectors)), req(["Why is the sky blue?", "Why is the grass?"])
    )
    assert parsed.vectors == vectors
    assert [item.index for item in parsed.data] == [0, 1]
    assert parsed.model == MODEL
    assert parsed.provider == "ollama"
    assert parsed.dimensions == 3
    assert (parsed.usage.prompt_tokens, parsed.usage.total_tokens) == (8, 8)


def test_go_style_integer_zeros_become_floats_and_missing_count_is_zero() -> None:
    body = {"model": MODEL, "embeddings": [[0, 0.5, -1]]}
    parsed = make().parse_embeddings_response(json_reply(body), req("x"))
    assert parsed.vectors == [[0.0, 0.5, -1.0]]
    assert all(type(x) is float for x in parsed.vectors[0])
    assert (parsed.usage.prompt_tokens, parsed.usage.total_tokens) == (0, 0)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"{", "not JSON"),
        ('"text"', "not a JSON object"),
        ({"embedding": [1.0]}, "no 'embeddings' list"),
        ({"embeddings": [[1.0], "x"]}, r"embeddings\[1\] is not a list of numbers"),
        ({"embeddings": [[]]}, r"embeddings\[0\] is not a list of numbers"),
        ({"embeddings": [[1.0]], "prompt_eval_count": "8"}, "'prompt_eval_count' is not"),
        ({"error": "model 'x' not found"}, "no 'embeddings' list: model 'x' not found"),
    ],
)
def test_garbled_replies_raise_response_validation_error(body: Any, why: str) -> None:
    with pytest.raises(ResponseValidationError, match=why) as info:
        make().parse_embeddings_response(json_reply(body), req(["a", "b"]))
    assert info.value.provider == "ollama"


def test_short_and_ragged_replies_raise_with_the_counts() -> None:
    with pytest.raises(ResponseValidationError, match="has 1 vectors for 2 inputs"):
        make().parse_embeddings_response(json_reply(reference_reply([[1.0]])), req(["a", "b"]))
    ragged = reference_reply([[1.0, 2.0], [3.0]])
    with pytest.raises(ResponseValidationError, match=r"differing length \(2 and 1, vector 1\)"):
        make().parse_embeddings_response(json_reply(ragged), req(["a", "b"]))
