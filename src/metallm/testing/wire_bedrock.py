"""The AWS Bedrock Converse / ConverseStream wire format for FakeLLMServer.

``POST /model/{modelId}/converse`` gets a Converse JSON body (``output.message.content`` blocks
``reasoningContent`` with a signature, ``text`` and ``toolUse`` with an ``input`` object;
``stopReason``; ``usage`` with ``inputTokens`` leaving cache reads and writes out, as the corpus
shows; ``metrics``). ``/converse-stream`` gets binary ``application/vnd.amazon.eventstream``
frames, encoded here (botocore only decodes): each message is a prelude (total length,
headers length, prelude CRC32), string headers (``:event-type``, ``:content-type``,
``:message-type``), the JSON payload and the message CRC32. Events: ``messageStart``, the
content blocks one after another (Bedrock never interleaves them: reasoning deltas and a
signature, text deltas, then per tool call ``contentBlockStart`` and ``toolUse.input``
fragments of ``json.dumps(input)``), ``messageStop`` and ``metadata``. Payloads carry the
``p`` padding field the real service adds. Errors: the status, a ``{"message"}`` body and the
``x-amzn-errortype`` header; an in-stream failure is an ``exception`` frame. Importing this
module registers the renderer for ``/model/.../converse(-stream)``. The signature headers are
not checked here (tests verify them from the recorded request); reasoning signatures are, as
Bedrock checks them for Anthropic models (:mod:`~metallm.testing.wire_signatures`).
"""

from __future__ import annotations

import binascii
import dataclasses
import json
import struct
import uuid
from typing import Any

from metallm.testing.script import ScriptedReply, ScriptedUsage, split_text
from metallm.testing.wire import WireResponse, compact_json, prompt_words, register_wire
from metallm.testing.wire_signatures import bedrock_problem, sign

__all__ = ["encode_frame", "render_bedrock"]

_STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "content_filter": "content_filtered",
}
_ERROR_TYPES = {
    400: "ValidationException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    408: "ModelTimeoutException",
    429: "ThrottlingException",
    500: "InternalServerException",
    503: "ServiceUnavailableException",
}
_PADDING = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"


def encode_frame(headers: dict[str, str], payload: bytes) -> bytes:
    """One AWS event-stream message with string (type 7) headers and CRC32 checksums."""
    head = b"".join(
        struct.pack("!B", len(name))
        + name.encode()
        + struct.pack("!BH", 7, len(value.encode()))
        + value.encode()
        for name, value in headers.items()
    )
    total = 12 + len(head) + len(payload) + 4
    prelude = struct.pack("!II", total, len(head))
    prelude += struct.pack("!I", binascii.crc32(prelude))
    message = prelude + head + payload
    return message + struct.pack("!I", binascii.crc32(message))


def _event(name: str, data: dict[str, Any]) -> bytes:
    data = {**data, "p": _PADDING[: 1 + len(name) % 20]}
    headers = {
        ":event-type": name,
        ":content-type": "application/json",
        ":message-type": "event",
    }
    return encode_frame(headers, compact_json(data).encode())


def _exception(kind: str, message: str) -> bytes:
    headers = {
        ":exception-type": kind,
        ":content-type": "application/json",
        ":message-type": "exception",
    }
    return encode_frame(headers, compact_json({"message": message}).encode())


def render_bedrock(reply: ScriptedReply, request: Any, path: str) -> WireResponse:
    """Render ``reply`` for a Bedrock ``/converse`` or ``/converse-stream`` request."""
    req: dict[str, Any] = request if isinstance(request, dict) else {}
    problem = bedrock_problem(req) if reply.status < 400 else None
    if problem is not None:  # the API refuses it whatever was scripted
        reply = dataclasses.replace(
            reply, status=400, error_type="ValidationException", error_message=problem
        )
    headers = {"x-amzn-requestid": str(uuid.uuid4())}
    headers.update({k.lower(): v for k, v in reply.headers.items()})
    if reply.status >= 400:
        headers.setdefault("content-type", "application/json")
        headers.setdefault("x-amzn-errortype", _error_type(reply) + ":http://internal.amazon.com/")
        body = {"message": _error_message(reply)}
        return WireResponse(reply.status, headers, [compact_json(body).encode()], False)
    usage = reply.resolved_usage(prompt_words(req))
    calls = [
        (c.id or "tooluse_" + uuid.uuid4().hex[:22], c.name, json.loads(c.arguments_json or "{}"))
        for c in reply.tool_calls
    ]
    if path.split("?", 1)[0].endswith("/converse-stream"):
        headers.setdefault("content-type", "application/vnd.amazon.eventstream")
        return WireResponse(reply.status, headers, _stream(reply, usage, calls), True)
    headers.setdefault("content-type", "application/json")
    content: list[dict[str, Any]] = []
    if reply.reasoning is not None:
        thought = {"text": reply.reasoning, "signature": sign(reply.reasoning)}
        content.append({"reasoningContent": {"reasoningText": thought}})
    if reply.content or not calls:
        content.append({"text": reply.content})
    content.extend({"toolUse": {"toolUseId": i, "name": n, "input": a}} for i, n, a in calls)
    out = {
        "metrics": {"latencyMs": 42},
        "output": {"message": {"content": content, "role": "assistant"}},
        "stopReason": _stop_reason(reply),
        "usage": _usage(usage),
    }
    return WireResponse(reply.status, headers, [compact_json(out).encode()], False)


def _error_type(reply: ScriptedReply) -> str:
    return reply.error_type or _ERROR_TYPES.get(reply.status, "InternalServerException")


def _error_message(reply: ScriptedReply) -> str:
    return reply.error_message or f"FakeLLMServer scripted error (HTTP {reply.status})"


def _stop_reason(reply: ScriptedReply) -> str:
    finish = reply.resolved_finish_reason()
    return _STOP_REASONS.get(finish, finish)


def _usage(usage: ScriptedUsage) -> dict[str, Any]:
    return {
        "cacheReadInputTokens": usage.cached_tokens,
        "cacheWriteInputTokens": usage.cache_write_tokens,
        "inputTokens": usage.prompt_tokens - usage.cached_tokens - usage.cache_write_tokens,
        "outputTokens": usage.completion_tokens,
        "totalTokens": usage.total_tokens,
    }


def _stream(
    reply: ScriptedReply, usage: ScriptedUsage, calls: list[tuple[str, str, Any]]
) -> list[bytes]:
    events = [_event("messageStart", {"role": "assistant"})]
    index = 0

    def delta(value: dict[str, Any]) -> bytes:
        return _event("contentBlockDelta", {"contentBlockIndex": index, "delta": value})

    def stop() -> bytes:
        return _event("contentBlockStop", {"contentBlockIndex": index})

    if reply.reasoning is not None:
        events.extend(delta({"reasoningContent": {"text": t}}) for t in reply.reasoning_deltas())
        events.append(delta({"reasoningContent": {"signature": sign(reply.reasoning)}}))
        events.append(stop())
        index += 1
    if reply.content or not calls:
        events.extend(delta({"text": t}) for t in reply.content_deltas())
        events.append(stop())
        index += 1
    for call_id, name, args in calls:
        start = {"toolUse": {"toolUseId": call_id, "name": name}}
        events.append(_event("contentBlockStart", {"contentBlockIndex": index, "start": start}))
        pieces = split_text(json.dumps(args, ensure_ascii=False), reply.chunk_size)
        events.extend(delta({"toolUse": {"input": p}}) for p in pieces)
        events.append(stop())
        index += 1
    if reply.error_event_after is not None:
        del events[reply.error_event_after :]
        kind = reply.error_type or "throttlingException"
        events.append(_exception(kind, _error_message(reply)))
        return events
    events.append(_event("messageStop", {"stopReason": _stop_reason(reply)}))
    metadata = {"usage": _usage(usage), "metrics": {"latencyMs": 42}}
    events.append(_event("metadata", metadata))
    return events


register_wire(r"^/model/.+/converse(-stream)?/?$", render_bedrock)
