"""The xAI embeddings codec: OpenAI's implementation at xAI's endpoint.

xAI's API reference documents ``POST https://api.x.ai/v1/embeddings`` with OpenAI's fields
(``input``, ``model``, ``dimensions``, ``encoding_format`` float|base64, ``user``) and reply
(``data[].embedding``/``index``, ``usage.prompt_tokens``/``total_tokens``); it states no
per-request input limit, so OpenAI's 2,048 applies.
"""

from __future__ import annotations

import pytest

from _embedding_helpers import b64_floats, float32, json_reply, sent_json
from metallm import EmbeddingsRequest, InvalidRequestError
from metallm.provider import EmbeddingsCodec, ProviderSettings
from metallm.providers.xai import create

KEY = "xai-test-0123456789abcdef"


def test_xai_sends_openai_shaped_requests_to_its_own_endpoint() -> None:
    codec = create(ProviderSettings("xai", KEY, "", {"organization": "ignored"}))
    assert isinstance(codec, EmbeddingsCodec)
    assert codec.max_embeddings_inputs == 2048
    request = EmbeddingsRequest(model="v1", input=["query: a", "passage: b"], dimensions=64)
    http = codec.build_embeddings_request(request)
    assert http.url == "https://api.x.ai/v1/embeddings"
    assert http.headers["authorization"] == f"Bearer {KEY}"
    assert "OpenAI-Organization" not in http.headers
    assert sent_json(http) == {
        "model": "v1",
        "input": ["query: a", "passage: b"],
        "dimensions": 64,
        "encoding_format": "base64",
    }
    with pytest.raises(InvalidRequestError, match="at most 2048"):
        codec.build_embeddings_request(EmbeddingsRequest(model="v1", input=["x"] * 2049))


def test_xai_reply_parses_with_its_provider_name() -> None:
    codec = create(ProviderSettings("xai", KEY, ""))
    body = {
        "data": [{"embedding": b64_floats([0.1, 0.2]), "index": 0, "object": "embedding"}],
        "model": "v1",
        "object": "list",
        "usage": {"prompt_tokens": 12, "total_tokens": 12},
    }
    parsed = codec.parse_embeddings_response(
        json_reply(body), EmbeddingsRequest(model="v1", input="a")
    )
    assert parsed.provider == "xai"
    assert parsed.model == "v1"
    assert parsed.vectors == [float32([0.1, 0.2])]
    assert (parsed.usage.prompt_tokens, parsed.usage.total_tokens) == (12, 12)
