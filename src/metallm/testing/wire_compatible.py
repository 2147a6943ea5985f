"""Mistral's flavour of Chat Completions for FakeLLMServer, on top of the OpenAI renderer.

The named OpenAI-compatible services speak OpenAI's Chat Completions, so
:func:`~metallm.testing.wire_openai.render_openai` serves them all (each on the base path its
documented base URL ends in: ``/openai/v1`` for Groq, ``/api/v1`` for OpenRouter, ...; see
``wire.base_path``). Mistral's replies differ in ways a client must handle, as its recorded
stream (``openai_compatible/mistral_stream_basic.json``) and its reference show, so for a
Mistral model (``mistral-*``, ``magistral-*``, ``codestral-*``, ...) the OpenAI rendering is
rewritten: a stream carries its usage on the chunk that finishes the choice, whether or not
the request asked (Mistral takes no ``stream_options``); reasoning comes as ``thinking``
content chunks (``[{"type": "thinking", "thinking": [{"type": "text", "text": ...}]}, ...]``)
instead of ``reasoning_content``; usage has no token details; and the OpenAI-only fields
(``service_tier``, ``system_fingerprint``, ``refusal``, ``annotations``) are left out. Every
other model gets the OpenAI rendering untouched. Importing this module registers the renderer
for every path ending in ``/chat/completions``, after (so ahead of) the OpenAI one.
"""

from __future__ import annotations

import json
from typing import Any

from metallm.testing.script import ScriptedReply
from metallm.testing.wire import WireResponse, compact_json, register_wire
from metallm.testing.wire_openai import render_openai

__all__ = ["MISTRAL_MODEL_PREFIXES", "render_compatible"]

MISTRAL_MODEL_PREFIXES = (
    "mistral",
    "magistral",
    "ministral",
    "codestral",
    "devstral",
    "pixtral",
    "voxtral",
    "open-mistral",
    "open-mixtral",
)
"""Model names served in Mistral's flavour."""

_OPENAI_ONLY = ("service_tier", "system_fingerprint")
_DONE = b"data: [DONE]\n\n"


def render_compatible(reply: ScriptedReply, request: Any, path: str) -> WireResponse:
    """``reply`` as ``/chat/completions`` returns it: Mistral's flavour for a Mistral model,
    OpenAI's otherwise."""
    req: dict[str, Any] = request if isinstance(request, dict) else {}
    model = reply.model or str(req.get("model") or "")
    if reply.status >= 400 or not model.startswith(MISTRAL_MODEL_PREFIXES):
        return render_openai(reply, request, path)
    if req.get("stream") is True:
        asked = {**req, "stream_options": {"include_usage": True}}  # to read the usage
        response = render_openai(reply, asked, path)
        response.pieces = _mistral_events(response.pieces)
        return response
    response = render_openai(reply, request, path)
    body = json.loads(b"".join(response.pieces))
    _strip(body)
    for choice in body.get("choices", []):
        message = choice.get("message", {})
        for key in ("refusal", "annotations"):
            message.pop(key, None)
        reasoning = message.pop("reasoning_content", None)
        if reasoning is not None:
            text = message.get("content")
            message["content"] = [_thinking(reasoning)] + (
                [{"type": "text", "text": text}] if text else []
            )
        choice.pop("logprobs", None)
    response.pieces = [compact_json(body).encode()]
    return response


def _thinking(text: str) -> dict[str, Any]:
    return {"type": "thinking", "thinking": [{"type": "text", "text": text}]}


def _strip(obj: dict[str, Any]) -> None:
    for key in _OPENAI_ONLY:
        obj.pop(key, None)
    usage = obj.get("usage")
    if isinstance(usage, dict):
        obj["usage"] = {
            "prompt_tokens": usage["prompt_tokens"],
            "total_tokens": usage["total_tokens"],
            "completion_tokens": usage["completion_tokens"],
        }


def _mistral_events(pieces: list[bytes]) -> list[bytes]:
    """The OpenAI events rewritten as Mistral streams them (see the module docstring)."""
    events: list[dict[str, Any]] = []
    tail: list[bytes] = []
    for piece in pieces:
        if piece == _DONE or not piece.startswith(b"data: {"):
            tail.append(piece)
            continue
        obj = json.loads(piece[6:])
        if "error" in obj:
            tail.append(piece)
            continue
        if obj.get("choices") == [] and obj.get("usage") and events:
            _strip(obj)
            events[-1]["usage"] = obj["usage"]  # usage rides on the finishing chunk
            continue
        _strip(obj)
        obj.pop("usage", None)
        for choice in obj.get("choices", []):
            delta = choice.get("delta", {})
            delta.pop("refusal", None)
            reasoning = delta.pop("reasoning_content", None)
            if reasoning is not None:
                delta["content"] = [_thinking(reasoning)]
        events.append(obj)
    return [b"data: " + compact_json(e).encode() + b"\n\n" for e in events] + tail


register_wire(r"^/v1/chat/completions/?$", render_compatible)  # Mistral's base path (only)
