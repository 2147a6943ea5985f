"""The wire-renderer registry of :class:`~metallm.testing.FakeLLMServer`, and shared helpers.

The server knows HTTP, not providers. Each provider wire format is a *renderer*, registered
with :func:`register_wire` under a path matcher, that turns a :class:`ScriptedReply`, the
parsed request JSON and the request path into a :class:`WireResponse`: a status, headers and
the body as a list of pieces (one piece per streamed event). The server picks the renderer by
path, frames the pieces (Content-Length, or one HTTP chunk per piece) and applies the
transport-level controls (delays, cuts, disconnects, stalls). Adding a provider is adding a
renderer module; the server does not change.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from metallm.testing.script import ScriptedReply

__all__ = [
    "RequestGate",
    "WireMatcher",
    "WireRenderer",
    "WireResponse",
    "base_path",
    "compact_json",
    "find_gate",
    "find_wire",
    "last_user_text",
    "new_request_id",
    "prompt_words",
    "register_gate",
    "register_wire",
    "render_raw",
    "unregister_wire",
]

compact_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
"""Compact JSON text, as providers send it (one encoder for every wire format)."""


@dataclass
class WireResponse:
    """What a renderer produces: status, headers and the body in pieces.

    ``stream=True`` sends the pieces with ``Transfer-Encoding: chunked``, one HTTP chunk per
    piece (so delays and cuts fall between events); ``stream=False`` sends their
    concatenation with ``Content-Length``. Header names should be lower case.
    """

    status: int
    headers: dict[str, str]
    pieces: list[bytes]
    stream: bool = False


WireRenderer = Callable[[ScriptedReply, Any, str], WireResponse]
"""``renderer(reply, request_json_or_None, request_path_with_query) -> WireResponse``."""

WireMatcher = str | re.Pattern[str] | Callable[[str], bool]
"""A regex (searched in the request path, query excluded) or a predicate on that path."""

RequestGate = Callable[[str, dict[str, str]], WireResponse | None]
"""``gate(request_path_with_query, lower_case_headers) -> WireResponse or None``: a check a
wire format makes on a request before it is answered (its credentials, a required query
parameter); a response it returns is served instead of the reply, which the request consumes."""

_lock = threading.Lock()
_registry: list[tuple[Callable[[str], bool], WireRenderer]] = []
_gates: list[tuple[Callable[[str], bool], RequestGate]] = []

_BASE_PATHS = {
    "openai": "/v1",
    "xai": "/v1",
    "anthropic": "",
    "gemini": "",
    "ollama": "",
    "bedrock": "",
    # named OpenAI-compatible services: the path their documented base URLs end in
    "groq": "/openai/v1",
    "mistral": "/v1",
    "deepseek": "",
    "openrouter": "/api/v1",
    "together": "/v1",
    "fireworks": "/inference/v1",
    "cerebras": "/v1",
    "perplexity": "",
    "openai_compatible": "/v1",
    "azure_openai": "",  # the resource endpoint: /openai/deployments/... or /openai/v1/...
    "openai_responses": "/v1",
}


def register_wire(matcher: WireMatcher, renderer: WireRenderer) -> None:
    """Serve POST requests whose path matches ``matcher`` with ``renderer``.

    Later registrations take precedence, so a test can override a built-in wire format; the
    registry is process-wide (every server sees it). Undo with :func:`unregister_wire`.
    """
    if isinstance(matcher, str):
        matcher = re.compile(matcher)
    predicate: Callable[[str], bool]
    if isinstance(matcher, re.Pattern):
        pattern = matcher
        predicate = lambda path: pattern.search(path) is not None  # noqa: E731
    else:
        predicate = matcher
    with _lock:
        _registry.insert(0, (predicate, renderer))


def unregister_wire(renderer: WireRenderer) -> None:
    """Remove every registration of ``renderer`` (no error if it was not registered)."""
    with _lock:
        _registry[:] = [entry for entry in _registry if entry[1] is not renderer]


def find_wire(path: str) -> WireRenderer | None:
    """The renderer for a request path (a query string is ignored), or ``None``."""
    bare = path.split("?", 1)[0]
    with _lock:
        for predicate, renderer in _registry:
            if predicate(bare):
                return renderer
    return None


def register_gate(matcher: WireMatcher, gate: RequestGate) -> None:
    """Check POST requests whose path matches ``matcher`` with ``gate`` before answering them
    (later registrations first, as for :func:`register_wire`). Azure OpenAI's wire format uses
    it to refuse a request without ``api-key`` or a bearer token, as Azure does."""
    if isinstance(matcher, str):
        matcher = re.compile(matcher)
    if isinstance(matcher, re.Pattern):
        pattern = matcher
        matcher = lambda path: pattern.search(path) is not None  # noqa: E731
    with _lock:
        _gates.insert(0, (matcher, gate))


def find_gate(path: str) -> RequestGate | None:
    """The gate for a request path (a query string is ignored), or ``None``."""
    bare = path.split("?", 1)[0]
    with _lock:
        for predicate, gate in _gates:
            if predicate(bare):
                return gate
    return None


def base_path(provider: str) -> str:
    """The path a provider's base URL adds to the server root (``/v1`` for OpenAI and xAI)."""
    try:
        return _BASE_PATHS[provider.lower()]
    except KeyError:
        known = ", ".join(sorted(_BASE_PATHS))
        raise ValueError(f"unknown provider {provider!r}; FakeLLMServer knows {known}") from None


def render_raw(reply: ScriptedReply) -> WireResponse:
    """The response of a raw or replayed reply: its bytes and headers, untouched."""
    headers = {k.lower(): v for k, v in reply.headers.items()}
    return WireResponse(reply.status, headers, list(reply.raw_body or [b""]), reply.raw_stream)


def new_request_id() -> str:
    """A fresh ``req_...`` request id, in the style OpenAI and Anthropic use."""
    return "req_" + uuid.uuid4().hex


def _part_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # OpenAI/Anthropic/Bedrock parts, Gemini parts
        texts = [_part_text(part) for part in content]
        return " ".join(t for t in texts if t)
    if isinstance(content, dict):
        for key in ("text", "content", "parts"):
            if key in content:
                return _part_text(content[key])
    return ""


def _messages(request: Any) -> list[Any]:
    if not isinstance(request, dict):
        return []
    for key in ("messages", "contents", "input"):  # chat APIs, Gemini, OpenAI Responses
        value = request.get(key)
        if isinstance(value, list):
            return value
    return []


def last_user_text(request: Any) -> str:
    """The text of the last user message of a chat request, in any provider's shape."""
    for message in reversed(_messages(request)):
        if isinstance(message, dict) and message.get("role") == "user":
            return _part_text(message.get("content", message.get("parts")))
    return ""


def prompt_words(request: Any) -> int:
    """A rough prompt size: the words of every message (and system prompt) of the request."""
    words = 0
    for message in _messages(request):
        if isinstance(message, dict):
            words += len(_part_text(message.get("content", message.get("parts"))).split())
    if isinstance(request, dict):
        for key in ("system", "system_instruction", "systemInstruction", "instructions"):
            words += len(_part_text(request.get(key)).split())
    return words
