"""OpenTelemetry built in: the default hook, the GenAI names, and SDK set-up for applications.

:class:`OTelHook` is in every client's default hooks; it uses only ``opentelemetry-api``, so it
reports into whatever SDK the application configured, and costs next to nothing without one.
``setup()`` configures the SDK and OTLP exporters for applications that have not.
"""

from __future__ import annotations

import threading

from ._setup import DEFAULT_PROTOCOL, OTelHandle, setup
from .content import CaptureMode, capture_mode
from .hook import OTelHook, error_type

__all__ = [
    "DEFAULT_PROTOCOL",
    "CaptureMode",
    "OTelHandle",
    "OTelHook",
    "capture_mode",
    "default_hook",
    "error_type",
    "setup",
]

_default: OTelHook | None = None
_lock = threading.Lock()


def default_hook() -> OTelHook:
    """The shared hook clients get by default, on the global providers (built once)."""
    global _default  # noqa: PLW0603 - a process-wide singleton, built on first use
    if _default is None:
        with _lock:
            if _default is None:
                _default = OTelHook()
    return _default
