"""The token-counting wire formats of FakeLLMServer: Anthropic, Gemini and Bedrock.

Paths served (the ones the codecs send):

* Anthropic ``POST /v1/messages/count_tokens``: ``{"input_tokens": n}``; a body without
  ``model`` or ``messages``, or with a field the endpoint refuses (``max_tokens``, ``stream``,
  sampling fields), gets Anthropic's 400 ``invalid_request_error``.
* Gemini API and Vertex AI ``POST .../models/{m}:countTokens``: ``{"totalTokens": n,
  "promptTokensDetails": [{"modality": "TEXT", "tokenCount": n}]}`` (Vertex adds
  ``totalBillableCharacters``); a body with neither ``contents`` nor ``generateContentRequest``
  gets Gemini's 400 ``INVALID_ARGUMENT``.
* Bedrock ``POST /model/{modelId}/count-tokens``: ``{"inputTokens": n}`` for Anthropic Claude
  model ids (the models CountTokens supports); any other model gets the service's 400
  ``ValidationException`` saying it does not support counting tokens, and a body without
  ``input.converse`` (or ``input.invokeModel``) a 400 too.

The count is deterministic: :func:`~metallm.testing.wire_embeddings.fake_token_count` (the
words, at least 1) of every text the body holds (each string under a ``text``, ``content`` or
``system`` key, at any depth), so a test can compute the expected figure. The server records
the request as for any other path. Importing this module registers the renderers.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import unquote

from metallm.testing import wire_anthropic, wire_gemini
from metallm.testing.script import ScriptedReply
from metallm.testing.wire import WireResponse, compact_json, new_request_id, register_wire
from metallm.testing.wire_embeddings import fake_token_count

__all__ = [
    "ANTHROPIC_REFUSED_FIELDS",
    "count_body_tokens",
    "render_anthropic_count",
    "render_bedrock_count",
    "render_gemini_count",
]

ANTHROPIC_REFUSED_FIELDS = frozenset(
    {"max_tokens", "stream", "temperature", "top_p", "top_k", "stop_sequences", "metadata"}
)
"""Messages fields that ``count_tokens`` does not take (the fake refuses them, as the API)."""

_TEXT_KEYS = ("text", "content", "system")


def count_body_tokens(body: Any) -> int:
    """The fake count of a counting request body: the words of every text in it."""
    total = 0
    if isinstance(body, dict):
        for key, value in body.items():
            if key in _TEXT_KEYS and isinstance(value, str):
                total += fake_token_count(value)
            else:
                total += count_body_tokens(value)
    elif isinstance(body, list):
        total += sum(count_body_tokens(item) for item in body)
    return total


def _json(status: int, headers: dict[str, str], body: Any) -> WireResponse:
    headers.setdefault("content-type", "application/json")
    return WireResponse(status, headers, [compact_json(body).encode()], False)


def _scripted(reply: ScriptedReply, headers: dict[str, str]) -> dict[str, str]:
    headers.update({k.lower(): v for k, v in reply.headers.items()})
    return headers


def render_anthropic_count(reply: ScriptedReply, request: Any, path: str) -> WireResponse:
    """Render ``reply`` for ``/v1/messages/count_tokens``."""
    request_id = new_request_id()
    headers = _scripted(reply, {"request-id": request_id})
    req = request if isinstance(request, dict) else {}
    refused = sorted(ANTHROPIC_REFUSED_FIELDS & set(req))
    if reply.status < 400 and (refused or "model" not in req or "messages" not in req):
        why = f"{refused[0]}: Extra inputs are not permitted" if refused else "missing field"
        reply = ScriptedReply.error(400, why, type="invalid_request_error")
    if reply.status >= 400:
        error = wire_anthropic.error_object(reply)
        body = {"type": "error", "error": error, "request_id": request_id}
        return _json(reply.status, headers, body)
    return _json(200, headers, {"input_tokens": count_body_tokens(req)})


def render_gemini_count(reply: ScriptedReply, request: Any, path: str) -> WireResponse:
    """Render ``reply`` for ``.../models/{m}:countTokens`` (Gemini API or Vertex AI)."""
    headers = _scripted(reply, {"content-type": "application/json; charset=UTF-8"})
    req = request if isinstance(request, dict) else {}
    if reply.status < 400 and "contents" not in req and "generateContentRequest" not in req:
        reply = ScriptedReply.error(400, "Invalid JSON payload: contents is required")
    if reply.status >= 400:
        return _json(reply.status, headers, wire_gemini.error_object(reply))
    tokens = count_body_tokens(req)
    body: dict[str, Any] = {
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": tokens}],
        "totalTokens": tokens,
    }
    if "/projects/" in path:
        body["totalBillableCharacters"] = len(compact_json(req))
    return _json(200, headers, body)


def _bedrock_error(headers: dict[str, str], status: int, kind: str, message: str) -> WireResponse:
    headers.setdefault("x-amzn-errortype", kind + ":http://internal.amazon.com/coral/com.amazon/")
    return _json(status, headers, {"message": message})


def render_bedrock_count(reply: ScriptedReply, request: Any, path: str) -> WireResponse:
    """Render ``reply`` for ``/model/{modelId}/count-tokens``."""
    headers = _scripted(reply, {"x-amzn-requestid": str(uuid.uuid4())})
    if reply.status >= 400:
        kind = reply.error_type or "ValidationException"
        message = reply.error_message or f"FakeLLMServer scripted error (HTTP {reply.status})"
        return _bedrock_error(headers, reply.status, kind, message)
    model = unquote(path.split("?", 1)[0].split("/model/", 1)[1].rsplit("/count-tokens", 1)[0])
    if "anthropic." not in model:
        message = "The provided model doesn't support counting tokens."
        return _bedrock_error(headers, 400, "ValidationException", message)
    req = request if isinstance(request, dict) else {}
    given = req.get("input")
    if not isinstance(given, dict) or not ({"converse", "invokeModel"} & set(given)):
        message = "1 validation error detected: Value null at 'input' failed to satisfy constraint"
        return _bedrock_error(headers, 400, "ValidationException", message)
    return _json(200, headers, {"inputTokens": count_body_tokens(given)})


register_wire(r"/v1/messages/count_tokens/?$", render_anthropic_count)
register_wire(r"/models/[^/]+:countTokens/?$", render_gemini_count)
register_wire(r"^/model/[^/]+/count-tokens/?$", render_bedrock_count)
