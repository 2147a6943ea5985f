"""Reading OpenAI-shaped replies: whole responses, usage, finish reasons, tool calls.

Shared by the non-streaming parser and the stream decoder, so both normalise the same way
(DESIGN §2): finish reasons map onto the unified vocabulary, tool-call arguments are always
JSON text, tool calls always have an id, reasoning text goes to ``reasoning_content``, and
usage counts obey ``total == prompt + completion`` with reasoning inside completion.

Usage semantics found in the corpus (``shared/corpus``):

* OpenAI: ``prompt_tokens`` already includes ``prompt_tokens_details.cached_tokens``,
  ``completion_tokens`` already includes ``completion_tokens_details.reasoning_tokens``, and
  ``total_tokens == prompt_tokens + completion_tokens`` in every recorded reply.
* xAI: ``prompt_tokens`` includes cached tokens too (``text_tokens == prompt_tokens`` while
  ``cached_tokens`` is a part of it), but ``completion_tokens`` EXCLUDES reasoning: all three
  recordings have ``total_tokens == prompt + completion + reasoning`` (291 + 26 + 189 = 506,
  12 + 1 + 290 = 303, 291 + 26 + 196 = 513). :func:`parse_usage` detects that case from the
  numbers themselves (total exceeds prompt + completion by exactly the reasoning count) and
  adds reasoning to completion, so it is right for OpenAI, xAI and any compatible server.
"""

from __future__ import annotations

from typing import Any

import metallm.provider as kit

from ...types import ChatCompletionResponse, Choice, FinishReason, ToolCall, Usage

__all__ = [
    "FINISH_REASONS",
    "parse_completion",
    "parse_usage",
    "reasoning_of",
    "text_of",
]

FINISH_REASONS: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
}
"""Provider finish reasons with a unified meaning; anything else becomes ``"stop"``."""


def parse_usage(raw: dict[str, Any]) -> Usage:
    """Normalised usage from an OpenAI-shaped ``usage`` object (see the module docstring).

    ``cached_tokens`` / ``reasoning_tokens`` are 0 when the provider reported 0, ``None`` when
    it did not report the detail at all.
    """
    prompt = kit.as_int(raw.get("prompt_tokens"))
    completion = kit.as_int(raw.get("completion_tokens"))
    details = raw.get("prompt_tokens_details")
    cached = kit.opt_int(details.get("cached_tokens")) if isinstance(details, dict) else None
    details = raw.get("completion_tokens_details")
    reasoning = kit.opt_int(details.get("reasoning_tokens")) if isinstance(details, dict) else None
    if reasoning:
        total = raw.get("total_tokens")
        if type(total) is int and total - prompt - completion == reasoning:
            completion += reasoning  # xAI: completion_tokens excluded reasoning
    return kit.make_usage(prompt, completion, cached_tokens=cached, reasoning_tokens=reasoning)


def text_of(content: Any) -> str | None:
    """Message text from a string, or from a list of ``{"type": "text"}`` parts."""
    if content is None or isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)
        )
    raise TypeError(f"unexpected content: {type(content).__name__}")


def reasoning_of(message: dict[str, Any]) -> str | None:
    """Reasoning text: xAI's ``reasoning_content``, or ``reasoning`` (other compatible servers)."""
    value = message.get("reasoning_content")
    if value is None:
        value = message.get("reasoning")
    return value if isinstance(value, str) else None


def _tool_calls(message: dict[str, Any], choice_index: int) -> list[ToolCall] | None:
    raw = message.get("tool_calls")
    if not raw:
        legacy = message.get("function_call")  # the deprecated "functions" API
        if not isinstance(legacy, dict):
            return None
        raw = [{"function": legacy}]
    calls: list[ToolCall] = []
    for position, item in enumerate(raw):
        fn = item.get("function") or {}
        call_id = item.get("id")
        name = fn.get("name")
        arguments = fn.get("arguments")
        calls.append(
            kit.make_tool_call(
                kit.tool_call_id(call_id, choice_index, position),
                name if isinstance(name, str) else "",
                kit.arguments_text(arguments),
            )
        )
    return calls or None


def _choice(raw: dict[str, Any], position: int) -> Choice:
    raw_index = raw.get("index")
    index = position if raw_index is None else kit.as_int(raw_index)
    message = raw.get("message") or {}
    content = text_of(message.get("content"))
    reason = raw.get("finish_reason")
    finish: FinishReason | None = None if reason is None else FINISH_REASONS.get(reason, "stop")
    refusal = message.get("refusal")
    if content is None and isinstance(refusal, str):
        content, finish = refusal, "content_filter"
    tool_calls = _tool_calls(message, index)
    if tool_calls:
        finish = "tool_calls"
    msg = kit.make_assistant_message(content, tool_calls, reasoning_of(message))
    return kit.make_choice(index, msg, finish)


def parse_completion(
    provider: str, response: kit.HTTPResponse, secrets: tuple[str, ...] = ()
) -> ChatCompletionResponse:
    """A ``chat.completion`` body as a unified response; anything else is a
    :class:`~metallm.errors.ResponseValidationError` carrying status and a body excerpt."""
    obj = kit.json_body(provider, response, secrets)
    if not isinstance(obj, dict) or not isinstance(obj.get("choices"), list):
        raise kit.invalid_body_error(provider, response, "response has no 'choices' list", secrets)
    try:
        usage = obj.get("usage")
        fingerprint = obj.get("system_fingerprint")
        tier = obj.get("service_tier")
        return kit.make_completion(
            provider,
            id=str(obj.get("id") or ""),
            object=str(obj.get("object") or "chat.completion"),
            created=kit.as_int(obj.get("created")),
            model=str(obj.get("model") or ""),
            choices=[_choice(c, i) for i, c in enumerate(obj["choices"])],
            usage=parse_usage(usage) if isinstance(usage, dict) else None,
            system_fingerprint=fingerprint if isinstance(fingerprint, str) else None,
            service_tier=tier if isinstance(tier, str) else None,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise kit.invalid_body_error(
            provider, response, f"malformed chat completion ({type(exc).__name__}: {exc})", secrets
        ) from exc
