"""The provider registry: built-ins and third parties register the same way.

A :class:`ProviderSpec` names a provider, says which environment variables hold its key and
base URL, and gives a factory that builds the provider from :class:`ProviderSettings`.
The registry knows no provider by name: the built-in specs are registered by
``metallm._builtins`` when ``metallm`` is imported (plain values whose factories are
``"module:attribute"`` strings, so no codec module is imported until a client uses it), and
third-party packages register with :func:`register` or through the ``metallm.providers``
entry-point group, whose entries load to a ``ProviderSpec``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any
from urllib.parse import urlsplit

from ..errors import ConfigurationError
from ._protocols import AsyncProvider, HTTPProvider, Provider

__all__ = [
    "AnyProvider",
    "ProviderSettings",
    "ProviderSpec",
    "available",
    "get_spec",
    "register",
]

AnyProvider = HTTPProvider | Provider | AsyncProvider
"""Anything the client can drive."""

ENTRY_POINT_GROUP = "metallm.providers"


@dataclass(frozen=True)
class ProviderSettings:
    """What a factory gets: the resolved key and base URL plus provider-specific ``extra``."""

    name: str
    api_key: str | None = field(default=None, repr=False)
    base_url: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProviderSpec:
    """How to build one provider.

    ``factory`` is a callable or a ``"module:attribute"`` string imported on first use.
    ``api_key_env`` lists the variables tried in order; ``requires_key`` makes a missing key a
    :class:`~metallm.ConfigurationError` at client construction.
    """

    name: str
    factory: Callable[[ProviderSettings], AnyProvider] | str
    default_base_url: str = ""
    api_key_env: tuple[str, ...] = ()
    base_url_env: tuple[str, ...] = ()
    requires_key: bool = True
    requires_base_url: bool = True
    """False when the provider derives its endpoint itself (Bedrock: from the region)."""
    normalize_base_url: Callable[[str], str] | str | None = None
    """Turns a configured base URL into a full one (``"module:attribute"`` allowed); e.g.
    Ollama's ``OLLAMA_HOST=0.0.0.0`` means ``http://0.0.0.0:11434``, not port 80."""

    def load_factory(self) -> Callable[[ProviderSettings], AnyProvider]:
        """The factory callable, importing it when it was given as a string."""
        factory: Callable[[ProviderSettings], AnyProvider] = _load(self.factory)
        return factory

    def resolve(
        self, api_key: str | None, base_url: str | None, extra: dict[str, Any]
    ) -> ProviderSettings:
        """Settings from explicit values, then the environment, then the defaults."""
        key = api_key or next((os.environ[v] for v in self.api_key_env if os.environ.get(v)), None)
        if key is not None:
            key = checked_key(key, self.name)
        if self.requires_key and not key:
            names = " or ".join(self.api_key_env) or "api_key"
            raise ConfigurationError(
                f"no API key for provider {self.name!r}: pass api_key=... or set {names}"
            )
        url = base_url or next(
            (os.environ[v] for v in self.base_url_env if os.environ.get(v)), self.default_base_url
        )
        if not url:
            if not self.requires_base_url:
                return ProviderSettings(self.name, key, "", dict(extra))
            raise ConfigurationError(f"provider {self.name!r} needs base_url=...")
        if self.normalize_base_url is not None:
            url = _load(self.normalize_base_url)(url)
        if "://" not in url:
            url = "http://" + url
        return ProviderSettings(self.name, key, checked_url(url, self.name), dict(extra))

    def create(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> AnyProvider:
        """Resolve settings and build the provider."""
        return self.load_factory()(self.resolve(api_key, base_url, extra or {}))


def checked_key(key: str, provider: str) -> str:
    """``key`` without surrounding whitespace (a key read from a file or a secret mount often
    ends in a newline); any other control or non-ASCII character is a
    :class:`~metallm.ConfigurationError` that names its position, never the key."""
    key = key.strip()
    for position, char in enumerate(key):
        if not " " < char < "\x7f":
            raise ConfigurationError(
                f"the API key for provider {provider!r} has a control, space or non-ASCII "
                f"character at position {position}: keys are printable ASCII (check how it "
                "was read or pasted)"
            )
    return key


def checked_url(url: str, provider: str) -> str:
    """``url`` without a trailing slash, if it is an http(s) URL with a host; else a
    :class:`~metallm.ConfigurationError` at construction (not a DNS error at the first call)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - validates the port
    except ValueError as exc:
        raise ConfigurationError(
            f"provider {provider!r}: base_url {url!r} is invalid ({exc})"
        ) from None
    if parts.scheme not in ("http", "https") or not host or any(c.isspace() for c in url):
        raise ConfigurationError(
            f"provider {provider!r}: base_url {url!r} is not an http(s) URL with a host "
            "(e.g. https://api.example.com/v1)"
        )
    return url.rstrip("/")


def _load(target: Any) -> Any:
    """A callable given directly or as ``"module:attribute"`` (imported on first use)."""
    if callable(target):
        return target
    module, _, attr = str(target).partition(":")
    return getattr(import_module(module), attr)


_lock = threading.Lock()
_specs: dict[str, ProviderSpec] = {}
_entry_points_loaded = False


def register(spec: ProviderSpec, *, replace: bool = False) -> None:
    """Make a provider available as ``Client(provider=spec.name)``."""
    with _lock:
        if spec.name in _specs and not replace:
            raise ConfigurationError(f"provider {spec.name!r} is already registered")
        _specs[spec.name] = spec


def _load_entry_points() -> None:
    global _entry_points_loaded  # noqa: PLW0603 - a load-once flag
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in _specs:
            continue
        loaded = ep.load()
        spec = loaded if isinstance(loaded, ProviderSpec) else ProviderSpec(ep.name, loaded)
        _specs.setdefault(spec.name, spec)


def get_spec(name: str) -> ProviderSpec:
    """The spec registered under ``name``, looking at entry points once if needed."""
    spec = _specs.get(name)
    if spec is None:
        with _lock:
            _load_entry_points()
        spec = _specs.get(name)
    if spec is None:
        known = ", ".join(sorted(_specs))
        raise ConfigurationError(f"unknown provider {name!r}; known providers: {known}")
    return spec


def available() -> list[str]:
    """Names of every registered provider, entry points included."""
    with _lock:
        _load_entry_points()
    return sorted(_specs)
