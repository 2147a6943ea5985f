"""The Anthropic Messages provider: a pure codec for ``POST {base_url}/v1/messages``.

:class:`AnthropicProvider` is a :class:`metallm.provider.HTTPCodec`: it builds the request
(``_request``), parses whole replies (``_response``), decodes streams (``_stream``) and reads
error replies (:func:`metallm.provider.error_from_response`, which knows Anthropic's
``{"type": "error", "error": {...}}`` shape). It does no I/O. The key goes in ``x-api-key``;
system prompts travel apart from the history (``system``).

Thinking signatures. Anthropic only accepts thinking sent back (needed when a thinking model's
tool-use turn continues) with the signature it issued, and the unified ``Message`` has no
field for it (``metallm.types`` is shared and stays provider-neutral). The codec therefore
remembers, per provider instance, the signed thinking blocks of the replies it parsed, keyed by
their joined reasoning text (the kit's :class:`~metallm.provider.LRUCache` of
:data:`SIGNATURE_CACHE_SIZE` entries, locked since one codec serves every thread). An assistant
message whose ``reasoning_content`` matches is sent back with those exact blocks; unknown
reasoning (another process, an edited text, an evicted entry) is not sent, since an unsigned
thinking block would be rejected.
"""

from __future__ import annotations

from ...embeddings import EmbeddingsRequest, EmbeddingsResponse
from ...errors import APIError, ConfigurationError
from ...provider import HTTPCodec, HTTPRequest, HTTPResponse, LRUCache, ProviderSettings
from ...types import ChatCompletionRequest, ChatCompletionResponse
from ._embeddings import MAX_EMBEDDINGS_INPUTS, embeddings_unsupported
from ._request import build_body
from ._response import ThinkingBlocks, parse_message
from ._stream import AnthropicStreamDecoder

__all__ = [
    "API_VERSION",
    "DEFAULT_BASE_URL",
    "SIGNATURE_CACHE_SIZE",
    "AnthropicProvider",
    "create",
]

DEFAULT_BASE_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"
SIGNATURE_CACHE_SIZE = 256


class AnthropicProvider(HTTPCodec):
    """Anthropic Messages as a sans-IO codec.

    ``settings.extra`` may hold ``headers`` (extra headers, overriding ours; e.g.
    ``anthropic-beta``) and ``anthropic_version`` (default :data:`API_VERSION`).
    """

    name = "anthropic"
    default_base_url = DEFAULT_BASE_URL
    system_instructions_apart = True

    def __init__(self, settings: ProviderSettings) -> None:
        extra = settings.extra
        version = extra.get("anthropic_version", API_VERSION)
        if not isinstance(version, str) or not version:
            raise ConfigurationError("anthropic: extra['anthropic_version'] must be a string")
        super().__init__(
            settings.api_key,
            settings.base_url,
            headers={"anthropic-version": version},
            user_headers=extra.get("headers"),
        )
        self._url = f"{self.base_url}/v1/messages"
        self._thinking: LRUCache[str, ThinkingBlocks] = LRUCache(SIGNATURE_CACHE_SIZE)

    def auth_headers(self) -> dict[str, str]:
        """Anthropic takes the key as ``x-api-key``."""
        return {"x-api-key": self._api_key} if self._api_key else {}

    def build_request(self, request: ChatCompletionRequest, *, stream: bool) -> HTTPRequest:
        """The HTTP request for ``request``; unsupported fields raise before any I/O."""
        body = build_body(request, provider=self.name, stream=stream, thinking=self._thinking.get)
        return self.http_request(self._url, body, stream=stream)

    def parse_response(self, response: HTTPResponse) -> ChatCompletionResponse:
        """A success reply as a unified response; raises ``ResponseValidationError`` if garbled."""
        parsed, signed = parse_message(self.name, response, self.secrets())
        if signed:
            self._remember(signed)
        return parsed

    def stream_decoder(self, request: ChatCompletionRequest) -> AnthropicStreamDecoder:
        """A fresh incremental decoder for one streamed reply."""
        return AnthropicStreamDecoder(self.name, self.secrets(), self._remember)

    def _remember(self, blocks: ThinkingBlocks) -> None:
        """Keep a reply's signed thinking blocks under their joined reasoning text."""
        key = "".join(b.get("thinking", "") for b in blocks if b.get("type") == "thinking")
        if key:
            self._thinking.put(key, [dict(b) for b in blocks])

    def parse_error(self, response: HTTPResponse) -> APIError:
        """The typed error for an error reply, with the key redacted.

        Anthropic repeats the request id in the body (``request_id``); it is used when the
        ``request-id`` header is missing, as in some recordings.
        """
        error = super().parse_error(response)
        body = error.body
        if error.request_id is None and isinstance(body, dict):
            body_id = body.get("request_id")
            if isinstance(body_id, str) and body_id:
                error.request_id = body_id
        return error

    # -- embeddings: none at Anthropic; both methods raise, naming Voyage AI (``_embeddings``) --

    max_embeddings_inputs = MAX_EMBEDDINGS_INPUTS

    def build_embeddings_request(self, request: EmbeddingsRequest) -> HTTPRequest:
        """Anthropic has no embeddings API: ``UnsupportedFeatureError`` naming Voyage AI."""
        raise embeddings_unsupported(self.name)

    def parse_embeddings_response(
        self, response: HTTPResponse, request: EmbeddingsRequest
    ) -> EmbeddingsResponse:
        """Anthropic has no embeddings API: ``UnsupportedFeatureError`` naming Voyage AI."""
        raise embeddings_unsupported(self.name)


def create(settings: ProviderSettings) -> AnthropicProvider:
    """Registry factory (``metallm.providers.anthropic:create``)."""
    return AnthropicProvider(settings)
