"""The OpenAI Responses API wire format (``POST .../responses``) for FakeLLMServer.

Renders a :class:`ScriptedReply` as a ``response`` object, or as the semantic event stream
(``event: <type>`` / ``data: {"type": <type>, ..., "sequence_number": n}``) OpenAI sends, in
its order: ``response.created``, ``response.in_progress``; the reasoning item (added,
``reasoning_summary_part.added`` / ``reasoning_summary_text.delta`` / ``.done`` per summary part,
done); the message item (added, ``content_part.added``, ``output_text.delta`` pieces,
``output_text.done``, ``content_part.done``, done); each function call item (added with empty
arguments, ``function_call_arguments.delta`` pieces, ``.done``, done); then
``response.completed``, or ``response.incomplete`` for a ``length`` (``max_output_tokens``) or
``content_filter`` finish. Shapes follow the recordings of ``shared/corpus/openai_responses``.

A script's ``reasoning`` becomes one reasoning item whose summary parts are its paragraphs
(split at blank lines; the fake always returns the summary, requested or not), carrying an
``encrypted_content`` when the request's ``include`` asks for ``reasoning.encrypted_content``:
the fake's signature of the item (:func:`~metallm.testing.wire_signatures.sign`). The fake
refuses, with the API's 400, what the real API refuses and a codec could get wrong: a
``reasoning`` input item whose ``encrypted_content`` is not the one it issued for that item, a
``function_call_output`` answering no earlier ``function_call``, and a Chat Completions-shaped
tool (``{"type": "function", "function": {...}}``). ``error_event_after`` sends an ``error``
event (``{"type": "error", "code", "message", "param"}``) after that many events and ends the
stream; errors use OpenAI's ``{"error": {...}}`` body. Importing this module registers the
renderer for every path ending in ``/responses``.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from metallm.testing.script import ScriptedReply, ScriptedUsage
from metallm.testing.wire import (
    WireResponse,
    compact_json,
    new_request_id,
    prompt_words,
    register_wire,
)
from metallm.testing.wire_openai import error_object
from metallm.testing.wire_signatures import sign

__all__ = ["reasoning_signature", "render_responses", "responses_problem"]

_TIERS = ("default", "flex", "priority", "scale")
_INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}


def reasoning_signature(item_id: str, summary: list[str]) -> str:
    """The ``encrypted_content`` the fake issues for reasoning item ``item_id``."""
    return "enc_" + sign("responses\0" + item_id + "\0" + "\0".join(summary))


def _summary_texts(item: dict[str, Any]) -> list[str]:
    return [str(p.get("text") or "") for p in item.get("summary") or () if isinstance(p, dict)]


def responses_problem(request: dict[str, Any]) -> str | None:
    """What the Responses API refuses in ``request`` (of what the fake checks), or None."""
    for n, tool in enumerate(request.get("tools") or ()):
        if isinstance(tool, dict) and tool.get("type") == "function" and "name" not in tool:
            return f"Missing required parameter: 'tools[{n}].name'."
    calls: set[str] = set()
    for item in request.get("input") or ():
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        if kind == "reasoning":
            item_id = str(item.get("id") or "")
            given = item.get("encrypted_content")
            if given is not None and given != reasoning_signature(item_id, _summary_texts(item)):
                return (
                    f"The encrypted content for item {item_id} could not be verified. Reason: "
                    "Encrypted content could not be decrypted or parsed."
                )
        elif kind == "function_call":
            calls.add(str(item.get("call_id")))
        elif kind == "function_call_output" and str(item.get("call_id")) not in calls:
            return (
                f"No tool call found for function call output with call_id {item.get('call_id')}."
            )
    return None


def _usage(usage: ScriptedUsage) -> dict[str, Any]:
    cached: dict[str, Any] = {"cached_tokens": usage.cached_tokens}
    if usage.cache_write_tokens:
        cached["cache_write_tokens"] = usage.cache_write_tokens
    return {
        "input_tokens": usage.prompt_tokens,
        "input_tokens_details": cached,
        "output_tokens": usage.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": usage.total_tokens,
    }


class _Reply:
    """One scripted reply's items, ids and response object, shared by both renderings."""

    def __init__(self, reply: ScriptedReply, req: dict[str, Any]) -> None:
        self.reply = reply
        self.req = req
        hexid = uuid.uuid4().hex
        self.id = reply.id or "resp_fake" + hexid
        self.model = reply.model or str(req.get("model") or "fake-model")
        self.created = int(time.time())
        asked = req.get("service_tier")
        self.tier = asked if asked in _TIERS else "default"
        include = req.get("include")
        encrypted = isinstance(include, list) and "reasoning.encrypted_content" in include
        self.summary = [p for p in (reply.reasoning or "").split("\n\n") if p]
        self.reasoning: dict[str, Any] | None = None
        if reply.reasoning is not None:
            rid = "rs_fake" + hexid
            self.reasoning = {"id": rid, "type": "reasoning", "summary": []}
            if encrypted:
                self.reasoning["encrypted_content"] = reasoning_signature(rid, self.summary)
        self.message_id = "msg_fake" + hexid
        self.text = reply.content
        self.has_message = bool(self.text) or not reply.tool_calls
        self.calls = [
            {
                "id": f"fc_fake{n}_{hexid}",
                "type": "function_call",
                "status": "completed",
                "arguments": call.arguments_json,
                "call_id": call.id or "call_" + uuid.uuid4().hex[:24],
                "name": call.name,
            }
            for n, call in enumerate(reply.tool_calls)
        ]
        finish = reply.resolved_finish_reason()
        self.incomplete = _INCOMPLETE.get(finish)
        self.usage = _usage(reply.resolved_usage(prompt_words(req)))

    def reasoning_item(self) -> dict[str, Any]:
        assert self.reasoning is not None
        parts = [{"type": "summary_text", "text": t} for t in self.summary]
        return {**self.reasoning, "summary": parts}

    def message(self, status: str, text: str | None = None) -> dict[str, Any]:
        content = [] if text is None else [_output_text(text)]
        return {
            "id": self.message_id,
            "type": "message",
            "status": status,
            "content": content,
            "role": "assistant",
        }

    def output(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if self.reasoning is not None:
            out.append(self.reasoning_item())
        if self.has_message:
            out.append(self.message("incomplete" if self.incomplete else "completed", self.text))
        out.extend(self.calls)
        return out

    def response(self, status: str, output: list[dict[str, Any]], done: bool) -> dict[str, Any]:
        effort = self.req.get("reasoning")
        return {
            "id": self.id,
            "object": "response",
            "created_at": self.created,
            "status": status,
            "error": None,
            "incomplete_details": {"reason": self.incomplete} if status == "incomplete" else None,
            "instructions": self.req.get("instructions"),
            "max_output_tokens": self.req.get("max_output_tokens"),
            "model": self.model,
            "output": output,
            "parallel_tool_calls": True,
            "reasoning": effort if isinstance(effort, dict) else {"effort": None, "summary": None},
            "service_tier": self.tier if done else "auto",
            "store": bool(self.req.get("store", True)),
            "text": {"format": {"type": "text"}, "verbosity": "medium"},
            "usage": self.usage if done else None,
        }

    def final_status(self) -> str:
        return "incomplete" if self.incomplete else "completed"


def _output_text(text: str) -> dict[str, Any]:
    return {"type": "output_text", "annotations": [], "logprobs": [], "text": text}


def render_responses(reply: ScriptedReply, request: Any, path: str) -> WireResponse:
    """Render ``reply`` for a Responses API ``/responses`` request."""
    req: dict[str, Any] = request if isinstance(request, dict) else {}
    headers = {"x-request-id": new_request_id()}
    headers.update({k.lower(): v for k, v in reply.headers.items()})
    problem = responses_problem(req) if reply.status < 400 else None
    if reply.status >= 400 or problem is not None:
        headers.setdefault("content-type", "application/json")
        if problem is not None:
            error = {"message": problem, "type": "invalid_request_error", "param": None}
            return WireResponse(
                400, headers, [compact_json({"error": {**error, "code": None}}).encode()]
            )
        return WireResponse(
            reply.status, headers, [compact_json({"error": error_object(reply)}).encode()]
        )
    built = _Reply(reply, req)
    if req.get("stream") is True:
        headers.setdefault("content-type", "text/event-stream; charset=utf-8")
        return WireResponse(reply.status, headers, _events(built), True)
    headers.setdefault("content-type", "application/json")
    body = built.response(built.final_status(), built.output(), True)
    return WireResponse(reply.status, headers, [compact_json(body).encode()])


class _Events:
    """The event list under construction, numbered as OpenAI numbers them."""

    def __init__(self) -> None:
        self.pieces: list[bytes] = []
        self._cache: dict[str, bytes] = {}

    def add(self, kind: str, **fields: Any) -> None:
        data = compact_json({"type": kind, **fields, "sequence_number": len(self.pieces)})
        self.pieces.append(f"event: {kind}\ndata: {data}\n\n".encode())

    def text(self, item_id: str, output_index: int, piece: str) -> None:
        """An ``output_text.delta``; identical pieces (as benchmarks send) are rendered once,
        all but their sequence number."""
        head = self._cache.get(piece)
        if head is None:
            head = self._cache[piece] = (
                'event: response.output_text.delta\ndata: {"type":"response.output_text.delta",'
                f'"content_index":0,"delta":{compact_json(piece)},"item_id":"{item_id}",'
                '"logprobs":[],"output_index":'
            ).encode()
        tail = b'%d,"sequence_number":%d}\n\n' % (output_index, len(self.pieces))
        self.pieces.append(head + tail)


def _events(built: _Reply) -> list[bytes]:
    reply = built.reply
    ev = _Events()
    ev.add("response.created", response=built.response("in_progress", [], False))
    ev.add("response.in_progress", response=built.response("in_progress", [], False))
    index = 0
    if built.reasoning is not None:
        item = built.reasoning
        rid = item["id"]
        ev.add("response.output_item.added", output_index=index, item=item)
        for n, text in enumerate(built.summary):
            where = {"item_id": rid, "output_index": index, "summary_index": n}
            ev.add("response.reasoning_summary_part.added", **where, part=_summary(""))
            for piece in _pieces(text, reply.chunk_size):
                ev.add("response.reasoning_summary_text.delta", **where, delta=piece)
            ev.add("response.reasoning_summary_text.done", **where, text=text)
            ev.add("response.reasoning_summary_part.done", **where, part=_summary(text))
        ev.add("response.output_item.done", output_index=index, item=built.reasoning_item())
        index += 1
    if built.has_message:
        mid = built.message_id
        ev.add("response.output_item.added", output_index=index, item=built.message("in_progress"))
        where = {"item_id": mid, "output_index": index, "content_index": 0}
        ev.add("response.content_part.added", **where, part=_output_text(""))
        for piece in reply.content_deltas():
            ev.text(mid, index, piece)
        ev.add("response.output_text.done", **where, text=built.text, logprobs=[])
        ev.add("response.content_part.done", **where, part=_output_text(built.text))
        status = "incomplete" if built.incomplete else "completed"
        ev.add(
            "response.output_item.done", output_index=index, item=built.message(status, built.text)
        )
        index += 1
    for call in built.calls:
        where = {"item_id": call["id"], "output_index": index}
        ev.add(
            "response.output_item.added",
            output_index=index,
            item={**call, "status": "in_progress", "arguments": ""},
        )
        for piece in _pieces(call["arguments"], reply.chunk_size):
            ev.add("response.function_call_arguments.delta", **where, delta=piece)
        ev.add("response.function_call_arguments.done", **where, arguments=call["arguments"])
        ev.add("response.output_item.done", output_index=index, item=call)
        index += 1
    if reply.error_event_after is not None:
        del ev.pieces[reply.error_event_after :]
        code = reply.error_code or (
            "rate_limit_exceeded" if reply.status == 429 else "server_error"
        )
        ev.add("error", code=code, message=error_object(reply)["message"], param=None)
        return ev.pieces
    status = built.final_status()
    kind = "response.incomplete" if built.incomplete else "response.completed"
    ev.add(kind, response=built.response(status, built.output(), True))
    return ev.pieces


def _summary(text: str) -> dict[str, str]:
    return {"type": "summary_text", "text": text}


def _pieces(text: str, size: int) -> list[str]:
    if not text:
        return []
    if size <= 0 or len(text) <= size:
        return [text]
    return [text[i : i + size] for i in range(0, len(text), size)]


register_wire(r"/responses/?$", render_responses)
