"""Parsing a whole Converse reply, and the normalisation shared with the stream decoder.

Converse answers ``{"output": {"message": {"role", "content": [blocks]}}, "stopReason",
"usage", "metrics"}``. Blocks: ``text``; ``toolUse`` (``input`` is an object, serialised to
JSON text with ``json.dumps``, the same spacing the fake server streams); ``reasoningContent``
(``reasoningText.text`` goes to ``reasoning_content``; each block is also kept byte-exact as a
:class:`~metallm.ReasoningPart` with its ``signature``, or ``redactedContent`` as its
``encrypted`` payload, for the next turn to send back). Unknown blocks are skipped.

Usage: the corpus (``converse_basic``, a prompt-cache hit) shows ``inputTokens: 13``,
``cacheReadInputTokens: 1504``, ``cacheWriteInputTokens: 0``, ``outputTokens: 5`` and
``totalTokens: 1522`` = 13 + 1504 + 5: Bedrock's ``inputTokens`` leaves the cached tokens out,
so ``prompt_tokens`` = input + cache read + cache write (1517) and ``total_tokens`` = prompt +
completion (1522, equal to Bedrock's own total).
"""

from __future__ import annotations

import json
import logging
from typing import Any

import metallm.provider as kit
from metallm.errors import ResponseValidationError, excerpt, redact
from metallm.types import ChatCompletionResponse, FinishReason, ReasoningPart, ToolCall, Usage

__all__ = ["finish_reason", "parse_converse", "parse_usage", "reasoning_part", "tool_id"]

_log = logging.getLogger("metallm")
_FINISH: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
}


def finish_reason(stop_reason: Any) -> FinishReason | None:
    """Converse ``stopReason`` -> unified finish reason (unknown values: ``stop``)."""
    if stop_reason is None:
        return None
    mapped = _FINISH.get(str(stop_reason))
    if mapped is None:
        _log.debug("bedrock: unknown stopReason %r, reported as stop", stop_reason)
        return "stop"
    return mapped


def tool_id(given: Any, ordinal: int) -> str:
    """The tool call's id, or a stable one from its position when Bedrock sent none."""
    return kit.tool_call_id(given, ordinal, prefix="tooluse_metallm")


def parse_usage(usage: Any) -> Usage | None:
    """Converse ``usage`` normalised (see the module docstring), or ``None`` when absent."""
    if not isinstance(usage, dict):
        return None
    read = usage.get("cacheReadInputTokens")
    write = usage.get("cacheWriteInputTokens")
    prompt = int(usage.get("inputTokens") or 0) + int(read or 0) + int(write or 0)
    completion = int(usage.get("outputTokens") or 0)
    return kit.make_usage(
        prompt,
        completion,
        cached_tokens=None if read is None else int(read),
        cache_write_tokens=None if write is None else int(write),
    )


def reasoning_part(provider: str, block: dict[str, Any]) -> ReasoningPart:
    """A whole ``reasoningContent`` block as the part that sends it back."""
    redacted = block.get("redactedContent")
    if redacted:
        return kit.make_reasoning_part(provider, encrypted=str(redacted))
    thought = block.get("reasoningText") or {}
    text = str(thought.get("text") or "")
    return kit.make_reasoning_part(provider, text, signature=thought.get("signature"))


def parse_converse(
    provider: str, response: kit.HTTPResponse, secrets: tuple[str, ...] = ()
) -> ChatCompletionResponse:
    """The unified response of a Converse reply."""
    try:
        body = json.loads(response.content)
        message = body["output"]["message"]
        blocks = message["content"]
        if not isinstance(blocks, list):
            raise TypeError("content is not a list")
        return _build(provider, body, blocks, response.request_id or "")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        why = f"malformed Converse reply ({type(exc).__name__}: {exc})"
        text = redact(f"{why}: {excerpt(response.content)}", secrets)
        raise ResponseValidationError(
            text,
            provider=provider,
            status_code=response.status_code,
            request_id=response.request_id,
        ) from exc


def _build(
    provider: str, body: dict[str, Any], blocks: list[Any], request_id: str
) -> ChatCompletionResponse:
    texts: list[str] = []
    reasoning: list[str] = []
    signed: list[ReasoningPart] = []
    calls: list[ToolCall] = []
    for block in blocks:
        if "text" in block:
            texts.append(str(block["text"]))
        elif "toolUse" in block:
            use = block["toolUse"]
            arguments = kit.arguments_text(use.get("input"))
            calls.append(
                kit.make_tool_call(
                    tool_id(use.get("toolUseId"), len(calls)), str(use["name"]), arguments
                )
            )
        elif "reasoningContent" in block:
            part = reasoning_part(provider, block["reasoningContent"])
            reasoning.append(part.text)
            signed.append(part)
        else:
            _log.debug("bedrock: skipping unknown content block %r", sorted(block))
    finish = finish_reason(body.get("stopReason"))
    if calls:
        finish = "tool_calls"
    msg = kit.make_assistant_message(
        "".join(texts) if texts or not calls else None,
        calls,
        "".join(reasoning) if any(reasoning) else None,
        reasoning_parts=signed,
    )
    return kit.make_completion(
        provider,
        [kit.make_choice(0, msg, finish)],
        id=request_id,
        usage=parse_usage(body.get("usage")),
    )
