"""The OpenAI Chat Completions provider: a pure codec for ``POST {base_url}/chat/completions``.

:class:`OpenAIProvider` implements :class:`metallm.provider.HTTPProvider`: it builds the
request (``_request``), parses whole replies (``_response``), decodes streams (``_stream``)
and reads error replies (:func:`metallm.provider.error_from_response`). It holds no
connection and does no I/O, so one instance serves sync and async clients alike.
:class:`metallm.providers.xai.XAIProvider` reuses all of it for xAI's compatible API.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...embeddings import EmbeddingsRequest, EmbeddingsResponse
from ...errors import APIError, ConfigurationError
from ...provider._errors import error_from_response
from ...provider._http import HTTPRequest, HTTPResponse
from ...provider._registry import ProviderSettings
from ...types import ChatCompletionRequest, ChatCompletionResponse
from ._embeddings import MAX_EMBEDDINGS_INPUTS, build_embeddings_body, parse_embeddings_reply
from ._request import USER_AGENT, build_body, encode_body
from ._response import parse_completion
from ._stream import OpenAIStreamDecoder

__all__ = ["DEFAULT_BASE_URL", "OpenAIProvider", "create"]

DEFAULT_BASE_URL = "https://api.openai.com/v1"


class OpenAIProvider:
    """OpenAI Chat Completions as a sans-IO codec.

    ``settings.extra`` may hold ``organization`` and ``project`` (sent as
    ``OpenAI-Organization`` / ``OpenAI-Project``), ``headers`` (a dict of extra headers,
    overriding ours), and ``max_tokens_field`` (the body field ``max_tokens`` is sent as;
    default ``max_completion_tokens``, which current OpenAI models require, while older
    OpenAI-compatible servers may want ``max_tokens``).
    """

    provider_name = "openai"
    default_base_url = DEFAULT_BASE_URL
    max_tokens_field = "max_completion_tokens"
    sends_openai_headers = True

    def __init__(self, settings: ProviderSettings) -> None:
        self._api_key = settings.api_key or None
        self._base_url = (settings.base_url or self.default_base_url).rstrip("/")
        self._url = f"{self._base_url}/chat/completions"
        extra = settings.extra
        field = extra.get("max_tokens_field", self.max_tokens_field)
        if not isinstance(field, str) or not field:
            raise ConfigurationError(f"{self.name}: extra['max_tokens_field'] must be a string")
        self._max_tokens_field = field
        headers = self._base_headers(extra)
        self._headers_json = {**headers, "accept": "application/json"}
        self._headers_sse = {**headers, "accept": "text/event-stream"}
        for extra_headers in (self._headers_json, self._headers_sse):
            _merge_headers(extra_headers, extra.get("headers"), self.name)

    def _base_headers(self, extra: Mapping[str, Any]) -> dict[str, str]:
        headers = {"content-type": "application/json", "user-agent": USER_AGENT}
        if self._api_key:
            headers["authorization"] = f"Bearer {self._api_key}"
        if self.sends_openai_headers:
            for key, header in (
                ("organization", "OpenAI-Organization"),
                ("project", "OpenAI-Project"),
            ):
                value = extra.get(key)
                if value:
                    headers[header] = str(value)
        return headers

    @property
    def name(self) -> str:
        """The provider name (``gen_ai.provider.name``)."""
        return self.provider_name

    @property
    def base_url(self) -> str:
        """The endpoint root, without a trailing slash."""
        return self._base_url

    def secrets(self) -> tuple[str, ...]:
        """The API key, the one string that must never leave the library."""
        return (self._api_key,) if self._api_key else ()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, base_url={self._base_url!r})"

    def build_request(self, request: ChatCompletionRequest, *, stream: bool) -> HTTPRequest:
        """The HTTP request for ``request``; raises ``UnsupportedFeatureError`` for ``top_k``."""
        body = build_body(
            request, provider=self.name, max_tokens_field=self._max_tokens_field, stream=stream
        )
        headers = self._headers_sse if stream else self._headers_json
        return HTTPRequest("POST", self._url, dict(headers), encode_body(body))

    def parse_response(self, response: HTTPResponse) -> ChatCompletionResponse:
        """A success reply as a unified response; raises ``ResponseValidationError`` if garbled."""
        return parse_completion(self.name, response, self.secrets())

    def stream_decoder(self, request: ChatCompletionRequest) -> OpenAIStreamDecoder:
        """A fresh incremental decoder for one streamed reply."""
        return OpenAIStreamDecoder(self.name, self.secrets())

    def parse_error(self, response: HTTPResponse) -> APIError:
        """The typed error for an error reply, with the key redacted."""
        return error_from_response(self.name, response, secrets=self.secrets())

    # -- embeddings: ``POST {base_url}/embeddings`` (see ``_embeddings``) ------------------------

    max_embeddings_inputs = MAX_EMBEDDINGS_INPUTS

    def build_embeddings_request(self, request: EmbeddingsRequest) -> HTTPRequest:
        """One batch as ``POST {base_url}/embeddings`` (base64 vectors unless ``float`` asked)."""
        body = build_embeddings_body(request, provider=self.name, limit=self.max_embeddings_inputs)
        url = f"{self._base_url}/embeddings"
        return HTTPRequest("POST", url, dict(self._headers_json), encode_body(body))

    def parse_embeddings_response(
        self, response: HTTPResponse, request: EmbeddingsRequest
    ) -> EmbeddingsResponse:
        """A success reply as float vectors in input order; garbled or short replies raise."""
        return parse_embeddings_reply(self.name, response, request, self.secrets())


def _merge_headers(headers: dict[str, str], extra: Any, provider: str) -> None:
    """Add user headers, replacing ours case-insensitively."""
    if extra is None:
        return
    if not isinstance(extra, Mapping):
        raise ConfigurationError(f"{provider}: extra['headers'] must be a mapping of strings")
    for key, value in extra.items():
        for existing in [k for k in headers if k.lower() == str(key).lower()]:
            del headers[existing]
        headers[str(key)] = str(value)


def create(settings: ProviderSettings) -> OpenAIProvider:
    """Registry factory (``metallm.providers.openai:create``)."""
    return OpenAIProvider(settings)
