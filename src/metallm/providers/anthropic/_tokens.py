"""Anthropic's token counting: ``POST /v1/messages/count_tokens`` and its ``{"input_tokens"}``.

The counting body is the Messages body (``_request.build_body``, so the same conversion and
the same refusals before any I/O) restricted to the fields the count_tokens reference lists:
``model``, ``messages``, ``system``, ``tools``, ``tool_choice``, ``thinking`` (and the beta
``mcp_servers``, ``context_management``, ``output_format`` when ``extra`` sets them). Sampling
and output fields (``max_tokens``, ``stream``, ``temperature``, ``stop_sequences``,
``metadata``, ...) are left out: they do not change the count and the endpoint refuses them.
"""

from __future__ import annotations

from typing import Any

from ...provider import HTTPResponse, TokenCount, parse_token_count
from ...types import ChatCompletionRequest
from ._request import build_body

__all__ = ["COUNT_FIELDS", "build_count_body", "parse_count_reply"]

COUNT_FIELDS = (
    "model",
    "messages",
    "system",
    "tools",
    "tool_choice",
    "thinking",
    "mcp_servers",
    "context_management",
    "output_format",
)
"""The body fields ``messages/count_tokens`` takes, in the order they are sent."""


def build_count_body(request: ChatCompletionRequest, *, provider: str) -> dict[str, Any]:
    """The count_tokens body for ``request`` (see the module docstring)."""
    body = build_body(request, provider=provider, stream=False)
    return {key: body[key] for key in COUNT_FIELDS if key in body}


def parse_count_reply(name: str, response: HTTPResponse, secrets: tuple[str, ...]) -> TokenCount:
    """``{"input_tokens": n}`` as an exact count from ``anthropic``."""
    return parse_token_count(name, response, secrets, "input_tokens")
