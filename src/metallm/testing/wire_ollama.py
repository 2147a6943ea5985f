"""The Ollama native chat wire format (``POST /api/chat``) for FakeLLMServer.

Renders a :class:`ScriptedReply` as Ollama answers, following its recorded replies
(``shared/corpus/ollama``): one JSON object, or (when the request's ``stream`` is not
``false``: Ollama streams by default) ``application/x-ndjson`` lines, each a partial message
with ``"done": false`` (thinking first, then content, then tool calls, each call whole on its
own line since Ollama never splits arguments), ending with a ``"done": true`` line carrying
``done_reason``, the durations and the counts. Specifics:

* tool-call ``arguments`` are JSON objects, with ``function.index`` and the call's ``id``
  when the script gives one (older Ollama servers send none: the codec then synthesises it);
* ``done_reason`` is ``stop`` for tool calls too (Ollama's habit), else the scripted reason;
* usage: ``prompt_eval_count`` = prompt tokens, ``eval_count`` = completion tokens (thinking
  included; cached and reasoning counts have no field);
* errors are ``{"error": "..."}``, with the HTTP status, or as a stream line for
  ``error_event_after``;
* every line of one reply has the same ``created_at``, so a streamed and a plain reply of the
  same script rendered in the same millisecond are byte-for-byte comparable.

Importing this module registers the renderer for every path ending in ``/api/chat``.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from metallm.testing.script import ScriptedReply, ScriptedUsage
from metallm.testing.wire import (
    WireResponse,
    compact_json,
    new_request_id,
    prompt_words,
    register_wire,
)

__all__ = ["render_ollama"]

_NDJSON = "application/x-ndjson"
_JSON = "application/json; charset=utf-8"


def render_ollama(reply: ScriptedReply, request: Any, path: str) -> WireResponse:
    """Render ``reply`` for an Ollama ``/api/chat`` request."""
    req: dict[str, Any] = request if isinstance(request, dict) else {}
    model = reply.model or str(req.get("model") or "fake-model")
    headers = {"x-request-id": new_request_id()}
    headers.update({k.lower(): v for k, v in reply.headers.items()})
    if reply.status >= 400:
        headers.setdefault("content-type", _JSON)
        return WireResponse(reply.status, headers, [_error_line(reply)[:-1]], False)
    usage = reply.resolved_usage(prompt_words(req))
    created_at = _timestamp()
    if req.get("stream") is not False:
        headers.setdefault("content-type", _NDJSON)
        return WireResponse(reply.status, headers, _lines(reply, model, created_at, usage), True)
    headers.setdefault("content-type", _JSON)
    message: dict[str, Any] = {"role": "assistant", "content": reply.content}
    if reply.reasoning is not None:
        message["thinking"] = reply.reasoning
    if reply.tool_calls:
        message["tool_calls"] = _tool_calls(reply, 0, len(reply.tool_calls))
    body = {"model": model, "created_at": created_at, "message": message}
    body.update(_final(reply, usage))
    return WireResponse(reply.status, headers, [compact_json(body).encode()], False)


def _timestamp() -> str:
    """Now, as Ollama writes it (RFC 3339 with fractional seconds, UTC ``Z``)."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _error_line(reply: ScriptedReply) -> bytes:
    message = reply.error_message or f"FakeLLMServer scripted error (HTTP {reply.status})"
    return compact_json({"error": message}).encode() + b"\n"


def _tool_calls(reply: ScriptedReply, start: int, stop: int) -> list[dict[str, Any]]:
    out = []
    for index in range(start, stop):
        call = reply.tool_calls[index]
        item: dict[str, Any] = {} if call.id is None else {"id": call.id}
        item["function"] = {
            "index": index,
            "name": call.name,
            "arguments": json.loads(call.arguments_json or "{}"),
        }
        out.append(item)
    return out


def _final(reply: ScriptedReply, usage: ScriptedUsage) -> dict[str, Any]:
    """The fields of the ``done`` line (and of a non-streamed reply), in Ollama's order."""
    reason = reply.resolved_finish_reason()
    return {
        "done": True,
        "done_reason": "stop" if reason == "tool_calls" else reason,
        "total_duration": 1_000_000 * (usage.prompt_tokens + usage.completion_tokens + 1),
        "load_duration": 100_000,
        "prompt_eval_count": usage.prompt_tokens,
        "prompt_eval_duration": 1_000 * usage.prompt_tokens,
        "eval_count": usage.completion_tokens,
        "eval_duration": 1_000_000 * usage.completion_tokens,
    }


def _lines(reply: ScriptedReply, model: str, created_at: str, usage: ScriptedUsage) -> list[bytes]:
    head = f'{{"model":{compact_json(model)},"created_at":"{created_at}","message":'

    def line(message: dict[str, Any], tail: str = ',"done":false}\n') -> bytes:
        return (head + compact_json({"role": "assistant", **message}) + tail).encode()

    lines = [line({"content": "", "thinking": piece}) for piece in reply.reasoning_deltas()]
    cache: dict[str, bytes] = {}
    for piece in reply.content_deltas():  # identical pieces (benchmarks) are rendered once
        rendered = cache.get(piece)
        if rendered is None:
            rendered = cache[piece] = line({"content": piece})
        lines.append(rendered)
    for index in range(len(reply.tool_calls)):
        lines.append(line({"content": "", "tool_calls": _tool_calls(reply, index, index + 1)}))
    if reply.error_event_after is not None:
        del lines[reply.error_event_after :]
        lines.append(_error_line(reply))
        return lines
    final = compact_json(_final(reply, usage))
    lines.append(line({"content": ""}, "," + final[1:] + "\n"))
    return lines


register_wire(r"/api/chat/?$", render_ollama)
