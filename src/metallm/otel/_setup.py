"""``metallm.otel.setup()``: the OpenTelemetry SDK and OTLP export, for applications without them.

metallm itself only speaks ``opentelemetry-api``: its hook records through whatever providers
are installed globally, and with none installed every span and metric is a cheap no-op. An
application that already configures OpenTelemetry (its own code, ``opentelemetry-instrument``,
a vendor distro) needs nothing from here. For the others, ``setup()`` is one call that builds
what the SDK's manual configuration takes a page to write:

- a ``Resource`` with ``service.name`` (argument, else ``OTEL_SERVICE_NAME``, else the SDK's
  ``unknown_service``), merged with ``OTEL_RESOURCE_ATTRIBUTES`` by ``Resource.create``;
- a ``TracerProvider`` with a ``BatchSpanProcessor`` and an OTLP span exporter;
- a ``MeterProvider`` with a ``PeriodicExportingMetricReader`` and an OTLP metric exporter (no
  views and no aggregation override: the histogram bucket advice the hook gives when it creates
  its instruments must stay in force);
- a ``LoggerProvider`` with a ``BatchLogRecordProcessor`` and an OTLP log exporter, which
  carries the opt-in ``gen_ai.client.inference.operation.details`` content events.

``OTEL_TRACES_EXPORTER``, ``OTEL_METRICS_EXPORTER`` and ``OTEL_LOGS_EXPORTER`` choose each
signal's exporters as the SDK's auto-configuration reads them (:mod:`._selection`): a list of
``otlp`` (the default) and ``console``, or ``none``, which leaves that signal's provider
uninstalled altogether.

The standard ``OTEL_*`` variables keep working: the exporters read endpoints, headers, timeouts,
certificates and compression themselves whenever no argument overrides them, the metric reader
reads ``OTEL_METRIC_EXPORT_INTERVAL``, and ``OTEL_SDK_DISABLED=true`` makes ``setup()`` install
nothing.

**Default protocol: gRPC.** The OpenTelemetry specification says SDKs *should* default to
``http/protobuf`` unless an existing stable default says otherwise, and Python's is such a case:
``opentelemetry-instrument`` and the SDK's own auto-configuration pick the gRPC exporter when
``OTEL_EXPORTER_OTLP_PROTOCOL`` is unset, and the exporters' default endpoint for it is
``localhost:4317``. Defaulting the same way means one set of environment variables behaves the
same under ``opentelemetry-instrument`` and under ``metallm.otel.setup()``. ``http/protobuf``
is one argument or variable away, and both are tested against real receivers.

The SDK and the exporters (gRPC above all) cost tens of milliseconds and megabytes to import,
so they are imported inside ``setup()`` only: ``import metallm`` and ``import metallm.otel``
never load them.

Globals can be set only once per process in OpenTelemetry, and replacing an application's
providers would silently cut its own telemetry off, so ``setup()`` installs a provider only
where the global one is still the API's placeholder, for each signal separately, and the
returned :class:`OTelHandle` says which ones it installed and shuts down only those.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast, get_args

from ..errors import ConfigurationError
from ._exporters import OTLPProtocol, _Exporters, signal_env
from ._handle import OTelHandle
from ._selection import Signal, select_exporters

if TYPE_CHECKING:
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import LogRecordExporter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import MetricExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

__all__ = ["DEFAULT_PROTOCOL", "OTLPProtocol", "OTelHandle", "setup"]

DEFAULT_PROTOCOL: OTLPProtocol = "grpc"
"""The protocol when neither the argument nor ``OTEL_EXPORTER_OTLP[_SIGNAL]_PROTOCOL`` says."""

_SIGNALS: tuple[Signal, ...] = ("traces", "metrics", "logs")
_PROTOCOLS: tuple[str, ...] = get_args(OTLPProtocol)
_SDK_DISABLED = "OTEL_SDK_DISABLED"
_PROTOCOL_ENV = "OTEL_EXPORTER_OTLP_PROTOCOL"

_logger = logging.getLogger(__name__)


def setup(
    service_name: str | None = None,
    endpoint: str | None = None,
    protocol: OTLPProtocol | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    resource_attributes: Mapping[str, Any] | None = None,
    traces: bool = True,
    metrics: bool = True,
    logs: bool = True,
    metric_export_interval: float | None = None,
    console: bool = False,
) -> OTelHandle:
    """Install the OpenTelemetry SDK with OTLP export, unless the application already has it.

    Args:
        service_name: ``service.name`` of the resource; default ``OTEL_SERVICE_NAME``, else the
            SDK's ``unknown_service:<python>``.
        endpoint: the collector's root URL, e.g. ``http://127.0.0.1:4317`` (gRPC) or
            ``http://127.0.0.1:4318`` (HTTP; ``/v1/traces``, ``/v1/metrics`` and ``/v1/logs``
            are appended, as the exporters do for ``OTEL_EXPORTER_OTLP_ENDPOINT``). ``http://``
            means plaintext, ``https://`` TLS. Default: the ``OTEL_EXPORTER_OTLP_ENDPOINT`` and
            ``OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_ENDPOINT`` variables, read by the
            exporters, else ``localhost:4317`` / ``localhost:4318``.
        protocol: ``"grpc"`` or ``"http/protobuf"``; default the
            ``OTEL_EXPORTER_OTLP_{SIGNAL}_PROTOCOL`` / ``OTEL_EXPORTER_OTLP_PROTOCOL`` variables,
            else ``grpc`` (see the module docstring for why).
        headers: sent with every export (e.g. an ingest token), added over the ones in
            ``OTEL_EXPORTER_OTLP[_SIGNAL]_HEADERS``.
        resource_attributes: more resource attributes (``deployment.environment.name``, ...),
            over ``OTEL_RESOURCE_ATTRIBUTES``; ``service_name`` wins over a ``service.name`` here.
        traces, metrics, logs: which signals may be set up; ``logs`` only carries the opt-in
            message-content events. False leaves a signal out whatever the variables say;
            True lets ``OTEL_{TRACES,METRICS,LOGS}_EXPORTER`` choose its exporters: a
            comma-separated list of ``otlp`` and ``console`` (case and whitespace do not
            matter), or ``none`` for no provider at all; unset means ``otlp``.
        metric_export_interval: seconds between metric exports; default
            ``OTEL_METRIC_EXPORT_INTERVAL`` (milliseconds), else 60 s.
        console: also print spans, metrics and log records to stdout, for local debugging;
            adds the console exporter to every signal left on, even one whose variable says
            ``none``.

    Returns:
        An :class:`OTelHandle` naming what was installed; ``handle.shutdown()`` flushes it.

    Raises:
        ConfigurationError: an unknown protocol (argument or variable), an unknown exporter
            name in ``OTEL_{SIGNAL}_EXPORTER`` (the error names the variable and its value) or
            a non-positive ``metric_export_interval``. An unreachable collector is not an
            error: exports fail in the background, logged by the SDK, and the application's
            calls never notice.
    """
    if os.environ.get(_SDK_DISABLED, "").strip().lower() == "true":
        _logger.debug("%s=true: metallm.otel.setup() installs nothing", _SDK_DISABLED)
        return OTelHandle()
    if metric_export_interval is not None and not metric_export_interval > 0:
        raise ConfigurationError(
            f"metric_export_interval must be a positive number of seconds, "
            f"not {metric_export_interval!r}"
        )
    if protocol is not None:
        _resolve_protocol(protocol, "traces")  # a bad argument fails even if no signal uses it
    enabled: dict[Signal, bool] = {"traces": traces, "metrics": metrics, "logs": logs}
    chosen = {s: select_exporters(s, enabled=enabled[s], console=console) for s in _SIGNALS}
    protocols = {s: _resolve_protocol(protocol, s) for s in _SIGNALS if "otlp" in chosen[s]}

    from opentelemetry import _logs as logs_api
    from opentelemetry import metrics as metrics_api
    from opentelemetry import trace as trace_api

    wanted = {
        "traces": bool(chosen["traces"]) and _tracer_slot_free(),
        "metrics": bool(chosen["metrics"]) and _meter_slot_free(),
        "logs": bool(chosen["logs"]) and _logger_slot_free(),
    }
    for signal in _SIGNALS:
        if chosen[signal] and not wanted[signal]:
            _logger.info(
                "a global %s provider is already installed; metallm.otel.setup() leaves it",
                signal,
            )
    if not any(wanted.values()):
        return OTelHandle()

    resource = _resource(service_name, resource_attributes)
    export = _Exporters(endpoint, headers, protocols)
    tracer_provider: TracerProvider | None = None
    meter_provider: MeterProvider | None = None
    logger_provider: LoggerProvider | None = None

    if wanted["traces"]:
        exporters = chosen["traces"]
        tracer_provider = _tracer_provider(
            resource, export.spans() if "otlp" in exporters else None, "console" in exporters
        )
        trace_api.set_tracer_provider(tracer_provider)
        if trace_api.get_tracer_provider() is not tracer_provider:  # lost a race: not ours
            tracer_provider.shutdown()
            tracer_provider = None
    if wanted["metrics"]:
        exporters = chosen["metrics"]
        meter_provider = _meter_provider(
            resource,
            export.metrics() if "otlp" in exporters else None,
            "console" in exporters,
            metric_export_interval,
        )
        metrics_api.set_meter_provider(meter_provider)
        if metrics_api.get_meter_provider() is not meter_provider:
            meter_provider.shutdown()
            meter_provider = None
    if wanted["logs"]:
        exporters = chosen["logs"]
        logger_provider = _logger_provider(
            resource, export.logs() if "otlp" in exporters else None, "console" in exporters
        )
        logs_api.set_logger_provider(logger_provider)
        if logs_api.get_logger_provider() is not logger_provider:
            logger_provider.shutdown()
            logger_provider = None

    installed = (tracer_provider, meter_provider, logger_provider)
    handle = OTelHandle(
        tracer_provider,
        meter_provider,
        logger_provider,
        exporters={s: chosen[s] for s, p in zip(_SIGNALS, installed, strict=True) if p is not None},
    )
    _logger.debug(
        "metallm.otel.setup(): installed %s, OTLP %s to %s",
        handle.exporters,
        protocols,
        endpoint or "the OTEL_EXPORTER_OTLP_* endpoint",
    )
    return handle


def _resolve_protocol(protocol: str | None, signal: Signal) -> OTLPProtocol:
    """Argument, else the per-signal variable, else the general one, else the default."""
    source = "protocol argument"
    value = protocol
    if value is None:
        for var in (signal_env(_PROTOCOL_ENV, signal), _PROTOCOL_ENV):
            if os.environ.get(var, "").strip():
                source, value = var, os.environ[var]
                break
    if value is None:
        return DEFAULT_PROTOCOL
    value = value.strip().lower()
    if value not in _PROTOCOLS:
        raise ConfigurationError(
            f"{source}: unsupported OTLP protocol {value!r}; use one of {', '.join(_PROTOCOLS)}"
        )
    return cast("OTLPProtocol", value)


def _tracer_slot_free() -> bool:
    """True while the global tracer provider is still the API's placeholder proxy."""
    from opentelemetry import trace as trace_api

    return isinstance(trace_api.get_tracer_provider(), trace_api.ProxyTracerProvider)


def _meter_slot_free() -> bool:
    """True while the global meter provider is still the API's placeholder proxy."""
    from opentelemetry import metrics as metrics_api
    from opentelemetry.metrics._internal import _ProxyMeterProvider

    return isinstance(metrics_api.get_meter_provider(), _ProxyMeterProvider)


def _logger_slot_free() -> bool:
    """True while the global logger provider is still the API's placeholder proxy."""
    from opentelemetry import _logs as logs_api
    from opentelemetry._logs._internal import ProxyLoggerProvider

    return isinstance(logs_api.get_logger_provider(), ProxyLoggerProvider)


def _resource(service_name: str | None, extra: Mapping[str, Any] | None) -> Resource:
    """The SDK's resource (env detectors, ``telemetry.sdk.*``) with our attributes over it."""
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource

    attributes: dict[str, Any] = dict(extra or {})
    if service_name:
        attributes[SERVICE_NAME] = service_name
    return Resource.create(attributes)


def _tracer_provider(
    resource: Resource, exporter: SpanExporter | None, console: bool
) -> TracerProvider:
    """Our own atexit handler (the handle's) shuts it down, hence ``shutdown_on_exit=False``.

    ``exporter`` is the OTLP one (None when ``OTEL_TRACES_EXPORTER`` leaves it out)."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        ConsoleSpanExporter,
        SimpleSpanProcessor,
    )

    provider = TracerProvider(resource=resource, shutdown_on_exit=False)
    if exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    if console:
        provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
    return provider


def _meter_provider(
    resource: Resource, exporter: MetricExporter | None, console: bool, interval: float | None
) -> MeterProvider:
    """No views: the hook's explicit bucket advice decides the histograms' buckets."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import (
        ConsoleMetricExporter,
        MetricReader,
        PeriodicExportingMetricReader,
    )

    millis = None if interval is None else interval * 1000.0
    readers: list[MetricReader] = []
    if exporter is not None:
        readers.append(PeriodicExportingMetricReader(exporter, export_interval_millis=millis))
    if console:
        readers.append(
            PeriodicExportingMetricReader(ConsoleMetricExporter(), export_interval_millis=millis)
        )
    return MeterProvider(metric_readers=readers, resource=resource, shutdown_on_exit=False)


def _logger_provider(
    resource: Resource, exporter: LogRecordExporter | None, console: bool
) -> LoggerProvider:
    """Carries the content events only: no ``logging`` handler is attached to the root logger."""
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs import export as logs_export

    provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
    if exporter is not None:
        provider.add_log_record_processor(logs_export.BatchLogRecordProcessor(exporter))
    if console:
        # ConsoleLogRecordExporter is the current name; older SDKs only have ConsoleLogExporter
        console_cls = getattr(logs_export, "ConsoleLogRecordExporter", None)
        if console_cls is None:
            console_cls = logs_export.ConsoleLogExporter
        provider.add_log_record_processor(logs_export.SimpleLogRecordProcessor(console_cls()))
    return provider
