"""Reading Gemini ``GenerateContentResponse`` objects: whole replies, usage, finish reasons.

Shared by the non-streaming parser and the stream decoder, so both normalise the same way
(DESIGN §2):

* ``text`` parts join into ``content``; parts marked ``thought: true`` go to
  ``reasoning_content``; ``functionCall`` parts become tool calls whose ``args`` object is
  serialised to JSON text. Gemini usually sends no call id, so one is synthesised as
  ``call_<candidate>_<n>`` (n counts the candidate's calls), which the stream decoder gives too.
* ``thoughtSignature`` values are kept in the message's ``provider_data`` under the codec's
  name (:func:`signature_data`): per tool call id for ``functionCall`` parts, and the last one
  of any other part as ``text``; the request builder puts each back on the part it came with.
* ``usageMetadata``: prompt = ``promptTokenCount`` (it already includes
  ``cachedContentTokenCount``) + ``toolUsePromptTokenCount``; completion =
  ``candidatesTokenCount`` + ``thoughtsTokenCount``; ``cached_tokens`` and ``reasoning_tokens``
  are those two counts when reported (``None`` when absent). Checked on the corpus:
  13 + (77 + 25) = 115 = ``totalTokenCount``.
* ``finishReason``: ``STOP`` -> stop, ``MAX_TOKENS`` -> length, the safety family (``SAFETY``,
  ``RECITATION``, ``BLOCKLIST``, ``PROHIBITED_CONTENT``, ``SPII``, ``IMAGE_*``) ->
  content_filter, and the failures (``MALFORMED_FUNCTION_CALL``, ``OTHER``,
  ``UNEXPECTED_TOOL_CALL``, ``TOO_MANY_TOOL_CALLS``, ``LANGUAGE``, ...) -> error; an unknown
  reason is ``stop``. A candidate with function calls finishes ``tool_calls``. A prompt blocked
  by ``promptFeedback.blockReason`` (no candidates) is one empty ``content_filter`` choice.
"""

from __future__ import annotations

from typing import Any

import metallm.provider as kit

from ...errors import APIError, AuthenticationError
from ...types import ChatCompletionResponse, Choice, FinishReason, ToolCall, Usage

SIGNATURES = "signatures"
"""``provider_data[<codec>]`` key: tool call id -> the ``thoughtSignature`` of its part."""
TEXT_SIGNATURE = "text_signature"
"""``provider_data[<codec>]`` key: the ``thoughtSignature`` that came on a non-call part."""

__all__ = [
    "FINISH_REASONS",
    "SIGNATURES",
    "TEXT_SIGNATURE",
    "finish_reason",
    "parse_generate_response",
    "parse_usage",
    "refine_error",
    "signature_data",
]

_FILTERED = (
    "SAFETY RECITATION BLOCKLIST PROHIBITED_CONTENT SPII IMAGE_SAFETY "
    "IMAGE_PROHIBITED_CONTENT IMAGE_RECITATION"
)
_FAILED = (
    "MALFORMED_FUNCTION_CALL OTHER UNEXPECTED_TOOL_CALL TOO_MANY_TOOL_CALLS LANGUAGE "
    "IMAGE_OTHER NO_IMAGE MISSING_THOUGHT_SIGNATURE"
)
FINISH_REASONS: dict[str, FinishReason] = {
    "STOP": "stop",
    "FINISH_REASON_UNSPECIFIED": "stop",
    "MAX_TOKENS": "length",
    **dict.fromkeys(_FILTERED.split(), "content_filter"),
    **dict.fromkeys(_FAILED.split(), "error"),
}
"""Gemini finish reasons with a unified meaning; anything else becomes ``"stop"``."""


def finish_reason(raw: Any) -> FinishReason | None:
    """The unified finish reason of a candidate's ``finishReason`` (``None`` when absent)."""
    if raw is None:
        return None
    return FINISH_REASONS.get(str(raw), "stop")


def _count(value: Any) -> int:
    if value is None:
        return 0
    if type(value) is not int:
        raise ValueError(f"token count is not an integer: {value!r}")
    return value


def parse_usage(raw: dict[str, Any]) -> Usage:
    """Normalised usage from ``usageMetadata`` (see the module docstring)."""
    thoughts = raw.get("thoughtsTokenCount")
    cached = raw.get("cachedContentTokenCount")
    prompt = _count(raw.get("promptTokenCount")) + _count(raw.get("toolUsePromptTokenCount"))
    completion = _count(raw.get("candidatesTokenCount")) + _count(thoughts)
    return kit.make_usage(
        prompt,
        completion,
        cached_tokens=None if cached is None else _count(cached),
        reasoning_tokens=None if thoughts is None else _count(thoughts),
    )


def signature_data(
    provider: str, calls: dict[str, str] | None, text: str | None
) -> dict[str, Any] | None:
    """``provider_data`` holding a reply's thought signatures (``None`` without any)."""
    if not calls and text is None:
        return None
    own: dict[str, Any] = {}
    if calls:
        own[SIGNATURES] = calls
    if text is not None:
        own[TEXT_SIGNATURE] = text
    return {provider: own}


def _choice(provider: str, raw: dict[str, Any], position: int) -> Choice:
    raw_index = raw.get("index")
    index = position if raw_index is None else _count(raw_index)
    content = raw.get("content") or {}
    texts: list[str] = []
    thoughts: list[str] = []
    calls: list[ToolCall] = []
    signed: dict[str, str] = {}
    text_signature: str | None = None
    for part in content.get("parts") or ():
        text = part.get("text")
        if isinstance(text, str):
            (thoughts if part.get("thought") is True else texts).append(text)
        signature = part.get("thoughtSignature")
        fc = part.get("functionCall")
        if isinstance(fc, dict):
            name = fc.get("name")
            call_id = kit.tool_call_id(fc.get("id"), index, len(calls))
            calls.append(
                kit.make_tool_call(
                    call_id,
                    name if isinstance(name, str) else "",
                    kit.arguments_text(fc.get("args") or {}),
                )
            )
            if isinstance(signature, str) and signature:
                signed[call_id] = signature
        elif isinstance(signature, str) and signature:
            text_signature = signature
    finish = finish_reason(raw.get("finishReason"))
    if calls:
        finish = "tool_calls"
    message = kit.make_assistant_message(
        "".join(texts) if texts or not calls else None,
        calls,
        "".join(thoughts) if thoughts else None,
        provider_data=signature_data(provider, signed, text_signature),
    )
    return kit.make_choice(index, message, finish)


def _blocked_choice() -> Choice:
    return kit.make_choice(0, kit.make_assistant_message(""), "content_filter")


def parse_generate_response(
    provider: str, response: kit.HTTPResponse, secrets: tuple[str, ...] = ()
) -> ChatCompletionResponse:
    """A ``GenerateContentResponse`` body as a unified response; anything else raises
    :class:`~metallm.errors.ResponseValidationError` with the status and a body excerpt."""
    obj = kit.json_body(provider, response, secrets)
    if not isinstance(obj, dict):
        raise kit.invalid_body_error(provider, response, "response is not a JSON object", secrets)
    candidates = obj.get("candidates")
    feedback = obj.get("promptFeedback")
    blocked = isinstance(feedback, dict) and feedback.get("blockReason") is not None
    if not isinstance(candidates, list) and not blocked:
        raise kit.invalid_body_error(
            provider, response, "response has no 'candidates' list", secrets
        )
    try:
        usage = obj.get("usageMetadata")
        choices = [_choice(provider, c, i) for i, c in enumerate(candidates or ())]
        return kit.make_completion(
            provider,
            choices or ([_blocked_choice()] if blocked else []),
            id=str(obj.get("responseId") or ""),
            model=str(obj.get("modelVersion") or ""),
            usage=parse_usage(usage) if isinstance(usage, dict) else None,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        why = f"malformed generateContent response ({type(exc).__name__}: {exc})"
        raise kit.invalid_body_error(provider, response, why, secrets) from exc


_AUTH_REASONS = {"API_KEY_INVALID", "API_KEY_EXPIRED", "ACCESS_TOKEN_EXPIRED"}


def _reason(body: Any) -> str | None:
    """The ``reason`` of a ``google.rpc.ErrorInfo`` detail, when the error body has one."""
    if isinstance(body, list) and body:
        body = body[0]
    err = body.get("error") if isinstance(body, dict) else None
    details = err.get("details") if isinstance(err, dict) else None
    for detail in details if isinstance(details, list) else ():
        if isinstance(detail, dict) and str(detail.get("@type", "")).endswith("ErrorInfo"):
            reason = detail.get("reason")
            if isinstance(reason, str) and reason:
                return reason
    return None


def refine_error(error: APIError) -> APIError:
    """Use the body's ``ErrorInfo`` reason as ``code``; a key reason means authentication.

    Gemini answers a bad API key with 400 ``INVALID_ARGUMENT`` and reason ``API_KEY_INVALID``;
    that is an :class:`~metallm.AuthenticationError` (its ``status_code`` stays 400).
    """
    reason = _reason(error.body)
    if reason is None:
        return error
    cls = AuthenticationError if reason in _AUTH_REASONS else type(error)
    return cls(
        error.message,
        provider=error.provider,
        status_code=error.status_code,
        type=error.type,
        code=reason,
        request_id=error.request_id,
        body=error.body,
        retry_after=error.retry_after,
    )
