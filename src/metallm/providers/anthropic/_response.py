"""Reading Anthropic Messages replies: whole messages, usage, stop reasons, content blocks.

Shared by the non-streaming parser and the stream decoder so both normalise the same way
(DESIGN §2):

* usage: ``prompt_tokens = input_tokens + cache_creation_input_tokens +
  cache_read_input_tokens`` (Anthropic's ``input_tokens`` excludes both cache counts),
  ``cached_tokens`` = cache read, ``cache_write_tokens`` = cache creation,
  ``completion_tokens = output_tokens`` (thinking included; Anthropic reports no separate
  reasoning count, so ``reasoning_tokens`` stays ``None``);
* ``stop_reason``: ``end_turn``/``stop_sequence``/``pause_turn`` -> ``stop``, ``max_tokens`` ->
  ``length``, ``tool_use`` -> ``tool_calls``, ``refusal`` -> ``content_filter``;
* ``text`` blocks join into ``content``, ``thinking`` blocks into ``reasoning_content``;
  ``thinking`` and ``redacted_thinking`` blocks are also kept, in order and byte-exact, as the
  message's signed :class:`~metallm.ReasoningPart` list (sent back on the next turn);
  ``tool_use`` blocks become tool calls whose ``input`` object is serialised to JSON text with
  ``json.dumps`` defaults (the spacing Anthropic itself streams as ``input_json_delta``).

Anthropic sends no ``created`` timestamp, so responses and chunks carry ``created=0``.
"""

from __future__ import annotations

from typing import Any

import metallm.provider as kit

from ...types import ChatCompletionResponse, FinishReason, ReasoningPart, ToolCall, Usage

__all__ = [
    "STOP_REASONS",
    "finish_reason",
    "parse_message",
    "parse_usage",
    "tool_id",
]

STOP_REASONS: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
"""Anthropic stop reasons with a unified meaning; anything else becomes ``"stop"``."""


def parse_usage(raw: dict[str, Any], output: dict[str, Any] | None = None) -> Usage:
    """Normalised usage from ``message.usage`` (input side) and, for streams, the
    ``message_delta`` usage (``output``), whose counts win where present."""
    merged = (
        raw if output is None else {**raw, **{k: v for k, v in output.items() if v is not None}}
    )
    read = merged.get("cache_read_input_tokens")
    write = merged.get("cache_creation_input_tokens")
    prompt = kit.as_int(merged.get("input_tokens")) + kit.as_int(read) + kit.as_int(write)
    completion = kit.as_int(merged.get("output_tokens"))
    return kit.make_usage(
        prompt,
        completion,
        cached_tokens=None if read is None else kit.as_int(read),
        cache_write_tokens=None if write is None else kit.as_int(write),
    )


def finish_reason(reason: Any) -> FinishReason | None:
    """The unified finish reason of a ``stop_reason`` (``None`` stays ``None``)."""
    if reason is None:
        return None
    return STOP_REASONS.get(reason, "stop")


def tool_id(raw: Any, ordinal: int) -> str:
    """The tool call's id, or the stable ``toolu_<n>`` both parsers synthesise without one."""
    return kit.tool_call_id(raw, ordinal, prefix="toolu")


def parse_message(
    provider: str, response: kit.HTTPResponse, secrets: tuple[str, ...] = ()
) -> ChatCompletionResponse:
    """A ``message`` body as a unified response."""
    obj = kit.json_body(provider, response, secrets)
    if not isinstance(obj, dict) or not isinstance(obj.get("content"), list):
        raise kit.invalid_body_error(provider, response, "response has no 'content' list", secrets)
    try:
        return _build(provider, obj)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        why = f"malformed message ({type(exc).__name__}: {exc})"
        raise kit.invalid_body_error(provider, response, why, secrets) from exc


def _build(provider: str, obj: dict[str, Any]) -> ChatCompletionResponse:
    texts: list[str] = []
    reasoning: list[str] = []
    signed: list[ReasoningPart] = []
    calls: list[ToolCall] = []
    for block in obj["content"]:
        kind = block.get("type")
        if kind == "text":
            texts.append(str(block.get("text") or ""))
        elif kind == "thinking":
            thought = str(block.get("thinking") or "")
            reasoning.append(thought)
            signature = block.get("signature")
            signed.append(kit.make_reasoning_part(provider, thought, signature=signature))
        elif kind == "redacted_thinking":
            data = str(block.get("data") or "")
            signed.append(kit.make_reasoning_part(provider, encrypted=data))
        elif kind == "tool_use":
            calls.append(
                kit.make_tool_call(
                    tool_id(block.get("id"), len(calls)),
                    str(block.get("name") or ""),
                    kit.arguments_text(block.get("input")),
                )
            )
    content = "".join(texts)
    finish = "tool_calls" if calls else finish_reason(obj.get("stop_reason"))
    message = kit.make_assistant_message(
        None if calls and not content else content,
        calls,
        "".join(reasoning) if reasoning else None,
        reasoning_parts=signed,
    )
    usage = obj.get("usage")
    response = kit.make_completion(
        provider,
        [kit.make_choice(0, message, finish)],
        id=str(obj.get("id") or ""),
        model=str(obj.get("model") or ""),
        usage=parse_usage(usage) if isinstance(usage, dict) else None,
    )
    return response
