"""The incremental decoder for OpenAI-shaped Server-Sent Event streams (OpenAI, xAI, compatibles).

An :class:`metallm.provider.EventDecoder` over SSE: each ``data:`` payload is a
``chat.completion.chunk`` object, an ``{"error": ...}`` object (raised as the matching
:class:`~metallm.errors.APIError` subclass by the kit), or ``[DONE]``, the end marker: a body
that ends without it raises :class:`~metallm.errors.StreamError` from ``close``.

This is the per-chunk hot path of every OpenAI-shaped stream, so it reads the dicts directly
and builds models with the kit's stream constructors (:data:`metallm.provider.new_chunk` and
its siblings) instead of validating; the work per content chunk is a handful of dict lookups
and three small object constructions.
"""

from __future__ import annotations

from typing import Any

from ...provider import (
    EventDecoder,
    arguments_text,
    as_int,
    new_chunk,
    new_chunk_choice,
    new_delta,
    new_function_delta,
    new_tool_call_delta,
    tool_call_id,
)
from ...types import ChatCompletionChunk, ChunkChoice, FinishReason, Role, ToolCallDelta
from ._response import FINISH_REASONS, parse_usage, reasoning_of, text_of

__all__ = ["OpenAIStreamDecoder"]

_ROLES: dict[Any, Role] = {r.value: r for r in Role}
_EMPTY_DELTA: dict[str, Any] = {
    "role": None,
    "content": None,
    "reasoning_content": None,
    "tool_calls": None,
    "reasoning": None,
    "provider_data": None,
}


class OpenAIStreamDecoder(EventDecoder):
    """Turns an OpenAI-shaped SSE body into unified chunks; one instance per stream.

    Besides decoding, it keeps the little state normalisation needs across chunks: a tool
    call streamed without an id gets the same synthetic id (``call_<choice>_<tool>``) as the
    non-streaming parser gives it, an id, type or name repeated on a call's later fragments is
    dropped (the first delta of a call is its head), and a choice that streamed a refusal
    finishes with ``content_filter``. Finish reasons are mapped (``function_call`` ->
    ``tool_calls``, unknown -> ``stop``); correcting ``stop`` on a choice that streamed tool
    calls is left to the accumulator, which sees the whole choice.
    """

    __slots__ = ("_refused", "_tools_seen")

    end_marker = "[DONE]"
    end_data = "[DONE]"
    malformed = "malformed stream chunk"

    def __init__(self, provider: str, secrets: tuple[str, ...] = ()) -> None:
        super().__init__(provider, secrets)
        self._refused: set[int] = set()
        self._tools_seen: set[tuple[int, int]] = set()

    def on_event(self, name: str, obj: dict[str, Any]) -> ChatCompletionChunk | None:
        """A ``chat.completion.chunk``; keep-alives and unknown events are skipped."""
        if "choices" not in obj and "usage" not in obj:
            return None  # keep-alive or unknown event: carries nothing for the response
        # The hot path: plain gets and type checks inlined, models built by the kit's constructors.
        raw_choices = obj.get("choices")
        choices: list[ChunkChoice]
        if not raw_choices:
            choices = []
        elif len(raw_choices) == 1:  # the usual case, without a loop
            choices = [self._choice(raw_choices[0], 0)]
        else:
            choice = self._choice
            choices = [choice(raw, position) for position, raw in enumerate(raw_choices)]
        usage = obj.get("usage")
        chunk_id = obj.get("id")
        model = obj.get("model")
        created = obj.get("created")
        fingerprint = obj.get("system_fingerprint")
        tier = obj.get("service_tier")
        return new_chunk(
            {
                "id": chunk_id if type(chunk_id) is str else str(chunk_id or ""),
                "object": "chat.completion.chunk",
                "created": created if type(created) is int else as_int(created),
                "model": model if type(model) is str else str(model or ""),
                "choices": choices,
                "usage": parse_usage(usage) if usage else None,
                "system_fingerprint": fingerprint if type(fingerprint) is str else None,
                "service_tier": tier if type(tier) is str else None,
            },
        )

    def _choice(self, raw: dict[str, Any], position: int) -> ChunkChoice:
        index = raw.get("index")
        if type(index) is not int:
            index = position if index is None else as_int(index)
        d = raw.get("delta")
        if d:
            role = d.get("role")
            content = d.get("content")
            reasoning = d.get("reasoning_content")
            tool_calls = d.get("tool_calls")
            if len(d) > 1 or (content is None and reasoning is None and tool_calls is None):
                # Rare fields, looked at only when the delta has more than its one usual key.
                if content is not None and type(content) is not str:
                    content = text_of(content)
                if reasoning is None:
                    reasoning = reasoning_of(d)
                refusal = d.get("refusal")
                if refusal and not content and isinstance(refusal, str):
                    content = refusal
                    self._refused.add(index)
                legacy = d.get("function_call")  # the deprecated "functions" API
                if tool_calls is None and isinstance(legacy, dict):
                    tool_calls = [{"index": 0, "function": legacy}]
            elif content is not None and type(content) is not str:
                content = text_of(content)
            delta = new_delta(
                {
                    "role": None if role is None else _ROLES.get(role, Role.ASSISTANT),
                    "content": content,
                    "reasoning_content": reasoning if type(reasoning) is str else None,
                    "tool_calls": self._tool_calls(tool_calls, index) if tool_calls else None,
                    "reasoning": None,
                    "provider_data": None,
                },
            )
        else:
            delta = new_delta(dict(_EMPTY_DELTA))
        reason = raw.get("finish_reason")
        finish: FinishReason | None = None
        if reason is not None:
            finish = FINISH_REASONS.get(reason, "stop")
            if self._refused and index in self._refused:
                finish = "content_filter"
        return new_chunk_choice({"index": index, "delta": delta, "finish_reason": finish})

    def _tool_calls(self, raw: list[dict[str, Any]], choice: int) -> list[ToolCallDelta]:
        out: list[ToolCallDelta] = []
        seen = self._tools_seen
        for position, item in enumerate(raw):
            tool_index = item.get("index")
            tool_index = position if tool_index is None else as_int(tool_index)
            key = (choice, tool_index)
            # Only a call's first delta brings its id, type and name: some compatible servers
            # (OpenRouter's Novita) repeat them on every fragment, which the user must not read
            # as a new call.
            head = key not in seen
            fn = item.get("function")
            function = None
            name = None
            if fn is not None:
                name = fn.get("name") if head else None
                arguments = fn.get("arguments")
                function = new_function_delta(
                    {
                        "name": name,
                        "arguments": None if arguments is None else arguments_text(arguments),
                    },
                )
            call_id = item.get("id") if head else None
            if call_id:
                call_id = str(call_id)
                seen.add(key)
            elif name:
                call_id = tool_call_id(None, choice, tool_index)  # as the non-stream parser
                seen.add(key)
            else:
                call_id = None
            out.append(
                new_tool_call_delta(
                    {
                        "index": tool_index,
                        "id": call_id,
                        "type": "function" if head and item.get("type") is not None else None,
                        "function": function,
                    },
                )
            )
        return out
