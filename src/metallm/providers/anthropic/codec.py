"""The Anthropic Messages provider: a pure codec for ``POST {base_url}/v1/messages``.

:class:`AnthropicProvider` is a :class:`metallm.provider.HTTPCodec`: it builds the request
(``_request``), parses whole replies (``_response``), decodes streams (``_stream``) and reads
error replies (:func:`metallm.provider.error_from_response`, which knows Anthropic's
``{"type": "error", "error": {...}}`` shape). It does no I/O. The key goes in ``x-api-key``;
system prompts travel apart from the history (``system``).

Thinking signatures. Anthropic only accepts thinking sent back (needed when a thinking model's
tool-use turn continues) with the signature it issued. The parsers keep every ``thinking`` and
``redacted_thinking`` block on the message itself (:attr:`~metallm.Message.reasoning`, stamped
``anthropic``), so the blocks travel with the conversation: through memory, across processes,
into the next request byte-exact. The codec remembers nothing between calls.
"""

from __future__ import annotations

from ...embeddings import EmbeddingsRequest, EmbeddingsResponse
from ...errors import APIError, ConfigurationError
from ...provider import HTTPCodec, HTTPRequest, HTTPResponse, ProviderSettings
from ...types import ChatCompletionRequest
from ._embeddings import MAX_EMBEDDINGS_INPUTS, embeddings_unsupported
from ._request import build_body
from ._response import parse_message
from ._stream import AnthropicStreamDecoder
from ._tokens import build_count_body, parse_count_reply

__all__ = [
    "API_VERSION",
    "DEFAULT_BASE_URL",
    "AnthropicProvider",
    "create",
]

DEFAULT_BASE_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"


class AnthropicProvider(HTTPCodec):
    """Anthropic Messages as a sans-IO codec.

    ``settings.extra`` may hold ``headers`` (extra headers, overriding ours; e.g.
    ``anthropic-beta``) and ``anthropic_version`` (default :data:`API_VERSION`).
    """

    name = "anthropic"
    default_base_url = DEFAULT_BASE_URL
    system_instructions_apart = True
    json_schema_strict = True  # output_config.format takes the strict subset

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
        self._count_url = f"{self._url}/count_tokens"

    def auth_headers(self) -> dict[str, str]:
        """Anthropic takes the key as ``x-api-key``."""
        return {"x-api-key": self._api_key} if self._api_key else {}

    def build_request(self, request: ChatCompletionRequest, *, stream: bool) -> HTTPRequest:
        """The HTTP request for ``request``; unsupported fields raise before any I/O."""
        body = build_body(request, provider=self.name, stream=stream)
        return self.http_request(self._url, body, stream=stream)

    def build_count_tokens_request(self, request: ChatCompletionRequest) -> HTTPRequest:
        """``POST /v1/messages/count_tokens`` with the counting fields of the Messages body."""
        body = build_count_body(request, provider=self.name)
        return self.http_request(self._count_url, body, stream=False)

    count_tokens_parser = staticmethod(parse_count_reply)
    completion_parser = staticmethod(parse_message)
    decoder_class = AnthropicStreamDecoder

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
