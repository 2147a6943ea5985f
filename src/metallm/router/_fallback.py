"""Which errors send a routed call on to the next target, and which count against a target.

:func:`default_fallback_on` is the router's default ``fallback_on``: the errors another target
may not have (connection failures and timeouts, 408/409/429/5xx/529 and in-stream server
errors, a context window too small, an unsupported feature, a refused key, an unknown model, a
spent per-target budget, an unreadable reply). A 4xx the request caused raises as it is.
:func:`health_outcome` is what the breaker counts, whatever ``fallback_on`` says: only the
failures the target caused.
"""

from __future__ import annotations

from ..errors import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    BudgetExceededError,
    ContextLengthExceededError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    UnsupportedFeatureError,
)
from ._limits import Outcome

__all__ = ["default_fallback_on", "health_outcome"]

_FALLBACK_STATUSES = frozenset({408, 409, 429})
_SERVER_SIDE = ("server", "overloaded", "rate_limit", "api_error", "internal", "unavailable",
                "timeout", "resource_exhausted")  # fmt: skip
"""Words of an in-stream error event's type or code (no HTTP status) that the target caused."""


def _target_side(error: APIError) -> bool:
    """Whether an API error is the target's doing (another target may not have it)."""
    status = error.status_code
    if status is None:  # an error event inside a stream: read its type and code
        kinds = f"{error.type or ''} {error.code or ''}".lower()
        return any(word in kinds for word in _SERVER_SIDE)
    return status in _FALLBACK_STATUSES or status >= 500


def default_fallback_on(error: BaseException) -> bool:
    """The default rule: errors another target may not have (see the README's "Routing")."""
    if isinstance(error, APIConnectionError | ContextLengthExceededError):
        return True  # connection errors, timeouts, cut streams; a larger window may fit
    if isinstance(error, UnsupportedFeatureError | BudgetExceededError):
        return True  # another provider may support it; another target's budget may remain
    if isinstance(error, AuthenticationError | PermissionDeniedError | NotFoundError):
        return True  # this target's key or model; another target has its own
    if isinstance(error, APIError):
        if isinstance(error, RateLimitError | ResponseValidationError):
            return True
        return _target_side(error)
    return False


def health_outcome(error: BaseException) -> Outcome:
    """What an attempt's error says of the target's health, for its breaker: ``failure``
    when the target caused it, ``neutral`` when the request did (or nothing was sent)."""
    if isinstance(error, ContextLengthExceededError | InvalidRequestError | BudgetExceededError):
        return "neutral"
    if isinstance(error, APIConnectionError | AuthenticationError | PermissionDeniedError):
        return "failure"
    if isinstance(error, NotFoundError | RateLimitError | ResponseValidationError):
        return "failure"
    if isinstance(error, APIError):
        return "failure" if _target_side(error) else "neutral"
    return "neutral"
