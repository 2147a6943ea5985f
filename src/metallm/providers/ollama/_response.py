"""Reading Ollama ``/api/chat`` replies: whole responses and the pieces streams share.

A reply (and every streamed line) is ``{"model", "created_at", "message": {"role",
"content", "thinking", "tool_calls"}, "done", "done_reason", "prompt_eval_count",
"eval_count", ...durations}``. Normalisation (DESIGN §2), shared with the stream decoder so
both give equal results for the same exchange:

* ``thinking`` goes to ``reasoning_content``; tool-call ``arguments`` objects become JSON text;
  a tool call without an ``id`` gets ``call_<choice>_<position>`` (position counts the tool
  calls of the whole reply, in order, in a stream too);
* ``done_reason``: ``stop`` -> stop, ``length`` -> length, ``load``/``unload`` and anything
  else -> stop; a message with tool calls finishes ``tool_calls`` (Ollama says ``stop``);
* usage: ``prompt_eval_count`` is the prompt, ``eval_count`` all output (thinking included:
  Ollama does not report the thinking share, so ``reasoning_tokens`` stays ``None``);
* Ollama has no response id: :func:`reply_id` derives a stable one from the model and
  ``created_at`` (the first line's, in a stream), and ``created`` is ``created_at`` in epoch
  seconds.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timezone
from typing import Any

import metallm.provider as kit

from ...types import ChatCompletionResponse, FinishReason, ToolCall, Usage

__all__ = [
    "created_epoch",
    "finish_reason",
    "parse_completion",
    "parse_usage",
    "reply_id",
    "tool_calls",
]

_TIMESTAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.\d+)?(Z|[+-]\d\d:?\d\d)?$")
_DONE_REASONS: dict[str, FinishReason] = {"stop": "stop", "length": "length"}


def created_epoch(created_at: Any) -> int:
    """``created_at`` (RFC 3339, up to nanoseconds) as epoch seconds; 0 when absent/garbled."""
    if not isinstance(created_at, str):
        return 0
    match = _TIMESTAMP.match(created_at.strip())
    if match is None:
        return 0
    base, zone = match.groups()
    try:
        when = datetime.fromisoformat(base + ("+00:00" if zone in (None, "Z") else zone))
    except ValueError:
        return 0
    if when.tzinfo is None:  # pragma: no cover - the regex always gives a zone
        when = when.replace(tzinfo=timezone.utc)
    return int(when.timestamp())


def reply_id(model: Any, created_at: Any) -> str:
    """A stable id for a reply Ollama did not name: ``ollama-`` + hash of model and time."""
    seed = f"{model or ''}\x00{created_at or ''}".encode()
    return "ollama-" + hashlib.blake2b(seed, digest_size=12).hexdigest()


def finish_reason(done_reason: Any, has_tool_calls: bool) -> FinishReason:
    """The unified finish reason of a finished reply."""
    if has_tool_calls:
        return "tool_calls"
    return _DONE_REASONS.get(done_reason, "stop") if isinstance(done_reason, str) else "stop"


def parse_usage(obj: dict[str, Any]) -> Usage | None:
    """Usage from the counts of a final reply; ``None`` when it reports neither count."""
    if "prompt_eval_count" not in obj and "eval_count" not in obj:
        return None
    prompt = kit.as_int(obj.get("prompt_eval_count"))
    completion = kit.as_int(obj.get("eval_count"))
    return kit.make_usage(prompt, completion)


def tool_calls(raw: Any, choice: int, start: int) -> list[ToolCall]:
    """Unified tool calls from ``message.tool_calls``, numbered from ``start``."""
    if not raw:
        return []
    if not isinstance(raw, list):
        raise TypeError("message.tool_calls is not a list")
    calls: list[ToolCall] = []
    for offset, item in enumerate(raw):
        fn = item.get("function") or {}
        name = fn.get("name")
        arguments = fn.get("arguments")
        calls.append(
            kit.make_tool_call(
                kit.tool_call_id(item.get("id"), choice, start + offset),
                name if isinstance(name, str) else "",
                kit.arguments_text(arguments),
            )
        )
    return calls


def _text(value: Any, field: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise TypeError(f"message.{field} is not a string")
    return value


def parse_completion(
    provider: str, response: kit.HTTPResponse, secrets: tuple[str, ...] = ()
) -> ChatCompletionResponse:
    """A non-streamed ``/api/chat`` body as a unified response; anything else is a
    :class:`~metallm.errors.ResponseValidationError` with a body excerpt."""
    obj = kit.json_body(provider, response, secrets)
    if not isinstance(obj, dict) or not isinstance(obj.get("message"), dict):
        raise kit.invalid_body_error(
            provider, response, "response has no 'message' object", secrets
        )
    try:
        return _completion(provider, obj)
    except (TypeError, ValueError, AttributeError) as exc:
        raise kit.invalid_body_error(
            provider, response, f"malformed chat reply ({type(exc).__name__}: {exc})", secrets
        ) from exc


def _completion(provider: str, obj: dict[str, Any]) -> ChatCompletionResponse:
    message = obj["message"]
    calls = tool_calls(message.get("tool_calls"), 0, 0)
    content = _text(message.get("content"), "content")
    if content is None and not calls:
        content = ""
    msg = kit.make_assistant_message(content, calls, _text(message.get("thinking"), "thinking"))
    finish = finish_reason(obj.get("done_reason"), bool(calls)) if obj.get("done", True) else None
    model = obj.get("model")
    created_at = obj.get("created_at")
    return kit.make_completion(
        provider,
        [kit.make_choice(0, msg, finish)],
        id=reply_id(model, created_at),
        created=created_epoch(created_at),
        model=str(model or ""),
        usage=parse_usage(obj),
    )
