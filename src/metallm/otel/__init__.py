"""OpenTelemetry built in: the default hook, the GenAI names, and SDK set-up for applications.

:class:`OTelHook` is in every client's default hooks; it uses only ``opentelemetry-api``, so it
reports into whatever SDK the application configured, and costs next to nothing without one.
``setup()`` configures the SDK and OTLP exporters for applications that have not; it and its
handle are imported on first use (module ``__getattr__``), since every client imports this
package for its default hook and most never call ``setup()``.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from .content import CaptureMode, capture_mode
from .hook import OTelHook, error_type

if TYPE_CHECKING:
    from ._handle import OTelHandle
    from ._setup import DEFAULT_PROTOCOL, setup

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


_LAZY = {"DEFAULT_PROTOCOL": "._setup", "OTelHandle": "._handle", "setup": "._setup"}


def __getattr__(name: str) -> object:
    """``setup``, ``DEFAULT_PROTOCOL`` and ``OTelHandle`` on first use (then kept as globals)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value: object = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
