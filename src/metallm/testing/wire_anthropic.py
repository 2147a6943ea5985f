"""The Anthropic Messages wire format for FakeLLMServer.

Renders a :class:`ScriptedReply` as the bytes ``POST /v1/messages`` returns, in the shape the
recorded corpus shows: a ``message`` object with content blocks (``thinking`` with a
signature, ``text``, ``tool_use`` with an ``input`` object), or named server-sent events
(``message_start``, ``content_block_start``/``_delta``/``_stop``, a ``ping`` after the first
block opens, ``message_delta`` with the stop reason and usage, ``message_stop``). Anthropic
streams content blocks one after another, so several tool calls arrive in sequence, never
interleaved; their arguments stream as ``input_json_delta`` fragments of ``json.dumps(input)``
(the API's own spacing). Usage is re-expressed the Anthropic way: ``input_tokens`` leaves the
cached and cache-write tokens out (they are ``cache_read_input_tokens`` and
``cache_creation_input_tokens``, the writes counted as 5-minute ones). Errors use Anthropic's
``{"type": "error", "error": {"type", "message"}, "request_id"}`` body, and an in-stream
failure is an ``event: error``. Thinking is signed, and a request that sends it back wrong is
refused with the API's 400 (:mod:`~metallm.testing.wire_signatures`). Importing this module
registers the renderer for paths ending in ``/v1/messages``.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from typing import Any

from metallm.testing.script import ScriptedReply, ScriptedUsage, split_text
from metallm.testing.wire import (
    WireResponse,
    compact_json,
    new_request_id,
    prompt_words,
    register_wire,
)
from metallm.testing.wire_signatures import anthropic_problem, sign

__all__ = ["error_object", "render_anthropic"]

_STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "content_filter": "refusal",
}
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}


def render_anthropic(reply: ScriptedReply, request: Any, path: str) -> WireResponse:
    """Render ``reply`` for an Anthropic ``/v1/messages`` request."""
    req: dict[str, Any] = request if isinstance(request, dict) else {}
    model = reply.model or str(req.get("model") or "claude-fake")
    problem = anthropic_problem(req) if reply.status < 400 else None
    if problem is not None:  # the API refuses it whatever was scripted
        reply = dataclasses.replace(
            reply, status=400, error_type="invalid_request_error", error_message=problem
        )
    request_id = new_request_id()
    headers = {"request-id": request_id}
    headers.update({k.lower(): v for k, v in reply.headers.items()})
    if reply.status >= 400:
        headers.setdefault("content-type", "application/json")
        error_body = {"type": "error", "error": error_object(reply), "request_id": request_id}
        return WireResponse(reply.status, headers, [compact_json(error_body).encode()], False)
    usage = reply.resolved_usage(prompt_words(req))
    message_id = reply.id or "msg_fake" + uuid.uuid4().hex[:20]
    calls = _tool_calls(reply)
    if req.get("stream") is True:
        headers.setdefault("content-type", "text/event-stream; charset=utf-8")
        events = _stream_events(reply, model, message_id, usage, calls)
        return WireResponse(reply.status, headers, events, True)
    headers.setdefault("content-type", "application/json")
    content: list[dict[str, Any]] = []
    if reply.reasoning is not None:
        thought = {
            "type": "thinking",
            "thinking": reply.reasoning,
            "signature": sign(reply.reasoning),
        }
        content.append(thought)
    if reply.content or not calls:
        content.append({"type": "text", "text": reply.content})
    content.extend(
        {"type": "tool_use", "id": call_id, "name": name, "input": args}
        for call_id, name, args in calls
    )
    body: dict[str, Any] = {
        "model": model,
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "content": content,
        "stop_reason": _stop_reason(reply),
        "stop_sequence": None,
        "usage": _usage(usage, output=True),
    }
    return WireResponse(reply.status, headers, [compact_json(body).encode()], False)


def error_object(reply: ScriptedReply) -> dict[str, Any]:
    """The ``{"type", "message"}`` object of an Anthropic error."""
    status = reply.status
    default = _ERROR_TYPES.get(status, "api_error")
    return {
        "type": reply.error_type or default,
        "message": reply.error_message or f"FakeLLMServer scripted error (HTTP {status})",
    }


def _stop_reason(reply: ScriptedReply) -> str:
    finish = reply.resolved_finish_reason()
    return _STOP_REASONS.get(finish, finish)


def _tool_calls(reply: ScriptedReply) -> list[tuple[str, str, Any]]:
    """``(id, name, input object)`` per scripted call; ids default to fresh ``toolu_...``."""
    return [
        (c.id or "toolu_" + uuid.uuid4().hex[:24], c.name, json.loads(c.arguments_json or "{}"))
        for c in reply.tool_calls
    ]


def _usage(usage: ScriptedUsage, *, output: bool, first: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "input_tokens": usage.prompt_tokens - usage.cached_tokens - usage.cache_write_tokens,
        "cache_creation_input_tokens": usage.cache_write_tokens,
        "cache_read_input_tokens": usage.cached_tokens,
    }
    if first:
        out["cache_creation"] = {
            "ephemeral_5m_input_tokens": usage.cache_write_tokens,
            "ephemeral_1h_input_tokens": 0,
        }
    out["output_tokens"] = usage.completion_tokens if output else 1
    if first:
        out["service_tier"] = "standard"
    return out


def _event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {compact_json(data)}\n\n".encode()


def _block(index: int, start: dict[str, Any], deltas: list[dict[str, Any]]) -> list[bytes]:
    events = [
        _event(
            "content_block_start",
            {"type": "content_block_start", "index": index, "content_block": start},
        )
    ]
    events.extend(
        _event("content_block_delta", {"type": "content_block_delta", "index": index, "delta": d})
        for d in deltas
    )
    events.append(_event("content_block_stop", {"type": "content_block_stop", "index": index}))
    return events


def _stream_events(
    reply: ScriptedReply,
    model: str,
    message_id: str,
    usage: ScriptedUsage,
    calls: list[tuple[str, str, Any]],
) -> list[bytes]:
    start: dict[str, Any] = {
        "model": model,
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": _usage(usage, output=False, first=True),
    }
    events = [_event("message_start", {"type": "message_start", "message": start})]
    blocks: list[list[bytes]] = []
    if reply.reasoning is not None:
        deltas = [{"type": "thinking_delta", "thinking": t} for t in reply.reasoning_deltas()]
        deltas.append({"type": "signature_delta", "signature": sign(reply.reasoning)})
        blocks.append(
            _block(len(blocks), {"type": "thinking", "thinking": "", "signature": ""}, deltas)
        )
    if reply.content or not calls:
        deltas = [{"type": "text_delta", "text": t} for t in reply.content_deltas()]
        blocks.append(_block(len(blocks), {"type": "text", "text": ""}, deltas))
    for call_id, name, args in calls:
        pieces = split_text(json.dumps(args, ensure_ascii=False), reply.chunk_size)
        deltas = [{"type": "input_json_delta", "partial_json": p} for p in ["", *pieces]]
        head = {"type": "tool_use", "id": call_id, "name": name, "input": {}}
        blocks.append(_block(len(blocks), head, deltas))
    for position, block in enumerate(blocks):
        events.extend(block)
        if position == 0:
            events.insert(2, _event("ping", {"type": "ping"}))
    if reply.error_event_after is not None:
        del events[reply.error_event_after :]
        events.append(_event("error", {"type": "error", "error": error_object(reply)}))
        return events
    out_usage = _usage(usage, output=True)
    events.append(
        _event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": _stop_reason(reply), "stop_sequence": None},
                "usage": out_usage,
            },
        )
    )
    events.append(_event("message_stop", {"type": "message_stop"}))
    return events


register_wire(r"/v1/messages/?$", render_anthropic)
