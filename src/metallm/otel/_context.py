"""Span context plumbing for the OTel hook, kept cheap because it runs on every call.

:class:`Active` makes a span current for one attempt (cheaper than ``trace.use_span``);
:func:`tracing_unset` and :func:`metrics_unset` tell, in a few nanoseconds, whether an SDK is
behind the API at all, so the hook can skip the span work, or all of its work, when none is.
"""

from __future__ import annotations

import sys

from opentelemetry import context as otel_context
from opentelemetry import trace

__all__ = ["NULL", "Active", "logs_unset", "metrics_unset", "tracing_unset"]


class Active:
    """Makes a span current for one HTTP attempt (cheaper than ``trace.use_span``)."""

    __slots__ = ("_ctx", "_token")

    def __init__(self, ctx: otel_context.Context) -> None:
        self._ctx = ctx
        self._token: object = None

    def __enter__(self) -> None:
        self._token = otel_context.attach(self._ctx)

    def __exit__(self, *exc: object) -> None:
        otel_context.detach(self._token)  # type: ignore[arg-type]


_tracing_seen = False
_MISSING = object()


def tracing_unset() -> bool:
    """Whether the global tracer provider is still the API's placeholder (no SDK installed).

    A global provider can be set only once, so once one is seen the answer never changes; until
    then the API's own module attribute is read (``get_tracer_provider()`` costs several
    microseconds a call, which the no-SDK path is meant not to pay).
    """
    global _tracing_seen  # noqa: PLW0603 - a latch: providers are set once per process
    if _tracing_seen:
        return False
    provider = getattr(trace, "_TRACER_PROVIDER", _MISSING)
    if provider is None:
        return True
    if provider is _MISSING and isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        return True  # an API without that attribute: ask it the slow way
    _tracing_seen = True
    return False


class _Unset:
    """Whether an API module's global provider is still unset: a latch, as
    :func:`tracing_unset` (a global provider is set once per process, so once one is seen the
    answer never changes). The module is looked up in ``sys.modules``, not imported: a provider
    can only be set through it, so while it is not loaded none is set, and the default hook
    does not pay the metrics and logs APIs' imports (about 5 ms of a first client's cold start)
    for an application that uses neither. An API without the module attribute read is taken as
    "set": recording into no-op instruments is only slower, never wrong."""

    __slots__ = ("_attribute", "_module", "_seen")

    def __init__(self, module: str, attribute: str) -> None:
        self._module = module
        self._attribute = attribute
        self._seen = False

    def __call__(self) -> bool:
        if self._seen:
            return False
        module = sys.modules.get(self._module)
        if module is None or getattr(module, self._attribute, _MISSING) is None:
            return True
        self._seen = True
        return False


metrics_unset = _Unset("opentelemetry.metrics._internal", "_METER_PROVIDER")
"""Whether no global meter provider is installed yet."""
logs_unset = _Unset("opentelemetry._logs._internal", "_LOGGER_PROVIDER")
"""Whether no global logger provider is installed yet."""


class _NullContext:
    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


NULL = _NullContext()
