"""The OpenAI Chat Completions wire format (OpenAI and xAI) for FakeLLMServer.

Renders a :class:`ScriptedReply` as the bytes ``POST .../chat/completions`` returns: a
``chat.completion`` object, or ``chat.completion.chunk`` server-sent events ending in
``data: [DONE]``, with OpenAI's field order and its quirks (a first delta carrying the role and
an empty content, tool-call heads with an empty ``arguments``, a usage chunk with empty
``choices`` only when ``stream_options.include_usage`` is set, ``"usage":null`` on the other
chunks then). xAI speaks the same protocol with small differences, taken from its recorded
responses: the role rides on the first delta, chunks carry no ``logprobs`` and, above all,
``completion_tokens`` leave reasoning tokens out (``total = prompt + completion + reasoning``).
OpenAI replies carry ``system_fingerprint`` and ``service_tier``: the tier asked for in the
request (``flex``, ``priority``, ...), or ``default`` for ``auto`` and none, as OpenAI answers.
The xAI flavour is chosen when the model name starts with ``grok``. Importing this module
registers the renderer for every path ending in ``/chat/completions``.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from metallm.testing.script import ScriptedReply, ScriptedToolCall, ScriptedUsage
from metallm.testing.wire import WireResponse, new_request_id, prompt_words, register_wire

__all__ = ["render_openai"]

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_FINGERPRINT = "fp_fake"
_TIERS = ("default", "flex", "priority", "scale")
_DONE = b"data: [DONE]\n\n"
_ERROR_TYPES = {
    401: "invalid_request_error",
    403: "invalid_request_error",
    404: "invalid_request_error",
    429: "requests",
}


def render_openai(reply: ScriptedReply, request: Any, path: str) -> WireResponse:
    """Render ``reply`` for an OpenAI-compatible ``/chat/completions`` request."""
    req: dict[str, Any] = request if isinstance(request, dict) else {}
    model = reply.model or str(req.get("model") or "fake-model")
    xai = model.startswith("grok")
    headers = {"x-request-id": new_request_id()}
    headers.update({k.lower(): v for k, v in reply.headers.items()})
    if reply.status >= 400:
        headers.setdefault("content-type", "application/json")
        return WireResponse(reply.status, headers, [_error_body(reply).encode()], False)
    usage = reply.resolved_usage(prompt_words(req))
    asked = req.get("service_tier")
    tier = asked if asked in _TIERS else "default"
    if req.get("stream") is True:
        options = req.get("stream_options")
        include_usage = isinstance(options, dict) and bool(options.get("include_usage"))
        headers.setdefault("content-type", "text/event-stream; charset=utf-8")
        events = _stream_events(
            reply, model, usage, include_usage=include_usage, xai=xai, tier=tier
        )
        return WireResponse(reply.status, headers, events, True)
    headers.setdefault("content-type", "application/json")
    body = _completion(reply, model, usage, xai=xai, tier=tier)
    return WireResponse(reply.status, headers, [_dumps(body).encode()], False)


def error_object(reply: ScriptedReply) -> dict[str, Any]:
    """The ``{"message", "type", "param", "code"}`` object of an OpenAI error."""
    status = reply.status
    default_type = _ERROR_TYPES.get(
        status, "server_error" if status >= 500 or status < 400 else "invalid_request_error"
    )
    code = reply.error_code
    if code is None and status == 429:
        code = "rate_limit_exceeded"
    return {
        "message": reply.error_message or f"FakeLLMServer scripted error (HTTP {status})",
        "type": reply.error_type or default_type,
        "param": None,
        "code": code,
    }


def _error_body(reply: ScriptedReply) -> str:
    return _dumps({"error": error_object(reply)})


def _completion_id(reply: ScriptedReply, xai: bool) -> str:
    if reply.id is not None:
        return reply.id
    return str(uuid.uuid4()) if xai else "chatcmpl-fake" + uuid.uuid4().hex[:20]


def _call_ids(reply: ScriptedReply) -> list[str]:
    return [c.id or "call_" + uuid.uuid4().hex[:24] for c in reply.tool_calls]


def _usage(usage: ScriptedUsage, xai: bool) -> dict[str, Any]:
    details_out = {
        "reasoning_tokens": usage.reasoning_tokens,
        "audio_tokens": 0,
        "accepted_prediction_tokens": 0,
        "rejected_prediction_tokens": 0,
    }
    if xai:
        return {
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens - usage.reasoning_tokens,
            "total_tokens": usage.total_tokens,
            "prompt_tokens_details": {
                "text_tokens": usage.prompt_tokens,
                "audio_tokens": 0,
                "image_tokens": 0,
                "cached_tokens": usage.cached_tokens,
            },
            "completion_tokens_details": details_out,
            "num_sources_used": 0,
        }
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_tokens, "audio_tokens": 0},
        "completion_tokens_details": details_out,
    }


def _tool_call_objects(calls: list[ScriptedToolCall], ids: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "id": call_id,
            "type": "function",
            "function": {"name": call.name, "arguments": call.arguments_json},
        }
        for call, call_id in zip(calls, ids, strict=True)
    ]


def _completion(
    reply: ScriptedReply, model: str, usage: ScriptedUsage, *, xai: bool, tier: str = "default"
) -> dict[str, Any]:
    content = reply.content
    message: dict[str, Any] = {
        "role": "assistant",
        "content": None if (reply.tool_calls and not content) else content,
    }
    if reply.reasoning is not None:
        message["reasoning_content"] = reply.reasoning
    if reply.tool_calls:
        message["tool_calls"] = _tool_call_objects(reply.tool_calls, _call_ids(reply))
    message["refusal"] = None
    choice: dict[str, Any] = {"index": 0, "message": message}
    if not xai:
        message["annotations"] = []
        choice["logprobs"] = None
    choice["finish_reason"] = reply.resolved_finish_reason()
    body: dict[str, Any] = {
        "id": _completion_id(reply, xai),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [choice],
        "usage": _usage(usage, xai),
    }
    if not xai:
        body["service_tier"] = tier
    body["system_fingerprint"] = _FINGERPRINT
    return body


def _tool_deltas(reply: ScriptedReply) -> list[dict[str, Any]]:
    """Tool-call deltas; several calls interleave round-robin (head 0, head 1, args 0, ...)."""
    per_call: list[list[dict[str, Any]]] = []
    for index, (call, call_id) in enumerate(zip(reply.tool_calls, _call_ids(reply), strict=True)):
        head = {
            "index": index,
            "id": call_id,
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        args = [
            {"index": index, "function": {"arguments": piece}}
            for piece in reply.argument_deltas(call)
        ]
        per_call.append([head, *args])
    out: list[dict[str, Any]] = []
    for step in range(max((len(deltas) for deltas in per_call), default=0)):
        out.extend({"tool_calls": [deltas[step]]} for deltas in per_call if step < len(deltas))
    return out


def _stream_events(
    reply: ScriptedReply,
    model: str,
    usage: ScriptedUsage,
    *,
    include_usage: bool,
    xai: bool,
    tier: str = "default",
) -> list[bytes]:
    head = (
        f'data: {{"id":{_dumps(_completion_id(reply, xai))},'
        f'"object":"chat.completion.chunk","created":{int(time.time())},'
        f'"model":{_dumps(model)},'
    )
    if not xai:
        head += f'"service_tier":"{tier}","system_fingerprint":"{_FINGERPRINT}",'
    prefix = head + '"choices":[{"index":0,"delta":'
    if xai:
        open_suffix = f'}}],"system_fingerprint":"{_FINGERPRINT}"}}\n\n'
        finish_mid = ',"finish_reason":%s'
        end_suffix = open_suffix
    else:
        tail = ',"usage":null}\n\n' if include_usage else "}\n\n"
        open_suffix = ',"logprobs":null,"finish_reason":null}]' + tail
        finish_mid = ',"logprobs":null,"finish_reason":%s'
        end_suffix = "}]" + tail

    def event(delta: dict[str, Any]) -> bytes:
        return (prefix + _dumps(delta) + open_suffix).encode()

    events: list[bytes] = []
    reasoning = reply.reasoning_deltas()
    content = reply.content_deltas()
    if xai:
        first: dict[str, Any] = {"role": "assistant"}
        if reasoning:
            first["reasoning_content"] = reasoning.pop(0)
        elif content:
            first["content"] = content.pop(0)
        events.append(event(first))
    else:
        has_text = bool(content or reasoning) or not reply.tool_calls
        events.append(
            event({"role": "assistant", "content": "" if has_text else None, "refusal": None})
        )
    events.extend(event({"reasoning_content": piece}) for piece in reasoning)
    cache: dict[str, bytes] = {}
    for piece in content:  # identical pieces (benchmarks) are rendered once
        rendered = cache.get(piece)
        if rendered is None:
            rendered = cache[piece] = event({"content": piece})
        events.append(rendered)
    events.extend(event(delta) for delta in _tool_deltas(reply))
    if reply.error_event_after is not None:
        del events[reply.error_event_after :]
        events.append(b"data: " + _dumps({"error": error_object(reply)}).encode() + b"\n\n")
        return events
    finish = _dumps(reply.resolved_finish_reason())
    events.append((prefix + "{}" + finish_mid % finish + end_suffix).encode())
    if include_usage:
        usage_json = _dumps(_usage(usage, xai))
        if xai:
            events.append(
                (
                    head
                    + '"choices":[],"usage":'
                    + usage_json
                    + f',"system_fingerprint":"{_FINGERPRINT}"}}\n\n'
                ).encode()
            )
        else:
            events.append((head + '"choices":[],"usage":' + usage_json + "}\n\n").encode())
    events.append(_DONE)
    return events


register_wire(r"/chat/completions/?$", render_openai)
