"""Reading OpenAI Responses API replies: the ``response`` object, its usage, status and errors.

Shared by the whole-reply parser and the stream decoder (which reads the same ``response``
object in ``response.completed`` / ``response.incomplete`` / ``response.failed``), so both
normalise the same way (DESIGN section 2). Followed: OpenAI's API reference for the Response
object and the ``openai-python`` SDK types (``Response``, ``ResponseUsage``,
``ResponseError``, ``ResponseReasoningItem``), checked on ``shared/corpus/openai_responses``.

* ``output`` items, in order: ``message`` items give the text (``output_text`` parts; a
  ``refusal`` part is the text of a ``content_filter`` finish, as Chat Completions' refusal
  is); ``function_call`` items give tool calls (``call_id``, ``name``, ``arguments``);
  ``reasoning`` items give ``reasoning_content`` (their ``summary`` texts, each summary part
  after the first separated by a blank line) and one :class:`~metallm.ReasoningPart` each
  (``text`` the item's summary, ``encrypted`` its ``encrypted_content``), and are kept whole
  under ``provider_data[<codec name>]["reasoning"]`` so the next turn sends them back, with the
  message's ``phase`` (the last one's, under ``["phase"]``). Other
  items (built-in tools' calls) carry nothing the unified response holds and are skipped.
* ``usage``: prompt = ``input_tokens`` (cached included), completion = ``output_tokens``
  (reasoning included), ``cached_tokens`` = ``input_tokens_details.cached_tokens``,
  ``cache_write_tokens`` = ``input_tokens_details.cache_write_tokens`` when reported,
  ``reasoning_tokens`` = ``output_tokens_details.reasoning_tokens``.
* ``status``: ``completed`` is ``stop`` (``tool_calls`` with calls); ``incomplete`` is
  ``length`` for ``incomplete_details.reason == "max_output_tokens"`` and ``content_filter``
  for ``"content_filter"``; ``failed`` raises the typed :class:`~metallm.APIError` of its
  ``error`` (the class from the status its ``code`` stands for: ``server_error`` 500,
  ``rate_limit_exceeded`` 429, the prompt and image codes 400).
* ``id`` is the response id (``gen_ai.response.id``), ``model`` the served model,
  ``created`` ``created_at``, ``service_tier`` the tier that served the call.
"""

from __future__ import annotations

from typing import Any

import metallm.provider as kit

from ...errors import APIError, error_class_for_status, redact, redact_value
from ...types import ChatCompletionResponse, FinishReason, ReasoningPart, ToolCall, Usage
from ._responses_request import PHASE, REASONING_ITEMS

__all__ = [
    "SUMMARY_SEPARATOR",
    "error_status",
    "event_error",
    "failure_error",
    "finish_of",
    "parse_responses_reply",
    "parse_responses_usage",
    "replay_data",
    "summary_text",
]

SUMMARY_SEPARATOR = "\n\n"
"""Between two summary parts in ``reasoning_content`` (each part is a paragraph of its own)."""

_CODE_STATUS = {
    "server_error": 500,
    "vector_store_timeout": 504,
    "rate_limit_exceeded": 429,
    "insufficient_quota": 429,
    "context_length_exceeded": 400,
    "invalid_prompt": 400,
}
"""``ResponseError.code`` values -> the HTTP status they stand for (the image codes: 400)."""


def error_status(code: str | None) -> int | None:
    """The HTTP status a Responses error ``code`` stands for (None when unknown)."""
    if not code:
        return None
    status = _CODE_STATUS.get(code)
    if status is not None:
        return status
    if "image" in code:  # invalid_image, image_too_large, failed_to_download_image, ...
        return 400
    return kit.status_from_code(code)


def failure_error(
    provider: str, error: Any, body: Any, secrets: tuple[str, ...], what: str
) -> APIError:
    """The typed error of a failed response (``error`` its ``{"code", "message"}`` object,
    ``body`` the whole event or reply it came in, ``what`` a fallback message)."""
    if secrets:
        error = redact_value(error, secrets)
        body = redact_value(body, secrets)
    err = error if isinstance(error, dict) else {}
    message = err.get("message")
    code = err.get("code")
    etype = err.get("type")
    code = None if code is None else str(code)
    etype = None if etype is None else str(etype)
    text = redact(str(message) if message else what, secrets)
    status = error_status(code)
    cls = error_class_for_status(status, type=etype, code=code, message=text)
    return cls(text, provider=provider, status_code=status, type=etype, code=code, body=body)


def event_error(provider: str, obj: dict[str, Any], secrets: tuple[str, ...]) -> APIError:
    """The typed error of a stream's ``response.failed`` event (its response's ``error``) or
    ``error`` event (``code`` and ``message`` at the top, or nested under ``error``)."""
    if obj.get("type") == "response.failed" or "response" in obj:
        response = obj.get("response")
        error = response.get("error") if isinstance(response, dict) else None
        return failure_error(provider, error, obj, secrets, "the response failed")
    error = obj.get("error")
    if not isinstance(error, dict):  # the documented shape: the fields at the top level
        error = {"code": obj.get("code"), "message": obj.get("message")}
    return failure_error(provider, error, obj, secrets, "error event in stream")


def parse_responses_usage(raw: dict[str, Any]) -> Usage:
    """Normalised usage from a ``ResponseUsage`` object (see the module docstring)."""
    details = raw.get("input_tokens_details")
    cached = write = None
    if isinstance(details, dict):
        cached = kit.opt_int(details.get("cached_tokens"))
        write = kit.opt_int(details.get("cache_write_tokens"))
    details = raw.get("output_tokens_details")
    reasoning = kit.opt_int(details.get("reasoning_tokens")) if isinstance(details, dict) else None
    return kit.make_usage(
        kit.as_int(raw.get("input_tokens")),
        kit.as_int(raw.get("output_tokens")),
        cached_tokens=cached,
        cache_write_tokens=write,
        reasoning_tokens=reasoning,
    )


def finish_of(response: dict[str, Any], refused: bool = False) -> FinishReason:
    """The finish reason a ``response`` object's status stands for (tool calls aside)."""
    if response.get("status") == "incomplete":
        details = response.get("incomplete_details")
        reason = details.get("reason") if isinstance(details, dict) else None
        return "content_filter" if reason == "content_filter" else "length"
    return "content_filter" if refused else "stop"


def summary_text(item: dict[str, Any]) -> str:
    """A reasoning item's summary parts joined (empty parts skipped), as the stream joins them."""
    texts = []
    for part in item.get("summary") or ():
        text = part.get("text") if isinstance(part, dict) else None
        if isinstance(text, str) and text:
            texts.append(text)
    return SUMMARY_SEPARATOR.join(texts)


def replay_data(
    provider: str, items: list[dict[str, Any]] | None, phase: str | None
) -> dict[str, Any] | None:
    """``provider_data`` keeping what the next turn sends back: the reasoning items and the
    message phase (None when there is neither)."""
    own: dict[str, Any] = {}
    if items:
        own[REASONING_ITEMS] = items
    if phase is not None:
        own[PHASE] = phase
    return {provider: own} if own else None


def _message_text(item: dict[str, Any], texts: list[str]) -> bool:
    """Append a message item's text to ``texts``; whether it was a refusal."""
    refused = False
    for part in item.get("content") or ():
        kind = part.get("type")
        if kind == "output_text":
            texts.append(str(part.get("text") or ""))
        elif kind == "refusal":
            texts.append(str(part.get("refusal") or ""))
            refused = True
    return refused


def _reply(provider: str, obj: dict[str, Any]) -> ChatCompletionResponse:
    texts: list[str] = []
    calls: list[ToolCall] = []
    summaries: list[str] = []
    parts: list[ReasoningPart] = []
    items: list[dict[str, Any]] = []
    refused = False
    phase: str | None = None
    for item in obj.get("output") or ():
        kind = item.get("type")
        if kind == "message":
            refused = _message_text(item, texts) or refused
            if isinstance(item.get("phase"), str):
                phase = item["phase"]
        elif kind == "function_call":
            calls.append(
                kit.make_tool_call(
                    kit.tool_call_id(item.get("call_id") or item.get("id"), 0, len(calls)),
                    str(item.get("name") or ""),
                    kit.arguments_text(item.get("arguments")),
                )
            )
        elif kind == "reasoning":
            summary = summary_text(item)
            if summary:
                summaries.append(summary)
            encrypted = item.get("encrypted_content")
            parts.append(
                kit.make_reasoning_part(
                    provider, summary, encrypted=encrypted if isinstance(encrypted, str) else None
                )
            )
            items.append(item)
    usage = obj.get("usage")
    created = obj.get("created_at")
    tier = obj.get("service_tier")
    message = kit.make_assistant_message(
        "".join(texts) if texts or not calls else None,
        calls,
        SUMMARY_SEPARATOR.join(summaries) if summaries else None,
        reasoning_parts=parts,
        provider_data=replay_data(provider, items, phase),
    )
    finish = "tool_calls" if calls else finish_of(obj, refused)
    return kit.make_completion(
        provider,
        [kit.make_choice(0, message, finish)],
        id=str(obj.get("id") or ""),
        model=str(obj.get("model") or ""),
        usage=parse_responses_usage(usage) if isinstance(usage, dict) else None,
        created=kit.as_int(created) if created is not None else 0,
        service_tier=tier if isinstance(tier, str) else None,
    )


def parse_responses_reply(
    provider: str, response: kit.HTTPResponse, secrets: tuple[str, ...] = ()
) -> ChatCompletionResponse:
    """A ``/responses`` success body as a unified response.

    A body that is not a ``response`` object raises
    :class:`~metallm.ResponseValidationError` (status and a redacted excerpt); a response
    whose ``status`` is ``failed`` raises the typed error of its ``error``.
    """
    obj = kit.json_object(provider, response, secrets, "response body")
    if not isinstance(obj.get("output"), list):
        raise kit.invalid_body_error(provider, response, "response has no 'output' list", secrets)
    if obj.get("status") == "failed":
        raise failure_error(provider, obj.get("error"), obj, secrets, "the response failed")
    try:
        return _reply(provider, obj)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        why = f"malformed Responses API reply ({type(exc).__name__}: {exc})"
        raise kit.invalid_body_error(provider, response, why, secrets) from exc
