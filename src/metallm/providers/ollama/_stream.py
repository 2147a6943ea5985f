"""The incremental decoder for Ollama's NDJSON chat stream (``application/x-ndjson``).

Bytes go through :class:`metallm._ndjson.NDJSONDecoder`; each line is one JSON object:

* ``{"message": {...}, "done": false}``: a partial message (content, thinking, or whole tool
  calls: Ollama never splits a call's arguments) -> one chunk;
* ``{..., "done": true, "done_reason", "prompt_eval_count", "eval_count"}``: the end marker,
  a chunk with the finish reason and usage (a body that ends without it raises
  :class:`~metallm.errors.StreamError` from :meth:`OllamaStreamDecoder.close`);
* ``{"error": "..."}``: raised as the matching :class:`~metallm.errors.APIError` subclass;
* anything else is skipped (logged at debug).

Every chunk carries the id and ``created`` of the first line, computed as the non-stream parser
does (:func:`._response.reply_id`), and tool calls are numbered across the whole stream, so a
stream accumulates to the response the non-stream parser gives for the same exchange. This is
the per-line hot path: plain dict reads and models built by :func:`._construct.constructor`.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from ..._ndjson import NDJSONDecoder
from ...errors import APIError, StreamError, error_class_for_status, excerpt, redact
from ...provider import constructor
from ...types import (
    ChatCompletionChunk,
    ChunkChoice,
    Delta,
    FunctionCallDelta,
    Role,
    ToolCallDelta,
)
from ._response import created_epoch, finish_reason, parse_usage, reply_id, tool_calls

__all__ = ["OllamaStreamDecoder"]

_log = logging.getLogger("metallm")
_loads = json.loads
_decode_json = json.JSONDecoder().decode
_new_chunk = constructor(ChatCompletionChunk)
_new_choice = constructor(ChunkChoice)
_new_delta = constructor(Delta)
_new_tool_call = constructor(ToolCallDelta)
_new_function = constructor(FunctionCallDelta)


class OllamaStreamDecoder:
    """Turns an Ollama NDJSON chat body into unified chunks; one instance per stream."""

    __slots__ = ("_created", "_done", "_id", "_lines", "_model", "_provider", "_secrets", "_tools")

    def __init__(self, provider: str, secrets: tuple[str, ...] = ()) -> None:
        self._provider = provider
        self._secrets = secrets
        self._lines = NDJSONDecoder()
        self._done = False
        self._id: str | None = None
        self._created = 0
        self._model = ""
        self._tools = 0

    @property
    def done(self) -> bool:
        """Whether the ``"done": true`` line has arrived."""
        return self._done

    def feed(self, data: bytes) -> list[ChatCompletionChunk]:
        """The chunks completed by ``data``; raises an ``APIError`` for an error line."""
        if self._done:
            return []
        lines = self._lines.feed(data)
        return self._decode(lines) if lines else []

    def close(self) -> list[ChatCompletionChunk]:
        """End of body: decode a last unterminated line; ``StreamError`` if ``done`` never came."""
        if self._done:
            return []
        try:
            chunks = self._decode(self._lines.close())
        except StreamError as exc:
            raise StreamError(
                f"stream ended before its done line, inside a line ({exc.message})",
                provider=self._provider,
            ) from exc
        if not self._done:
            raise StreamError("stream ended before its done line", provider=self._provider)
        return chunks

    def _decode(self, lines: list[bytes]) -> list[ChatCompletionChunk]:
        chunks: list[ChatCompletionChunk] = []
        for line in lines:
            try:
                obj = _decode_json(line.decode())
            except ValueError:
                raise self._garbled("stream line is not JSON", line) from None
            if type(obj) is not dict:
                raise self._garbled("stream line is not a JSON object", line)
            if "error" in obj:
                raise self._error(obj, line)
            message = obj.get("message")
            done = obj.get("done") is True
            if message is None and not done:
                _log.debug("%s: skipping unknown stream line: %s", self._provider, excerpt(line))
                continue
            try:
                chunks.append(self._chunk(obj, message, done))
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                why = f"malformed stream line ({type(exc).__name__}: {exc})"
                raise self._garbled(why, line) from exc
            if done:
                self._done = True
                break
        return chunks

    def _garbled(self, why: str, line: bytes) -> StreamError:
        text = redact(f"{why}: {excerpt(line)}", self._secrets)
        return StreamError(text, provider=self._provider)

    def _error(self, obj: dict[str, Any], line: bytes) -> APIError:
        error = obj["error"]
        if isinstance(error, dict):
            message = error.get("message") or json.dumps(error)
        else:
            message = str(error) if error is not None else "error line in stream"
        message = redact(str(message), self._secrets)
        status = obj.get("status_code") if type(obj.get("status_code")) is int else None
        cls = error_class_for_status(status, message=message)
        body = _loads(redact(line.decode("utf-8", "replace"), self._secrets))
        return cls(message, provider=self._provider, status_code=status, body=body)

    def _chunk(self, obj: dict[str, Any], message: Any, done: bool) -> ChatCompletionChunk:
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
        delta = _new_delta(
            {
                "role": Role.ASSISTANT if first else None,
                "content": content,
                "reasoning_content": reasoning,
                "tool_calls": calls,
            }
        )
        finish = finish_reason(obj.get("done_reason"), self._tools > 0) if done else None
        return _new_chunk(
            {
                "id": self._id,
                "object": "chat.completion.chunk",
                "created": self._created,
                "model": self._model,
                "choices": [_new_choice({"index": 0, "delta": delta, "finish_reason": finish})],
                "usage": parse_usage(obj) if done else None,
                "system_fingerprint": None,
            }
        )

    def _tool_calls(self, raw: Any) -> list[ToolCallDelta]:
        start = self._tools
        calls = tool_calls(raw, 0, start)
        self._tools += len(calls)
        return [
            _new_tool_call(
                {
                    "index": start + offset,
                    "id": call.id,
                    "type": "function",
                    "function": _new_function(
                        {"name": call.function.name, "arguments": call.function.arguments}
                    ),
                }
            )
            for offset, call in enumerate(calls)
        ]
