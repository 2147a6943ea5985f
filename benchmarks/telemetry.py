"""The OpenTelemetry SDK set-ups of the instrumented rows: real SDK work, no export I/O.

Each instrumented row gets its own pair of SDK providers (:func:`sdk_providers`), built on
first use and shared by that row's sessions, as one application shares one pair:

- a ``TracerProvider`` with a ``BatchSpanProcessor`` over :class:`DroppingSpanExporter`, so
  every span is created, queued and handed to the exporter thread in batches, and the exporter
  drops it (no serialisation, no I/O);
- a ``MeterProvider`` with an ``InMemoryMetricReader`` (never collected), so every histogram
  record is aggregated as it happens.

Nothing is installed globally: metallm gets the providers through
``OTelHook(tracer_provider=..., meter_provider=...)`` (:func:`metallm_otel_hook`), the openai
SDK through ``OpenAIInstrumentor().instrument(tracer_provider=..., meter_provider=...)``
(:func:`openai_instrumented`, undone on exit so the plain openai row stays uninstrumented).
This module imports the SDK, so import it only when such a row runs.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

__all__ = [
    "INSTRUMENTATION",
    "METALLM_OTEL",
    "OPENAI_INSTRUMENTED",
    "SETUP",
    "DroppingSpanExporter",
    "instrumentation_problem",
    "metallm_otel_hook",
    "openai_instrumented",
    "produced",
    "sdk_providers",
]

METALLM_OTEL = "metallm + OTel SDK"
OPENAI_INSTRUMENTED = "openai + GenAI instrumentation"
INSTRUMENTATION = "opentelemetry-instrumentation-openai-v2"
_INSTRUMENTATION_MODULE = "opentelemetry.instrumentation.openai_v2"

SETUP = (
    "SDK TracerProvider(BatchSpanProcessor(an exporter that drops every batch)) and"
    " MeterProvider(InMemoryMetricReader), its own pair, passed explicitly (nothing global)"
)
"""How both instrumented rows are set up, for the notes under the tables."""


class DroppingSpanExporter(SpanExporter):
    """Accepts every batch and keeps nothing: the SDK's span pipeline without any export I/O."""

    def __init__(self) -> None:
        self.spans = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.spans += len(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


_PIPELINES: dict[str, tuple[TracerProvider, DroppingSpanExporter, InMemoryMetricReader]] = {}


@functools.cache
def sdk_providers(row: str) -> tuple[TracerProvider, MeterProvider]:
    """The SDK tracer and meter providers of ``row`` (built once per row and process)."""
    exporter = DroppingSpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    _PIPELINES[row] = (tracer_provider, exporter, reader)
    return tracer_provider, meter_provider


def produced(row: str) -> str:
    """What ``row``'s providers received so far: spans exported, histogram values recorded.

    A check that the row really emitted telemetry (an instrumentation that silently did
    nothing would read 0); flushes the span batch and collects the metrics to count them.
    """
    if row not in _PIPELINES:
        return "no telemetry yet"
    tracer_provider, exporter, reader = _PIPELINES[row]
    tracer_provider.force_flush()
    records = 0
    data = reader.get_metrics_data()
    for resource in data.resource_metrics if data is not None else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                records += sum(getattr(point, "count", 0) for point in metric.data.data_points)
    return (f"so far in this run {exporter.spans:,} spans exported (and dropped),"
            f" {records:,} histogram values recorded")


@functools.cache
def metallm_otel_hook() -> Any:
    """One ``OTelHook`` on the ``metallm + OTel SDK`` row's providers, shared by its clients."""
    from metallm.otel import OTelHook

    tracer_provider, meter_provider = sdk_providers(METALLM_OTEL)
    return OTelHook(tracer_provider=tracer_provider, meter_provider=meter_provider)


# -- the official openai instrumentation ---------------------------------------------------------


def _chat_creates() -> list[object]:
    """``openai``'s chat ``create`` methods as the classes hold them now."""
    from openai.resources.chat.completions import AsyncCompletions, Completions

    return [cls.__dict__["create"] for cls in (Completions, AsyncCompletions)]


@contextmanager
def openai_instrumented() -> Iterator[None]:
    """``OpenAIInstrumentor().instrument(...)`` on the row's providers; ``uninstrument()`` after.

    Raises when the instrumentor reports a dependency conflict or patches nothing, so the row
    never measures the plain SDK under the instrumented name.
    """
    from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

    tracer_provider, meter_provider = sdk_providers(OPENAI_INSTRUMENTED)
    instrumentor = OpenAIInstrumentor()  # a singleton
    if instrumentor.is_instrumented_by_opentelemetry:  # nested: the outer one undoes it
        yield
        return
    before = _chat_creates()
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider,
                            raise_exception_on_conflict=True)
    try:
        if any(now is then for now, then in zip(_chat_creates(), before, strict=True)):
            raise RuntimeError("instrument() left openai's chat create() unpatched")
        yield
    finally:
        instrumentor.uninstrument()


def instrumentation_problem() -> str | None:
    """Why the instrumented openai row cannot run here (``None``: it can).

    Imports the instrumentation and instruments then uninstruments openai once; ``openai``
    itself is checked before (its absence is "not installed").
    """
    try:
        importlib.import_module(_INSTRUMENTATION_MODULE)
    except Exception as exc:  # an ImportError of its own dependencies, mostly
        missing = getattr(exc, "name", None) or ""
        if isinstance(exc, ModuleNotFoundError) and _INSTRUMENTATION_MODULE.startswith(missing):
            return f"{INSTRUMENTATION} is not installed (pip install -e '.[bench]')"
        return f"{INSTRUMENTATION} does not import: {type(exc).__name__}: {exc}"
    try:
        with openai_instrumented():
            pass
    except Exception as exc:
        return f"{INSTRUMENTATION} fails on this openai: {type(exc).__name__}: {exc}"
    return None
