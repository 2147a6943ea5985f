"""Counting a request's tokens locally, and the pre-flight context check built on it.

:func:`local_count` is what ``count_tokens`` answers when no provider endpoint counts:
``tiktoken`` when the codec names an encoding for the model (OpenAI's codec does) and the
``tiktoken`` extra is installed, else the documented estimate of :mod:`metallm.tokens`
(``exact=False``). It does no I/O.

:func:`check_context` is the pre-flight check (``ClientConfig(preflight_context_check=True)``).
It refuses with :class:`~metallm.ContextLengthExceededError`, before any I/O, exactly when the
model is in the catalog (:func:`metallm.models.model_info`) and ``input + max_tokens`` exceeds
its context window, where ``input`` is the tiktoken count when that is exact, else the
conservative lower bound (:func:`metallm.tokens.lower_bound_tokens`), so an estimate never
refuses a request that fits; ``max_tokens`` counts only when the request sets it. An unknown
model, or a request within the window, passes (the provider still has the last word).
"""

from __future__ import annotations

from typing import Any

from ._tiktoken import count_chat
from .errors import ContextLengthExceededError
from .models import model_info
from .tokens import TokenCount, estimate_tokens, lower_bound_tokens
from .types import ChatCompletionRequest

__all__ = ["check_context", "local_count", "token_encoding"]


def token_encoding(codec: Any, model: str) -> str | None:
    """The tiktoken encoding the codec names for ``model`` (None: no local tokenizer)."""
    named = getattr(codec, "token_encoding", None)
    if not callable(named):
        return None
    value = named(model)
    return value if isinstance(value, str) and value else None


def local_count(request: ChatCompletionRequest, encoding: str | None) -> TokenCount:
    """tiktoken's count when ``encoding`` is given and installed, else the estimate."""
    if encoding is not None:
        counted = count_chat(request, encoding)
        if counted is not None:
            return counted
    return TokenCount(estimate_tokens(request), False, "estimate")


def check_context(request: ChatCompletionRequest, provider: str, encoding: str | None) -> None:
    """Raise ContextLengthExceededError when the request cannot fit (see the module docs)."""
    info = model_info(request.model)
    if info is None or info.context_window <= 0:
        return
    window = info.context_window
    output = request.max_tokens or 0
    if lower_bound_tokens(request) + output <= window and encoding is None:
        return  # the common case without a tokenizer: nothing more to compute
    counted = count_chat(request, encoding) if encoding is not None else None
    if counted is not None and counted.exact:
        needed, how = counted.input_tokens, counted.source
    else:
        needed, how = lower_bound_tokens(request), "a conservative lower bound"
    if needed + output <= window:
        return
    asked = f" + max_tokens {output}" if output else ""
    raise ContextLengthExceededError(
        f"the request needs at least {needed} input tokens ({how}){asked}, more than the"
        f" {window}-token context window of {request.model}; refused before sending"
        " (preflight_context_check)",
        provider=provider,
        code="context_length_exceeded",
    )
