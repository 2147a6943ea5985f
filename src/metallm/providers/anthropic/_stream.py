"""The incremental decoder for Anthropic Messages Server-Sent Event streams.

An :class:`metallm.provider.EventDecoder` over SSE; each ``data:`` payload is one event,
dispatched on its ``type``: ``message_start`` (id, model, input usage) opens the stream with a
role chunk; ``content_block_start``/``_delta``/``_stop`` carry text (``text_delta``), thinking
(``thinking_delta``, kept out of ``content``), thinking signatures (``signature_delta``) and
redacted thinking (all three also as :class:`~metallm.ReasoningDelta` fragments, so the
accumulated message carries the signed blocks the next turn sends back) and tool calls (a
``tool_use`` head, then ``input_json_delta`` argument fragments); ``message_delta`` brings the
stop reason and output usage, emitted as one chunk with the whole normalised usage;
``message_stop`` is the end marker, without which ``close`` raises
:class:`~metallm.errors.StreamError`. ``ping`` and unknown events are skipped; an ``error``
event raises the matching :class:`~metallm.errors.APIError` subclass.

Anthropic numbers content blocks across kinds (text 0, tool 1, tool 2); unified tool-call
deltas are numbered per tool (0, 1) and reasoning deltas per thinking block, so the decoder
maps block index to ordinal.
Per content delta the work is one ``json.loads`` and three small model constructions.
"""

from __future__ import annotations

import logging
from typing import Any

from ...errors import APIError
from ...provider import (
    EventDecoder,
    arguments_text,
    new_chunk,
    new_chunk_choice,
    new_delta,
    new_function_delta,
    new_reasoning_delta,
    new_tool_call_delta,
)
from ...types import ChatCompletionChunk, ReasoningDelta, Role, ToolCallDelta, Usage
from ._response import finish_reason, parse_usage, tool_id

__all__ = ["AnthropicStreamDecoder"]

_log = logging.getLogger("metallm")
_TYPE_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "overloaded_error": 529,
}
"""Anthropic error types -> the HTTP status they stand for (error events carry no status)."""


class AnthropicStreamDecoder(EventDecoder):
    """Turns an Anthropic SSE body into unified chunks; one instance per stream."""

    __slots__ = ("_blocks", "_id", "_input_usage", "_model", "_thoughts", "_tools")

    end_marker = "message_stop"

    def __init__(self, provider: str, secrets: tuple[str, ...] = ()) -> None:
        super().__init__(provider, secrets)
        self._id = ""
        self._model = ""
        self._input_usage: dict[str, Any] = {}
        # block index -> [kind, tool or thinking ordinal, start input, saw arguments]
        self._blocks: dict[int, list[Any]] = {}
        self._tools = 0
        self._thoughts = 0

    def is_error(self, name: str, obj: dict[str, Any]) -> bool:
        """Anthropic's error events have type ``error`` (and SSE event type ``error``)."""
        return name == "error" or obj.get("type") == "error"

    def error_status(self, type: str | None, code: str | None) -> int | None:
        """Error events carry no status: the one Anthropic's error type stands for."""
        return _TYPE_STATUS.get(type or "")

    def error_event(self, obj: dict[str, Any], payload: str | bytes) -> APIError:
        """The kit's typed error, with the ``request_id`` the event carries."""
        error = super().error_event(obj, payload)
        body = error.body
        request_id = body.get("request_id") if isinstance(body, dict) else None
        error.request_id = request_id if isinstance(request_id, str) else None
        return error

    def on_event(self, name: str, obj: dict[str, Any]) -> ChatCompletionChunk | None:
        """The chunk (if any) for one event, dispatched on its ``type``."""
        kind = obj.get("type")
        if kind == "content_block_delta":
            return self._delta(obj["index"], obj["delta"])
        if kind == "content_block_start":
            return self._start(obj["index"], obj["content_block"])
        if kind == "content_block_stop":
            return self._stop(obj["index"])
        if kind == "message_delta":
            return self._message_delta(obj)
        if kind == "message_start":
            message = obj["message"]
            self._id = str(message.get("id") or "")
            self._model = str(message.get("model") or "")
            usage = message.get("usage")
            self._input_usage = usage if isinstance(usage, dict) else {}
            return self._chunk(None, None, None, None, role=Role.ASSISTANT)
        if kind == "message_stop":
            self._done = True
            return None
        if kind != "ping":
            _log.debug("anthropic stream: skipping unknown event type %r", kind)
        return None

    def _start(self, index: int, block: dict[str, Any]) -> ChatCompletionChunk | None:
        kind = block.get("type")
        if kind == "tool_use":
            ordinal = self._tools
            self._tools += 1
            self._blocks[index] = ["tool_use", ordinal, block.get("input"), False]
            head = new_tool_call_delta(
                {
                    "index": ordinal,
                    "id": tool_id(block.get("id"), ordinal),
                    "type": "function",
                    "function": new_function_delta(
                        {"name": str(block.get("name") or ""), "arguments": None}
                    ),
                }
            )
            return self._chunk(None, None, [head], None)
        if kind in {"thinking", "redacted_thinking"}:
            ordinal = self._thoughts
            self._thoughts += 1
            self._blocks[index] = [kind, ordinal, None, False]
            text = block.get("thinking") or None
            if kind == "redacted_thinking":
                part = _reasoning(ordinal, None, None, str(block.get("data") or ""))
            else:
                signature = block.get("signature") or None
                if text is None and signature is None:
                    return None  # an empty head: the part opens with its first fragment
                part = _reasoning(ordinal, text, signature, None)
            return self._chunk(None, text, None, None, reasoning=[part])
        self._blocks[index] = [kind, 0, None, False]
        text = block.get("text") if kind == "text" else None
        return self._chunk(text, None, None, None) if text else None

    def _delta(self, index: int, delta: dict[str, Any]) -> ChatCompletionChunk | None:
        kind = delta.get("type")
        if kind == "text_delta":
            text = delta["text"]
            return self._chunk(text, None, None, None) if text else None
        if kind == "thinking_delta":
            text = delta["thinking"]
            if not text:
                return None
            part = _reasoning(self._blocks[index][1], text, None, None)
            return self._chunk(None, text, None, None, reasoning=[part])
        if kind == "input_json_delta":
            partial = delta["partial_json"]
            if not partial:
                return None
            block = self._blocks[index]
            block[3] = True
            return self._arguments(block[1], partial)
        if kind == "signature_delta":
            signature = delta["signature"]
            if not signature:
                return None
            part = _reasoning(self._blocks[index][1], None, signature, None)
            return self._chunk(None, None, None, None, reasoning=[part])
        _log.debug("anthropic stream: skipping unknown delta type %r", kind)
        return None

    def _stop(self, index: int) -> ChatCompletionChunk | None:
        block = self._blocks.get(index)
        if block is None:
            return None
        if block[0] == "tool_use" and not block[3] and block[2]:
            # A complete input in the block head and no fragments: send it as the arguments.
            return self._arguments(block[1], arguments_text(block[2]))
        return None

    def _arguments(self, ordinal: int, text: str) -> ChatCompletionChunk:
        call = new_tool_call_delta(
            {
                "index": ordinal,
                "id": None,
                "type": None,
                "function": new_function_delta({"name": None, "arguments": text}),
            }
        )
        return self._chunk(None, None, [call], None)

    def _message_delta(self, obj: dict[str, Any]) -> ChatCompletionChunk:
        delta = obj.get("delta") or {}
        finish = finish_reason(delta.get("stop_reason"))
        if finish is not None and self._tools:
            finish = "tool_calls"
        output = obj.get("usage")
        usage = parse_usage(self._input_usage, output if isinstance(output, dict) else None)
        return self._chunk(None, None, None, finish, usage=usage)

    def _chunk(
        self,
        content: str | None,
        thinking: str | None,
        tool_calls: list[ToolCallDelta] | None,
        finish: Any,
        *,
        role: Role | None = None,
        usage: Usage | None = None,
        reasoning: list[ReasoningDelta] | None = None,
    ) -> ChatCompletionChunk:
        delta = new_delta(
            {
                "role": role,
                "content": content,
                "reasoning_content": thinking,
                "tool_calls": tool_calls,
                "reasoning": reasoning,
                "provider_data": None,
            }
        )
        choice = new_chunk_choice({"index": 0, "delta": delta, "finish_reason": finish})
        return new_chunk(
            {
                "id": self._id,
                "object": "chat.completion.chunk",
                "created": 0,
                "model": self._model,
                "choices": [choice],
                "usage": usage,
                "system_fingerprint": None,
                "service_tier": None,
            }
        )


def _reasoning(
    index: int, text: str | None, signature: str | None, encrypted: str | None
) -> ReasoningDelta:
    return new_reasoning_delta(
        {"index": index, "text": text, "signature": signature, "encrypted": encrypted}
    )
