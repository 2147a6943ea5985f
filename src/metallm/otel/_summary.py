"""A compact, human-readable summary of the telemetry of a few calls (for ``make demo``).

The demo installs SDK providers with in-memory exporters as the global ones, so the default
``OTelHook`` reports into them exactly as it would into an application's, then prints each span
with its GenAI attributes and each metric's data points, without any collector.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DemoTelemetry"]

_SHOWN = (
    "gen_ai.provider.name",
    "gen_ai.request.model",
    "gen_ai.response.model",
    "gen_ai.request.stream",
    "gen_ai.response.finish_reasons",
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens",
    "gen_ai.response.time_to_first_chunk",
    "server.address",
    "server.port",
    "error.type",
)


class DemoTelemetry:
    """SDK tracer and meter providers with in-memory exporters, installed globally."""

    def __init__(self) -> None:
        from opentelemetry import metrics, trace
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        resource = Resource.create({"service.name": "metallm-demo"})
        self.spans = InMemorySpanExporter()
        self.tracer_provider = TracerProvider(resource=resource)
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(resource=resource, metric_readers=[self.reader])
        trace.set_tracer_provider(self.tracer_provider)
        metrics.set_meter_provider(self.meter_provider)

    def render(self) -> str:
        """Spans then metrics, one line each."""
        lines = ["Telemetry (what an OTLP collector would receive):", "  spans:"]
        for span in self.spans.get_finished_spans():
            attrs = dict(span.attributes or {})
            ms = ((span.end_time or 0) - (span.start_time or 0)) / 1e6
            shown = ", ".join(f"{k}={_fmt(attrs[k])}" for k in _SHOWN if k in attrs)
            status = span.status.status_code.name
            lines.append(f"    {span.name!r} {span.kind.name} {status} {ms:.1f} ms: {shown}")
        lines.append("  metrics:")
        data = self.reader.get_metrics_data()
        for rm in data.resource_metrics if data else []:
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    points = list(metric.data.data_points)
                    head = f"    {metric.name} [{metric.unit}]: {len(points)} series,"
                    if points and not hasattr(points[0], "count"):  # a counter or a gauge
                        values = ", ".join(_fmt(getattr(p, "value", 0)) for p in points)
                        lines.append(f"{head} value {values}")
                        continue
                    count = sum(getattr(p, "count", 0) for p in points)
                    total = sum(getattr(p, "sum", 0) for p in points)
                    lines.append(f"{head} {count} values, sum {_fmt(total)}")
        return "\n".join(lines) + "\n"

    def shutdown(self) -> None:
        """Flush and stop both providers."""
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, tuple):
        return "[" + ",".join(str(v) for v in value) + "]"
    return str(value)
