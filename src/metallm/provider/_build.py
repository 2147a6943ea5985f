"""Building unified results from values a codec has already read: one spelling for all codecs.

Every codec ends the same way: usage whose total is prompt plus completion, tool calls of type
``function``, an assistant message, choices, a ``chat.completion`` response; and, in streams,
deltas, chunk choices and chunks. These builders give every field (so the models are built by
:func:`~metallm.provider.construct`, without validation, at the cost of a dict) and apply the
invariants once (``total_tokens``, ``role``, ``type``), instead of each codec spelling every
field out again.

For the per-chunk path the kit also exports the bare stream constructors (:data:`new_chunk`,
:data:`new_chunk_choice`, :data:`new_delta`, :data:`new_tool_call_delta`,
:data:`new_function_delta`): they take the complete field dict and cost no extra call.
"""

from __future__ import annotations

from typing import Any

from ..types import (
    ChatCompletionChunk,
    ChatCompletionResponse,
    Choice,
    ChunkChoice,
    Delta,
    FinishReason,
    FunctionCall,
    FunctionCallDelta,
    Message,
    ReasoningDelta,
    ReasoningPart,
    Role,
    ToolCall,
    ToolCallDelta,
    Usage,
)
from ._construct import constructor

__all__ = [
    "make_assistant_message",
    "make_choice",
    "make_completion",
    "make_reasoning_part",
    "make_tool_call",
    "make_usage",
    "new_chunk",
    "new_chunk_choice",
    "new_delta",
    "new_function_delta",
    "new_reasoning_delta",
    "new_tool_call_delta",
]

new_chunk = constructor(ChatCompletionChunk)
"""A :class:`~metallm.ChatCompletionChunk` from the dict of all its fields."""
new_chunk_choice = constructor(ChunkChoice)
"""A :class:`~metallm.ChunkChoice` from the dict of all its fields."""
new_delta = constructor(Delta)
"""A :class:`~metallm.Delta` from the dict of all its fields."""
new_tool_call_delta = constructor(ToolCallDelta)
"""A :class:`~metallm.ToolCallDelta` from the dict of all its fields."""
new_function_delta = constructor(FunctionCallDelta)
"""A :class:`~metallm.FunctionCallDelta` from the dict of all its fields."""
new_reasoning_delta = constructor(ReasoningDelta)
"""A :class:`~metallm.ReasoningDelta` from the dict of all its fields."""

_new_usage = constructor(Usage)
_new_function = constructor(FunctionCall)
_new_tool_call = constructor(ToolCall)
_new_message = constructor(Message)
_new_reasoning = constructor(ReasoningPart)
_new_choice = constructor(Choice)
_new_response = constructor(ChatCompletionResponse)


def make_usage(
    prompt_tokens: int,
    completion_tokens: int,
    *,
    cached_tokens: int | None = None,
    cache_write_tokens: int | None = None,
    reasoning_tokens: int | None = None,
) -> Usage:
    """Normalised usage: ``total_tokens`` is always prompt plus completion.

    The details stay ``None`` when the provider did not report them (0 when it reported 0).
    """
    return _new_usage(
        {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "cached_tokens": cached_tokens,
            "cache_write_tokens": cache_write_tokens,
            "reasoning_tokens": reasoning_tokens,
        }
    )


def make_tool_call(call_id: str, name: str, arguments: str) -> ToolCall:
    """A ``function`` tool call (``arguments`` is JSON text: see ``arguments_text``)."""
    function = _new_function({"name": name, "arguments": arguments})
    return _new_tool_call({"id": call_id, "type": "function", "function": function})


def make_assistant_message(
    content: str | None,
    tool_calls: list[ToolCall] | None = None,
    reasoning: str | None = None,
    *,
    reasoning_parts: list[ReasoningPart] | None = None,
    provider_data: dict[str, Any] | None = None,
) -> Message:
    """The assistant's message of a reply (empty lists and dicts are stored as ``None``).

    ``reasoning_parts`` are the signed blocks to send back (:func:`make_reasoning_part`);
    ``provider_data`` is the codec's own opaque data, stored under its name by the caller.
    """
    return _new_message(
        {
            "role": Role.ASSISTANT,
            "content": content,
            "name": None,
            "tool_calls": tool_calls or None,
            "tool_call_id": None,
            "reasoning_content": reasoning,
            "reasoning": reasoning_parts or None,
            "provider_data": provider_data or None,
            "cache_control": None,
        }
    )


def make_reasoning_part(
    provider: str,
    text: str = "",
    *,
    signature: str | None = None,
    encrypted: str | None = None,
) -> ReasoningPart:
    """A reasoning block as ``provider`` issued it (empty signatures are stored as ``None``)."""
    return _new_reasoning(
        {
            "type": "reasoning",
            "text": text,
            "signature": signature or None,
            "encrypted": encrypted or None,
            "provider": provider,
        }
    )


def make_choice(index: int, message: Message, finish_reason: FinishReason | None) -> Choice:
    """One choice of a reply."""
    return _new_choice({"index": index, "message": message, "finish_reason": finish_reason})


def make_completion(
    provider: str,
    choices: list[Choice],
    *,
    id: str = "",
    model: str = "",
    usage: Usage | None = None,
    created: int = 0,
    object: str = "chat.completion",
    system_fingerprint: str | None = None,
    service_tier: str | None = None,
) -> ChatCompletionResponse:
    """A whole reply (``created`` is 0 for providers that send no timestamp)."""
    return _new_response(
        {
            "id": id,
            "object": object,
            "created": created,
            "model": model,
            "provider": provider,
            "choices": choices,
            "usage": usage,
            "system_fingerprint": system_fingerprint,
            "service_tier": service_tier,
            "cost": None,  # priced by the client, from the usage
        }
    )
