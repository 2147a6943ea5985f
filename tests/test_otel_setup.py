"""``metallm.otel.setup()`` against real OTLP receivers, and ``collector-config.yaml``.

OpenTelemetry's global providers can be set once per process, so everything that installs them
runs in a child process (``sys.executable -c``) that exports to a gRPC or HTTP/protobuf
receiver living in this test process (``tests/_otlp_receiver.py``); the test then decodes what
arrived on the wire. Children start with every ``OTEL_*`` variable of this process removed, so
the machine's environment cannot change what they do.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from _otlp_receiver import (
    GrpcOTLPReceiver,
    HttpOTLPReceiver,
    OTLPReceiver,
    ReceivedMetric,
    free_port,
)
from metallm.errors import ConfigurationError
from metallm.otel import attributes as A
from metallm.otel._selection import select_exporters
from metallm.otel._setup import DEFAULT_PROTOCOL, OTelHandle, _Exporters, _resolve_protocol, setup

ROOT = Path(__file__).resolve().parent.parent
SPAN_KIND_CLIENT = 3  # opentelemetry.proto.trace.v1.Span.SPAN_KIND_CLIENT
CHILD_TIMEOUT = 60.0

# What every child script starts with: its arguments, a way to report, and real metallm calls.
PRELUDE = '''
import json, os, sys, time
ARGS = json.loads(os.environ.get("METALLM_TEST_ARGS", "{}"))

def done(**result):
    print("RESULT " + json.dumps(result), flush=True)

def metallm_calls():
    """One plain call and one drained stream against the fake server, model gpt-4o."""
    import metallm
    from metallm.testing import FakeLLMServer
    messages = [{"role": "user", "content": "Hello there"}]
    with FakeLLMServer() as server, metallm.Client(
        provider="openai", base_url=server.base_url("openai"), api_key="sk-test"
    ) as client:
        port = int(server.base_url("openai").split(":")[2].split("/")[0])
        response = client.create_chat_completion(model="gpt-4o", messages=messages)
        with client.create_chat_completion_stream(model="gpt-4o", messages=messages) as stream:
            chunks = sum(1 for _ in stream)
    return {"content": response.content, "chunks": chunks, "server_port": port}

def api_telemetry(tag):
    """A span, a counter and a log record made through the API alone (no metallm hook)."""
    from opentelemetry import _logs, metrics, trace
    with trace.get_tracer("metallm-test").start_as_current_span(f"work {tag}"):
        pass
    metrics.get_meter("metallm-test").create_counter("test.counter").add(1, {"tag": tag})
    _logs.get_logger("metallm-test").emit(body=f"log {tag}", attributes={"tag": tag})
'''


def run_child(body: str, args: dict[str, Any] | None = None, env: dict[str, str] | None = None):
    """Run PRELUDE + body in a fresh interpreter; returns (result dict, stdout, stderr)."""
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    child_env["METALLM_TEST_ARGS"] = json.dumps(args or {})
    child_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-c", PRELUDE + textwrap.dedent(body)],
        check=False,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
        cwd=ROOT,
    )
    assert proc.returncode == 0, f"child failed:\n{proc.stdout}\n{proc.stderr}"
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, f"child reported nothing:\n{proc.stdout}\n{proc.stderr}"
    return json.loads(lines[-1][len("RESULT ") :]), proc.stdout, proc.stderr


@pytest.fixture
def grpc_receiver() -> Iterator[OTLPReceiver]:
    with GrpcOTLPReceiver() as receiver:
        yield receiver


@pytest.fixture
def http_receiver() -> Iterator[OTLPReceiver]:
    with HttpOTLPReceiver() as receiver:
        yield receiver


@pytest.fixture(params=["grpc", "http/protobuf"])
def receiver(request: pytest.FixtureRequest) -> Iterator[OTLPReceiver]:
    cls = GrpcOTLPReceiver if request.param == "grpc" else HttpOTLPReceiver
    with cls() as rec:
        yield rec


def metric(receiver: OTLPReceiver, name: str) -> ReceivedMetric:
    found = [m for m in receiver.metrics() if m.name == name]
    assert found, f"no metric {name!r}; got {sorted({m.name for m in receiver.metrics()})}"
    return found[-1]


# --- end to end: real metallm calls, exported, decoded ---------------------------------------


END_TO_END = """
from metallm.otel._setup import setup
handle = setup(
    service_name="metallm-test",
    endpoint=ARGS["endpoint"],
    protocol=ARGS["protocol"],
    headers={"X-From-Argument": "arg"},   # capitals: gRPC metadata needs them lowered
    metric_export_interval=3600,   # nothing periodic: all that arrives comes from shutdown()
)
result = metallm_calls()
api_telemetry("e2e")
handle.shutdown()
done(installed=list(handle.installed), **result)
"""


def test_end_to_end_export_of_metallm_calls(receiver: OTLPReceiver) -> None:
    result, _, stderr = run_child(
        END_TO_END,
        {"endpoint": receiver.endpoint, "protocol": receiver.protocol},
        {
            "OTEL_EXPORTER_OTLP_HEADERS": "x-from-env=env",
            A.CAPTURE_ENV: "SPAN_AND_EVENT",
        },
    )
    assert result["installed"] == ["traces", "metrics", "logs"]
    assert result["content"] and result["chunks"] > 1
    assert "Overriding" not in stderr and "can only be called once" not in stderr

    # Every signal arrived, on the right paths, with the resource and both kinds of headers.
    for signal in ("traces", "metrics", "logs"):
        assert receiver.requests[signal], f"no {signal} export arrived"
        for headers in receiver.headers[signal]:
            assert headers.get("x-from-argument") == "arg"
            assert headers.get("x-from-env") == "env"
    assert {s.resource["service.name"] for s in receiver.spans()} == {"metallm-test"}
    assert {m.resource["service.name"] for m in receiver.metrics()} == {"metallm-test"}
    assert {r.resource["service.name"] for r in receiver.logs()} == {"metallm-test"}
    assert "work e2e" in [s.name for s in receiver.spans()]
    assert "log e2e" in [r.record.body.string_value for r in receiver.logs()]

    # The spans of the two calls.
    calls = [s for s in receiver.spans() if s.name == "chat gpt-4o"]
    assert len(calls) == 2, [s.name for s in receiver.spans()]
    for span in calls:
        attrs = span.attributes
        assert span.kind == SPAN_KIND_CLIENT
        assert attrs[A.OPERATION_NAME] == "chat"
        assert attrs[A.PROVIDER_NAME] == "openai"
        assert attrs[A.REQUEST_MODEL] == "gpt-4o"
        assert attrs[A.SERVER_ADDRESS] == "127.0.0.1"
        assert attrs[A.SERVER_PORT] == result["server_port"]
        assert attrs[A.USAGE_INPUT_TOKENS] > 0
        assert attrs[A.USAGE_OUTPUT_TOKENS] > 0
        assert attrs[A.RESPONSE_FINISH_REASONS] == ["stop"]
        assert span.span.status.code != 2  # not ERROR
        for deprecated in ("gen_ai.system", "gen_ai.usage.prompt_tokens"):
            assert deprecated not in attrs
        assert "sk-test" not in repr(attrs)
    streamed = [s for s in calls if s.attributes.get(A.REQUEST_STREAM)]
    assert len(streamed) == 1
    assert streamed[0].attributes[A.RESPONSE_TIME_TO_FIRST_CHUNK] > 0

    # The histograms, with the buckets the hook advises (setup() must not override them).
    duration = metric(receiver, A.METRIC_DURATION)
    assert duration.unit == "s"
    points = duration.histogram_points()
    assert points and sum(p.count for p in points) == 2
    assert tuple(points[0].explicit_bounds) == A.DURATION_BUCKETS
    point_attrs = {k: v for p in points for k, v in _attrs(p).items()}
    assert point_attrs[A.PROVIDER_NAME] == "openai" and point_attrs[A.REQUEST_MODEL] == "gpt-4o"

    tokens = metric(receiver, A.METRIC_TOKEN_USAGE)
    assert tokens.unit == "{token}"
    token_points = tokens.histogram_points()
    assert {_attrs(p)[A.TOKEN_TYPE] for p in token_points} == {"input", "output"}
    assert tuple(token_points[0].explicit_bounds) == tuple(float(b) for b in A.TOKEN_BUCKETS)

    first_chunk = metric(receiver, A.METRIC_TIME_TO_FIRST_CHUNK)
    assert first_chunk.unit == "s"
    assert sum(p.count for p in first_chunk.histogram_points()) == 1

    # The opt-in content event, parented to its call's span.
    events = [r for r in receiver.logs() if r.event_name == A.CONTENT_EVENT]
    assert len(events) == 2, [r.event_name for r in receiver.logs()]
    span_ids = {s.span.span_id for s in calls}
    assert {e.record.span_id for e in events} == span_ids


def _attrs(point: Any) -> dict[str, Any]:
    from _otlp_receiver import attributes

    return attributes(point.attributes)


# --- the setup contract -----------------------------------------------------------------------


ENV_ONLY = """
from metallm.otel._setup import setup
handle = setup()          # everything from the OTEL_* variables
api_telemetry("env")
time.sleep(1.0)           # OTEL_METRIC_EXPORT_INTERVAL=200 ms: periodic exports happen now
done(installed=list(handle.installed))
# no shutdown(): the handle's atexit handler must flush
"""


@pytest.mark.parametrize("protocol_env", ["http/protobuf", None])
def test_environment_variables_alone(protocol_env: str | None) -> None:
    """No arguments: endpoint, protocol (grpc when unset), headers, resource, interval from env."""
    cls = HttpOTLPReceiver if protocol_env == "http/protobuf" else GrpcOTLPReceiver
    with cls() as receiver:
        env = {
            "OTEL_SERVICE_NAME": "metallm-env",
            "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment.name=ci,service.name=ignored",
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            "OTEL_EXPORTER_OTLP_HEADERS": "x-token=abc",
            "OTEL_METRIC_EXPORT_INTERVAL": "200",
        }
        if protocol_env:
            env["OTEL_EXPORTER_OTLP_PROTOCOL"] = protocol_env
        result, _, _ = run_child(ENV_ONLY, env=env)
        assert result["installed"] == ["traces", "metrics", "logs"]
        spans = [s for s in receiver.spans() if s.name == "work env"]
        assert spans, "the span was not flushed at exit"
        assert spans[0].resource["service.name"] == "metallm-env"  # OTEL_SERVICE_NAME wins
        assert spans[0].resource["deployment.environment.name"] == "ci"
        assert [r.record.body.string_value for r in receiver.logs()] == ["log env"]
        assert all(h.get("x-token") == "abc" for s in ("traces", "metrics", "logs")
                   for h in receiver.headers[s])  # fmt: skip
        # periodic exports (200 ms over 1 s) plus the last one at exit: more than one
        assert len(receiver.requests["metrics"]) >= 2
        assert metric(receiver, "test.counter").resource["service.name"] == "metallm-env"


EXISTING_PROVIDER = """
from opentelemetry import metrics, trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

memory = InMemorySpanExporter()
app_provider = TracerProvider()
app_provider.add_span_processor(SimpleSpanProcessor(memory))
trace.set_tracer_provider(app_provider)

from metallm.otel._setup import setup
handle = setup("metallm-test", ARGS["endpoint"], "grpc", metric_export_interval=3600)
api_telemetry("existing")
handle.shutdown()
with trace.get_tracer("app").start_as_current_span("after shutdown"):
    pass   # the application's provider still works: setup() never shut it down
second = setup("metallm-test", ARGS["endpoint"], "grpc")   # everything taken now: installs nothing
done(
    installed=list(handle.installed),
    tracer_provider_is_none=handle.tracer_provider is None,
    global_is_app=trace.get_tracer_provider() is app_provider,
    global_meter_is_ours=metrics.get_meter_provider() is handle.meter_provider,
    app_spans=[s.name for s in memory.get_finished_spans()],
    second_installed=list(second.installed),
)
"""


def test_existing_provider_is_never_replaced(grpc_receiver: OTLPReceiver) -> None:
    result, _, stderr = run_child(EXISTING_PROVIDER, {"endpoint": grpc_receiver.endpoint})
    assert result["installed"] == ["metrics", "logs"]
    assert result["tracer_provider_is_none"] and result["global_is_app"]
    assert result["global_meter_is_ours"]
    assert result["app_spans"] == ["work existing", "after shutdown"]
    assert result["second_installed"] == []
    assert "Overriding" not in stderr
    assert not grpc_receiver.requests["traces"]  # the app's spans stay the app's
    assert metric(grpc_receiver, "test.counter").resource["service.name"] == "metallm-test"


SHUTDOWN = """
from metallm.otel._setup import setup
handle = setup("metallm-test", ARGS["endpoint"], "grpc", metric_export_interval=3600,
               console=True)
api_telemetry("shutdown")
flushed = handle.force_flush(timeout_millis=10_000)
with handle:                       # leaving the block shuts down
    pass
start = time.monotonic()
handle.shutdown()                  # again: nothing happens
handle.shutdown()
again = time.monotonic() - start
done(flushed=flushed, after=handle.force_flush(), shut=handle.is_shut_down, again=again,
     repr=repr(handle))
"""


def test_shutdown_flushes_and_is_idempotent(grpc_receiver: OTLPReceiver) -> None:
    result, stdout, stderr = run_child(SHUTDOWN, {"endpoint": grpc_receiver.endpoint})
    assert result["flushed"] is True and result["after"] is True and result["shut"] is True
    assert result["again"] < 0.5
    assert "shut down" in result["repr"]
    assert "can only be called once" not in stderr and "already shutdown" not in stderr
    # force_flush() exported before the 1 h metric interval; shutdown() exported the rest
    assert [s.name for s in grpc_receiver.spans()] == ["work shutdown"]
    assert metric(grpc_receiver, "test.counter").metric.sum.data_points[0].as_int == 1
    assert [r.record.body.string_value for r in grpc_receiver.logs()] == ["log shutdown"]
    # console=True printed the span, the metric and the log record too
    assert '"name": "work shutdown"' in stdout
    assert "test.counter" in stdout and "log shutdown" in stdout


RECEIVER_DOWN = """
import logging
logging.basicConfig(level=logging.WARNING)   # metallm's own loggers are silent otherwise
from metallm.otel._setup import setup
handle = setup("metallm-test", ARGS["endpoint"], ARGS["protocol"])
result = metallm_calls()                  # the application's calls are untouched
api_telemetry("down")
start = time.monotonic()
flushed = handle.force_flush(**ARGS["timeout"])
flush_time = time.monotonic() - start
start = time.monotonic()
handle.shutdown(**ARGS["timeout"])
done(flushed=flushed, flush_time=flush_time, shutdown_time=time.monotonic() - start, **result)
"""


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_receiver_down_never_breaks_the_application(protocol: str) -> None:
    """The exporters keep their default 10 s timeout; the handle's own deadline bounds the wait."""
    started = time.monotonic()
    result, _, stderr = run_child(
        RECEIVER_DOWN,
        {
            "endpoint": f"http://127.0.0.1:{free_port()}",
            "protocol": protocol,
            "timeout": {"timeout_millis": 1500},
        },
    )
    assert result["content"].startswith("Hello") and result["chunks"] > 1
    assert result["flushed"] is False  # still trying when the deadline came
    assert 1.0 < result["flush_time"] < 5.0
    assert result["shutdown_time"] < 5.0
    assert "did not finish within 1500 ms" in stderr
    assert time.monotonic() - started < 30.0


def test_exporter_timeout_variable_bounds_a_default_shutdown() -> None:
    """``OTEL_EXPORTER_OTLP_TIMEOUT`` (seconds in Python) reaches the exporters."""
    result, _, _ = run_child(
        RECEIVER_DOWN,
        {"endpoint": f"http://127.0.0.1:{free_port()}", "protocol": "http/protobuf", "timeout": {}},
        {"OTEL_EXPORTER_OTLP_TIMEOUT": "1"},
    )
    assert result["content"].startswith("Hello")
    assert result["flush_time"] < 8.0 and result["shutdown_time"] < 8.0


def test_sdk_disabled_installs_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    handle = setup("metallm-test", f"http://127.0.0.1:{free_port()}", "grpc")
    assert isinstance(handle, OTelHandle)
    assert handle.installed == ()
    assert handle.tracer_provider is handle.meter_provider is handle.logger_provider is None
    assert handle.force_flush() is True
    with handle:
        pass
    handle.shutdown()


def test_import_loads_neither_sdk_nor_exporters() -> None:
    body = """
    import metallm, metallm.otel
    from metallm.otel._setup import OTelHandle, setup
    heavy = sorted(m for m in sys.modules
                   if m.startswith(("opentelemetry.sdk", "opentelemetry.exporter", "grpc")))
    done(heavy=heavy)
    """
    result, _, _ = run_child(body)
    assert result["heavy"] == []


def test_bad_configuration_is_refused_before_anything_is_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for var in [v for v in os.environ if v.startswith("OTEL_")]:
        monkeypatch.delenv(var)
    with pytest.raises(ConfigurationError, match="http/json"):
        setup(protocol="http/json")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="metric_export_interval"):
        setup(metric_export_interval=0)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "bogus")
    with pytest.raises(ConfigurationError, match="OTEL_EXPORTER_OTLP_PROTOCOL"):
        setup()


def test_protocol_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in [v for v in os.environ if v.startswith("OTEL_")]:
        monkeypatch.delenv(var)
    assert DEFAULT_PROTOCOL == "grpc"
    assert _resolve_protocol(None, "traces") == "grpc"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", " grpc ")
    assert _resolve_protocol(None, "traces") == "http/protobuf"
    assert _resolve_protocol(None, "metrics") == "grpc"  # the per-signal variable wins
    assert _resolve_protocol("grpc", "traces") == "grpc"  # the argument wins over both


def test_http_endpoint_gets_signal_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_HEADERS", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_LOGS_HEADERS", raising=False)
    http = _Exporters(
        "http://collector:4318/", None,
        {"traces": "http/protobuf", "metrics": "http/protobuf", "logs": "http/protobuf"},
    )  # fmt: skip
    assert http._kwargs("traces") == {"endpoint": "http://collector:4318/v1/traces"}
    assert http._kwargs("metrics") == {"endpoint": "http://collector:4318/v1/metrics"}
    grpc = _Exporters("http://collector:4317", {"a": "1"}, dict.fromkeys(("logs",), "grpc"))  # type: ignore[arg-type]
    assert grpc._kwargs("logs") == {"endpoint": "http://collector:4317", "headers": {"a": "1"}}
    assert _Exporters(None, None, {"traces": "grpc"})._kwargs("traces") == {}  # type: ignore[arg-type]


# --- OTEL_{TRACES,METRICS,LOGS}_EXPORTER -------------------------------------------------------


SIGNAL_CHOICE = """
from opentelemetry import _logs, metrics, trace
from metallm.otel._setup import setup
handle = setup("metallm-test", ARGS["endpoint"], "grpc", metric_export_interval=3600,
               **ARGS.get("kwargs", {}))
api_telemetry("choice")
handle.shutdown()
done(
    installed=list(handle.installed),
    exporters={signal: list(names) for signal, names in handle.exporters.items()},
    repr=repr(handle),
    globals={
        "traces": type(trace.get_tracer_provider()).__name__,
        "metrics": type(metrics.get_meter_provider()).__name__,
        "logs": type(_logs.get_logger_provider()).__name__,
    },
)
"""
PROXIES = {
    "traces": "ProxyTracerProvider",
    "metrics": "_ProxyMeterProvider",
    "logs": "ProxyLoggerProvider",
}
EXPORTER_VARS = {
    "traces": "OTEL_TRACES_EXPORTER",
    "metrics": "OTEL_METRICS_EXPORTER",
    "logs": "OTEL_LOGS_EXPORTER",
}


def _arrived(receiver: OTLPReceiver) -> dict[str, bool]:
    """Which signals of the child's ``api_telemetry("choice")`` reached the receiver."""
    return {
        "traces": "work choice" in [s.name for s in receiver.spans()],
        "metrics": "test.counter" in [m.name for m in receiver.metrics()],
        "logs": "log choice" in [r.record.body.string_value for r in receiver.logs()],
    }


@pytest.mark.parametrize("off", ["traces", "metrics", "logs"])
def test_exporter_none_installs_nothing_for_that_signal(
    grpc_receiver: OTLPReceiver, off: str
) -> None:
    result, stdout, _ = run_child(
        SIGNAL_CHOICE, {"endpoint": grpc_receiver.endpoint}, {EXPORTER_VARS[off]: " None "}
    )
    others = [s for s in ("traces", "metrics", "logs") if s != off]
    assert result["installed"] == others
    assert result["exporters"] == {signal: ["otlp"] for signal in others}
    assert result["globals"][off] == PROXIES[off]  # no SDK provider at all, not a silent one
    assert all(result["globals"][s] != PROXIES[s] for s in others)
    assert _arrived(grpc_receiver) == {s: s != off for s in ("traces", "metrics", "logs")}
    assert not grpc_receiver.requests[off]
    assert "work choice" not in stdout  # nothing printed either


def test_console_exporter_prints_spans_instead_of_exporting(grpc_receiver: OTLPReceiver) -> None:
    result, stdout, _ = run_child(
        SIGNAL_CHOICE, {"endpoint": grpc_receiver.endpoint}, {"OTEL_TRACES_EXPORTER": "console"}
    )
    assert result["exporters"] == {"traces": ["console"], "metrics": ["otlp"], "logs": ["otlp"]}
    assert "'traces': ('console',)" in result["repr"]
    assert '"name": "work choice"' in stdout
    assert "test.counter" not in stdout and "log choice" not in stdout  # only traces print
    assert _arrived(grpc_receiver) == {"traces": False, "metrics": True, "logs": True}


def test_otlp_and_console_together_do_both(grpc_receiver: OTLPReceiver) -> None:
    result, stdout, _ = run_child(
        SIGNAL_CHOICE,
        {"endpoint": grpc_receiver.endpoint},
        {"OTEL_TRACES_EXPORTER": " OTLP , Console ", "OTEL_LOGS_EXPORTER": "console,otlp"},
    )
    assert result["exporters"] == {
        "traces": ["otlp", "console"],
        "metrics": ["otlp"],
        "logs": ["console", "otlp"],
    }
    assert '"name": "work choice"' in stdout and "log choice" in stdout
    assert _arrived(grpc_receiver) == {"traces": True, "metrics": True, "logs": True}


def test_arguments_win_over_exporter_variables(grpc_receiver: OTLPReceiver) -> None:
    """``traces=False`` beats the variable (even a bad one); ``console=True`` adds, even to
    a signal whose variable says ``none``."""
    result, stdout, _ = run_child(
        SIGNAL_CHOICE,
        {"endpoint": grpc_receiver.endpoint, "kwargs": {"traces": False, "console": True}},
        {"OTEL_TRACES_EXPORTER": "zipkin", "OTEL_LOGS_EXPORTER": "none"},
    )
    assert result["installed"] == ["metrics", "logs"]
    assert result["globals"]["traces"] == PROXIES["traces"]
    assert result["exporters"] == {"metrics": ["otlp", "console"], "logs": ["console"]}
    assert "work choice" not in stdout
    assert "test.counter" in stdout and "log choice" in stdout
    assert _arrived(grpc_receiver) == {"traces": False, "metrics": True, "logs": False}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("zipkin", "unknown exporter 'zipkin'"),
        ("otlp, prometheus", "unknown exporter 'prometheus'"),
        ("otlp,none", "cannot be combined"),
        ("otlp_proto_http", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL"),
    ],
)
def test_unknown_exporter_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch, value: str, message: str
) -> None:
    """Refused before anything is installed (this process keeps its placeholder providers)."""
    for var in [v for v in os.environ if v.startswith("OTEL_")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", value)
    with pytest.raises(ConfigurationError) as caught:
        setup(endpoint=f"http://127.0.0.1:{free_port()}")
    text = str(caught.value)
    assert f"OTEL_METRICS_EXPORTER={value.strip()!r}" in text and message in text
    from opentelemetry import trace

    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
    # a signal the arguments turn off never reads its variable
    assert setup(traces=False, metrics=False, logs=False).installed == ()


def test_exporter_selection_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in EXPORTER_VARS.values():
        monkeypatch.delenv(var, raising=False)
    assert select_exporters("traces", enabled=True, console=False) == ("otlp",)  # unset
    assert select_exporters("traces", enabled=True, console=True) == ("otlp", "console")
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "  ")
    assert select_exporters("traces", enabled=True, console=False) == ("otlp",)  # blank
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console, CONSOLE,")
    assert select_exporters("traces", enabled=True, console=True) == ("console",)
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "NONE")
    assert select_exporters("traces", enabled=True, console=False) == ()
    assert select_exporters("traces", enabled=True, console=True) == ("console",)
    assert select_exporters("traces", enabled=False, console=True) == ()
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "bogus")
    assert select_exporters("traces", enabled=False, console=False) == ()  # not read


def test_protocol_is_read_only_for_signals_that_export_otlp(grpc_receiver: OTLPReceiver) -> None:
    """As in the SDK: a console-only signal does not care what OTLP protocol is configured."""
    result, _, _ = run_child(
        SIGNAL_CHOICE,
        {"endpoint": grpc_receiver.endpoint},
        {
            "OTEL_TRACES_EXPORTER": "console",
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json",
        },
    )
    assert result["exporters"]["traces"] == ["console"]
    assert _arrived(grpc_receiver)["metrics"]


# --- collector-config.yaml ----------------------------------------------------------------------


def test_collector_config_is_consistent() -> None:
    config = yaml.safe_load((ROOT / "collector-config.yaml").read_text())
    receivers, processors, exporters = (config[k] for k in ("receivers", "processors", "exporters"))
    service = config["service"]
    pipelines = service["pipelines"]
    assert {name.split("/")[0] for name in pipelines} == {"traces", "metrics", "logs"}
    for name, pipeline in pipelines.items():
        assert pipeline["receivers"] and pipeline["exporters"], name
        assert set(pipeline["receivers"]) <= set(receivers), name
        assert set(pipeline.get("processors", [])) <= set(processors), name
        assert set(pipeline["exporters"]) <= set(exporters), name
        assert pipeline["processors"][0] == "memory_limiter", name  # must come first
    assert set(service.get("extensions", [])) <= set(config.get("extensions", {}))

    protocols = receivers["otlp"]["protocols"]
    assert protocols["grpc"]["endpoint"].endswith(":4317")
    assert protocols["http"]["endpoint"].endswith(":4318")
    assert {"memory_limiter", "batch"} <= set(processors)
    assert exporters["debug"]["verbosity"] == "detailed"
    assert exporters["prometheus"]["endpoint"].endswith(":8889")
    backend = next(v for k, v in exporters.items() if k in ("otlp/jaeger", "otlp/tempo"))
    assert backend["tls"]["insecure"] is True
    assert "prometheus" in pipelines["metrics"]["exporters"]
    assert any(e.startswith("otlp/") for e in pipelines["traces"]["exporters"])
