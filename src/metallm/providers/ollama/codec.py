"""The Ollama provider: a pure codec for ``POST {base_url}/api/chat``.

:class:`OllamaProvider` implements :class:`metallm.provider.HTTPProvider`: it builds the
request (``_request``), parses whole replies (``_response``), decodes the NDJSON stream
(``_stream``) and reads ``{"error": "..."}`` replies (:func:`metallm.provider.error_from_response`
knows that shape). No key is needed; one given (say, for an authenticating proxy in front of
Ollama) is sent as ``Authorization: Bearer``. It holds no connection and does no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ...embeddings import EmbeddingsRequest, EmbeddingsResponse
from ...errors import APIError, ConfigurationError
from ...provider._errors import error_from_response
from ...provider._http import HTTPRequest, HTTPResponse
from ...provider._registry import ProviderSettings
from ...types import ChatCompletionRequest, ChatCompletionResponse
from ..openai._request import USER_AGENT
from ._embeddings import MAX_EMBEDDINGS_INPUTS, build_embeddings_body, parse_embeddings_reply
from ._request import build_body
from ._response import parse_completion
from ._stream import OllamaStreamDecoder

__all__ = ["DEFAULT_BASE_URL", "OllamaProvider", "create", "normalize_host"]

DEFAULT_BASE_URL = "http://localhost:11434"


def normalize_host(host: str) -> str:
    """An ``OLLAMA_HOST``-style value as a base URL, the way Ollama's own CLI reads it.

    Without a scheme (``host``, ``host:port``, ``0.0.0.0``, ``[::1]``) it gets ``http://`` and,
    when it has no port, Ollama's 11434; a URL with a scheme is kept as it is. A trailing slash
    is dropped. Empty means the default, ``http://localhost:11434``.
    """
    value = host.strip().rstrip("/")
    if not value:
        return DEFAULT_BASE_URL
    if "://" in value:
        return value
    hostport, slash, path = value.partition("/")
    port_given = "]:" in hostport if hostport.startswith("[") else ":" in hostport
    if not port_given:
        hostport += ":11434"
    return "http://" + hostport + slash + path


class OllamaProvider:
    """Ollama's native chat API as a sans-IO codec.

    ``settings.extra`` may hold ``headers`` (a dict of extra headers, overriding ours).
    """

    provider_name = "ollama"

    def __init__(self, settings: ProviderSettings) -> None:
        self._api_key = settings.api_key or None
        self._base_url = normalize_host(settings.base_url or DEFAULT_BASE_URL)
        self._url = f"{self._base_url}/api/chat"
        headers = {"content-type": "application/json", "user-agent": USER_AGENT}
        if self._api_key:
            headers["authorization"] = f"Bearer {self._api_key}"
        extra_headers = settings.extra.get("headers")
        if extra_headers is not None:
            if not isinstance(extra_headers, Mapping):
                raise ConfigurationError("ollama: extra['headers'] must be a mapping of strings")
            for key, value in extra_headers.items():
                for existing in [k for k in headers if k.lower() == str(key).lower()]:
                    del headers[existing]
                headers[str(key)] = str(value)
        self._headers_json = {"accept": "application/json", **headers}
        self._headers_stream = {"accept": "application/x-ndjson", **headers}

    @property
    def name(self) -> str:
        """The provider name (``gen_ai.provider.name``)."""
        return self.provider_name

    @property
    def base_url(self) -> str:
        """The server root, without a trailing slash (``/api/chat`` is added)."""
        return self._base_url

    def secrets(self) -> tuple[str, ...]:
        """The key, if one was configured: the one string that must never leave the library."""
        return (self._api_key,) if self._api_key else ()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, base_url={self._base_url!r})"

    def build_request(self, request: ChatCompletionRequest, *, stream: bool) -> HTTPRequest:
        """The HTTP request for ``request``; raises ``UnsupportedFeatureError`` before I/O."""
        body = build_body(request, provider=self.name, stream=stream)
        headers = self._headers_stream if stream else self._headers_json
        return HTTPRequest("POST", self._url, dict(headers), _encode(body))

    def parse_response(self, response: HTTPResponse) -> ChatCompletionResponse:
        """A success reply as a unified response; raises ``ResponseValidationError`` if garbled."""
        return parse_completion(self.name, response, self.secrets())

    def stream_decoder(self, request: ChatCompletionRequest) -> OllamaStreamDecoder:
        """A fresh incremental decoder for one streamed reply."""
        return OllamaStreamDecoder(self.name, self.secrets())

    def parse_error(self, response: HTTPResponse) -> APIError:
        """The typed error for an error reply (``{"error": "..."}``), the key redacted."""
        return error_from_response(self.name, response, secrets=self.secrets())

    # -- embeddings: ``POST {base_url}/api/embed`` (see ``_embeddings``) -------------------------

    max_embeddings_inputs = MAX_EMBEDDINGS_INPUTS

    def build_embeddings_request(self, request: EmbeddingsRequest) -> HTTPRequest:
        """One batch as ``POST {base_url}/api/embed``; unsupported fields raise before I/O."""
        body = build_embeddings_body(request, provider=self.name)
        url = f"{self._base_url}/api/embed"
        return HTTPRequest("POST", url, dict(self._headers_json), _encode(body))

    def parse_embeddings_response(
        self, response: HTTPResponse, request: EmbeddingsRequest
    ) -> EmbeddingsResponse:
        """A success reply as float vectors in input order; garbled or short replies raise."""
        return parse_embeddings_reply(self.name, response, request, self.secrets())


def _encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def create(settings: ProviderSettings) -> OllamaProvider:
    """Registry factory (``metallm.providers.ollama:create``)."""
    return OllamaProvider(settings)
