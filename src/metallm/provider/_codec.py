"""The codec base class: the part of every HTTP codec that is not about its wire format.

A sans-IO codec (:class:`~metallm.provider.HTTPProvider`) needs, besides its request builder
and parsers, the same shell every time: its name, its base URL, the secrets it must keep out
of messages, a ``repr`` without them, the headers it sends (its own, then the user's from
``extra["headers"]``, case-insensitively), the right ``accept`` header for plain and streamed
calls, compact JSON bodies and an error parser. :class:`HTTPCodec` is that shell, so that a
codec (built-in or third-party) writes only ``build_request``, ``parse_response`` and
``stream_decoder``. It also carries the provider facts telemetry reads from the codec instead
of keeping a table of providers (``semconv_name``, ``system_instructions_apart``,
``span_attributes``), embeddings defaults that answer "not supported" until a codec
implements them, and token-counting defaults that count locally (no endpoint, no tokenizer: the
estimate) until a codec names its endpoint or its tiktoken encoding.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..embeddings import EmbeddingsRequest, EmbeddingsResponse
from ..errors import APIError, ConfigurationError, UnsupportedFeatureError, redact
from ..tokens import TokenCount
from ..types import ChatCompletionRequest, ChatCompletionResponse
from ._errors import error_from_response
from ._helpers import USER_AGENT, encode_json
from ._http import HTTPRequest, HTTPResponse
from ._protocols import StreamDecoder

EmbeddingsParser = Callable[
    [str, HTTPResponse, EmbeddingsRequest, tuple[str, ...]], EmbeddingsResponse
]
"""``parser(provider name, reply, request, secrets) -> EmbeddingsResponse``."""
CompletionParser = Callable[[str, HTTPResponse, tuple[str, ...]], ChatCompletionResponse]
"""``parser(provider name, reply, secrets) -> ChatCompletionResponse``."""
DecoderFactory = Callable[[str, tuple[str, ...]], StreamDecoder]
"""``factory(provider name, secrets) -> StreamDecoder`` (an ``EventDecoder`` class)."""
CountTokensParser = Callable[[str, HTTPResponse, tuple[str, ...]], TokenCount]
"""``parser(provider name, reply, secrets) -> TokenCount`` reading a counting endpoint's reply."""
SpanAttributes = Callable[
    [ChatCompletionRequest, ChatCompletionResponse | None], Mapping[str, str | bool | int | float]
]
"""``span_attributes(request, response) -> {attribute name: value}``: a provider's own span
attributes for one chat call; ``response`` is the final (for a stream, the accumulated)
response, or None when the call failed."""

__all__ = [
    "CompletionParser",
    "CountTokensParser",
    "DecoderFactory",
    "EmbeddingsParser",
    "HTTPCodec",
    "SpanAttributes",
    "merge_headers",
]


def merge_headers(headers: dict[str, str], extra: object, provider: str) -> dict[str, str]:
    """Add user headers to ``headers`` in place, replacing ours case-insensitively.

    ``extra`` is the user's ``extra["headers"]``: ``None`` (nothing to add) or a mapping; any
    other value is a :class:`~metallm.ConfigurationError` naming the provider. Returns
    ``headers``.
    """
    if extra is None:
        return headers
    if not isinstance(extra, Mapping):
        raise ConfigurationError(f"{provider}: extra['headers'] must be a mapping of strings")
    for key, value in extra.items():
        lower = str(key).lower()
        for existing in [k for k in headers if k.lower() == lower]:
            del headers[existing]
        headers[str(key)] = str(value)
    return headers


class HTTPCodec:
    """Base class for sans-IO HTTP codecs: everything but the wire format itself.

    A subclass sets the class attributes that describe its provider, calls
    ``super().__init__(api_key, base_url, headers=..., user_headers=...)`` and implements
    ``build_request`` (usually ending in :meth:`http_request`), ``parse_response`` and
    ``stream_decoder`` (usually an :class:`~metallm.provider.EventDecoder`). Overridable
    pieces: :meth:`auth_headers` (default ``authorization: Bearer <key>``), :meth:`secrets`,
    :meth:`repr_fields`, :meth:`parse_error`, and the embeddings methods.

    Headers sent: ``content-type: application/json``, ``user-agent`` (:attr:`user_agent`, left
    out when empty), :meth:`auth_headers`, the codec's own ``headers``, ``accept``
    (:attr:`accept` or, for streams, :attr:`stream_accept`), then the user's headers, which
    replace any of those case-insensitively.
    """

    name: str = "http"
    """The provider name (the registry name; errors and responses carry it)."""
    default_base_url: str = ""
    """Used when the settings give no base URL."""
    user_agent: str = USER_AGENT
    accept: str = "application/json"
    """The ``accept`` header of a plain call."""
    stream_accept: str = "text/event-stream"
    """The ``accept`` header of a streamed call (NDJSON and AWS event-stream codecs change it)."""
    system_instructions_apart: bool = False
    """Whether the provider takes system prompts apart from the history (Anthropic's
    ``system``, Gemini's ``systemInstruction``, Bedrock's ``system``): telemetry then reports
    them as ``gen_ai.system_instructions`` rather than as messages."""
    json_schema_strict: bool = False
    """Whether the provider enforces JSON schemas in a strict subset (OpenAI's ``strict``):
    ``parse`` then sends a strict-compatible schema (:mod:`metallm.provider._json_output`)."""
    json_schema_object_root: bool = True
    """Whether the provider needs an object at a schema's top (a tool input, a strict schema):
    ``parse`` then wraps a list or scalar response model in ``{"value": ...}``."""
    span_attributes: SpanAttributes | None = None
    """A provider's own span attributes (OpenAI's ``openai.response.system_fingerprint``,
    ...), as a ``staticmethod`` :data:`SpanAttributes` function. The OTel hook calls it once
    per chat call, after the response, and sets what it returns on the span only, never on
    metrics (those stay low-cardinality). None, the default, costs nothing per call. The names
    belong to the provider, so they live with its codec, not in ``metallm.otel``."""

    @property
    def max_embeddings_inputs(self) -> int:
        """The per-request limit on embeddings inputs (0: the codec has no embeddings).

        A codec sets it as a class attribute, or overrides this property when it depends on
        the endpoint; a per-model limit goes in ``embeddings_batch_limit(request)``.
        """
        return 0

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str = "",
        *,
        headers: Mapping[str, str] | None = None,
        user_headers: object = None,
    ) -> None:
        self._api_key = api_key or None
        self._base_url = (base_url or self.default_base_url).rstrip("/")
        own = {"content-type": "application/json"}
        if self.user_agent:
            own["user-agent"] = self.user_agent
        own.update(self.auth_headers())
        if headers:
            own.update(headers)
        self._plain_headers = merge_headers({**own, "accept": self.accept}, user_headers, self.name)
        self._stream_headers = merge_headers(
            {**own, "accept": self.stream_accept}, user_headers, self.name
        )

    @property
    def base_url(self) -> str:
        """The endpoint root, without a trailing slash."""
        return self._base_url

    @property
    def semconv_name(self) -> str:
        """The ``gen_ai.provider.name`` telemetry reports (default: :attr:`name`).

        OpenTelemetry's GenAI conventions spell some providers their own way (xAI is
        ``x_ai``, Bedrock ``aws.bedrock``); a codec overrides this with a class attribute, or
        a property when it depends on the endpoint (Gemini on Vertex AI is ``gcp.vertex_ai``).
        """
        return self.name

    def auth_headers(self) -> dict[str, str]:
        """The headers that carry the key: ``authorization: Bearer <key>`` when there is one.

        Called once, from ``__init__`` (``base_url`` is already set), so an override may
        depend on the endpoint.
        """
        return {"authorization": f"Bearer {self._api_key}"} if self._api_key else {}

    def secrets(self) -> tuple[str, ...]:
        """The strings that must never leave the library: the API key, when there is one."""
        return (self._api_key,) if self._api_key else ()

    def repr_fields(self) -> dict[str, object]:
        """What ``repr`` shows: the name and base URL (never a header or a secret)."""
        return {"name": self.name, "base_url": self._base_url}

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.repr_fields().items())
        return redact(f"{type(self).__name__}({fields})", self.secrets())

    def headers(self, *, stream: bool) -> dict[str, str]:
        """A fresh copy of the headers for a plain or a streamed call."""
        return dict(self._stream_headers if stream else self._plain_headers)

    @staticmethod
    def encode(body: Any) -> bytes:
        """``body`` as compact UTF-8 JSON (:func:`~metallm.provider.encode_json`)."""
        return encode_json(body)

    def http_request(
        self, url: str, body: Any, *, stream: bool, method: str = "POST"
    ) -> HTTPRequest:
        """The request to send: ``url``, the headers for ``stream`` and the JSON ``body``."""
        return HTTPRequest(method, url, self.headers(stream=stream), encode_json(body))

    completion_parser: CompletionParser | None = None
    """``parser(name, response, secrets)`` reading a chat reply; a codec names its parser here
    (as a ``staticmethod``) or overrides :meth:`parse_response`."""
    decoder_class: DecoderFactory | None = None
    """``decoder_class(name, secrets)``: the incremental stream decoder of one reply; a codec
    names its :class:`~metallm.provider.EventDecoder` here or overrides :meth:`stream_decoder`."""

    def parse_response(self, response: HTTPResponse) -> ChatCompletionResponse:
        """A chat reply read by :attr:`completion_parser`."""
        parser = self.completion_parser
        if parser is None:
            raise TypeError(f"{type(self).__name__} names no completion_parser")
        return parser(self.name, response, self.secrets())

    def stream_decoder(self, request: ChatCompletionRequest) -> StreamDecoder:
        """A fresh :attr:`decoder_class` for one streamed reply."""
        decoder = self.decoder_class
        if decoder is None:
            raise TypeError(f"{type(self).__name__} names no decoder_class")
        return decoder(self.name, self.secrets())

    def parse_error(self, response: HTTPResponse) -> APIError:
        """The typed error for an error reply, read by
        :func:`~metallm.provider.error_from_response`, with the secrets redacted."""
        return error_from_response(self.name, response, secrets=self.secrets())

    def build_embeddings_request(self, request: EmbeddingsRequest) -> HTTPRequest:
        """Embeddings are not supported unless a codec overrides this (and the parser)."""
        raise UnsupportedFeatureError(self.name, "embeddings")

    embeddings_parser: EmbeddingsParser | None = None
    """``parser(name, response, request, secrets)`` reading an embeddings reply; a codec with
    embeddings names its parser here (as a ``staticmethod``) or overrides the method below."""

    def parse_embeddings_response(
        self, response: HTTPResponse, request: EmbeddingsRequest
    ) -> EmbeddingsResponse:
        """An embeddings reply read by :attr:`embeddings_parser` (none: not supported)."""
        parser = self.embeddings_parser
        if parser is None:
            raise UnsupportedFeatureError(self.name, "embeddings")
        return parser(self.name, response, request, self.secrets())

    # -- token counting: local unless a codec names an endpoint (or a tiktoken encoding) ------

    def token_encoding(self, model: str) -> str | None:
        """The ``tiktoken`` encoding that counts ``model`` exactly (``o200k_base``, ...), or
        None (the default): the client then counts locally with the documented estimate."""
        return None

    def build_count_tokens_request(self, request: ChatCompletionRequest) -> HTTPRequest | None:
        """The provider's token-counting request for ``request``, or None (the default): no
        endpoint, count locally. Raises like ``build_request`` on input it cannot send."""
        return None

    count_tokens_parser: CountTokensParser | None = None
    """``parser(name, response, secrets)`` reading a counting reply (a ``staticmethod``)."""

    def parse_count_tokens_response(
        self, response: HTTPResponse, request: ChatCompletionRequest
    ) -> TokenCount:
        """A counting reply read by :attr:`count_tokens_parser`."""
        parser = self.count_tokens_parser
        if parser is None:
            raise UnsupportedFeatureError(self.name, "token counting")
        return parser(self.name, response, self.secrets())

    def count_tokens_unsupported(self, error: APIError) -> bool:
        """Whether an error reply from the counting endpoint only says "this model cannot be
        counted here" (Bedrock's CountTokens for some models): the client then falls back to
        the local count instead of raising. Default: never."""
        return False
