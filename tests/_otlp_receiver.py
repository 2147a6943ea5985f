"""Real OTLP receivers for tests: gRPC and HTTP/protobuf, on 127.0.0.1, storing what arrives.

They stand in for an OpenTelemetry Collector so tests can check what metallm's telemetry looks
like *on the wire*, after the SDK's encoders, not only inside the process:

- :class:`GrpcOTLPReceiver` serves the three OTLP collector services over ``grpcio`` with the
  ``opentelemetry-proto`` stubs;
- :class:`HttpOTLPReceiver` is a ``ThreadingHTTPServer`` answering ``POST /v1/traces``,
  ``/v1/metrics`` and ``/v1/logs`` (protobuf bodies, gzip/deflate accepted) with an empty
  ``Export*ServiceResponse``.

Both bind 127.0.0.1 on a random port, record each decoded request with its headers (gRPC
metadata or HTTP headers, lower-cased), and are context managers. The helpers at the end turn
the protobuf messages into plain Python values for assertions::

    with GrpcOTLPReceiver() as receiver:
        ...  # export to receiver.endpoint
        receiver.wait_for(lambda r: r.spans(), timeout=5)
        span = receiver.spans()[0]
        assert span.name == "chat gpt-4o" and span.attributes["gen_ai.operation.name"] == "chat"
"""

from __future__ import annotations

import gzip
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Mapping
from concurrent import futures
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.metrics.v1.metrics_pb2 import Metric
from opentelemetry.proto.trace.v1.trace_pb2 import Span

__all__ = [
    "GrpcOTLPReceiver",
    "HttpOTLPReceiver",
    "OTLPReceiver",
    "ReceivedLog",
    "ReceivedMetric",
    "ReceivedSpan",
    "any_value",
    "attributes",
    "free_port",
]

SIGNALS = ("traces", "metrics", "logs")

_REQUEST_TYPES: dict[str, type[Message]] = {
    "traces": trace_service_pb2.ExportTraceServiceRequest,
    "metrics": metrics_service_pb2.ExportMetricsServiceRequest,
    "logs": logs_service_pb2.ExportLogsServiceRequest,
}
_RESPONSE_TYPES: dict[str, type[Message]] = {
    "traces": trace_service_pb2.ExportTraceServiceResponse,
    "metrics": metrics_service_pb2.ExportMetricsServiceResponse,
    "logs": logs_service_pb2.ExportLogsServiceResponse,
}


def any_value(value: AnyValue) -> Any:
    """An OTLP ``AnyValue`` as a Python value (lists and dicts for arrays and kvlists)."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return attributes(value.kvlist_value.values)
    return getattr(value, kind)


def attributes(kvs: Iterable[KeyValue]) -> dict[str, Any]:
    """OTLP attributes (repeated ``KeyValue``) as a dict."""
    return {kv.key: any_value(kv.value) for kv in kvs}


@dataclass
class ReceivedSpan:
    """One span as received, with its resource and scope flattened in."""

    resource: dict[str, Any]
    scope: str
    span: Span

    @property
    def name(self) -> str:
        return self.span.name

    @property
    def kind(self) -> int:
        """``Span.SpanKind`` value: ``Span.SPAN_KIND_CLIENT`` is 3."""
        return self.span.kind

    @property
    def attributes(self) -> dict[str, Any]:
        return attributes(self.span.attributes)


@dataclass
class ReceivedMetric:
    """One metric as received (all its data points), with resource and scope flattened in."""

    resource: dict[str, Any]
    scope: str
    metric: Metric

    @property
    def name(self) -> str:
        return self.metric.name

    @property
    def unit(self) -> str:
        return self.metric.unit

    @property
    def kind(self) -> str | None:
        """``histogram``, ``sum``, ``gauge``, ``exponential_histogram`` or ``summary``."""
        return self.metric.WhichOneof("data")

    def histogram_points(self) -> list[Any]:
        return list(self.metric.histogram.data_points) if self.kind == "histogram" else []


@dataclass
class ReceivedLog:
    """One log record as received, with resource and scope flattened in."""

    resource: dict[str, Any]
    scope: str
    record: LogRecord

    @property
    def event_name(self) -> str:
        """The record's event name (the ``event_name`` field, or an ``event.name`` attribute)."""
        name = getattr(self.record, "event_name", "")
        return name or str(self.attributes.get("event.name", ""))

    @property
    def attributes(self) -> dict[str, Any]:
        return attributes(self.record.attributes)


class OTLPReceiver:
    """What both receivers share: the store of decoded requests and ways to read and await it."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.requests: dict[str, list[Any]] = {s: [] for s in SIGNALS}
        self.headers: dict[str, list[dict[str, str]]] = {s: [] for s in SIGNALS}
        self.port = 0

    @property
    def endpoint(self) -> str:
        """The root URL to give an exporter (plaintext)."""
        return f"http://127.0.0.1:{self.port}"

    def record(self, signal: str, request: Any, headers: Mapping[str, str]) -> None:
        with self._cond:
            self.requests[signal].append(request)
            self.headers[signal].append({k.lower(): v for k, v in headers.items()})
            self._cond.notify_all()

    def clear(self) -> None:
        with self._cond:
            for signal in SIGNALS:
                self.requests[signal].clear()
                self.headers[signal].clear()

    def wait_for(self, predicate: Callable[[OTLPReceiver], Any], timeout: float = 5.0) -> bool:
        """Wait until ``predicate(self)`` is truthy; False after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.1))
        return True

    def spans(self) -> list[ReceivedSpan]:
        with self._cond:
            requests = list(self.requests["traces"])
        return [
            ReceivedSpan(attributes(rs.resource.attributes), ss.scope.name, span)
            for req in requests
            for rs in req.resource_spans
            for ss in rs.scope_spans
            for span in ss.spans
        ]

    def metrics(self) -> list[ReceivedMetric]:
        with self._cond:
            requests = list(self.requests["metrics"])
        return [
            ReceivedMetric(attributes(rm.resource.attributes), sm.scope.name, metric)
            for req in requests
            for rm in req.resource_metrics
            for sm in rm.scope_metrics
            for metric in sm.metrics
        ]

    def logs(self) -> list[ReceivedLog]:
        with self._cond:
            requests = list(self.requests["logs"])
        return [
            ReceivedLog(attributes(rl.resource.attributes), sl.scope.name, record)
            for req in requests
            for rl in req.resource_logs
            for sl in rl.scope_logs
            for record in sl.log_records
        ]

    def start(self) -> OTLPReceiver:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> OTLPReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class GrpcOTLPReceiver(OTLPReceiver):
    """The OTLP/gRPC collector services (traces, metrics, logs) on 127.0.0.1."""

    protocol = "grpc"

    def __init__(self) -> None:
        super().__init__()
        self._server: grpc.Server | None = None

    def start(self) -> GrpcOTLPReceiver:
        receiver = self

        def export(signal: str) -> Callable[[Any, grpc.ServicerContext], Any]:
            def handler(request: Any, context: grpc.ServicerContext) -> Any:
                metadata = {k: v for k, v in context.invocation_metadata() if isinstance(v, str)}
                receiver.record(signal, request, metadata)
                return _RESPONSE_TYPES[signal]()

            return handler

        class Traces(trace_service_pb2_grpc.TraceServiceServicer):
            Export = staticmethod(export("traces"))

        class Metrics(metrics_service_pb2_grpc.MetricsServiceServicer):
            Export = staticmethod(export("metrics"))

        class Logs(logs_service_pb2_grpc.LogsServiceServicer):
            Export = staticmethod(export("logs"))

        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Traces(), server)
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(Metrics(), server)
        logs_service_pb2_grpc.add_LogsServiceServicer_to_server(Logs(), server)
        self.port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        self._server = server
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(grace=None).wait(5)
            self._server = None


class HttpOTLPReceiver(OTLPReceiver):
    """OTLP/HTTP with protobuf bodies (``POST /v1/{traces,metrics,logs}``) on 127.0.0.1."""

    protocol = "http/protobuf"

    def __init__(self) -> None:
        super().__init__()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> HttpOTLPReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                signal = self.path.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                if signal not in _REQUEST_TYPES or not self.path.startswith("/v1/"):
                    self._answer(404, b"", "text/plain")
                    return
                encoding = (self.headers.get("content-encoding") or "").lower()
                try:
                    if encoding == "gzip":
                        body = gzip.decompress(body)
                    elif encoding == "deflate":
                        body = zlib.decompress(body)
                    request = _REQUEST_TYPES[signal].FromString(body)
                except (DecodeError, OSError, zlib.error):
                    self._answer(400, b"", "text/plain")
                    return
                receiver.record(signal, request, dict(self.headers.items()))
                response = _RESPONSE_TYPES[signal]().SerializeToString()
                self._answer(200, response, "application/x-protobuf")

            def _answer(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        self._server = server
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None


def free_port() -> int:
    """A 127.0.0.1 port nothing listens on (bound then released): a receiver that is down."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
