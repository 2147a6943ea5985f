"""The public interface for providers: what built-ins implement and third parties can too.

Two protocols: :class:`HTTPProvider`, a sans-IO codec (request builder, response parser,
incremental stream decoder, error parser) for which the client supplies transport, retries and
telemetry; and :class:`Provider` / :class:`AsyncProvider`, the Go design's interface for
providers that bring their own I/O. Either kind is injected with
``metallm.Client(custom_provider=...)`` or registered by name with :func:`register`.

Codec helpers a third party needs are here too: the incremental :class:`SSEDecoder` and
:class:`NDJSONDecoder`, the HTTP value types, and :func:`error_from_response`.
"""

from .._ndjson import NDJSONDecoder
from .._sse import SSEDecoder, SSEEvent
from ._errors import error_from_response, invalid_body_error, parse_retry_after
from ._http import HTTPRequest, HTTPResponse, server_address_port
from ._protocols import AsyncProvider, EmbeddingsCodec, HTTPProvider, Provider, StreamDecoder
from ._registry import AnyProvider, ProviderSettings, ProviderSpec, available, get_spec, register

__all__ = [
    "AnyProvider",
    "AsyncProvider",
    "EmbeddingsCodec",
    "HTTPProvider",
    "HTTPRequest",
    "HTTPResponse",
    "NDJSONDecoder",
    "Provider",
    "ProviderSettings",
    "ProviderSpec",
    "SSEDecoder",
    "SSEEvent",
    "StreamDecoder",
    "available",
    "error_from_response",
    "get_spec",
    "invalid_body_error",
    "parse_retry_after",
    "register",
    "server_address_port",
]
