"""The incremental decoder for Ollama's NDJSON chat stream (``application/x-ndjson``).

An :class:`metallm.provider.EventDecoder` over NDJSON; each line is one JSON object:

* ``{"message": {...}, "done": false}``: a partial message (content, thinking, or whole tool
  calls: Ollama never splits a call's arguments) -> one chunk;
* ``{..., "done": true, "done_reason", "prompt_eval_count", "eval_count"}``: the end marker,
  a chunk with the finish reason and usage (a body that ends without it raises
  :class:`~metallm.errors.StreamError` from ``close``);
* ``{"error": "..."}``: raised as the matching :class:`~metallm.errors.APIError` subclass;
* anything else is skipped (logged at debug).

Every chunk carries the id and ``created`` of the first line, computed as the non-stream parser
does (:func:`._response.reply_id`), and tool calls are numbered across the whole stream, so a
stream accumulates to the response the non-stream parser gives for the same exchange. This is
the per-line hot path: plain dict reads and models built by the kit's stream constructors
(:data:`metallm.provider.new_chunk` and its siblings).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from ...errors import APIError, error_class_for_status, redact
from ...provider import (
    NDJSON,
    EventDecoder,
    new_chunk,
    new_chunk_choice,
    new_delta,
    new_function_delta,
    new_tool_call_delta,
)
from ...types import ChatCompletionChunk, Role, ToolCallDelta
from ._response import created_epoch, finish_reason, parse_usage, reply_id, tool_calls

__all__ = ["OllamaStreamDecoder"]

_log = logging.getLogger("metallm")


class OllamaStreamDecoder(EventDecoder):
    """Turns an Ollama NDJSON chat body into unified chunks; one instance per stream."""

    __slots__ = ("_created", "_id", "_model", "_tools")

    framing = NDJSON
    end_marker = "its done line"

    def __init__(self, provider: str, secrets: tuple[str, ...] = ()) -> None:
        super().__init__(provider, secrets)
        self._id: str | None = None
        self._created = 0
        self._model = ""
        self._tools = 0

    def on_event(self, name: str, obj: dict[str, Any]) -> ChatCompletionChunk | None:
        """A chunk per message line; the ``done`` line ends the stream."""
        message = obj.get("message")
        done = obj.get("done") is True
        if message is None and not done:
            _log.debug("%s: skipping unknown stream line with keys %r", self._provider, sorted(obj))
            return None
        first = self._id is None
        if first:
            model = obj.get("model")
            created_at = obj.get("created_at")
            self._id = reply_id(model, created_at)
            self._created = created_epoch(created_at)
            self._model = str(model or "")
        content = reasoning = None
        calls: list[ToolCallDelta] | None = None
        if message:
            content = message.get("content") or None
            reasoning = message.get("thinking") or None
            if (content is not None and type(content) is not str) or (
                reasoning is not None and type(reasoning) is not str
            ):
                raise TypeError("message content/thinking is not a string")
            raw_calls = message.get("tool_calls")
            if raw_calls:
                calls = self._tool_calls(raw_calls)
        delta = new_delta(
            {
                "role": Role.ASSISTANT if first else None,
                "content": content,
                "reasoning_content": reasoning,
                "tool_calls": calls,
                "reasoning": None,
                "provider_data": None,
            }
        )
        finish = finish_reason(obj.get("done_reason"), self._tools > 0) if done else None
        chunk = new_chunk(
            {
                "id": self._id,
                "object": "chat.completion.chunk",
                "created": self._created,
                "model": self._model,
                "choices": [
                    new_chunk_choice({"index": 0, "delta": delta, "finish_reason": finish})
                ],
                "usage": parse_usage(obj) if done else None,
                "system_fingerprint": None,
                "service_tier": None,
            }
        )
        if done:
            self._done = True
        return chunk

    def is_error(self, name: str, obj: dict[str, Any]) -> bool:
        """Ollama's error lines are ``{"error": ...}`` (any value)."""
        return "error" in obj

    def error_event(self, obj: dict[str, Any], payload: str | bytes) -> APIError:
        """The typed error of an ``{"error": "...", "status_code"?: int}`` line."""
        error = obj["error"]
        if isinstance(error, dict):
            message = error.get("message") or json.dumps(error)
        else:
            message = str(error) if error is not None else "error line in stream"
        message = redact(str(message), self._secrets)
        status = obj.get("status_code") if type(obj.get("status_code")) is int else None
        cls = error_class_for_status(status, message=message)
        body = self.redacted(obj, payload)
        return cls(message, provider=self._provider, status_code=status, body=body)

    def _tool_calls(self, raw: Any) -> list[ToolCallDelta]:
        start = self._tools
        calls = tool_calls(raw, 0, start)
        self._tools += len(calls)
        return [
            new_tool_call_delta(
                {
                    "index": start + offset,
                    "id": call.id,
                    "type": "function",
                    "function": new_function_delta(
                        {"name": call.function.name, "arguments": call.function.arguments}
                    ),
                }
            )
            for offset, call in enumerate(calls)
        ]
