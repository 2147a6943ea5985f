"""The default hook's histograms, made at its first record (``OTelHook._metrics``).

A hook on no meter provider at all never records, so it never makes them and never imports the
metrics API (:mod:`metallm.otel._context` tells, without importing it, whether a provider can
exist); a hook made before the application installs its provider gets real instruments, not
the API's proxies. The lock makes one set when several threads record their first call at once
(the SDK warns about an instrument registered twice).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from . import attributes as A

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider

__all__ = ["MAKING", "Instruments"]

SCOPE = "metallm"
VERSION = "0.1.0"

MAKING = threading.Lock()
"""Held while a hook makes its instruments, so threads recording their first call at once
make one set (the SDK warns about an instrument registered twice)."""


class Instruments:
    """One hook's histograms (``attributes.HISTOGRAMS``, in that order) and their meter."""

    __slots__ = (
        "cost",
        "duration",
        "embeddings_duration",
        "embeddings_tokens",
        "meter",
        "tokens",
        "tpoc",
        "ttfc",
    )

    def __init__(self, meter_provider: MeterProvider | None) -> None:
        from opentelemetry.metrics import get_meter

        self.meter = meter = get_meter(SCOPE, VERSION, meter_provider)
        (
            self.duration,
            self.tokens,
            self.ttfc,
            self.tpoc,
            self.embeddings_duration,
            self.embeddings_tokens,
            self.cost,
        ) = (
            meter.create_histogram(
                name, unit=unit, description=text, explicit_bucket_boundaries_advisory=buckets
            )
            for name, unit, text, buckets in A.HISTOGRAMS
        )
