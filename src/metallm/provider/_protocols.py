"""The two public provider protocols, and the stream protocols they return.

``HTTPProvider`` is the sans-IO codec the built-in providers implement: it builds requests and
parses bytes, and the client supplies transport, retries, hooks and telemetry. ``Provider`` (and
its async twin ``AsyncProvider``) is the Go design's interface, for anything that is not
HTTP-shaped or that brings its own I/O: the client calls it and still runs hooks and retries
around it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Protocol, runtime_checkable

from ..embeddings import EmbeddingsRequest, EmbeddingsResponse
from ..errors import APIError
from ..tokens import TokenCount
from ..types import ChatCompletionChunk, ChatCompletionRequest, ChatCompletionResponse
from ._http import HTTPRequest, HTTPResponse

__all__ = [
    "AsyncProvider",
    "EmbeddingsCodec",
    "HTTPProvider",
    "Provider",
    "StreamDecoder",
    "TokenCountCodec",
]


@runtime_checkable
class StreamDecoder(Protocol):
    """Turns a streamed body into unified chunks, fed bytes in whatever pieces they arrive.

    ``feed`` returns the chunks completed by ``data`` and raises an :class:`~metallm.APIError`
    for an error event inside the stream. ``close`` is called once the body has ended; it
    returns any last chunks and raises :class:`~metallm.StreamError` when the stream stopped
    before its end marker.
    """

    def feed(self, data: bytes) -> list[ChatCompletionChunk]: ...

    def close(self) -> list[ChatCompletionChunk]: ...


@runtime_checkable
class HTTPProvider(Protocol):
    """A pure request builder and response parser for one provider's HTTP wire format.

    ``name`` is the provider's name (errors and responses carry it). ``build_request``
    validates the request (raising :class:`~metallm.InvalidRequestError` or
    :class:`~metallm.UnsupportedFeatureError`) before any I/O. ``secrets`` lists the strings
    (keys) that must never leave the library. :class:`~metallm.provider.HTTPCodec` is a base
    class that implements all but the wire format.

    Optional attributes, read with a default when a codec lacks them (they are not protocol
    members, so a codec without them still satisfies the protocol):

    * ``semconv_name: str``: the ``gen_ai.provider.name`` telemetry reports (default:
      ``name``); e.g. ``x_ai`` for xAI, ``aws.bedrock``, ``gcp.vertex_ai`` for Gemini on
      Vertex AI;
    * ``system_instructions_apart: bool``: whether the provider takes system prompts apart
      from the history (default ``False``; Anthropic, Gemini and Bedrock do), so telemetry
      reports them as ``gen_ai.system_instructions``;
    * ``span_attributes``: a :data:`~metallm.provider.SpanAttributes` function, or None (the
      default), giving the provider's own span attributes of a chat call from its request and
      final response (OpenAI's ``openai.response.system_fingerprint``, ...): set on the span
      only, never on metrics.
    """

    @property
    def name(self) -> str: ...

    @property
    def base_url(self) -> str: ...

    def build_request(self, request: ChatCompletionRequest, *, stream: bool) -> HTTPRequest: ...

    def parse_response(self, response: HTTPResponse) -> ChatCompletionResponse: ...

    def stream_decoder(self, request: ChatCompletionRequest) -> StreamDecoder: ...

    def parse_error(self, response: HTTPResponse) -> APIError: ...

    def secrets(self) -> tuple[str, ...]: ...


@runtime_checkable
class EmbeddingsCodec(Protocol):
    """The embeddings half of a codec: one request per batch of inputs, one parser.

    ``max_embeddings_inputs`` is the provider's per-request limit on inputs: the client splits
    longer lists into several requests (sent concurrently by ``AsyncClient``, at most four at a
    time) and merges the replies in input order, so the codec only ever sees one batch.
    ``parse_embeddings_response`` gets the batch's request too (some wire formats do not echo
    the model). A codec without embeddings raises
    :class:`~metallm.UnsupportedFeatureError` from ``build_embeddings_request``.
    """

    @property
    def max_embeddings_inputs(self) -> int: ...

    def build_embeddings_request(self, request: EmbeddingsRequest) -> HTTPRequest: ...

    def parse_embeddings_response(
        self, response: HTTPResponse, request: EmbeddingsRequest
    ) -> EmbeddingsResponse: ...


@runtime_checkable
class TokenCountCodec(Protocol):
    """The token-counting half of a codec (all optional; :class:`~metallm.provider.HTTPCodec`
    has defaults that count locally).

    ``build_count_tokens_request`` returns the provider's counting request, or None when the
    provider has no counting endpoint; ``parse_count_tokens_response`` reads its reply as a
    :class:`~metallm.TokenCount` (``exact=True``, ``source`` the provider); an error reply for
    which ``count_tokens_unsupported`` is True (a model the endpoint cannot count) makes the
    client fall back to the local count. ``token_encoding(model)`` names the ``tiktoken``
    encoding of a model for the local count (None: the estimate).
    """

    def token_encoding(self, model: str) -> str | None: ...

    def build_count_tokens_request(self, request: ChatCompletionRequest) -> HTTPRequest | None: ...

    def parse_count_tokens_response(
        self, response: HTTPResponse, request: ChatCompletionRequest
    ) -> TokenCount: ...

    def count_tokens_unsupported(self, error: APIError) -> bool: ...


@runtime_checkable
class Provider(Protocol):
    """The Go design's provider interface, synchronous: brings its own I/O.

    The stream it returns is any iterator of chunks; if it has a ``close()`` method the client
    calls it when the user closes or abandons the stream. Further operations are optional
    methods: ``create_embeddings(request: EmbeddingsRequest) -> EmbeddingsResponse`` (a
    provider without it answers embeddings calls with
    :class:`~metallm.UnsupportedFeatureError`) and ``count_tokens(request:
    ChatCompletionRequest) -> TokenCount`` (without it, ``client.count_tokens`` estimates).
    """

    @property
    def name(self) -> str: ...

    def create_chat_completion(self, request: ChatCompletionRequest) -> ChatCompletionResponse: ...

    def create_chat_completion_stream(
        self, request: ChatCompletionRequest
    ) -> Iterator[ChatCompletionChunk]: ...

    def close(self) -> None: ...


@runtime_checkable
class AsyncProvider(Protocol):
    """The async twin of :class:`Provider`; one object may implement both.

    The stream it returns is any async iterator of chunks; an ``aclose()`` method, if present,
    is awaited when the user closes or abandons the stream. Optional further operations:
    ``async acreate_embeddings(request) -> EmbeddingsResponse``, ``async
    acount_tokens(request) -> TokenCount``.
    """

    @property
    def name(self) -> str: ...

    async def acreate_chat_completion(
        self, request: ChatCompletionRequest
    ) -> ChatCompletionResponse: ...

    async def acreate_chat_completion_stream(
        self, request: ChatCompletionRequest
    ) -> AsyncIterator[ChatCompletionChunk]: ...

    async def aclose(self) -> None: ...
