"""The public interface for providers: what built-ins implement and third parties can too.

Two protocols: :class:`HTTPProvider`, a sans-IO codec (request builder, response parser,
incremental stream decoder, error parser) for which the client supplies transport, retries and
telemetry; and :class:`Provider` / :class:`AsyncProvider`, the Go design's interface for
providers that bring their own I/O. Either kind is injected with
``metallm.Client(custom_provider=...)`` or registered by name with :func:`register`.

The codec kit. The built-in codecs (``metallm.providers.*``) are written with nothing but this
module, :mod:`metallm.types`, :mod:`metallm.errors` and :mod:`metallm.models`, exactly as a
third-party codec would be, so whatever a built-in needs is public here rather than copied:

* :class:`HTTPCodec`, the codec shell: name, base URL, secrets and a ``repr`` without them,
  headers (the user's from ``extra["headers"]`` merged case-insensitively, :func:`merge_headers`),
  plain vs streamed ``accept``, JSON bodies, the default error parser, and the provider facts
  telemetry reads (``semconv_name``, ``system_instructions_apart``, ``span_attributes``, a
  :data:`SpanAttributes` function for a provider's own span attributes);
* :class:`EventDecoder`, the stream-decoder skeleton over a :class:`Framing` (:data:`SSE` or
  :data:`NDJSON`): end marker, JSON checks, error events, redacted garbled-event errors;
* :func:`construct` / :func:`constructor`, building already-checked pydantic models at the
  cost of a dict, which is what keeps a decoder's per-chunk cost low;
* builders of unified results that apply the invariants once: :func:`make_usage` (total = prompt +
  completion), :func:`make_tool_call`, :func:`make_assistant_message`, :func:`make_choice`,
  :func:`make_completion`, :func:`make_reasoning_part`, and the stream constructors
  :data:`new_chunk`, :data:`new_chunk_choice`, :data:`new_delta`, :data:`new_tool_call_delta`,
  :data:`new_function_delta`, :data:`new_reasoning_delta`;
* what a codec may send back of an assistant turn: :func:`sent_back` keeps the reasoning parts
  and provider data this provider issued and drops another's (logged);
* helpers every codec needs: :func:`json_body`, :func:`encode_json`, :func:`as_int`,
  :func:`opt_int`, :func:`arguments_text`, :func:`tool_call_id`, :func:`status_from_code`,
  :func:`refuse_fields`, :func:`response_format_type`, :func:`merge_extra`,
  :func:`json_object`, :func:`invalid_reply`, :func:`parse_token_count`,
  :func:`error_fields` and :data:`USER_AGENT`;
* structured output: :func:`json_schema_format` reads a ``json_schema`` response format into a
  :class:`JsonSchemaFormat` (name, schema, strict), and the codec attributes
  ``json_schema_strict`` / ``json_schema_object_root`` tell ``parse`` how to shape schemas;
* token counting: :class:`TokenCount` (what a counting parser returns, a
  :data:`CountTokensParser`) and :class:`TokenCountCodec`, the optional codec methods;
* the incremental :class:`SSEDecoder` and :class:`NDJSONDecoder`, the HTTP value types, and
  :func:`error_from_response` / :func:`invalid_body_error` for error and garbled replies.
"""

from .._ndjson import NDJSONDecoder
from .._sse import SSEDecoder, SSEEvent
from ..tokens import TokenCount
from ._build import (
    make_assistant_message,
    make_choice,
    make_completion,
    make_reasoning_part,
    make_tool_call,
    make_usage,
    new_chunk,
    new_chunk_choice,
    new_delta,
    new_function_delta,
    new_reasoning_delta,
    new_tool_call_delta,
)
from ._codec import CountTokensParser, HTTPCodec, SpanAttributes, merge_headers
from ._construct import construct, constructor
from ._decoder import NDJSON, SSE, EventDecoder, Framing
from ._errors import error_fields, error_from_response, invalid_body_error, parse_retry_after
from ._helpers import (
    USER_AGENT,
    arguments_text,
    as_int,
    encode_json,
    invalid_reply,
    json_body,
    json_object,
    merge_extra,
    opt_int,
    parse_token_count,
    refuse_fields,
    response_format_type,
    status_from_code,
    tool_call_id,
)
from ._http import HTTPRequest, HTTPResponse, server_address_port
from ._json_output import JsonSchemaFormat, json_schema_format
from ._protocols import (
    AsyncProvider,
    EmbeddingsCodec,
    HTTPProvider,
    Provider,
    StreamDecoder,
    TokenCountCodec,
)
from ._registry import AnyProvider, ProviderSettings, ProviderSpec, available, get_spec, register
from ._replay import sent_back

__all__ = [
    "NDJSON",
    "SSE",
    "USER_AGENT",
    "AnyProvider",
    "AsyncProvider",
    "CountTokensParser",
    "EmbeddingsCodec",
    "EventDecoder",
    "Framing",
    "HTTPCodec",
    "HTTPProvider",
    "HTTPRequest",
    "HTTPResponse",
    "JsonSchemaFormat",
    "NDJSONDecoder",
    "Provider",
    "ProviderSettings",
    "ProviderSpec",
    "SSEDecoder",
    "SSEEvent",
    "SpanAttributes",
    "StreamDecoder",
    "TokenCount",
    "TokenCountCodec",
    "arguments_text",
    "as_int",
    "available",
    "construct",
    "constructor",
    "encode_json",
    "error_fields",
    "error_from_response",
    "get_spec",
    "invalid_body_error",
    "invalid_reply",
    "json_body",
    "json_object",
    "json_schema_format",
    "make_assistant_message",
    "make_choice",
    "make_completion",
    "make_reasoning_part",
    "make_tool_call",
    "make_usage",
    "merge_extra",
    "merge_headers",
    "new_chunk",
    "new_chunk_choice",
    "new_delta",
    "new_function_delta",
    "new_reasoning_delta",
    "new_tool_call_delta",
    "opt_int",
    "parse_retry_after",
    "parse_token_count",
    "refuse_fields",
    "register",
    "response_format_type",
    "sent_back",
    "server_address_port",
    "status_from_code",
    "tool_call_id",
]
