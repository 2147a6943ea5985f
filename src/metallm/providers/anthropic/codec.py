"""The Anthropic Messages provider: a pure codec for ``POST {base_url}/v1/messages``.

:class:`AnthropicProvider` implements :class:`metallm.provider.HTTPProvider`: it builds the
request (``_request``), parses whole replies (``_response``), decodes streams (``_stream``)
and reads error replies (:func:`metallm.provider.error_from_response`, which knows
Anthropic's ``{"type": "error", "error": {...}}`` shape). It does no I/O.

Thinking signatures. Anthropic only accepts thinking sent back (needed when a thinking model's
tool-use turn continues) with the signature it issued, and the unified ``Message`` has no
field for it (``metallm.types`` is shared and stays provider-neutral). The codec therefore
remembers, per provider instance, the signed thinking blocks of the replies it parsed, keyed by
their joined reasoning text (a bounded LRU of :data:`SIGNATURE_CACHE_SIZE` entries, guarded by
a lock since one codec serves every thread). An assistant message whose ``reasoning_content``
matches is sent back with those exact blocks; unknown reasoning (another process, an edited
text, an evicted entry) is not sent, since an unsigned thinking block would be rejected.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from ...embeddings import EmbeddingsRequest, EmbeddingsResponse
from ...errors import APIError, ConfigurationError
from ...provider._errors import error_from_response
from ...provider._http import HTTPRequest, HTTPResponse
from ...provider._registry import ProviderSettings
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
_USER_AGENT = "metallm/0.1.0"


class _ThinkingMemory:
    """Reasoning text -> the signed thinking blocks it came from; a small thread-safe LRU."""

    __slots__ = ("_entries", "_lock", "_size")

    def __init__(self, size: int) -> None:
        self._entries: OrderedDict[str, ThinkingBlocks] = OrderedDict()
        self._lock = threading.Lock()
        self._size = size

    def remember(self, blocks: ThinkingBlocks) -> None:
        key = "".join(b.get("thinking", "") for b in blocks if b.get("type") == "thinking")
        if not key:
            return
        with self._lock:
            self._entries[key] = [dict(b) for b in blocks]
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def lookup(self, reasoning: str) -> ThinkingBlocks | None:
        with self._lock:
            blocks = self._entries.get(reasoning)
            if blocks is not None:
                self._entries.move_to_end(reasoning)
            return blocks


class AnthropicProvider:
    """Anthropic Messages as a sans-IO codec.

    ``settings.extra`` may hold ``headers`` (extra headers, overriding ours; e.g.
    ``anthropic-beta``) and ``anthropic_version`` (default :data:`API_VERSION`).
    """

    provider_name = "anthropic"

    def __init__(self, settings: ProviderSettings) -> None:
        self._api_key = settings.api_key or None
        self._base_url = (settings.base_url or DEFAULT_BASE_URL).rstrip("/")
        self._url = f"{self._base_url}/v1/messages"
        extra = settings.extra
        version = extra.get("anthropic_version", API_VERSION)
        if not isinstance(version, str) or not version:
            raise ConfigurationError("anthropic: extra['anthropic_version'] must be a string")
        headers = {
            "content-type": "application/json",
            "anthropic-version": version,
            "user-agent": _USER_AGENT,
        }
        if self._api_key:
            headers["x-api-key"] = self._api_key
        self._headers_json = {**headers, "accept": "application/json"}
        self._headers_sse = {**headers, "accept": "text/event-stream"}
        for target in (self._headers_json, self._headers_sse):
            _merge_headers(target, extra.get("headers"))
        self._thinking = _ThinkingMemory(SIGNATURE_CACHE_SIZE)

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
        """The HTTP request for ``request``; unsupported fields raise before any I/O."""
        body = build_body(
            request, provider=self.name, stream=stream, thinking=self._thinking.lookup
        )
        headers = self._headers_sse if stream else self._headers_json
        return HTTPRequest("POST", self._url, dict(headers), _encode(body))

    def parse_response(self, response: HTTPResponse) -> ChatCompletionResponse:
        """A success reply as a unified response; raises ``ResponseValidationError`` if garbled."""
        parsed, signed = parse_message(self.name, response, self.secrets())
        if signed:
            self._thinking.remember(signed)
        return parsed

    def stream_decoder(self, request: ChatCompletionRequest) -> AnthropicStreamDecoder:
        """A fresh incremental decoder for one streamed reply."""
        return AnthropicStreamDecoder(self.name, self.secrets(), self._thinking.remember)

    def parse_error(self, response: HTTPResponse) -> APIError:
        """The typed error for an error reply, with the key redacted.

        Anthropic repeats the request id in the body (``request_id``); it is used when the
        ``request-id`` header is missing, as in some recordings.
        """
        error = error_from_response(self.name, response, secrets=self.secrets())
        body = error.body
        if error.request_id is None and isinstance(body, dict):
            body_id = body.get("request_id")
            if isinstance(body_id, str) and body_id:
                error.request_id = body_id
        return error

    # -- embeddings: none at Anthropic; both methods raise, naming Voyage AI (``_embeddings``) --

    max_embeddings_inputs = MAX_EMBEDDINGS_INPUTS

    def build_embeddings_request(self, request: EmbeddingsRequest) -> HTTPRequest:
        """Always raises ``UnsupportedFeatureError`` (before any I/O), naming Voyage AI."""
        raise embeddings_unsupported(self.name)

    def parse_embeddings_response(
        self, response: HTTPResponse, request: EmbeddingsRequest
    ) -> EmbeddingsResponse:
        """Always raises ``UnsupportedFeatureError``: there is no reply to parse."""
        raise embeddings_unsupported(self.name)


def _encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def _merge_headers(headers: dict[str, str], extra: Any) -> None:
    """Add user headers, replacing ours case-insensitively."""
    if extra is None:
        return
    if not isinstance(extra, Mapping):
        raise ConfigurationError("anthropic: extra['headers'] must be a mapping of strings")
    for key, value in extra.items():
        for existing in [k for k in headers if k.lower() == str(key).lower()]:
            del headers[existing]
        headers[str(key)] = str(value)


def create(settings: ProviderSettings) -> AnthropicProvider:
    """Registry factory (``metallm.providers.anthropic:create``)."""
    return AnthropicProvider(settings)
