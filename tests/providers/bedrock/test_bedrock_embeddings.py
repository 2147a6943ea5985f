"""The Bedrock embeddings codec, pure: InvokeModel for Amazon Titan text embeddings and Cohere
Embed, corpus replies field by field, exact bodies and URLs, SigV4, limits, unsupported
families, garbled replies.

Expected bodies follow the Bedrock user guide's model parameter pages: Titan Text Embeddings
V2 ``{"inputText", "dimensions", "normalize"}`` (one text per request) and Cohere Embed
``{"texts", "input_type", "truncate", "embedding_types"}`` (at most 96 texts; v4 also
``output_dimension``).
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
    EmbeddingsRequest,
    InvalidRequestError,
    ResponseValidationError,
    UnsupportedFeatureError,
)
from metallm.provider import EmbeddingsCodec
from metallm.providers.bedrock import BedrockProvider

AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
ENDPOINT = "https://bedrock-runtime.us-east-1.amazonaws.com"
TITAN = "amazon.titan-embed-text-v2:0"
COHERE = "cohere.embed-english-v3"


def codec() -> BedrockProvider:
    return BedrockProvider(region="us-east-1", aws_access_key_id=AKID, aws_secret_access_key=SECRET)


def req(input: str | list[str], model: str, **kw: Any) -> EmbeddingsRequest:
    return EmbeddingsRequest(model=model, input=input, **kw)


def signature_checks(method: str, url: str, headers: dict[str, str], body: bytes) -> None:
    """Recompute the SigV4 signature with botocore from what was sent."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    scheme, _, rest = headers["authorization"].partition(" ")
    assert scheme == "AWS4-HMAC-SHA256"
    fields = dict(part.strip().split("=", 1) for part in rest.split(","))
    signed = [h for h in fields["SignedHeaders"].split(";") if h != "host" or h in headers]
    aws = AWSRequest(method=method, url=url, data=body, headers={h: headers[h] for h in signed})
    aws.context["timestamp"] = headers["x-amz-date"]
    auth = SigV4Auth(Credentials(AKID, SECRET), "bedrock", "us-east-1")
    expected = auth.signature(auth.string_to_sign(aws, auth.canonical_request(aws)), aws)
    assert fields["Signature"] == expected
    assert fields["Credential"].endswith("/us-east-1/bedrock/aws4_request")


def test_codec_implements_the_embeddings_protocol_with_per_model_limits() -> None:
    c = codec()
    assert isinstance(c, EmbeddingsCodec)
    assert c.max_embeddings_inputs == 1
    assert c.embeddings_batch_limit(req("a", TITAN)) == 1
    assert c.embeddings_batch_limit(req("a", COHERE)) == 96
    assert c.embeddings_batch_limit(req("a", "us.cohere.embed-v4:0")) == 96


# -- corpus -------------------------------------------------------------------------------------


def test_every_bedrock_embeddings_recording_parses() -> None:
    files = embeddings_files("bedrock")
    if not files:
        embeddings_entry("bedrock", "embeddings_titan_v2")  # skips or fails visibly
    for path in files:
        entry = embeddings_entry("bedrock", path.stem)
        model = entry.request_path.split("/")[2].replace("%3A", ":")
        texts = entry.request_body.get("texts") or [entry.request_body["inputText"]]
        parsed = codec().parse_embeddings_response(recorded_reply(entry), req(texts, model))
        assert len(parsed.data) == len(texts), path.name


def test_titan_v2_recording_field_by_field() -> None:
    entry = embeddings_entry("bedrock", "embeddings_titan_v2")
    request = req("Hello, world!", TITAN, extra={"normalize": True})
    http = codec().build_embeddings_request(request)
    assert http.url == ENDPOINT + entry.request_path
    assert http.url == f"{ENDPOINT}/model/amazon.titan-embed-text-v2%3A0/invoke"
    assert (
        sent_json(http) == entry.request_body == {"inputText": "Hello, world!", "normalize": True}
    )
    parsed = codec().parse_embeddings_response(recorded_reply(entry), request)
    raw = recorded_json(entry)
    assert parsed.vectors == [raw["embedding"]]
    assert parsed.dimensions == 1024
    assert parsed.data[0].embedding[:2] == [-0.05289186164736748, 0.11532749980688095]
    assert parsed.model == TITAN
    assert parsed.provider == "bedrock"
    assert (parsed.usage.prompt_tokens, parsed.usage.total_tokens) == (5, 5)


def test_cohere_v3_recording_field_by_field() -> None:
    entry = embeddings_entry("bedrock", "embeddings_cohere_v3")
    request = req(
        ["Hello, world!"], COHERE, extra={"input_type": "search_query", "truncate": "NONE"}
    )
    http = codec().build_embeddings_request(request)
    assert http.url == ENDPOINT + entry.request_path
    assert sent_json(http) == entry.request_body
    parsed = codec().parse_embeddings_response(recorded_reply(entry), request)
    assert parsed.vectors == recorded_json(entry)["embeddings"]
    assert parsed.dimensions == 1024
    assert parsed.data[0].embedding[:2] == [-0.042236328, -0.03250122]
    assert parsed.model == COHERE
    assert (parsed.usage.prompt_tokens, parsed.usage.total_tokens) == (0, 0)  # no count recorded


# -- requests -----------------------------------------------------------------------------------


def test_requests_are_signed_invoke_model_calls() -> None:
    http = codec().build_embeddings_request(req(["a", "b"], COHERE))
    assert http.method == "POST"
    assert http.url == f"{ENDPOINT}/model/cohere.embed-english-v3/invoke"
    assert http.headers["content-type"] == "application/json"
    assert http.headers["accept"] == "application/json"
    assert http.content is not None
    signature_checks("POST", http.url, dict(http.headers), http.content)


def test_titan_body_with_dimensions() -> None:
    body = sent_json(codec().build_embeddings_request(req("text", TITAN, dimensions=256)))
    assert body == {"inputText": "text", "dimensions": 256}


def test_cohere_body_defaults_to_search_document_and_takes_extra() -> None:
    http = codec().build_embeddings_request(req(["a", "b"], COHERE))
    assert sent_json(http) == {"texts": ["a", "b"], "input_type": "search_document"}
    request = req(
        "one",
        "us.cohere.embed-v4:0",
        dimensions=512,
        extra={"embedding_types": ["float", "int8"], "truncate": "RIGHT"},
    )
    http = codec().build_embeddings_request(request)
    assert http.url == f"{ENDPOINT}/model/us.cohere.embed-v4%3A0/invoke"
    assert sent_json(http) == {
        "texts": ["one"],
        "input_type": "search_document",
        "output_dimension": 512,
        "embedding_types": ["float", "int8"],
        "truncate": "RIGHT",
    }


def test_an_inference_profile_arn_is_recognised_and_quoted() -> None:
    arn = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.cohere.embed-v4:0"
    http = codec().build_embeddings_request(req(["a"], arn))
    assert http.url == (
        f"{ENDPOINT}/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile"
        "%2Fus.cohere.embed-v4%3A0/invoke"
    )


@pytest.mark.parametrize(
    "model",
    ["meta.llama3-8b-instruct-v1:0", "amazon.titan-embed-image-v1", "anthropic.claude-v2"],
)
def test_other_families_are_unsupported_before_io_naming_the_supported_ones(model: str) -> None:
    with pytest.raises(UnsupportedFeatureError) as info:
        codec().build_embeddings_request(req("x", model))
    message = str(info.value)
    assert info.value.provider == "bedrock"
    assert model in message
    assert "amazon.titan-embed-text-*" in message
    assert "cohere.embed-*" in message


def test_limits_and_unsupported_fields_are_refused_before_io() -> None:
    c = codec()
    with pytest.raises(InvalidRequestError, match=f"2 embeddings inputs.*{TITAN} takes at most 1"):
        c.build_embeddings_request(req(["a", "b"], TITAN))
    c.build_embeddings_request(req(["x"] * 96, COHERE))
    with pytest.raises(InvalidRequestError, match=r"97 embeddings inputs.*at most 96"):
        c.build_embeddings_request(req(["x"] * 97, COHERE))
    with pytest.raises(UnsupportedFeatureError, match="dimensions"):
        c.build_embeddings_request(req("x", "amazon.titan-embed-text-v1", dimensions=256))
    with pytest.raises(UnsupportedFeatureError, match="dimensions"):
        c.build_embeddings_request(req("x", COHERE, dimensions=256))
    with pytest.raises(UnsupportedFeatureError, match="embedding_types without 'float'"):
        c.build_embeddings_request(req("x", COHERE, extra={"embedding_types": ["int8"]}))
    with pytest.raises(UnsupportedFeatureError, match="user"):
        c.build_embeddings_request(req("x", TITAN, user="u"))


# -- replies ------------------------------------------------------------------------------------


def test_cohere_vectors_by_type_and_the_token_count_header() -> None:
    body = {
        "embeddings": {"float": [[0.5, 0.25], [0, 1]], "int8": [[1, 2], [3, 4]]},
        "id": "abc",
        "response_type": "embeddings_by_type",
        "texts": ["a", "b"],
    }
    reply = json_reply(body, headers={"x-amzn-bedrock-input-token-count": "7"})
    parsed = codec().parse_embeddings_response(reply, req(["a", "b"], COHERE))
    assert parsed.vectors == [[0.5, 0.25], [0.0, 1.0]]
    assert (parsed.usage.prompt_tokens, parsed.usage.total_tokens) == (7, 7)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"", "not JSON"),
        ("[1]", "not a JSON object"),
        ({"vectors": [[1.0]]}, "neither 'embedding' \\(Titan\\) nor 'embeddings' \\(Cohere\\)"),
        ({"embeddings": {"int8": [[1]]}}, "no list of float embeddings"),
        ({"embeddings": [["x"]]}, "vector 0 is not a list of numbers"),
        ({"embedding": None}, "vector 0 is not a list of numbers"),
        ({"embedding": [1.0], "inputTextTokenCount": -2}, "token count"),
        ({"message": "Malformed input request"}, "Malformed input request"),
    ],
)
def test_garbled_replies_raise_response_validation_error(body: Any, why: str) -> None:
    with pytest.raises(ResponseValidationError, match=why) as info:
        codec().parse_embeddings_response(json_reply(body), req("a", TITAN))
    assert info.value.provider == "bedrock"
    assert SECRET not in str(info.value)


def test_short_replies_raise_with_the_counts() -> None:
    with pytest.raises(ResponseValidationError, match="has 1 vectors for 2 inputs"):
        codec().parse_embeddings_response(
            json_reply({"embeddings": [[1.0]]}), req(["a", "b"], COHERE)
        )
