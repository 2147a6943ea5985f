"""The attributes of a GenAI span, from a request and a response, per operation.

Chat: the ``gen_ai.request.*`` parameters set at start (samplers see them) and the response's
id, model, finish reasons and usage at the end. Embeddings: ``gen_ai.embeddings.dimension.count``
and ``gen_ai.request.encoding_formats`` when the caller asked for them, then the response model
and input tokens. Names come from :mod:`metallm.otel.attributes` only.
"""

from __future__ import annotations

from typing import Any

from ..embeddings import EmbeddingsRequest, EmbeddingsResponse
from ..errors import APIError
from ..hooks import LLMCallInfo
from ..types import ChatCompletionRequest, ChatCompletionResponse
from . import attributes as A
from .content import output_type

__all__ = [
    "embeddings_request_attributes",
    "embeddings_response_attributes",
    "error_type",
    "request_attributes",
    "response_attributes",
]


_REQUEST_PARAMETERS = (
    ("max_tokens", A.REQUEST_MAX_TOKENS),
    ("temperature", A.REQUEST_TEMPERATURE),
    ("top_p", A.REQUEST_TOP_P),
    ("top_k", A.REQUEST_TOP_K),
    ("frequency_penalty", A.REQUEST_FREQUENCY_PENALTY),
    ("presence_penalty", A.REQUEST_PRESENCE_PENALTY),
    ("seed", A.REQUEST_SEED),
)
"""Request fields copied as they are onto the span: (field, attribute)."""
_PARAMETER_NAMES = dict(_REQUEST_PARAMETERS)
_PARAMETER_FIELDS = frozenset(_PARAMETER_NAMES)


def request_attributes(
    attrs: dict[str, Any], request: ChatCompletionRequest, info: LLMCallInfo
) -> None:
    """The request parameters that were set (samplers see them at span start).

    Only the fields the caller set are looked at (pydantic's ``model_fields_set``, which
    construction, ``model_construct``, ``model_copy(update=)`` and assignment all keep): most
    calls set none of the seven, and the span's start is on every call's path. All of them
    default to None, so a field left unset has nothing to show."""
    values = request.__dict__
    for field in _PARAMETER_FIELDS.intersection(request.model_fields_set):
        value = values[field]
        if value is not None:
            attrs[_PARAMETER_NAMES[field]] = value
    stops = request.stop_sequences()
    if stops:
        attrs[A.REQUEST_STOP_SEQUENCES] = stops
    if request.n is not None and request.n != 1:
        attrs[A.REQUEST_CHOICE_COUNT] = request.n
    if info.streaming:
        attrs[A.REQUEST_STREAM] = True
    attrs[A.OUTPUT_TYPE] = output_type(request)
    if info.conversation_id:
        attrs[A.CONVERSATION_ID] = info.conversation_id


def response_attributes(attrs: dict[str, Any], response: ChatCompletionResponse) -> None:
    if response.id:
        attrs[A.RESPONSE_ID] = response.id
    if response.model:
        attrs[A.RESPONSE_MODEL] = response.model
    reasons = [c.finish_reason or "error" for c in response.choices]
    if reasons:  # omitted when no choice was received at all (the conventions' rule)
        attrs[A.RESPONSE_FINISH_REASONS] = reasons
    usage = response.usage
    if usage is not None:
        attrs[A.USAGE_INPUT_TOKENS] = usage.prompt_tokens
        attrs[A.USAGE_OUTPUT_TOKENS] = usage.completion_tokens
        if usage.cached_tokens:
            attrs[A.USAGE_CACHE_READ_INPUT_TOKENS] = usage.cached_tokens
        if usage.cache_write_tokens:
            attrs[A.USAGE_CACHE_WRITE_INPUT_TOKENS] = usage.cache_write_tokens
        if usage.reasoning_tokens:
            attrs[A.USAGE_REASONING_OUTPUT_TOKENS] = usage.reasoning_tokens


def embeddings_request_attributes(attrs: dict[str, Any], request: EmbeddingsRequest) -> None:
    """What an embeddings request asked for (only what the caller set)."""
    if request.dimensions is not None:
        attrs[A.EMBEDDINGS_DIMENSION_COUNT] = request.dimensions
    if request.encoding_format is not None:
        attrs[A.REQUEST_ENCODING_FORMATS] = [request.encoding_format]


def embeddings_response_attributes(attrs: dict[str, Any], response: EmbeddingsResponse) -> None:
    """The response model and the input tokens the provider counted."""
    if response.model:
        attrs[A.RESPONSE_MODEL] = response.model
    attrs[A.USAGE_INPUT_TOKENS] = response.usage.prompt_tokens


def error_type(error: BaseException | None) -> str:
    """``error.type``: the provider's code, else the status, else the exception's class name."""
    if error is None:
        return A.ERROR_TYPE_OTHER
    if isinstance(error, APIError):
        if error.code:
            return str(error.code)
        if error.status_code is not None:
            return str(error.status_code)
    cls = type(error)
    return (
        cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    )
