"""The one error tree every provider's failures map onto.

::

    MetaLLMError
    ├── ConfigurationError (ValueError)        bad client set-up: missing key, unknown provider
    ├── InvalidRequestError (ValueError)       a request no provider could take; caught before I/O
    │   ├── UnsupportedFeatureError            valid, but this provider cannot do it
    │   └── InvalidSessionIdError              empty, over-long or control-character session id
    ├── StructuredOutputError                  a parse whose replies never validated (re-asks spent)
    │   └── RefusalError                       the model refused to answer (its text kept)
    ├── ToolExecutionError                     a tool run by ``run_tools`` failed (``"raise"``)
    ├── MaxStepsExceededError                  ``run_tools`` still had tools to run at max_steps
    ├── MemoryStoreError                       a conversation store failed or is unreachable
    │   └── ConversationCorruptedError         a stored conversation is unreadable (names it)
    ├── APIConnectionError                     nothing usable came back: refused, reset, DNS
    │   ├── APITimeoutError                    connect/read/write/pool timeout
    │   └── StreamError                        a stream cut or garbled before its end
    └── APIError                               the server answered with an error
        ├── BadRequestError (400, 422)
        │   ├── ContextLengthExceededError
        │   └── ContentFilterError             the provider's content filter refused the prompt
        ├── AuthenticationError (401)
        ├── PermissionDeniedError (403)
        ├── NotFoundError (404)
        ├── ConflictError (409)
        ├── RateLimitError (429)               ``retry_after`` in seconds when the server said
        ├── InternalServerError (5xx)
        │   └── OverloadedError (529, Anthropic ``overloaded_error``)
        └── ResponseValidationError            a 2xx reply metallm could not parse

Messages never contain the API key: :func:`redact` scrubs every text that leaves the library,
the key's escaped forms included (see :func:`secret_forms`).
"""

from __future__ import annotations

from typing import Any

from ._error_status import ErrorRules, content_filter_result
from ._redaction import contains_secret as contains_secret  # noqa: PLC0414 (re-export)
from ._redaction import excerpt as excerpt  # noqa: PLC0414 (re-export)
from ._redaction import redact as redact  # noqa: PLC0414 (re-export)
from ._redaction import redact_value as redact_value  # noqa: PLC0414 (re-export)
from ._redaction import secret_forms as secret_forms  # noqa: PLC0414 (re-export)

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "BudgetExceededError",
    "ConfigurationError",
    "ConflictError",
    "ContentFilterError",
    "ContextLengthExceededError",
    "ConversationCorruptedError",
    "InternalServerError",
    "InvalidRequestError",
    "InvalidSessionIdError",
    "MaxStepsExceededError",
    "MemoryStoreError",
    "MetaLLMError",
    "NotFoundError",
    "OverloadedError",
    "PermissionDeniedError",
    "RateLimitError",
    "RefusalError",
    "ResponseValidationError",
    "StreamError",
    "StructuredOutputError",
    "ToolExecutionError",
    "UnsupportedFeatureError",
    "contains_secret",
    "error_class_for_status",
    "redact",
    "redact_value",
    "scrub",
    "secret_forms",
]


def scrub(error: BaseException, secrets: tuple[str, ...] | list[str]) -> None:
    """Redact secrets from a metallm error in place (errors raised by custom code): its args,
    its ``message``, the provider's ``type``/``code``/``request_id`` and its ``body``.

    The body's strings are redacted one by one, as they are: a key quoted inside a quoted
    text inside a JSON reply is three escapes deep in the reply's bytes but at most two in the
    parsed strings, which :func:`secret_forms` covers."""
    if not secrets or not isinstance(error, MetaLLMError):
        return
    if any(contains_secret(str(a), secrets) for a in error.args):
        error.args = tuple(redact(str(a), secrets) for a in error.args)
    for name in ("message", "type", "code", "request_id"):
        value = getattr(error, name, None)
        if isinstance(value, str) and contains_secret(value, secrets):
            setattr(error, name, redact(value, secrets))
    body = getattr(error, "body", None)
    if body is not None:
        redacted = redact_value(body, secrets)
        if redacted != body:
            error.body = redacted  # type: ignore[attr-defined]


class MetaLLMError(Exception):
    """Base of every error metallm raises."""


class ConfigurationError(MetaLLMError, ValueError):
    """The client cannot be built as configured (missing key, unknown provider, bad option)."""


class InvalidRequestError(MetaLLMError, ValueError):
    """A request that cannot be sent as it is; raised before any I/O, saying what to fix."""


class UnsupportedFeatureError(InvalidRequestError):
    """The request asks for something this provider cannot do; never silently dropped."""

    def __init__(self, provider: str, feature: str) -> None:
        self.provider = provider
        self.feature = feature
        super().__init__(f"{provider} does not support {feature}")


class InvalidSessionIdError(InvalidRequestError):
    """A conversation session id that is empty, too long, not text, or has control characters."""


class BudgetExceededError(MetaLLMError):
    """The client's budget for this window is spent; raised before any I/O.

    ``spent`` (a Decimal, USD) and ``tokens`` are the window's spend so far, ``limit`` and
    ``max_tokens`` the budget's caps (None when not set), ``resets_at`` when the window ends
    (epoch seconds), ``scope`` which budget refused.
    """

    def __init__(
        self,
        message: str,
        *,
        spent: Any,
        limit: Any,
        tokens: int,
        max_tokens: int | None,
        resets_at: float,
        scope: str,
    ) -> None:
        self.message = message
        self.spent = spent
        self.limit = limit
        self.tokens = tokens
        self.max_tokens = max_tokens
        self.resets_at = resets_at
        self.scope = scope
        super().__init__(message)


class StructuredOutputError(MetaLLMError):
    """A ``parse`` whose every reply failed validation against the response model.

    Never a half-valid object: the caller gets the evidence instead. ``raw`` is the last
    reply's JSON text, ``errors`` pydantic's error list for it (``ValidationError.errors()``),
    ``responses`` every attempt's :class:`~metallm.ChatCompletionResponse`, in order (usage and
    cost of the whole parse can be summed from them).
    """

    def __init__(
        self,
        message: str,
        *,
        raw: str = "",
        errors: list[Any] | None = None,
        responses: list[Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.raw = raw
        self.errors = list(errors or [])
        self.responses = list(responses or [])


class RefusalError(StructuredOutputError):
    """The model refused to produce the structured answer (OpenAI ``refusal``, a
    content-filter finish): ``refusal`` is the provider's text. Re-asking would not help, so a
    refusal is never retried."""

    def __init__(self, refusal: str, *, responses: list[Any] | None = None) -> None:
        super().__init__(
            f"the model refused: {refusal}" if refusal else "the model refused to answer",
            raw=refusal,
            responses=responses,
        )
        self.refusal = refusal


class ToolExecutionError(MetaLLMError):
    """A tool call of ``run_tools`` failed and ``on_tool_error="raise"`` was asked.

    ``kind`` says how: ``unknown_tool`` (the model named a tool that was not given),
    ``invalid_arguments`` (its arguments did not validate), ``raised`` (the tool raised; the
    exception is ``__cause__``) or ``timeout``. ``tool_name``, ``call_id`` and ``arguments``
    (the model's JSON text) name the call; ``messages`` is the transcript up to the failing
    step, so the caller can inspect or resume it.
    """

    def __init__(
        self,
        message: str,
        *,
        kind: str,
        tool_name: str,
        call_id: str,
        arguments: str,
        messages: list[Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.tool_name = tool_name
        self.call_id = call_id
        self.arguments = arguments
        self.messages: list[Any] = messages if messages is not None else []


class MaxStepsExceededError(MetaLLMError):
    """``run_tools`` made ``max_steps`` model calls and the model still asked for tools.

    ``messages`` is the whole transcript (its last message is the assistant's unanswered tool
    calls, which were not run) and ``steps`` the steps taken, so nothing done is lost.
    """

    def __init__(self, max_steps: int, messages: list[Any], steps: list[Any]) -> None:
        super().__init__(f"the model still asked for tools after max_steps={max_steps} model calls")
        self.max_steps = max_steps
        self.messages = messages
        self.steps = steps


class MemoryStoreError(MetaLLMError):
    """A conversation store failed (unreachable, timed out, refused the write).

    ``session_id`` names the conversation when the failure concerns one. Nothing was written:
    every shipped store writes a conversation in one atomic step.
    """

    def __init__(self, message: str, *, session_id: str | None = None) -> None:
        self.message = message
        self.session_id = session_id
        super().__init__(message)


class ConversationCorruptedError(MemoryStoreError):
    """A stored conversation could not be read back; it is left as it is, never replaced."""


class APIConnectionError(MetaLLMError):
    """No usable HTTP answer: the connection failed, was reset, or could not be made."""

    def __init__(self, message: str, *, provider: str = "") -> None:
        self.provider = provider
        self.message = message
        super().__init__(message)


class APITimeoutError(APIConnectionError):
    """A connect, read, write or pool timeout expired."""


class StreamError(APIConnectionError):
    """A stream ended before its end marker, or sent bytes that are not its wire format."""


class APIError(MetaLLMError):
    """The provider answered with an error status (or an error event inside a stream).

    ``type`` and ``code`` are the provider's own error type and code when it sent them;
    ``body`` is the (redacted) error body, parsed when it was JSON. ``retry_after`` is the
    server's wait hint in seconds (``retry-after-ms``/``retry-after``), when it sent one.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        status_code: int | None = None,
        type: str | None = None,
        code: str | None = None,
        request_id: str | None = None,
        body: Any = None,
        retry_after: float | None = None,
    ) -> None:
        self.message = message
        self.retry_after = retry_after
        self.provider = provider
        self.status_code = status_code
        self.type = type
        self.code = code
        self.request_id = request_id
        self.body = body
        super().__init__(message)

    def __str__(self) -> str:
        head = f"{self.provider or 'provider'} error"
        if self.status_code is not None:
            head += f" {self.status_code}"
        if self.type or self.code:
            head += f" ({', '.join(x for x in (self.type, self.code) if x)})"
        tail = f" [request_id={self.request_id}]" if self.request_id else ""
        return f"{head}: {self.message}{tail}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(provider={self.provider!r}, status_code={self.status_code!r},"
            f" type={self.type!r}, code={self.code!r}, message={self.message!r})"
        )


class BadRequestError(APIError):
    """400/422: the provider rejected the request."""


class ContextLengthExceededError(BadRequestError):
    """The prompt (plus requested output) is longer than the model's context window."""


class ContentFilterError(BadRequestError):
    """The provider's content filter refused the prompt (Azure OpenAI's 400 ``content_filter``):
    rephrase, do not retry (it never is). :attr:`content_filter_result` is the verdict per
    category (``{"jailbreak": {"detected": true, "filtered": true}, ...}``), or None."""

    @property
    def content_filter_result(self) -> dict[str, Any] | None:
        """``error.innererror.content_filter_result`` (or ``..._results``) of the body."""
        return content_filter_result(self.body)


class AuthenticationError(APIError):
    """401: the API key is missing, wrong or revoked."""


class PermissionDeniedError(APIError):
    """403: the key may not use this model or endpoint."""


class NotFoundError(APIError):
    """404: unknown model or endpoint."""


class ConflictError(APIError):
    """409: the request conflicts with the server's state; retryable by default."""


class RateLimitError(APIError):
    """429: too many requests or tokens; ``retry_after`` is the server's wait hint in seconds."""


class InternalServerError(APIError):
    """5xx: the provider failed."""


class OverloadedError(InternalServerError):
    """The provider is overloaded (Anthropic 529 ``overloaded_error``); retry later."""


class ResponseValidationError(APIError):
    """A success status whose body is not what the provider's wire format promises."""


_RULES = ErrorRules(
    {
        400: BadRequestError,
        401: AuthenticationError,
        403: PermissionDeniedError,
        404: NotFoundError,
        409: ConflictError,
        422: BadRequestError,
        429: RateLimitError,
        529: OverloadedError,
    },
    fallback=APIError,
    server_error=InternalServerError,
    overloaded=OverloadedError,
    rate_limited=RateLimitError,
    context_length=ContextLengthExceededError,
    content_filter=ContentFilterError,
)


def error_class_for_status(
    status: int | None, *, type: str | None = None, code: str | None = None, message: str = ""
) -> type[APIError]:
    """The class for an error: the status, refined by type, code and message (the rules, in
    order, are :mod:`metallm._error_status`'s)."""
    return _RULES(status, type=type, code=code, message=message)
