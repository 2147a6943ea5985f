"""The Gemini ``generateContent`` wire format for FakeLLMServer.

Renders a :class:`ScriptedReply` as the bytes ``POST .../models/{model}:generateContent``
returns (a ``GenerateContentResponse``), or ``:streamGenerateContent?alt=sse`` returns: one
``data:`` event per piece, no ``[DONE]``, the last event carrying ``finishReason`` and the full
``usageMetadata`` (earlier events carry the running prompt count, as Gemini does). Reasoning
streams first as ``thought: true`` parts, then text, then each ``functionCall`` as a whole part
in its own event (Gemini never splits call arguments, so calls cannot interleave). Calls carry
an ``id`` only when the script gives one, as the real API mostly sends none; the first call of
a reply carries a ``thoughtSignature``, as thinking models send, and a Gemini 3 request that
sends a turn's calls back without it gets the API's 400 (:mod:`~metallm.testing.wire_signatures`).

Usage is re-expressed in Gemini's convention: ``candidatesTokenCount`` leaves thoughts out
(``thoughtsTokenCount``), ``promptTokenCount`` includes ``cachedContentTokenCount``. Errors
use Google's ``{"error": {"code", "message", "status"}}`` shape, also for stream requests
(with an event-stream content type, as the real API does). Importing this module registers
the renderer for every path ending in ``:generateContent`` or ``:streamGenerateContent``.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from typing import Any

from metallm.testing.script import ScriptedReply, ScriptedUsage
from metallm.testing.wire import WireResponse, compact_json, prompt_words, register_wire
from metallm.testing.wire_signatures import call_signature, gemini_problem

__all__ = ["error_object", "render_gemini"]

_FINISH = {
    "stop": "STOP",
    "length": "MAX_TOKENS",
    "tool_calls": "STOP",
    "content_filter": "SAFETY",
    "error": "OTHER",
}
_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def _model(reply: ScriptedReply, path: str) -> str:
    if reply.model:
        return reply.model
    tail = path.split("?", 1)[0].rsplit("/models/", 1)[-1]
    return tail.split(":", 1)[0] or "gemini-fake"


def error_object(reply: ScriptedReply, status: int | None = None) -> dict[str, Any]:
    """Google's ``{"error": {"code", "message", "status"}}`` body for ``reply``."""
    code = status or reply.status
    default = _STATUS.get(code, "INTERNAL" if code >= 500 else "FAILED_PRECONDITION")
    error: dict[str, Any] = {
        "code": code,
        "message": reply.error_message or f"FakeLLMServer scripted error (HTTP {code})",
        "status": reply.error_type or default,
    }
    if reply.error_code:
        error["details"] = [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": reply.error_code,
                "domain": "googleapis.com",
            }
        ]
    return {"error": error}


def _usage(usage: ScriptedUsage) -> dict[str, Any]:
    out: dict[str, Any] = {
        "promptTokenCount": usage.prompt_tokens,
        "candidatesTokenCount": usage.completion_tokens - usage.reasoning_tokens,
        "totalTokenCount": usage.total_tokens,
    }
    if usage.cached_tokens:
        out["cachedContentTokenCount"] = usage.cached_tokens
    out["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": usage.prompt_tokens}]
    if usage.reasoning_tokens:
        out["thoughtsTokenCount"] = usage.reasoning_tokens
    return out


def _call_parts(reply: ScriptedReply) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for call in reply.tool_calls:
        args = json.loads(call.arguments_json or "{}")
        fc: dict[str, Any] = {"name": call.name, "args": args}
        if call.id is not None:
            fc["id"] = call.id
        part: dict[str, Any] = {"functionCall": fc}
        if not parts:  # only the first call of a step is signed, as Gemini does
            part["thoughtSignature"] = call_signature(call.name, args)
        parts.append(part)
    return parts


def _response(
    parts: list[dict[str, Any]], finish: str | None, usage: dict[str, Any], model: str, rid: str
) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}}
    if finish is not None:
        candidate["finishReason"] = finish
    candidate["index"] = 0
    return {
        "candidates": [candidate],
        "usageMetadata": usage,
        "modelVersion": model,
        "responseId": rid,
    }


def render_gemini(reply: ScriptedReply, request: Any, path: str) -> WireResponse:
    """Render ``reply`` for a Gemini ``generateContent`` / ``streamGenerateContent`` request."""
    req: dict[str, Any] = request if isinstance(request, dict) else {}
    problem = gemini_problem(req, path) if reply.status < 400 else None
    if problem is not None:  # the API refuses it whatever was scripted
        reply = dataclasses.replace(
            reply, status=400, error_type="INVALID_ARGUMENT", error_message=problem
        )
    stream = ":streamGenerateContent" in path
    headers = {"content-type": "text/event-stream" if stream else "application/json; charset=UTF-8"}
    headers.update({k.lower(): v for k, v in reply.headers.items()})
    if reply.status >= 400:
        return WireResponse(
            reply.status, headers, [compact_json(error_object(reply)).encode()], False
        )
    model = _model(reply, path)
    rid = reply.id or uuid.uuid4().hex[:22]
    usage = reply.resolved_usage(prompt_words(req))
    finish = _FINISH.get(reply.resolved_finish_reason(), "STOP")
    if not stream:
        parts: list[dict[str, Any]] = []
        if reply.reasoning:
            parts.append({"text": reply.reasoning, "thought": True})
        if reply.content or not (reply.tool_calls or reply.reasoning):
            parts.append({"text": reply.content})
        parts.extend(_call_parts(reply))
        body = _response(parts, finish, _usage(usage), model, rid)
        return WireResponse(reply.status, headers, [compact_json(body).encode()], False)
    pieces: list[dict[str, Any]] = [{"text": t, "thought": True} for t in reply.reasoning_deltas()]
    pieces.extend({"text": t} for t in reply.content_deltas())
    pieces.extend(_call_parts(reply))
    if not pieces:
        pieces.append({"text": ""})
    running = {"promptTokenCount": usage.prompt_tokens, "totalTokenCount": usage.prompt_tokens}
    events = []
    for n, part in enumerate(pieces):
        last = n == len(pieces) - 1
        body = _response(
            [part], finish if last else None, _usage(usage) if last else running, model, rid
        )
        events.append(b"data: " + compact_json(body).encode() + b"\n\n")
    if reply.error_event_after is not None:
        del events[reply.error_event_after :]
        err = error_object(reply, 500 if reply.status < 400 else reply.status)
        events.append(b"data: " + compact_json(err).encode() + b"\n\n")
    return WireResponse(reply.status, headers, events, True)


register_wire(r"/models/[^/]+:(stream)?[gG]enerateContent/?$", render_gemini)
