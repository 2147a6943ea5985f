"""The incremental decoder for Gemini ``streamGenerateContent?alt=sse`` bodies.

Each ``data:`` event is a whole ``GenerateContentResponse`` holding the *new* parts of each
candidate (text, thought text, complete ``functionCall`` parts) and the *running*
``usageMetadata``. Gemini sends no ``[DONE]``: the stream is complete when every candidate it
mentioned has sent a ``finishReason`` (or the prompt was blocked); a body that ends before that
raises :class:`~metallm.errors.StreamError` from :meth:`GeminiStreamDecoder.close`. It is an
:class:`metallm.provider.EventDecoder` over SSE whose ``feed`` and ``close`` add what Gemini
needs (no end marker of its own, a plain JSON error body, a final usage-only chunk).

Usage is cumulative, so a chunk carries ``usage`` only from the first finishing event on; if
a later usage figure was not delivered on the last chunk, ``close`` adds a usage-only chunk, so
the stream always ends with its final usage. Tool calls get the same ids as the non-streaming
parser gives (``call_<candidate>_<n>``, counted across events), and the ``thoughtSignature``
values ride on the delta's ``provider_data`` in the parser's shape, so the accumulated message
is the one a plain call returns. An ``{"error": ...}`` event
raises the matching :class:`~metallm.errors.APIError`; so does a plain JSON error body served
with an event-stream content type (the body then has no ``data:`` lines at all).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from ...errors import APIError, error_class_for_status, redact, redact_value
from ...provider import (
    EventDecoder,
    arguments_text,
    error_fields,
    new_chunk,
    new_chunk_choice,
    new_delta,
    new_function_delta,
    new_tool_call_delta,
    status_from_code,
    tool_call_id,
)
from ...types import ChatCompletionChunk, ChunkChoice, Delta, FinishReason, Role, ToolCallDelta
from ._response import finish_reason, parse_usage, refine_error, signature_data

__all__ = ["GeminiStreamDecoder", "error_from_object"]

_log = logging.getLogger("metallm")
_loads = json.loads
_HEAD_LIMIT = 65536


def error_from_object(provider: str, obj: Any, secrets: tuple[str, ...]) -> APIError:
    """The typed error for a Gemini ``{"error": {"code", "message", "status"}}`` object."""
    if secrets:
        obj = redact_value(obj, secrets)  # the body rides on the error: scrub it too
    message, etype, code = error_fields(obj)
    message = redact(message or "error event in stream", secrets)
    status = status_from_code(code, lowest=100)
    cls = error_class_for_status(status, type=etype, code=code, message=message)
    error = cls(message, provider=provider, status_code=status, type=etype, code=code, body=obj)
    return refine_error(error)


class GeminiStreamDecoder(EventDecoder):
    """Turns a Gemini SSE body into unified chunks; one instance per stream.

    Unlike the other decoders it reads on after ``done`` (usage may follow the last finish
    reason), keeps the body's head until an event arrives (a plain JSON error served as an
    event stream), and may end with a usage-only chunk.
    """

    __slots__ = (
        "_calls",
        "_events_seen",
        "_finished",
        "_head",
        "_seen",
        "_usage",
        "_usage_sent",
    )

    end_marker = "a finishReason"

    def __init__(self, provider: str, secrets: tuple[str, ...] = ()) -> None:
        super().__init__(provider, secrets)
        self._events_seen = False
        self._head = b""  # the body's start, kept until an event arrives (a plain JSON error)
        self._seen: set[int] = set()
        self._finished: set[int] = set()
        self._calls: dict[int, int] = {}
        self._usage: dict[str, Any] | None = None
        self._usage_sent = True

    @property
    def done(self) -> bool:
        """Whether every candidate seen so far has finished."""
        return bool(self._finished) and self._seen <= self._finished

    def feed(self, data: bytes) -> list[ChatCompletionChunk]:
        """The chunks completed by ``data``; raises an ``APIError`` for an error event."""
        if not self._events_seen and len(self._head) < _HEAD_LIMIT:
            self._head += data
        events = self._frames.feed(data)
        if not events:
            return []
        self._events_seen = True
        self._head = b""
        return self.decode(events)

    def close(self) -> list[ChatCompletionChunk]:
        """End of body: flush the last event; raise ``StreamError`` if it was not complete."""
        events = self._frames.close()
        if events:
            self._events_seen = True
        chunks = self.decode_last(events)
        if not self._events_seen and self._head.strip():
            self._plain_body()
        if not self.done:
            raise self.ended_early()
        if not self._usage_sent and self._usage is not None:
            self._usage_sent = True
            chunks.append(
                new_chunk(
                    {
                        "id": "",
                        "object": "chat.completion.chunk",
                        "created": 0,
                        "model": "",
                        "choices": [],
                        "usage": parse_usage(self._usage),
                        "system_fingerprint": None,
                        "service_tier": None,
                    }
                )
            )
        return chunks

    def _plain_body(self) -> None:
        """A body with no events: a JSON error (raised typed) or garbage (``StreamError``)."""
        text = self._head.decode("utf-8", "replace")
        try:
            obj = _loads(text)
        except ValueError:
            obj = None
        if isinstance(obj, list) and obj:
            obj = obj[0]
        if isinstance(obj, dict) and obj.get("error") is not None:
            raise error_from_object(self._provider, obj, self._secrets)
        raise self.garbled("stream body has no server-sent events", text)

    def is_error(self, name: str, obj: dict[str, Any]) -> bool:
        """Gemini's error events are ``{"error": {...}}`` objects."""
        return obj.get("error") is not None

    def error_event(self, obj: dict[str, Any], payload: str | bytes) -> APIError:
        """The typed error, classed by the HTTP status in ``code`` and refined by reason."""
        return error_from_object(self._provider, obj, self._secrets)

    def on_event(self, name: str, obj: dict[str, Any]) -> ChatCompletionChunk | None:
        """A chunk per ``GenerateContentResponse`` (candidates' new parts, running usage)."""
        raw_candidates = obj.get("candidates")
        raw_usage = obj.get("usageMetadata")
        choices: list[ChunkChoice] = []
        finished = False
        if raw_candidates:
            for position, raw in enumerate(raw_candidates):
                choice = self._choice(raw, position)
                finished = finished or choice.finish_reason is not None
                choices.append(choice)
        else:
            feedback = obj.get("promptFeedback")
            if isinstance(feedback, dict) and feedback.get("blockReason") is not None:
                self._seen.add(0)
                self._finished.add(0)
                finished = True
                choices.append(
                    new_chunk_choice(
                        {
                            "index": 0,
                            "delta": _delta(None, None, None),
                            "finish_reason": "content_filter",
                        }
                    )
                )
            elif raw_usage is None:
                _log.debug("gemini stream: skipping an event without candidates or usage")
                return None
        usage = None
        if isinstance(raw_usage, dict):
            self._usage = raw_usage  # parsed only when delivered: running counts are frequent
            self._usage_sent = False
            if finished or self._finished:
                usage = parse_usage(raw_usage)
                self._usage_sent = True
        response_id = obj.get("responseId")
        model = obj.get("modelVersion")
        return new_chunk(
            {
                "id": response_id if type(response_id) is str else "",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": model if type(model) is str else "",
                "choices": choices,
                "usage": usage,
                "system_fingerprint": None,
                "service_tier": None,
            }
        )

    def _choice(self, raw: dict[str, Any], position: int) -> ChunkChoice:
        index = raw.get("index")
        if type(index) is not int:
            index = position
        first = index not in self._seen
        self._seen.add(index)
        content = raw.get("content")
        text: str | None = None
        thought: str | None = None
        tools: list[ToolCallDelta] | None = None
        signed: dict[str, str] | None = None
        text_signature: str | None = None
        if content:
            for part in content.get("parts") or ():
                piece = part.get("text")
                if type(piece) is str:
                    if part.get("thought") is True:
                        thought = piece if thought is None else thought + piece
                    else:
                        text = piece if text is None else text + piece
                signature = part.get("thoughtSignature")
                fc = part.get("functionCall")
                if fc is not None:
                    if tools is None:
                        tools = []
                    call = self._tool_call(fc, index)
                    tools.append(call)
                    if type(signature) is str and signature:
                        signed = signed or {}
                        signed[call.id or ""] = signature
                elif type(signature) is str and signature:
                    text_signature = signature
        finish: FinishReason | None = finish_reason(raw.get("finishReason"))
        if finish is not None:
            self._finished.add(index)
        data = None
        if signed is not None or text_signature is not None:
            data = signature_data(self._provider, signed, text_signature)
        delta = _delta(Role.ASSISTANT if first else None, text, thought, tools, data)
        return new_chunk_choice({"index": index, "delta": delta, "finish_reason": finish})

    def _tool_call(self, fc: dict[str, Any], candidate: int) -> ToolCallDelta:
        position = self._calls.get(candidate, 0)
        self._calls[candidate] = position + 1
        name = fc.get("name")
        function = new_function_delta(
            {
                "name": name if type(name) is str else "",
                "arguments": arguments_text(fc.get("args") or {}),
            }
        )
        return new_tool_call_delta(
            {
                "index": position,
                "id": tool_call_id(fc.get("id"), candidate, position),
                "type": "function",
                "function": function,
            }
        )


def _delta(
    role: Role | None,
    content: str | None,
    reasoning: str | None,
    tools: list[ToolCallDelta] | None = None,
    provider_data: dict[str, Any] | None = None,
) -> Delta:
    return new_delta(
        {
            "role": role,
            "content": content,
            "reasoning_content": reasoning,
            "tool_calls": tools,
            "reasoning": None,
            "provider_data": provider_data,
        }
    )
