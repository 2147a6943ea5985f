"""The Ollama provider: a pure codec for ``POST {base_url}/api/chat``.

:class:`OllamaProvider` is a :class:`metallm.provider.HTTPCodec`: it builds the request
(``_request``), parses whole replies (``_response``), decodes the NDJSON stream (``_stream``)
and reads ``{"error": "..."}`` replies (the kit's ``parse_error``, through
:func:`metallm.provider.error_from_response`, knows that shape). No key is needed; one given
(say, for an authenticating proxy in front of Ollama) is sent as ``Authorization: Bearer``. It
holds no connection and does no I/O.
"""

from __future__ import annotations

from ...embeddings import EmbeddingsRequest
from ...provider import HTTPCodec, HTTPRequest, ProviderSettings
from ...types import ChatCompletionRequest
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


class OllamaProvider(HTTPCodec):
    """Ollama's native chat API as a sans-IO codec.

    ``settings.extra`` may hold ``headers`` (a dict of extra headers, overriding ours).
    """

    name = "ollama"
    default_base_url = DEFAULT_BASE_URL
    stream_accept = "application/x-ndjson"
    json_schema_object_root = False  # format takes any JSON schema at the top

    def __init__(self, settings: ProviderSettings) -> None:
        super().__init__(
            settings.api_key,
            normalize_host(settings.base_url or DEFAULT_BASE_URL),
            user_headers=settings.extra.get("headers"),
        )
        self._url = f"{self.base_url}/api/chat"

    def build_request(self, request: ChatCompletionRequest, *, stream: bool) -> HTTPRequest:
        """The HTTP request for ``request``; raises ``UnsupportedFeatureError`` before I/O."""
        body = build_body(request, provider=self.name, stream=stream)
        return self.http_request(self._url, body, stream=stream)

    completion_parser = staticmethod(parse_completion)
    decoder_class = OllamaStreamDecoder

    # -- embeddings: ``POST {base_url}/api/embed`` (see ``_embeddings``) -------------------------

    max_embeddings_inputs = MAX_EMBEDDINGS_INPUTS

    def build_embeddings_request(self, request: EmbeddingsRequest) -> HTTPRequest:
        """One batch as ``POST {base_url}/api/embed``; unsupported fields raise before I/O."""
        body = build_embeddings_body(request, provider=self.name)
        return self.http_request(f"{self.base_url}/api/embed", body, stream=False)

    embeddings_parser = staticmethod(parse_embeddings_reply)


def create(settings: ProviderSettings) -> OllamaProvider:
    """Registry factory (``metallm.providers.ollama:create``)."""
    return OllamaProvider(settings)
