"""The handle ``metallm.otel.setup()`` returns: what it installed, and a bounded shutdown.

Flush and shutdown run the installed providers side by side and stop waiting at a deadline, so
a collector that is down cannot hold an application's exit hostage (with the default exporter
timeouts, one provider alone can take over ten seconds to give up). Only the providers that
``setup()`` itself installed are ever shut down.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.trace import TracerProvider

__all__ = ["OTelHandle"]

_SIGNALS = ("traces", "metrics", "logs")

_logger = logging.getLogger("metallm.otel.setup")


class OTelHandle:
    """What :func:`setup` installed, and the way to flush and shut it down.

    ``tracer_provider``, ``meter_provider`` and ``logger_provider`` are the SDK providers this
    call installed as the global ones, or None where it installed nothing (the signal was turned
    off, the SDK is disabled, or the application had its own provider, which stays untouched
    and is never flushed or shut down from here). ``installed`` names the installed signals,
    ``exporters`` what each of them exports to (``{"traces": ("otlp", "console"), ...}``, as
    ``OTEL_{SIGNAL}_EXPORTER`` and the ``console`` argument chose).

    ``shutdown()`` runs at interpreter exit too (an ``atexit`` handler), so buffered spans and
    the last metric collection are exported even when the application never calls it; calling
    it earlier is harmless, and so is calling it twice. The handle is a context manager:
    ``with metallm.otel.setup(...):`` shuts down on leaving the block.
    """

    def __init__(
        self,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        logger_provider: LoggerProvider | None = None,
        *,
        exporters: Mapping[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.tracer_provider = tracer_provider
        self.meter_provider = meter_provider
        self.logger_provider = logger_provider
        self._lock = threading.Lock()
        self._shut_down = False
        self._exporters = {s: tuple((exporters or {}).get(s, ())) for s in self.installed}
        if self.installed:
            atexit.register(self._shutdown_at_exit)

    @property
    def installed(self) -> tuple[str, ...]:
        """The signals whose global provider this handle installed, among traces/metrics/logs."""
        providers = (self.tracer_provider, self.meter_provider, self.logger_provider)
        return tuple(s for s, p in zip(_SIGNALS, providers, strict=True) if p is not None)

    @property
    def exporters(self) -> dict[str, tuple[str, ...]]:
        """The exporters of each installed signal, e.g. ``{"traces": ("otlp",), ...}``."""
        return dict(self._exporters)

    @property
    def is_shut_down(self) -> bool:
        """True once :meth:`shutdown` has run."""
        return self._shut_down

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Export everything buffered now; returns within ``timeout_millis``.

        Useful before a short-lived process or a serverless function freezes. True when every
        installed provider finished flushing in time. The SDK's processors export in the
        calling thread and wait out the exporter's timeout and retries whatever timeout they
        are given, so the providers flush side by side in threads of their own and this stops
        waiting at the deadline (returning False; the flush goes on in the background). An
        export that fails is logged by the SDK; nothing raises.
        """
        if self._shut_down:
            return True
        return self._each_provider(_flush_provider, timeout_millis, "flush")

    def shutdown(self, timeout_millis: int = 30_000) -> None:
        """Flush and shut down what this handle installed, once; later calls do nothing.

        Shutting a provider down flushes it first (the batch processors export what they hold,
        the metric reader makes a last collection and exports it), so no separate flush is
        made: with a receiver down that would only double the wait. The three providers shut
        down side by side and this returns after ``timeout_millis`` at the latest: with the
        collector down, each waits out its exporter's timeout (``OTEL_EXPORTER_OTLP_TIMEOUT``,
        10 s by default) and retries, and in sequence those waits would add up. Errors are
        logged, never raised, so telemetry cannot break an application's exit path. The
        providers stay installed as globals (OpenTelemetry cannot unset them) but record
        nothing afterwards.
        """
        with self._lock:
            if self._shut_down:
                return
            self._shut_down = True
        atexit.unregister(self._shutdown_at_exit)
        self._each_provider(_shutdown_provider, timeout_millis, "shutdown")

    def _each_provider(
        self, action: Callable[[str, Any, int], bool], timeout_millis: int, what: str
    ) -> bool:
        """Run ``action`` on every installed provider side by side, waiting until the deadline.

        True when all finished in time and succeeded. Where no thread can be started (at
        interpreter exit, Python 3.12 and later refuse), the action runs in this thread.
        """
        deadline = time.monotonic() + timeout_millis / 1000
        results: dict[str, bool] = {}

        def run(name: str, provider: Any) -> None:
            results[name] = action(name, provider, timeout_millis)

        threads: list[threading.Thread] = []
        providers = self._providers()
        for name, provider in providers:
            thread = threading.Thread(
                target=run, args=(name, provider), name=f"metallm-otel-{what}-{name}", daemon=True
            )
            try:
                thread.start()
            except RuntimeError:
                run(name, provider)
            else:
                threads.append(thread)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        late = [name for name, _ in providers if name not in results]
        if late:
            _logger.warning(
                "OpenTelemetry %s of %s did not finish within %d ms",
                what,
                ", ".join(late),
                timeout_millis,
            )
        return not late and all(results.values())

    def _providers(self) -> list[tuple[str, Any]]:
        providers = (self.tracer_provider, self.meter_provider, self.logger_provider)
        return [(s, p) for s, p in zip(_SIGNALS, providers, strict=True) if p is not None]

    def _shutdown_at_exit(self) -> None:
        self.shutdown()

    def __enter__(self) -> OTelHandle:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        self.shutdown()

    def __repr__(self) -> str:
        state = "shut down" if self._shut_down else "active"
        return f"OTelHandle(installed={self.installed!r}, exporters={self._exporters!r}, {state})"


def _flush_provider(name: str, provider: Any, timeout_millis: int) -> bool:
    """Flush one provider, logging instead of raising."""
    try:
        return bool(provider.force_flush(timeout_millis))
    except Exception:
        _logger.warning("flushing the %s provider failed", name, exc_info=True)
        return False


def _shutdown_provider(name: str, provider: Any, timeout_millis: int) -> bool:
    """Shut one provider down, logging instead of raising (only the meter's takes a timeout)."""
    try:
        if name == "metrics":
            cast("MeterProvider", provider).shutdown(timeout_millis=timeout_millis)
        else:
            provider.shutdown()
    except Exception:
        _logger.warning("shutting down the %s provider failed", name, exc_info=True)
        return False
    return True
