"""Turning an error reply into the right :class:`~metallm.APIError`, for every codec.

Provider error bodies differ in shape (OpenAI ``{"error": {...}}``, Anthropic
``{"type": "error", "error": {...}}``, Gemini ``{"error": {"status": ...}}``, Ollama
``{"error": "..."}``, AWS ``{"message": ...}``); :func:`error_from_response` reads all of them,
so a codec only overrides what its provider does differently.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from ..errors import (
    APIError,
    ResponseValidationError,
    error_class_for_status,
    excerpt,
    redact,
    redact_value,
)
from ._http import HTTPResponse

__all__ = ["error_fields", "error_from_response", "invalid_body_error", "parse_retry_after"]


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """The server's wait hint in seconds: ``retry-after-ms``, then ``retry-after``.

    ``retry-after`` may be seconds or an HTTP date; a value in the past is 0; garbage is None.
    """
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime  # rare path; keeps import metallm lean

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _as_str(value: Any) -> str | None:
    return None if value is None else str(value)


def error_fields(body: Any) -> tuple[str | None, str | None, str | None]:
    """``(message, type, code)`` from any of the known error body shapes."""
    if isinstance(body, list) and body:
        body = body[0]  # Gemini sometimes wraps the error object in a list
    if not isinstance(body, dict):
        return None, None, None
    err = body.get("error", body)
    if isinstance(err, str):
        return err, _as_str(body.get("type")), _as_str(body.get("code"))
    if not isinstance(err, dict):
        return None, None, None
    message = err.get("message") or err.get("Message") or body.get("message")
    etype = err.get("type") or err.get("status") or body.get("__type")
    code = err.get("code")
    return _as_str(message), _as_str(etype), _as_str(code)


def error_from_response(
    provider: str,
    response: HTTPResponse,
    *,
    secrets: tuple[str, ...] = (),
    message: str | None = None,
    type: str | None = None,
    code: str | None = None,
) -> APIError:
    """The typed error for an error reply, with fields read from its body unless given."""
    text = redact(response.text, secrets)
    body: Any
    try:
        body = json.loads(text) if text.strip() else None
    except ValueError:
        body = text
    else:
        if secrets and body is not None:  # parsed strings are one escape shallower: again
            body = redact_value(body, secrets)
    b_message, b_type, b_code = error_fields(body)
    message = message or b_message or excerpt(text) or f"HTTP {response.status_code}"
    type = type or b_type
    code = code or b_code
    cls = error_class_for_status(response.status_code, type=type, code=code, message=message)
    return cls(
        redact(message, secrets),
        provider=provider,
        status_code=response.status_code,
        type=type,
        code=code,
        request_id=response.request_id,
        body=body,
        retry_after=parse_retry_after(response.headers),
    )


def invalid_body_error(
    provider: str, response: HTTPResponse, why: str, secrets: tuple[str, ...] = ()
) -> ResponseValidationError:
    """The error for a success reply whose body is not what the wire format promises.

    It carries the status, the provider's own error fields when the body holds some (a 200 with
    ``{"error": ...}`` happens), and a short, redacted excerpt of the body.
    """
    text = redact(response.text, secrets)
    head = excerpt(text)
    try:
        parsed: Any = json.loads(text)
    except ValueError:
        parsed = None
    message, etype, code = error_fields(parsed)
    detail = f"{why}: {message}" if message else why
    return ResponseValidationError(
        redact(f"{detail}; body: {head}" if head else f"{detail}; empty body", secrets),
        provider=provider,
        status_code=response.status_code,
        type=etype,
        code=code,
        request_id=response.request_id,
        body=head,
    )
