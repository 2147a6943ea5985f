"""The OpenAI Chat Completions provider: a pure codec for ``POST {base_url}/chat/completions``.

:class:`OpenAIProvider` is a :class:`metallm.provider.HTTPCodec` (name, base URL, secrets,
headers, error parsing come from the kit): it builds the request (``_request``), parses whole
replies (``_response``) and decodes streams (``_stream``). It holds no connection and does no
I/O, so one instance serves sync and async clients alike.
:class:`metallm.providers.xai.XAIProvider` reuses all of it for xAI's compatible API.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...embeddings import EmbeddingsRequest
from ...errors import ConfigurationError
from ...provider import EventDecoder, HTTPCodec, HTTPRequest, ProviderSettings, SpanAttributes
from ...types import ChatCompletionRequest
from ._embeddings import MAX_EMBEDDINGS_INPUTS, build_embeddings_body, parse_embeddings_reply
from ._request import Media, build_body
from ._response import parse_completion
from ._stream import OpenAIStreamDecoder
from ._telemetry import openai_span_attributes
from ._tokens import token_encoding

__all__ = ["DEFAULT_BASE_URL", "OpenAIProvider"]

DEFAULT_BASE_URL = "https://api.openai.com/v1"


class OpenAIProvider(HTTPCodec):
    """OpenAI Chat Completions as a sans-IO codec.

    ``settings.extra`` may hold ``organization`` and ``project`` (sent as
    ``OpenAI-Organization`` / ``OpenAI-Project``), ``headers`` (a dict of extra headers,
    overriding ours), and ``max_tokens_field`` (the body field ``max_tokens`` is sent as;
    default ``max_completion_tokens``, which current OpenAI models require, while older
    OpenAI-compatible servers may want ``max_tokens``).
    """

    name = "openai"
    default_base_url = DEFAULT_BASE_URL
    max_tokens_field = "max_completion_tokens"
    sends_openai_headers = True
    json_schema_strict = True  # response_format json_schema with strict: true
    # Media parts the server reads in Chat Completions (PDF ``file`` parts, ``input_audio``);
    # a compatible server without them says so here and refuses those parts before any I/O.
    accepts_files = True
    accepts_audio = True

    def __init__(self, settings: ProviderSettings) -> None:
        extra = settings.extra
        super().__init__(
            settings.api_key,
            settings.base_url,
            headers=self._openai_headers(extra),
            user_headers=extra.get("headers"),
        )
        self._url = f"{self.base_url}/chat/completions"
        field = extra.get("max_tokens_field", self.max_tokens_field)
        if not isinstance(field, str) or not field:
            raise ConfigurationError(f"{self.name}: extra['max_tokens_field'] must be a string")
        self._max_tokens_field = field
        self._media = Media(self.name, files=self.accepts_files, audio=self.accepts_audio)

    def _openai_headers(self, extra: Mapping[str, Any]) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.sends_openai_headers:
            for key, header in (
                ("organization", "OpenAI-Organization"),
                ("project", "OpenAI-Project"),
            ):
                value = extra.get(key)
                if value:
                    headers[header] = str(value)
        return headers

    def build_request(self, request: ChatCompletionRequest, *, stream: bool) -> HTTPRequest:
        """The HTTP request for ``request``; raises ``UnsupportedFeatureError`` for ``top_k``."""
        body = build_body(
            request,
            provider=self.name,
            max_tokens_field=self._max_tokens_field,
            stream=stream,
            media=self._media,
        )
        return self.http_request(self._url, body, stream=stream)

    completion_parser = staticmethod(parse_completion)
    decoder_class: type[EventDecoder] = OpenAIStreamDecoder
    span_attributes: SpanAttributes | None = staticmethod(openai_span_attributes)  # openai.*

    # -- embeddings: ``POST {base_url}/embeddings`` (see ``_embeddings``) ------------------------

    max_embeddings_inputs = MAX_EMBEDDINGS_INPUTS

    def build_embeddings_request(self, request: EmbeddingsRequest) -> HTTPRequest:
        """One batch as ``POST {base_url}/embeddings`` (base64 vectors unless ``float`` asked)."""
        body = build_embeddings_body(request, provider=self.name, limit=self.max_embeddings_inputs)
        return self.http_request(f"{self.base_url}/embeddings", body, stream=False)

    embeddings_parser = staticmethod(parse_embeddings_reply)

    def token_encoding(self, model: str) -> str | None:
        """The tiktoken encoding of an OpenAI model (counted locally: OpenAI has no counting
        endpoint for Chat Completions)."""
        return token_encoding(model)
