"""How an Azure OpenAI request says who sends it: an ``api-key`` header or an Entra ID token.

Azure's REST reference documents both: the resource key in the ``api-key`` header, or a
Microsoft Entra ID token as ``Authorization: Bearer <token>``. metallm takes the key from
``api_key`` (or ``AZURE_OPENAI_API_KEY``) and the token from a *token provider*,
``extra={"azure_ad_token_provider": callable}``, the shape the official SDKs use
(``azure.identity.get_bearer_token_provider(credential, "https://cognitiveservices.azure.com/.default")``).
When both are given the token wins and no ``api-key`` is sent, as in the official client.

The provider is called with no argument when a request is built (once per call, not per
retry) and may return:

* a token string: it is called again for every request (``get_bearer_token_provider``
  caches and refreshes on its own, so that is cheap);
* ``(token, expires_on)`` (epoch seconds; ``azure.core``'s ``AccessToken`` is such a tuple) or
  an object with ``token`` and ``expires_on`` (``AccessTokenInfo``, whose ``refresh_on`` is
  honoured too): the token is cached and the provider called again only once the token is
  within :data:`REFRESH_MARGIN` seconds of expiring.

The codec is sans-IO and builds requests synchronously, so the provider must be a plain
callable (an ``async def`` one is a :class:`~metallm.ConfigurationError` at construction); with
``AsyncClient`` a cached or caching provider keeps the event loop free. An exception the
provider raises reaches the caller unchanged, before any request is sent.

A token is a secret like a key: it is checked as keys are (printable ASCII, surrounding
whitespace stripped; anything else is a ``ConfigurationError`` naming the position, never the
token), and :meth:`AzureAuth.secrets` lists the key and the last :data:`KEPT_TOKENS` tokens
issued, so every error, stream decoder and ``repr`` built by the codec redacts whichever token
its request carried, even one refreshed since.
"""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import Callable
from typing import Any

from ...errors import ConfigurationError

__all__ = ["KEPT_TOKENS", "KEY_ENV", "REFRESH_MARGIN", "TOKEN_PROVIDER", "AzureAuth"]

KEY_ENV = "AZURE_OPENAI_API_KEY"
"""The variable the key is read from when ``api_key`` is not given."""
TOKEN_PROVIDER = "azure_ad_token_provider"
"""The ``extra`` key of the Entra ID token provider."""
REFRESH_MARGIN = 300.0
"""Seconds before ``expires_on`` at which a cached token is refreshed (azure-core's own
bearer-token policy refreshes five minutes early too)."""
KEPT_TOKENS = 8
"""How many recently issued tokens :meth:`AzureAuth.secrets` keeps redacting."""


def _is_async(provider: object) -> bool:
    call = getattr(provider, "__call__", None)  # noqa: B004 - an object's async __call__
    return inspect.iscoroutinefunction(provider) or inspect.iscoroutinefunction(call)


def _bad_char(token: str) -> int | None:
    """The position of the first character a header value may not hold, or None."""
    if token.isascii() and token.isprintable() and " " not in token:
        return None  # the usual case, checked in C
    return next(i for i, c in enumerate(token) if not " " < c < "\x7f")


class AzureAuth:
    """The credentials of one codec: the ``api-key`` header, or a token provider's bearer.

    :meth:`static_headers` are sent with every request (built once); :meth:`authorization`
    is the per-request ``Authorization`` value (None with a key). Thread-safe: one refresh at a
    time, and concurrent requests share a cached token.
    """

    __slots__ = (
        "_clock",
        "_header",
        "_issued",
        "_key",
        "_last",
        "_lock",
        "_provider",
        "_refresh_at",
        "name",
    )

    def __init__(
        self,
        name: str,
        api_key: str | None,
        token_provider: object = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = name
        self._key = api_key or None
        self._clock = clock
        self._lock = threading.Lock()
        self._issued: tuple[str, ...] = ()
        self._header = ""
        self._last: str | None = None  # the provider's last answer, when it was a plain string
        self._refresh_at: float | None = None
        self._provider: Callable[[], Any] | None = None
        if token_provider is not None:
            if not callable(token_provider) or _is_async(token_provider):
                raise ConfigurationError(
                    f"{name}: extra['{TOKEN_PROVIDER}'] must be a plain (not async) callable "
                    "returning a token string or (token, expires_on), e.g. "
                    "azure.identity.get_bearer_token_provider(credential, scope)"
                )
            self._provider = token_provider
        elif self._key is None:
            raise ConfigurationError(
                f"no credentials for provider {name!r}: pass api_key=... or set {KEY_ENV}, "
                f"or extra={{'{TOKEN_PROVIDER}': callable}} for Microsoft Entra ID"
            )

    @property
    def uses_token(self) -> bool:
        """Whether requests carry an Entra ID bearer token (else the ``api-key`` header)."""
        return self._provider is not None

    def static_headers(self) -> dict[str, str]:
        """``{"api-key": key}``, or nothing when a token provider authenticates instead."""
        if self._provider is not None or self._key is None:
            return {}
        return {"api-key": self._key}

    def authorization(self) -> str | None:
        """The ``Authorization`` value for the next request (``Bearer <token>``), or None.

        A cached token is reused until its refresh time; otherwise the provider is called
        (under a lock, so concurrent requests refresh once) and its answer checked.
        """
        if self._provider is None:
            return None
        refresh_at = self._refresh_at
        if refresh_at is not None and self._clock() < refresh_at:
            return self._header
        with self._lock:
            refresh_at = self._refresh_at
            if refresh_at is not None and self._clock() < refresh_at:
                return self._header
            raw = self._provider()
            if type(raw) is str and raw == self._last:
                return self._header  # a caching provider's same token: checked already
            token, refresh_at = self._read(raw)
            self._last = raw if type(raw) is str else None
            if token not in self._issued:
                self._issued = (*self._issued[-(KEPT_TOKENS - 1) :], token)
            self._header = f"Bearer {token}"
            self._refresh_at = refresh_at
            return self._header

    def _read(self, raw: Any) -> tuple[str, float | None]:
        """``(token, refresh time or None)`` from what the provider returned; else raise."""
        expires: Any = None
        refresh: Any = None
        if isinstance(raw, str):
            token: Any = raw
        elif isinstance(raw, (tuple, list)) and len(raw) == 2:
            token, expires = raw
            refresh = getattr(raw, "refresh_on", None)
        elif hasattr(raw, "token") and hasattr(raw, "expires_on"):
            token, expires, refresh = raw.token, raw.expires_on, getattr(raw, "refresh_on", None)
        else:
            raise self._bad(
                f"returned {type(raw).__name__}, not a token string or (token, expires_on)"
            )
        if not isinstance(token, str) or not token.strip():
            raise self._bad("returned an empty token (or one that is not a string)")
        token = token.strip()
        position = _bad_char(token)
        if position is not None:
            raise self._bad(
                f"returned a token with a control, space or non-ASCII character at position "
                f"{position}: tokens are printable ASCII"
            )
        if expires is None:
            return token, None
        if isinstance(expires, bool) or not isinstance(expires, (int, float)):
            raise self._bad(
                f"returned expires_on of type {type(expires).__name__}, not epoch seconds"
            )
        refresh_at = float(expires) - REFRESH_MARGIN
        if isinstance(refresh, (int, float)) and not isinstance(refresh, bool) and refresh:
            refresh_at = min(refresh_at, float(refresh))
        return token, refresh_at

    def _bad(self, why: str) -> ConfigurationError:
        return ConfigurationError(f"{self.name}: extra['{TOKEN_PROVIDER}'] {why}")

    def secrets(self) -> tuple[str, ...]:
        """The key and the tokens issued lately: what no text leaving metallm may hold."""
        if self._key is None:
            return self._issued
        return (self._key, *self._issued)
