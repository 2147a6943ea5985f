"""The Anthropic codec and embeddings: refused before any I/O, naming Voyage AI.

Anthropic's documentation says it offers no embedding model and points to Voyage AI; the codec
implements the embeddings protocol only to say so.
"""

from __future__ import annotations

import pytest

from _embedding_helpers import json_reply
from metallm import EmbeddingsRequest, UnsupportedFeatureError
from metallm.provider import EmbeddingsCodec, ProviderSettings
from metallm.providers.anthropic import create

KEY = "sk-ant-test-0123456789"


def test_embeddings_requests_raise_unsupported_naming_voyage_ai() -> None:
    codec = create(ProviderSettings("anthropic", KEY, "http://127.0.0.1:9"))  # nothing listens
    assert isinstance(codec, EmbeddingsCodec)
    request = EmbeddingsRequest(model="voyage-3.5", input=["a", "b"])
    with pytest.raises(UnsupportedFeatureError) as info:
        codec.build_embeddings_request(request)
    assert info.value.provider == "anthropic"
    assert "Voyage AI" in str(info.value)
    assert "anthropic does not support embeddings" in str(info.value)
    with pytest.raises(UnsupportedFeatureError, match="Voyage AI"):
        codec.parse_embeddings_response(json_reply({"data": []}), request)
