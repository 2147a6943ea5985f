"""The signed-reasoning rules the real APIs enforce, so FakeLLMServer refuses what they refuse.

Thinking models sign their reasoning, and the APIs refuse a continued tool-use turn whose signed
reasoning did not come back exactly:

* Anthropic (and Anthropic models on Bedrock): with thinking enabled, the last assistant turn
  that made the tool calls being answered must start with its ``thinking`` (or
  ``redacted_thinking``) block; a thinking block whose ``signature`` does not match its text
  is refused. Both answer 400 (``invalid_request_error``; ``ValidationException`` on Bedrock)
  with the API's own wording.
* Gemini 3: every model turn of the current turn (since the last user text) that calls
  functions must carry, on its first ``functionCall`` part, the ``thoughtSignature`` it was
  issued (or Google's documented ``skip_thought_signature_validator``); 400 ``INVALID_ARGUMENT``
  otherwise.

The fake signs what it renders with :func:`sign`, a digest of the signed text, so a check
knows a signature from a forgery or from a text that was edited after it was signed. Each
``*_problem`` function returns the error message the API would send, or ``None``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any

__all__ = [
    "SKIP_SIGNATURE",
    "anthropic_problem",
    "bedrock_problem",
    "call_signature",
    "gemini_problem",
    "sign",
]

SKIP_SIGNATURE = "skip_thought_signature_validator"
_GEMINI_3 = re.compile(r"gemini-3[.-]")
_MISSING = (
    "messages.{i}.content.0.type: Expected `thinking` or `redacted_thinking`, but found `{kind}`."
    " When `thinking` is enabled, a final `assistant` message must start with a thinking block "
    "(preceeding the lastmost set of `tool_use` and `tool_result` blocks). We recommend you "
    "include thinking blocks from previous turns. To avoid this requirement, disable `thinking`."
)


def sign(text: str) -> str:
    """The fake's signature of ``text`` (base64 of a SHA-256 digest, like a real one looks)."""
    digest = hashlib.sha256(b"FakeLLMServer signature\0" + text.encode("utf-8")).digest()
    return base64.b64encode(digest).decode("ascii")


def call_signature(name: str, args: Any) -> str:
    """The ``thoughtSignature`` the fake issues for a Gemini function call."""
    return sign(name + "\0" + json.dumps(args, sort_keys=True, separators=(",", ":")))


def _enabled(thinking: Any) -> bool:
    return isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive")


def _signed_turn_problem(
    messages: list[Any], kinds: tuple[str, str, str, str], thinking_text: Any
) -> str | None:
    """The shared rule of Anthropic and Bedrock: ``kinds`` names the wire's block kinds
    (thinking, redacted, tool use, tool result); ``thinking_text`` reads a thinking block."""
    thought, redacted, tool_use, tool_result = kinds
    for i, message in enumerate(messages):
        content = message.get("content") if isinstance(message, dict) else None
        if message.get("role") != "assistant" or not isinstance(content, list):
            continue
        for n, block in enumerate(content):
            pair = thinking_text(block)
            if pair is not None and pair[1] != sign(pair[0]):
                return f"messages.{i}.content.{n}: Invalid `signature` in `thinking` block"
    last = len(messages) - 1
    if last < 1 or not _has(messages[last], tool_result):
        return None
    previous = messages[last - 1]
    content = previous.get("content") if isinstance(previous, dict) else None
    if previous.get("role") != "assistant" or not isinstance(content, list) or not content:
        return None
    if not any(_kind(b) == tool_use for b in content):
        return None
    first = _kind(content[0])
    if first in (thought, redacted):
        return None
    return _MISSING.format(i=last - 1, kind=first)


def _kind(block: Any) -> str:
    if not isinstance(block, dict):
        return ""
    kind = block.get("type")
    if isinstance(kind, str):
        return kind
    return next(iter(block), "")  # Converse blocks are keyed by their kind


def _has(message: Any, kind: str) -> bool:
    content = message.get("content") if isinstance(message, dict) else None
    return isinstance(content, list) and any(_kind(b) == kind for b in content)


def _anthropic_thinking(block: Any) -> tuple[str, str] | None:
    if isinstance(block, dict) and block.get("type") == "thinking":
        return str(block.get("thinking") or ""), str(block.get("signature") or "")
    return None


def _bedrock_thinking(block: Any) -> tuple[str, str] | None:
    reasoning = block.get("reasoningContent") if isinstance(block, dict) else None
    text = reasoning.get("reasoningText") if isinstance(reasoning, dict) else None
    if isinstance(text, dict):
        return str(text.get("text") or ""), str(text.get("signature") or "")
    return None


def anthropic_problem(request: dict[str, Any]) -> str | None:
    """What the Messages API refuses in ``request`` about signed thinking, or ``None``."""
    messages = request.get("messages")
    if not _enabled(request.get("thinking")) or not isinstance(messages, list):
        return None
    kinds = ("thinking", "redacted_thinking", "tool_use", "tool_result")
    return _signed_turn_problem(messages, kinds, _anthropic_thinking)


def bedrock_problem(request: dict[str, Any]) -> str | None:
    """What Converse refuses (Anthropic models with thinking enabled), or ``None``."""
    fields = request.get("additionalModelRequestFields")
    messages = request.get("messages")
    if not isinstance(fields, dict) or not _enabled(fields.get("thinking")):
        return None
    if not isinstance(messages, list):
        return None
    kinds = ("reasoningContent", "reasoningContent", "toolUse", "toolResult")
    problem = _signed_turn_problem(messages, kinds, _bedrock_thinking)
    return None if problem is None else f"The model returned the following errors: {problem}"


def gemini_problem(request: dict[str, Any], path: str) -> str | None:
    """What Gemini 3 refuses about thought signatures in ``request``, or ``None``."""
    contents = request.get("contents")
    if not _GEMINI_3.search(path) or not isinstance(contents, list):
        return None
    start = 0
    for i, content in enumerate(contents):
        parts = content.get("parts") if isinstance(content, dict) else None
        if content.get("role") == "user" and any("text" in p for p in parts or ()):
            start = i + 1  # the current turn begins after the last user text
    for i in range(start, len(contents)):
        content = contents[i]
        if content.get("role") != "model":
            continue
        calls = [(n, p) for n, p in enumerate(content.get("parts") or ()) if "functionCall" in p]
        if not calls:
            continue
        n, part = calls[0]
        signature = part.get("thoughtSignature")
        fc = part["functionCall"]
        if signature is None:
            return (
                "Function call is missing a thought_signature in functionCall parts. This is "
                "required for tools to work correctly, and missing thought_signature may lead "
                f"to degraded model performance. Additional data, function call "
                f"`default_api:{fc.get('name')}` , position {n + 1}. Please refer to "
                "https://ai.google.dev/gemini-api/docs/thought-signatures for more details."
            )
        valid = call_signature(str(fc.get("name")), fc.get("args") or {})
        if signature not in (valid, SKIP_SIGNATURE):
            return f"Corrupted thought signature. (contents[{i}].parts[{n}])"
    return None
