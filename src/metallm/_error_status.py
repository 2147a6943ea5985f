"""The rules that pick an error reply's class: the status first, refined by what the provider said.

:func:`metallm.errors.error_class_for_status` is these rules applied to the classes of
:mod:`metallm.errors`. The rules live here, apart from the classes, so that each module keeps one
job (and ``errors.py`` stays small); this module imports nothing from metallm, so
``errors.py`` can build its function from it without an import circle. The order matters and is
the same for every provider:

1. an ``overloaded`` type or code is an overload, a ``rate_limit``/``resource_exhausted`` one a
   rate limit, whatever the status (Anthropic's 529, Gemini's 429 ``RESOURCE_EXHAUSTED``);
2. the code ``content_filter`` on a 400, or on an error event inside a stream (no status), is
   a content-filter refusal (Azure OpenAI's filtered prompt);
3. otherwise the status table, 5xx falling back to the server error;
4. a bad request whose type, code or message speaks of the context window is a
   context-length error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, TypeVar

__all__ = ["CONTENT_FILTER_CODES", "CONTEXT_MARKERS", "ErrorRules", "content_filter_result"]

E = TypeVar("E", bound=BaseException)

CONTEXT_MARKERS = (
    "context_length_exceeded",
    "context length",
    "context window",
    "maximum context",
    "prompt is too long",
    "too many tokens",
    "input token count",
)
"""Words in a bad request's type, code or message that mean the prompt did not fit."""

CONTENT_FILTER_CODES = frozenset({"content_filter"})
"""Error codes meaning the provider's content filter refused the prompt (Azure OpenAI's 400
``code: content_filter``, with ``innererror.content_filter_result``)."""


class ErrorRules(Generic[E]):
    """The rules of the module docstring over a given set of classes; call it to classify."""

    __slots__ = (
        "bad_request",
        "by_status",
        "content_filter",
        "context_length",
        "fallback",
        "overloaded",
        "rate_limited",
        "server_error",
    )

    def __init__(
        self,
        by_status: Mapping[int, type[E]],
        *,
        fallback: type[E],
        server_error: type[E],
        overloaded: type[E],
        rate_limited: type[E],
        context_length: type[E],
        content_filter: type[E],
    ) -> None:
        self.by_status = dict(by_status)
        self.bad_request = self.by_status[400]
        self.fallback = fallback
        self.server_error = server_error
        self.overloaded = overloaded
        self.rate_limited = rate_limited
        self.context_length = context_length
        self.content_filter = content_filter

    def __call__(
        self,
        status: int | None,
        *,
        type: str | None = None,
        code: str | None = None,
        message: str = "",
    ) -> type[E]:
        """The class for an error with this status, provider type/code and message."""
        kinds = f"{type or ''} {code or ''}".lower()
        if "overloaded" in kinds:
            return self.overloaded
        if "rate_limit" in kinds or "resource_exhausted" in kinds:
            return self.rate_limited
        if status in (None, 400) and code and code.lower() in CONTENT_FILTER_CODES:
            return self.content_filter
        cls = self.by_status.get(status or 0)
        if cls is None:
            cls = self.server_error if status is not None and status >= 500 else self.fallback
        if cls is self.bad_request:
            lowered = f"{kinds} {message}".lower()
            if any(marker in lowered for marker in CONTEXT_MARKERS):
                return self.context_length
        return cls


def content_filter_result(body: Any) -> dict[str, Any] | None:
    """The per-category verdict of a content-filter error body, or None: Azure OpenAI sends it
    as ``error.innererror.content_filter_result`` (its docs also spell it ``..._results``)."""
    error = body.get("error") if isinstance(body, dict) else None
    inner = error.get("innererror") if isinstance(error, dict) else None
    if not isinstance(inner, dict):
        return None
    found = inner.get("content_filter_result", inner.get("content_filter_results"))
    return found if isinstance(found, dict) else None
