"""Bedrock's token counting: ``CountTokens``, ``POST /model/{modelId}/count-tokens``.

The body is ``{"input": {"converse": {...}}}``, the ``ConverseTokensRequest`` of the API
reference: the Converse body of ``_request`` (the same conversion, the same refusals before any
I/O) restricted to ``messages``, ``system``, ``toolConfig`` and
``additionalModelRequestFields``. The reply is ``{"inputTokens": n}``.

Only some models can be counted (Anthropic Claude models, at the time of writing); for another
the service answers 400 ``ValidationException`` saying the model does not support counting
tokens. :func:`is_unsupported` recognises that reply, and the client then falls back to its
local estimate (``exact=False``) instead of failing the call.
"""

from __future__ import annotations

from typing import Any

from metallm.errors import APIError
from metallm.provider import HTTPResponse, TokenCount, parse_token_count
from metallm.types import ChatCompletionRequest

from ._request import build_body

__all__ = ["CONVERSE_COUNT_FIELDS", "build_count_body", "is_unsupported", "parse_count_reply"]

CONVERSE_COUNT_FIELDS = ("messages", "system", "toolConfig", "additionalModelRequestFields")
"""The Converse fields ``ConverseTokensRequest`` takes."""


def build_count_body(request: ChatCompletionRequest, *, provider: str) -> dict[str, Any]:
    """The CountTokens body for ``request``."""
    body = build_body(request, provider=provider)
    converse = {key: body[key] for key in CONVERSE_COUNT_FIELDS if key in body}
    return {"input": {"converse": converse}}


def is_unsupported(error: APIError) -> bool:
    """Whether ``error`` is CountTokens refusing the model itself (not the request)."""
    if error.status_code != 400 or (error.type or "") != "ValidationException":
        return False
    text = error.message.lower()
    return "support" in text and "count" in text and "token" in text


def parse_count_reply(name: str, response: HTTPResponse, secrets: tuple[str, ...]) -> TokenCount:
    """``{"inputTokens": n}`` as an exact count from ``bedrock``."""
    return parse_token_count(name, response, secrets, "inputTokens")
