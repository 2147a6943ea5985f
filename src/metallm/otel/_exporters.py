"""The OTLP exporter of each signal, built for its protocol: what ``setup()`` exports through.

Apart from :mod:`._setup` so that each module keeps one job (``setup()`` decides what to install,
this builds the exporters it asked for); an exporter package is imported only when its signal and
protocol are used, since the gRPC one alone costs tens of milliseconds.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from ._selection import Signal

if TYPE_CHECKING:
    from opentelemetry.sdk._logs.export import LogRecordExporter
    from opentelemetry.sdk.metrics.export import MetricExporter
    from opentelemetry.sdk.trace.export import SpanExporter

__all__ = ["OTLPProtocol", "signal_env"]

OTLPProtocol = Literal["grpc", "http/protobuf"]

_HTTP_PATHS: dict[Signal, str] = {
    "traces": "v1/traces",
    "metrics": "v1/metrics",
    "logs": "v1/logs",
}
_HEADERS_ENV = "OTEL_EXPORTER_OTLP_HEADERS"


def signal_env(template: str, signal: Signal) -> str:
    """``OTEL_EXPORTER_OTLP_{SIGNAL}_...`` for a signal, e.g. ``..._TRACES_PROTOCOL``."""
    return template.replace("OTLP_", f"OTLP_{signal.upper()}_", 1)


class _Exporters:
    """Builds the OTLP exporter of each signal for its protocol; imports only what it uses."""

    def __init__(
        self,
        endpoint: str | None,
        headers: Mapping[str, str] | None,
        protocols: Mapping[Signal, OTLPProtocol],
    ) -> None:
        self._endpoint = endpoint
        self._headers = headers
        self._protocols = protocols

    def _kwargs(self, signal: Signal) -> dict[str, Any]:
        """Only what the arguments say: everything else the exporter reads from the env."""
        kwargs: dict[str, Any] = {}
        if self._endpoint:
            if self._protocols[signal] == "http/protobuf":
                kwargs["endpoint"] = f"{self._endpoint.rstrip('/')}/{_HTTP_PATHS[signal]}"
            else:
                kwargs["endpoint"] = self._endpoint
        if self._headers:
            # lower-case: gRPC rejects metadata keys with capitals; HTTP does not mind
            given = {key.lower(): value for key, value in self._headers.items()}
            kwargs["headers"] = {**_env_headers(signal), **given}
        return kwargs

    def spans(self) -> SpanExporter:
        if self._protocols["traces"] == "http/protobuf":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
                OTLPSpanExporter as HTTPSpanExporter,
            )

            return HTTPSpanExporter(**self._kwargs("traces"))
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter(**self._kwargs("traces"))

    def metrics(self) -> MetricExporter:
        if self._protocols["metrics"] == "http/protobuf":
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
                OTLPMetricExporter as HTTPMetricExporter,
            )

            return HTTPMetricExporter(**self._kwargs("metrics"))
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

        return OTLPMetricExporter(**self._kwargs("metrics"))

    def logs(self) -> LogRecordExporter:
        if self._protocols["logs"] == "http/protobuf":
            from opentelemetry.exporter.otlp.proto.http._log_exporter import (
                OTLPLogExporter as HTTPLogExporter,
            )

            return HTTPLogExporter(**self._kwargs("logs"))
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter

        return OTLPLogExporter(**self._kwargs("logs"))


def _env_headers(signal: Signal) -> dict[str, str]:
    """The headers the variables give a signal, so that ``headers=`` adds to them for both
    protocols (the gRPC exporter would otherwise drop the variables when given any)."""
    from opentelemetry.util.re import parse_env_headers

    raw = os.environ.get(signal_env(_HEADERS_ENV, signal)) or os.environ.get(_HEADERS_ENV, "")
    return dict(parse_env_headers(raw, liberal=True))
