"""Azure OpenAI's wire format for FakeLLMServer: OpenAI's bytes on Azure's paths and terms.

Paths (both URL shapes Azure serves): ``/openai/deployments/{deployment}/chat/completions``
and ``.../embeddings`` with ``?api-version=``, and the v1 ``/openai/v1/chat/completions`` and
``/openai/v1/embeddings``. Point a client at ``server.base_url("azure_openai")`` (the server
root, as a resource endpoint).

Before answering, a gate checks what Azure checks: a request with neither an ``api-key``
header nor ``Authorization: Bearer <token>`` gets Azure's 401 (``code: "401"``, "Access denied
due to invalid subscription key or wrong API endpoint..."), and a deployment-path request
without ``api-version`` Azure's 404 ``Resource not found``; either consumes the queued reply.
:attr:`RecordedRequest.headers <metallm.testing.RecordedRequest>` shows which credential came.

Replies are the OpenAI wire format's, dressed as Azure sends them (its recorded replies in the
corpus, and its content-streaming guide): no ``service_tier``; ``prompt_filter_results`` on a
reply, which in a stream is a first event with empty ``choices``, ``id`` and ``model``; a
``content_filter_results`` verdict on every choice, all categories ``safe`` except for a
``finish_reason="content_filter"`` reply, whose finishing choice has ``violence`` filtered at
``medium`` severity. ``ScriptedReply.error(400, ..., code="content_filter")`` renders Azure's
filtered-prompt error: ``innererror`` with code ``ResponsibleAIPolicyViolation`` and a
``content_filter_result`` whose ``jailbreak`` is detected and filtered.
"""

from __future__ import annotations

import json
from typing import Any

from metallm.testing import wire_openai
from metallm.testing.script import ScriptedReply
from metallm.testing.wire import (
    WireResponse,
    compact_json,
    new_request_id,
    register_gate,
    register_wire,
)
from metallm.testing.wire_embeddings import render_openai_embeddings

__all__ = ["FILTERED_PROMPT", "SAFE", "azure_gate", "render_azure"]

_CHAT = r"^/openai/(deployments/[^/]+|v1)/chat/completions/?$"
_EMBEDDINGS = r"^/openai/(deployments/[^/]+|v1)/embeddings/?$"
_ANY = r"^/openai/(deployments/[^/]+|v1)/"

SAFE: dict[str, Any] = {
    name: {"filtered": False, "severity": "safe"}
    for name in ("hate", "self_harm", "sexual", "violence")
}
"""A choice's verdict when nothing was filtered."""
_WITHHELD = {**SAFE, "violence": {"filtered": True, "severity": "medium"}}
FILTERED_PROMPT: dict[str, Any] = {**SAFE, "jailbreak": {"detected": True, "filtered": True}}
"""The ``innererror.content_filter_result`` of a scripted filtered-prompt error."""
_PROMPT_RESULTS = [
    {
        "prompt_index": 0,
        "content_filter_results": {**SAFE, "jailbreak": {"filtered": False, "detected": False}},
    }
]
_UNAUTHORIZED = (
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide "
    "a valid key for an active subscription and use a correct regional API endpoint for your "
    "resource."
)
_FILTER_MESSAGE = (
    "The response was filtered due to the prompt triggering Azure OpenAI's content management "
    "policy. Please modify your prompt and retry."
)


def _error(status: int, body: dict[str, Any]) -> WireResponse:
    headers = {"content-type": "application/json", "apim-request-id": new_request_id()}
    return WireResponse(status, headers, [compact_json(body).encode()], False)


def azure_gate(path: str, headers: dict[str, str]) -> WireResponse | None:
    """Azure's refusals of a request: no credentials (401), no ``api-version`` on the
    deployment path (404); None lets it through."""
    bearer = headers.get("authorization", "")
    if not headers.get("api-key") and not (bearer.startswith("Bearer ") and bearer[7:].strip()):
        return _error(401, {"error": {"code": "401", "message": _UNAUTHORIZED}})
    if path.startswith("/openai/deployments/") and "api-version=" not in path.partition("?")[2]:
        return _error(404, {"error": {"code": "404", "message": "Resource not found"}})
    return None


def _dress(obj: dict[str, Any]) -> None:
    """Azure's fields on one OpenAI reply object or stream chunk, in place."""
    obj.pop("service_tier", None)
    for choice in obj.get("choices") or ():
        withheld = choice.get("finish_reason") == "content_filter"
        choice["content_filter_results"] = _WITHHELD if withheld else SAFE


def render_azure(reply: ScriptedReply, request: Any, path: str) -> WireResponse:
    """Render ``reply`` for an Azure OpenAI ``chat/completions`` request (see the module)."""
    if reply.status >= 400 and reply.error_code == "content_filter":
        error = {
            "message": reply.error_message or _FILTER_MESSAGE,
            "type": None,
            "param": "prompt",
            "code": "content_filter",
            "status": reply.status,
            "innererror": {
                "code": "ResponsibleAIPolicyViolation",
                "content_filter_result": FILTERED_PROMPT,
            },
        }
        return _error(reply.status, {"error": error})
    response = wire_openai.render_openai(reply, request, path)
    if response.status >= 400:
        return response
    if not response.stream:
        body = json.loads(b"".join(response.pieces))
        _dress(body)
        body["prompt_filter_results"] = _PROMPT_RESULTS
        response.pieces = [compact_json(body).encode()]
        return response
    annotation = {"choices": [], "created": 0, "id": "", "model": "", "object": ""}
    annotation["prompt_filter_results"] = _PROMPT_RESULTS
    pieces = [b"data: " + compact_json(annotation).encode() + b"\n\n"]
    for piece in response.pieces:
        payload = piece[6:].strip() if piece.startswith(b"data: ") else b""
        if not payload.startswith(b"{") or payload.startswith(b'{"error"'):
            pieces.append(piece)  # [DONE], or an in-stream error event, as OpenAI sends it
            continue
        chunk = json.loads(payload)
        _dress(chunk)
        pieces.append(b"data: " + compact_json(chunk).encode() + b"\n\n")
    response.pieces = pieces
    return response


register_wire(_CHAT, render_azure)
register_wire(_EMBEDDINGS, render_openai_embeddings)
register_gate(_ANY, azure_gate)
