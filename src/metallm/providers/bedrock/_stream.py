"""The incremental decoder for ConverseStream's binary ``application/vnd.amazon.eventstream``.

Bytes are framed by ``botocore.eventstream.EventStreamBuffer`` (prelude, headers, payload and
both CRC32s checked; imported when a decoder is made, never at ``import metallm``). Each message
has a ``:message-type``: ``event`` messages are dispatched on ``:event-type``:
``messageStart`` (role chunk), ``contentBlockStart`` (a tool call's id and name),
``contentBlockDelta`` (``text``, ``toolUse.input`` JSON fragments, ``reasoningContent`` text,
``signature`` and ``redactedContent``, also passed on as :class:`~metallm.ReasoningDelta`
fragments numbered per reasoning block, so the accumulated message sends them back),
``contentBlockStop`` (a tool block that sent no input gets ``{}``), ``messageStop`` (finish
reason) and ``metadata`` (usage, the end marker);
unknown events are skipped (debug log). ``exception`` (and ``error``) messages raise the typed
:class:`~metallm.APIError`. A stream that ends without ``messageStop`` and ``metadata``, or in
the middle of a frame, raises :class:`~metallm.StreamError` on close; a bad frame (CRC, length)
raises it on feed. It is an :class:`metallm.provider.EventDecoder` over its own framing
(:data:`EVENT_STREAM`): ``feed`` and ``close`` read frames, and the kit does the rest (JSON
checks, redacted errors for garbled payloads, the "ended before" error).
"""

from __future__ import annotations

import logging
from typing import Any

from metallm.errors import APIError, StreamError, redact
from metallm.provider import (
    EventDecoder,
    Framing,
    HTTPResponse,
    error_from_response,
    new_chunk,
    new_chunk_choice,
    new_delta,
    new_function_delta,
    new_reasoning_delta,
    new_tool_call_delta,
)
from metallm.types import (
    ChatCompletionChunk,
    ChunkChoice,
    ReasoningDelta,
    Role,
    ToolCallDelta,
    Usage,
)

from ._response import finish_reason, parse_usage, tool_id

__all__ = ["EVENT_STREAM", "EXCEPTION_STATUS", "BedrockStreamDecoder"]

_log = logging.getLogger("metallm")

EXCEPTION_STATUS = {
    "validationexception": 400,
    "accessdeniedexception": 403,
    "unrecognizedclientexception": 403,
    "resourcenotfoundexception": 404,
    "modeltimeoutexception": 408,
    "throttlingexception": 429,
    "servicequotaexceededexception": 429,
    "modelnotreadyexception": 429,
    "internalserverexception": 500,
    "modelstreamerrorexception": 500,
    "modelerrorexception": 500,
    "serviceunavailableexception": 503,
}
"""AWS error type (lower case) -> the status whose error class it gets (model errors, really
HTTP 424, count as server errors; a quota exceeded as a rate limit). Also used for HTTP errors
whose status the class table does not know."""


def _event_stream_buffer() -> Any:
    from botocore.eventstream import EventStreamBuffer  # type: ignore[import-untyped]

    return EventStreamBuffer()


EVENT_STREAM = Framing("aws-event-stream", "event payload", "inside a frame", _event_stream_buffer)
"""AWS event-stream framing (botocore's ``EventStreamBuffer``, imported when a decoder is
made); the decoder's own ``feed`` and ``close`` read its frames."""


class BedrockStreamDecoder(EventDecoder):
    """Turns a ConverseStream body into unified chunks; one instance per stream."""

    __slots__ = (
        "_consumed",
        "_fed",
        "_metadata",
        "_model",
        "_reasoning",
        "_stopped",
        "_tools",
    )

    framing = EVENT_STREAM
    malformed = "malformed stream event"

    def __init__(
        self,
        provider: str,
        model: str,
        secrets: tuple[str, ...] = (),
    ) -> None:
        super().__init__(provider, secrets)
        self._model = model
        self._fed = 0
        self._consumed = 0
        self._stopped = False
        self._metadata = False
        # content block index -> [tool ordinal, saw input]
        self._tools: dict[int, list[Any]] = {}
        self._reasoning: dict[int, int] = {}  # content block index -> reasoning ordinal

    @property
    def done(self) -> bool:
        """Whether both ``messageStop`` and ``metadata`` have arrived."""
        return self._stopped and self._metadata

    @property
    def end_marker(self) -> str:  # type: ignore[override]
        """The missing end event, as messages name it."""
        return "messageStop" if not self._stopped else "metadata"

    def feed(self, data: bytes) -> list[ChatCompletionChunk]:
        """The chunks completed by ``data``; an exception frame raises its ``APIError``."""
        if not data:
            return []
        self._fed += len(data)
        self._frames.add_data(data)
        chunks: list[ChatCompletionChunk] = []
        try:
            for message in self._frames:
                self._consumed += message.prelude.total_length
                chunk = self._message(message.headers, message.payload)
                if chunk is not None:
                    chunks.append(chunk)
        except (APIError, StreamError):
            raise
        except Exception as exc:  # botocore ParserError subclasses: bad CRC, lengths
            raise StreamError(
                f"bad event-stream frame ({type(exc).__name__}: {exc})", provider=self._provider
            ) from exc
        return chunks

    def close(self) -> list[ChatCompletionChunk]:
        """End of body: ``StreamError`` unless ``messageStop`` and ``metadata`` arrived."""
        if self._fed != self._consumed:
            raise StreamError(
                f"stream ended inside an event-stream frame ({self._fed - self._consumed}"
                " bytes left over)",
                provider=self._provider,
            )
        if not self.done:
            raise self.ended_early()
        return []

    def _message(self, headers: dict[str, Any], payload: bytes) -> ChatCompletionChunk | None:
        kind = headers.get(":message-type")
        if kind in {"exception", "error"}:
            raise self._exception(headers, payload)
        return self.decode_one(str(headers.get(":event-type") or ""), payload)

    def is_error(self, name: str, obj: dict[str, Any]) -> bool:
        """Errors come as exception frames (see ``_message``), never as event payloads."""
        return False

    def on_event(self, name: str, obj: dict[str, Any]) -> ChatCompletionChunk | None:
        """The chunk (if any) for one ConverseStream event, dispatched on its type."""
        if name == "contentBlockDelta":
            return self._delta(int(obj["contentBlockIndex"]), obj["delta"])
        if name == "contentBlockStart":
            use = obj["start"].get("toolUse")
            if use is None:
                return None
            ordinal = len(self._tools)
            self._tools[int(obj["contentBlockIndex"])] = [ordinal, False]
            head = new_tool_call_delta(
                {
                    "index": ordinal,
                    "id": tool_id(use.get("toolUseId"), ordinal),
                    "type": "function",
                    "function": new_function_delta({"name": str(use["name"]), "arguments": None}),
                }
            )
            return self._chunk(tool_calls=[head])
        if name == "contentBlockStop":
            return self._block_stop(int(obj["contentBlockIndex"]))
        if name == "messageStart":
            return self._chunk(role=Role.ASSISTANT)
        if name == "messageStop":
            self._stopped = True
            finish = finish_reason(obj.get("stopReason"))
            if self._tools:
                finish = "tool_calls"
            return self._chunk(finish=finish)
        if name == "metadata":
            self._metadata = True
            usage = parse_usage(obj.get("usage"))
            return self._chunk(usage=usage) if usage is not None else None
        _log.debug("bedrock stream: skipping unknown event type %r", name)
        return None

    def _delta(self, index: int, delta: dict[str, Any]) -> ChatCompletionChunk | None:
        if "text" in delta:
            text = delta["text"]
            return self._chunk(content=text) if text else None
        if "toolUse" in delta:
            fragment = delta["toolUse"].get("input") or ""
            tool = self._tools[index]
            if not fragment:
                return None
            tool[1] = True
            return self._arguments(tool[0], fragment)
        if "reasoningContent" in delta:
            thought = delta["reasoningContent"]
            text = thought.get("text") or None
            signature = thought.get("signature") or None
            redacted = thought.get("redactedContent") or None
            if text is None and signature is None and redacted is None:
                return None
            ordinal = self._reasoning.get(index)
            if ordinal is None:
                ordinal = self._reasoning[index] = len(self._reasoning)
            part = new_reasoning_delta(
                {
                    "index": ordinal,
                    "text": text,
                    "signature": signature,
                    "encrypted": None if redacted is None else str(redacted),
                }
            )
            return self._chunk(reasoning=text, parts=[part])
        _log.debug("bedrock stream: skipping unknown delta %r", sorted(delta))
        return None

    def _block_stop(self, index: int) -> ChatCompletionChunk | None:
        tool = self._tools.get(index)
        if tool is not None:
            return None if tool[1] else self._arguments(tool[0], "{}")
        return None

    def _arguments(self, ordinal: int, text: str) -> ChatCompletionChunk:
        function = new_function_delta({"name": None, "arguments": text})
        call = new_tool_call_delta(
            {"index": ordinal, "id": None, "type": None, "function": function}
        )
        return self._chunk(tool_calls=[call])

    def _chunk(
        self,
        *,
        content: str | None = None,
        reasoning: str | None = None,
        tool_calls: list[ToolCallDelta] | None = None,
        finish: Any = None,
        role: Role | None = None,
        usage: Usage | None = None,
        parts: list[ReasoningDelta] | None = None,
    ) -> ChatCompletionChunk:
        choices: list[ChunkChoice] = []
        if usage is None:
            delta = new_delta(
                {
                    "role": role,
                    "content": content,
                    "reasoning_content": reasoning,
                    "tool_calls": tool_calls,
                    "reasoning": parts,
                    "provider_data": None,
                }
            )
            choices.append(new_chunk_choice({"index": 0, "delta": delta, "finish_reason": finish}))
        return new_chunk(
            {
                "id": "",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": self._model,
                "choices": choices,
                "usage": usage,
                "system_fingerprint": None,
                "service_tier": None,
            }
        )

    def _exception(self, headers: dict[str, Any], payload: bytes) -> APIError:
        """The typed error of an exception frame, classed by the status its type stands for."""
        etype = headers.get(":exception-type") or headers.get(":error-code")
        etype = str(etype) if etype else None
        status = EXCEPTION_STATUS.get((etype or "").lower(), 500)
        message = headers.get(":error-message")
        reply = HTTPResponse(status, {}, payload)
        error = error_from_response(
            self._provider,
            reply,
            secrets=self._secrets,
            type=etype,
            message=redact(str(message), self._secrets) if message else None,
        )
        error.status_code = None  # it came inside a 200 stream, not as an HTTP status
        return error
