"""Which exporters each signal gets: ``OTEL_{TRACES,METRICS,LOGS}_EXPORTER`` and the arguments.

The variables are read the way the OpenTelemetry SDK's own auto-configuration
(``opentelemetry.sdk._configuration``, which ``opentelemetry-instrument`` runs) reads them, so
one environment means the same thing under either:

- a comma-separated list of exporter names, whitespace around each tolerated;
- ``none`` alone means the signal gets no exporter, and ``setup()`` then installs no provider
  for it at all (an application that turns a signal off wants the API's no-op, not an SDK
  provider that records into nothing);
- unset (or blank) means ``otlp``: the default of ``opentelemetry-instrument`` through the
  ``opentelemetry-distro``, and what ``setup()`` did before it read these variables.

Names are matched case-insensitively (the SDK lower-cases only ``none``; accepting ``OTLP``
too costs nothing and refuses no value the SDK accepts). metallm ships the ``otlp`` and
``console`` exporters only, so any other name is a :class:`~metallm.ConfigurationError` naming
the variable and the value: silently exporting nowhere is the failure users never notice. The
SDK's protocol-specific names (``otlp_proto_grpc``, ``otlp_proto_http``) get a message saying
which variable chooses the protocol here; ``none`` beside another name is refused, as
OpenTelemetry Java's auto-configuration does (Python's fails on it too, looking ``none`` up as
an exporter).
"""

from __future__ import annotations

import os
from typing import Literal

from ..errors import ConfigurationError

__all__ = ["EXPORTER_ENV", "Exporter", "Signal", "select_exporters"]

Signal = Literal["traces", "metrics", "logs"]
Exporter = Literal["otlp", "console"]

EXPORTER_ENV: dict[Signal, str] = {
    "traces": "OTEL_TRACES_EXPORTER",
    "metrics": "OTEL_METRICS_EXPORTER",
    "logs": "OTEL_LOGS_EXPORTER",
}
_NAMES: tuple[Exporter, ...] = ("otlp", "console")
_NONE = "none"
_SDK_OTLP_NAMES = ("otlp_proto_grpc", "otlp_proto_http")


def select_exporters(signal: Signal, *, enabled: bool, console: bool) -> tuple[Exporter, ...]:
    """The exporters of one signal, in order; empty means no provider for it.

    ``enabled`` is the ``traces``/``metrics``/``logs`` argument: False wins over the variable,
    which is then not even read. ``console`` is the ``console`` argument: True adds the console
    exporter to whatever the variable chose, ``none`` included (an explicit argument wins).
    """
    if not enabled:
        return ()
    chosen = _from_env(signal)
    if console and "console" not in chosen:
        chosen += ("console",)
    return chosen


def _from_env(signal: Signal) -> tuple[Exporter, ...]:
    """``OTEL_{SIGNAL}_EXPORTER`` parsed: ``("otlp",)`` when unset, ``()`` for ``none``."""
    var = EXPORTER_ENV[signal]
    raw = os.environ.get(var, "")
    names = [name.strip().lower() for name in raw.split(",")]
    names = [name for name in names if name]
    if not names:
        return ("otlp",)
    if _NONE in names:
        if len(set(names)) > 1:
            raise ConfigurationError(
                f"{var}={raw.strip()!r}: 'none' turns the signal off and cannot be combined "
                f"with other exporters"
            )
        return ()
    chosen: list[Exporter] = []
    for name in names:
        if name in _SDK_OTLP_NAMES:
            raise ConfigurationError(
                f"{var}={raw.strip()!r}: unknown exporter {name!r}; use 'otlp' and choose the "
                f"protocol with OTEL_EXPORTER_OTLP_{signal.upper()}_PROTOCOL "
                f"or OTEL_EXPORTER_OTLP_PROTOCOL"
            )
        exporter = next((known for known in _NAMES if known == name), None)
        if exporter is None:
            raise ConfigurationError(
                f"{var}={raw.strip()!r}: unknown exporter {name!r}; use a comma-separated "
                f"list of {', '.join(_NAMES)}, or {_NONE}"
            )
        if exporter not in chosen:
            chosen.append(exporter)
    return tuple(chosen)
