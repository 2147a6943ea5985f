"""Gemini's token counting: ``POST .../models/{model}:countTokens`` and its ``totalTokens``.

The two endpoints take different bodies (Gemini API ``models.countTokens``; Vertex AI
``CountTokensRequest``), both built from the ``generateContent`` body of ``_request`` (the same
conversion, the same refusals before any I/O):

* Gemini API: a conversation alone is sent as ``{"contents": [...]}``; anything that changes
  the count besides it (``systemInstruction``, ``tools``, ``toolConfig``, ...) makes the body
  ``{"generateContentRequest": {"model": "models/{model}", ...the generate body}}``, the form
  the reference gives for counting a whole request (top-level ``contents`` cannot carry them).
* Vertex AI: ``contents``, ``systemInstruction``, ``tools`` and ``generationConfig`` at the top
  level (what ``CountTokensRequest`` takes), as the google-genai SDK sends them (the recorded
  exchange): the system instruction with role ``user`` and ``generationConfig`` always present.

The reply is ``{"totalTokens": n, "promptTokensDetails": [...]}``.
"""

from __future__ import annotations

from typing import Any

from ...provider import HTTPResponse, TokenCount, parse_token_count
from ...types import ChatCompletionRequest
from ._request import build_body

__all__ = ["VERTEX_COUNT_FIELDS", "build_count_body", "parse_count_reply"]

VERTEX_COUNT_FIELDS = ("contents", "systemInstruction", "tools")
"""What Vertex AI's ``countTokens`` takes at the top level besides ``generationConfig``."""


def build_count_body(
    request: ChatCompletionRequest, *, provider: str, vertex: bool
) -> dict[str, Any]:
    """The countTokens body for ``request`` on the Gemini API or Vertex AI."""
    body = build_body(request, provider=provider)
    if vertex:
        counted = {key: body[key] for key in VERTEX_COUNT_FIELDS if key in body}
        if "systemInstruction" in counted:
            counted["systemInstruction"] = {"role": "user", **counted["systemInstruction"]}
        counted["generationConfig"] = body.get("generationConfig", {})
        return counted
    if set(body) - {"contents", "generationConfig"}:
        model = request.model.removeprefix("models/")
        return {"generateContentRequest": {"model": f"models/{model}", **body}}
    return {"contents": body["contents"]}


def parse_count_reply(name: str, response: HTTPResponse, secrets: tuple[str, ...]) -> TokenCount:
    """``{"totalTokens": n}`` as an exact count from ``gemini``."""
    return parse_token_count(name, response, secrets, "totalTokens")
