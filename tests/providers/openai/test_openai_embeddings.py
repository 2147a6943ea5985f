"""The OpenAI embeddings codec, pure: corpus replies field by field, request bodies and URLs
exactly as OpenAI's reference has them, base64 decoding, garbled replies.

Expected bodies follow OpenAI's "Create embeddings" reference: ``model``, ``input``,
optional ``dimensions`` and ``user``, and ``encoding_format`` (``base64`` unless the request
asks for ``float``, as the official SDK does).
"""

from __future__ import annotations

import base64
import math
import struct
from typing import Any

import pytest

from _embedding_helpers import (
    b64_floats,
    embeddings_entry,
    embeddings_files,
    float32,
    json_reply,
    recorded_json,
    recorded_reply,
    sent_json,
)
from metallm import EmbeddingsRequest, InvalidRequestError, NotFoundError, ResponseValidationError
from metallm.provider import EmbeddingsCodec, HTTPResponse, ProviderSettings
from metallm.providers.openai import OpenAIProvider, create

KEY = "sk-test-0123456789abcdef"
BASE = "https://api.openai.com/v1"
MODEL = "text-embedding-3-small"


def make(**extra: Any) -> OpenAIProvider:
    return create(ProviderSettings("openai", KEY, BASE, extra))


def req(input: str | list[str] = "hello", **kw: Any) -> EmbeddingsRequest:
    return EmbeddingsRequest(model=kw.pop("model", MODEL), input=input, **kw)


def reply(vectors: list[Any], *, usage: Any = None, model: str = MODEL) -> HTTPResponse:
    body: dict[str, Any] = {
        "object": "list",
        "data": [
            {"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)
        ],
        "model": model,
    }
    if usage is not None:
        body["usage"] = usage
    return json_reply(body)


def test_codec_implements_the_embeddings_protocol() -> None:
    codec = make()
    assert isinstance(codec, EmbeddingsCodec)
    assert codec.max_embeddings_inputs == 2048


# -- corpus -------------------------------------------------------------------------------------


def test_every_openai_embeddings_recording_parses_or_maps_to_its_error() -> None:
    files = embeddings_files("openai")
    if not files:
        embeddings_entry("openai", "embeddings_base64_multi_input")  # skips or fails visibly
    codec = make()
    for path in files:
        entry = embeddings_entry("openai", path.stem)
        reply = recorded_reply(entry)
        if entry.status >= 400:
            assert codec.parse_error(reply).status_code == entry.status
            continue
        request = req(entry.request_body["input"], model=entry.request_body["model"])
        parsed = codec.parse_embeddings_response(reply, request)
        assert len(parsed.data) == len(entry.request_body["input"]), path.name


def test_base64_recording_field_by_field() -> None:
    entry = embeddings_entry("openai", "embeddings_base64_multi_input")
    codec = make()
    request = req(["hello", "world"])
    assert sent_json(codec.build_embeddings_request(request)) == entry.request_body
    parsed = codec.parse_embeddings_response(recorded_reply(entry), request)
    raw = recorded_json(entry)
    assert parsed.model == "text-embedding-3-small"
    assert parsed.provider == "openai"
    assert [item.index for item in parsed.data] == [0, 1]
    assert parsed.dimensions == 1536
    for item, wire in zip(parsed.data, raw["data"], strict=True):
        expected = list(struct.unpack("<1536f", base64.b64decode(wire["embedding"])))
        assert item.embedding == expected
        assert all(type(x) is float for x in item.embedding)
        assert math.isclose(math.fsum(x * x for x in item.embedding), 1.0, abs_tol=1e-6)
    assert parsed.usage.prompt_tokens == 2
    assert parsed.usage.total_tokens == 2
    assert parsed.object == "list"


def test_float_recording_field_by_field() -> None:
    entry = embeddings_entry("openai", "embeddings_float_multi_input")
    codec = make()
    request = req(
        ["hello", "world", "test"], model="text-embedding-ada-002", encoding_format="float"
    )
    assert sent_json(codec.build_embeddings_request(request)) == {
        "model": "text-embedding-ada-002",
        "input": ["hello", "world", "test"],
        "encoding_format": "float",
    }
    parsed = codec.parse_embeddings_response(recorded_reply(entry), request)
    raw = recorded_json(entry)
    assert parsed.model == "text-embedding-ada-002-v2"  # the model the reply names
    assert parsed.vectors == [item["embedding"] for item in raw["data"]]
    assert len(parsed.data) == 3
    assert parsed.dimensions == 1536
    assert parsed.data[0].embedding[:3] == [-0.025122926, -0.019487135, -0.0280202]
    assert (parsed.usage.prompt_tokens, parsed.usage.total_tokens) == (3, 3)


def test_error_recording_is_not_found_with_code_and_message() -> None:
    entry = embeddings_entry("openai", "embeddings_error_404_model_not_found")
    error = make().parse_error(recorded_reply(entry))
    assert isinstance(error, NotFoundError)
    assert error.status_code == 404
    assert error.code == "model_not_found"
    assert error.type == "invalid_request_error"
    assert error.message == (
        "The model `nonexistent` does not exist or you do not have access to it."
    )
    assert error.provider == "openai"


# -- requests -----------------------------------------------------------------------------------


def test_default_request_asks_for_base64_at_the_embeddings_url() -> None:
    http = make().build_embeddings_request(req(["a", "b"]))
    assert http.method == "POST"
    assert http.url == "https://api.openai.com/v1/embeddings"
    assert http.headers["authorization"] == f"Bearer {KEY}"
    assert http.headers["content-type"] == "application/json"
    assert http.headers["accept"] == "application/json"
    assert sent_json(http) == {"model": MODEL, "input": ["a", "b"], "encoding_format": "base64"}


def test_a_single_string_input_is_sent_as_a_string() -> None:
    http = make().build_embeddings_request(req("just one"))
    assert sent_json(http) == {"model": MODEL, "input": "just one", "encoding_format": "base64"}


def test_every_field_in_reference_order() -> None:
    request = req(["a"], dimensions=256, user="user-42", encoding_format="float")
    body = sent_json(make().build_embeddings_request(request))
    assert body == {
        "model": MODEL,
        "input": ["a"],
        "dimensions": 256,
        "user": "user-42",
        "encoding_format": "float",
    }
    assert list(body) == ["model", "input", "dimensions", "user", "encoding_format"]


def test_extra_is_merged_last_and_none_removes_a_field() -> None:
    request = req(["a"], extra={"encoding_format": None, "input_type": "query", "model": "other"})
    assert sent_json(make().build_embeddings_request(request)) == {
        "model": "other",
        "input": ["a"],
        "input_type": "query",
    }


def test_organization_and_project_headers_and_a_custom_base_url() -> None:
    codec = create(
        ProviderSettings(
            "openai", KEY, "http://localhost:8080/v1/", {"organization": "org-1", "project": "p"}
        )
    )
    http = codec.build_embeddings_request(req())
    assert http.url == "http://localhost:8080/v1/embeddings"
    assert http.headers["OpenAI-Organization"] == "org-1"
    assert http.headers["OpenAI-Project"] == "p"


def test_more_inputs_than_the_reference_allows_are_refused_before_io() -> None:
    codec = make()
    codec.build_embeddings_request(req(["x"] * 2048))
    with pytest.raises(InvalidRequestError, match=r"2049 embeddings inputs.*at most 2048"):
        codec.build_embeddings_request(req(["x"] * 2049))


# -- base64 -------------------------------------------------------------------------------------


def test_base64_vectors_decode_to_the_floats_that_were_encoded() -> None:
    first = [0.5, -1.25, 3.0, 1e-3, -0.1]
    second = [0.0, 1.0, -2.5, 7.75, 1e-7]
    parsed = make().parse_embeddings_response(
        reply([b64_floats(first), b64_floats(second)], usage={"prompt_tokens": 4}),
        req(["a", "b"]),
    )
    assert parsed.vectors == [float32(first), float32(second)]
    assert parsed.vectors[0][:3] == [0.5, -1.25, 3.0]  # exact in float32
    assert parsed.vectors[0][3] == struct.unpack("<f", struct.pack("<f", 1e-3))[0] != 1e-3
    assert (parsed.usage.prompt_tokens, parsed.usage.total_tokens) == (4, 4)


def test_float_and_base64_items_may_mix_and_integers_become_floats() -> None:
    parsed = make().parse_embeddings_response(
        reply([[0, 1, 0.5], b64_floats([0.25, 0.5, 0.75])]), req(["a", "b"])
    )
    assert parsed.vectors == [[0.0, 1.0, 0.5], [0.25, 0.5, 0.75]]
    assert all(type(x) is float for x in parsed.vectors[0])
    assert (parsed.usage.prompt_tokens, parsed.usage.total_tokens) == (0, 0)


def test_out_of_order_indexes_are_put_in_input_order() -> None:
    body = {
        "data": [
            {"index": 1, "embedding": [2.0, 2.0]},
            {"index": 0, "embedding": [1.0, 1.0]},
        ],
        "model": MODEL,
    }
    parsed = make().parse_embeddings_response(json_reply(body), req(["a", "b"]))
    assert parsed.vectors == [[1.0, 1.0], [2.0, 2.0]]
    assert [item.index for item in parsed.data] == [0, 1]


def test_the_request_model_stands_in_when_the_reply_names_none() -> None:
    body = {"data": [{"index": 0, "embedding": [1.0]}]}
    assert make().parse_embeddings_response(json_reply(body), req(["a"])).model == MODEL


# -- garbled replies ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"<html>busy</html>", "not JSON"),
        ([1, 2], "not a JSON object"),
        ({"object": "list"}, "no 'data' list"),
        ({"data": ["x"]}, r"data\[0\] is not an object"),
        ({"data": [{"index": "0", "embedding": [1.0]}]}, r"data\[0\].index is not an integer"),
        ({"data": [{"index": 0, "embedding": "@@not base64@@"}]}, "nor base64 float32"),
        ({"data": [{"index": 0, "embedding": "AAAA"}]}, "nor base64 float32"),  # 3 bytes
        ({"data": [{"index": 0, "embedding": ""}]}, "nor base64 float32"),
        ({"data": [{"index": 0, "embedding": [1.0, "2"]}]}, "neither a list of numbers"),
        ({"data": [{"index": 0, "embedding": [1.0, None]}]}, "neither a list of numbers"),
        ({"data": [{"index": 0, "embedding": [True, 1.0]}]}, "neither a list of numbers"),
        ({"data": [{"index": 0, "embedding": []}]}, "neither a list of numbers"),
        ({"data": [{"index": 0}]}, "neither a list of numbers"),
        ({"data": [{"index": 0, "embedding": [1.0]}], "usage": 3}, "'usage' is not an object"),
        (
            {"data": [{"index": 0, "embedding": [1.0]}], "usage": {"prompt_tokens": -1}},
            "usage counts",
        ),
    ],
)
def test_garbled_replies_raise_response_validation_error(body: Any, why: str) -> None:
    with pytest.raises(ResponseValidationError, match=why) as info:
        make().parse_embeddings_response(json_reply(body), req(["a"]))
    assert info.value.provider == "openai"
    assert info.value.status_code == 200


def test_fewer_vectors_than_inputs_raise_with_the_counts() -> None:
    with pytest.raises(ResponseValidationError, match="has 1 vectors for 3 inputs"):
        make().parse_embeddings_response(reply([[1.0, 2.0]]), req(["a", "b", "c"]))


def test_ragged_vectors_raise_with_the_lengths() -> None:
    with pytest.raises(ResponseValidationError, match=r"differing length \(2 and 3, vector 1\)"):
        make().parse_embeddings_response(reply([[1.0, 2.0], [1.0, 2.0, 3.0]]), req(["a", "b"]))


def test_indexes_that_do_not_cover_the_inputs_raise() -> None:
    body = {"data": [{"index": 0, "embedding": [1.0]}, {"index": 5, "embedding": [1.0]}]}
    with pytest.raises(ResponseValidationError, match=r"indexes \[0, 5\] do not cover 0..1"):
        make().parse_embeddings_response(json_reply(body), req(["a", "b"]))


def test_a_garbled_reply_echoing_the_key_is_redacted() -> None:
    body = {"data": "oops", "error": {"message": f"bad key {KEY}"}}
    with pytest.raises(ResponseValidationError) as info:
        make().parse_embeddings_response(json_reply(body), req(["a"]))
    assert KEY not in str(info.value)
    assert "[REDACTED]" in str(info.value)
