"""metallm's telemetry glue against the OpenTelemetry SDK's own floor, in one run.

``.venv/bin/python benchmarks/telemetry_floor.py [--rounds N]`` measures, in interleaved rounds
of CPU time (medians; ``httpx.MockTransport`` as ``offline_ab.py``, so no socket or server
process adds noise):

1. the SDK's floor: a bare SDK span with exactly the attributes metallm puts on a chat span
   (the start attributes at ``start_span``, the rest by one ``set_attributes``), ended, plus the
   three histogram records the conventions ask per call (duration, input and output tokens)
   with metallm's attribute sets; and one ``time_per_output_chunk`` record alone, the
   per-chunk floor, both without a context (no exemplar: no span is current) and with the
   call's span context passed (``context=``, so the SDK's trace-based exemplar filter offers
   an exemplar, as it does for a record made inside the span);
2. plain metallm (no SDK) per call and per chunk;
3. metallm with ``OTelHook`` on such an SDK.

The attribute sets are not written here: they are captured from one real metallm call and one
real stream on a separate SDK pair (a span processor copies the span's attributes at start and
at end; an in-memory metric reader gives each histogram's attribute sets), so the floor tracks
whatever metallm emits. Both SDK pairs are built as ``telemetry.py`` builds them
(``BatchSpanProcessor`` over an exporter that drops, ``InMemoryMetricReader``), one per row.

The reported figures are the gaps: per call, metallm + SDK minus plain metallm minus the
floor; per chunk, the same minus one record. The per-call floor is printed three ways: the
conventions' three records alone in a tight loop; the same telemetry metallm emits (every
record, the cost one too, with the span's context) in a tight loop; and that same telemetry
made right after each plain metallm call (``metallm call, then the floor`` minus ``metallm
call``), which is the fair one: inside a real call the SDK's code and data are no longer hot
in the CPU caches, and the same SDK calls cost about half as much again as in a tight loop.
Targets (DESIGN.md section 9): per chunk at most
one record + 2 us above plain metallm, per call at most the floor + 10 %. Not run by
``make bench``; ``tests/test_benchmarks_smoke.py`` runs it once, small.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from offline_ab import _URL, _handler
from sessions import API_KEY, MESSAGES, MODEL
from telemetry import sdk_providers
from timing import median, quiet, rotated

__all__ = ["Measured", "main", "measure"]

FLOOR = "SDK floor"
METALLM_SDK = "metallm + SDK (floor run)"
BY_HAND = "SDK by hand (floor run)"


class _Captured:
    """What one real metallm call put on its span and into each histogram."""

    def __init__(self) -> None:
        self.name = ""
        self.start: dict[str, Any] = {}
        self.end: dict[str, Any] = {}
        self.metrics: dict[str, list[dict[str, Any]]] = {}


def _capture(stream: bool, handler: Callable[[httpx.Request], httpx.Response]) -> _Captured:
    """Run one metallm call (or stream) on a throw-away SDK pair and read what it emitted."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider

    import metallm
    from metallm.otel import OTelHook

    captured = _Captured()

    class Copier(SpanProcessor):
        def on_start(self, span: Span, parent_context: Any = None) -> None:
            captured.name = span.name
            captured.start = dict(span.attributes or {})

        def on_end(self, span: ReadableSpan) -> None:
            everything = dict(span.attributes or {})
            captured.end = {k: v for k, v in everything.items() if captured.start.get(k) != v}

    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(Copier())
    reader = InMemoryMetricReader()
    hook = OTelHook(tracer_provider=tracer_provider,
                    meter_provider=MeterProvider(metric_readers=[reader]))
    client = metallm.Client(provider="openai", base_url=_URL, api_key=API_KEY, hooks=[hook],
                            http_client=httpx.Client(transport=httpx.MockTransport(handler)))
    if stream:
        with client.create_chat_completion_stream(model=MODEL, messages=MESSAGES) as chunks:
            for _ in chunks:
                pass
    else:
        client.create_chat_completion(model=MODEL, messages=MESSAGES)
    data = reader.get_metrics_data()
    for resource in data.resource_metrics if data is not None else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                captured.metrics[metric.name] = [
                    dict(point.attributes or {}) for point in metric.data.data_points
                ]
    return captured


def _floor(call: _Captured, chunk: _Captured, row: str = FLOOR) -> dict[str, Any]:
    """The SDK's own work: one span and the records per call, one record per chunk.

    ``call``: the span and the conventions' three records (duration, input and output tokens),
    no context given (nothing is current: no exemplar). ``same telemetry``: the span and every
    record metallm makes for that call (the cost histogram too), each with the span's context
    (so exemplars link to it, as metallm's do): the same telemetry metallm emits, made with
    nothing but SDK calls.
    """
    from opentelemetry import trace
    from opentelemetry.trace import SpanKind

    tracer_provider, meter_provider = sdk_providers(row)
    tracer = trace.get_tracer("floor", "0", tracer_provider)
    meter = meter_provider.get_meter("floor", "0")
    instruments = {name: meter.create_histogram(name) for name in {*call.metrics, *chunk.metrics}}
    duration = instruments["gen_ai.client.operation.duration"]
    tokens = instruments["gen_ai.client.token.usage"]
    tpoc = instruments["gen_ai.client.operation.time_per_output_chunk"]
    (duration_attrs,) = call.metrics["gen_ai.client.operation.duration"]
    token_sets = call.metrics["gen_ai.client.token.usage"]
    if len(token_sets) != 2:
        raise RuntimeError(f"expected two token attribute sets, got {token_sets!r}")
    (chunk_attrs,) = chunk.metrics["gen_ai.client.operation.time_per_output_chunk"]
    every_record = [(instruments[name], attrs) for name, sets in call.metrics.items()
                    for attrs in sets]
    name, start, end = call.name, call.start, call.end
    input_attrs, output_attrs = token_sets
    span_ctx = trace.set_span_in_context(tracer.start_span("chunk parent"))

    def one_call() -> None:
        span = tracer.start_span(name, kind=SpanKind.CLIENT, attributes=start)
        span.set_attributes(end)
        span.end()
        duration.record(0.01, duration_attrs)
        tokens.record(10, input_attrs)
        tokens.record(20, output_attrs)

    def same_telemetry() -> None:
        span = tracer.start_span(name, kind=SpanKind.CLIENT, attributes=start)
        span.set_attributes(end)
        span.end()
        context = trace.set_span_in_context(span)
        for instrument, attrs in every_record:
            instrument.record(0.01, attrs, context)

    def around(work: Callable[[], Any]) -> Callable[[], Any]:
        """The same telemetry made by hand around ``work`` (a plain metallm call), each SDK
        call where the call's own must be: the span started before the request and current
        while it runs (as an HTTP instrumentation's spans need), ended and recorded after."""
        from opentelemetry import context as otel_context

        def run() -> None:
            span = tracer.start_span(name, kind=SpanKind.CLIENT, attributes=start)
            context = trace.set_span_in_context(span)
            token = otel_context.attach(context)
            try:
                work()
            finally:
                otel_context.detach(token)
            span.set_attributes(end)
            span.end()
            for instrument, attrs in every_record:
                instrument.record(0.01, attrs, context)

        return run

    def records(context: Any) -> Callable[[], Any]:
        def run() -> None:
            record = tpoc.record
            for _ in range(1000):
                record(0.001, chunk_attrs, context)

        return run

    return {"call": one_call, "same telemetry": same_telemetry, "around": around,
            "record": records(None),
            "record with context": records(span_ctx), "records": len(every_record)}


class _Metallm:
    """One metallm client whose hooks the rows swap: plain (the default hook, no SDK behind
    the API) or ``OTelHook`` on an SDK pair.

    One client serves both rows, because two clients built alike differ by several
    microseconds per call when calls alternate between them (+7 us measured here: each brings
    its own objects into the CPU caches), which a two-client comparison would charge to the
    telemetry. The chain is swapped once per timed block (``Exchange.hooks``, the only thing
    the rows change), never per call.
    """

    def __init__(self, handler: Callable[[httpx.Request], httpx.Response], hook: Any) -> None:
        import metallm
        from metallm.hooks import HookChain

        self.client = metallm.Client(
            provider="openai", base_url=_URL, api_key=API_KEY,
            http_client=httpx.Client(transport=httpx.MockTransport(handler)))
        self.plain_hooks = self.client._exchange.hooks
        self.sdk_hooks = HookChain([hook], self.client.logger)

    def rows(self, sdk: bool) -> tuple[Callable[[], Any], Callable[[], Any]]:
        """``(one call, one stream)`` on the plain or the SDK chain."""
        client, hooks = self.client, self.sdk_hooks if sdk else self.plain_hooks

        def call() -> None:
            client._exchange.hooks = hooks
            client.create_chat_completion(model=MODEL, messages=MESSAGES)

        def stream() -> None:
            client._exchange.hooks = hooks
            with client.create_chat_completion_stream(model=MODEL, messages=MESSAGES) as chunks:
                for _ in chunks:
                    pass

        return call, stream


def _cpu_us(work: Callable[[], Any], repeat: int) -> float:
    """This thread's CPU microseconds per ``work()`` over ``repeat`` runs, from a clean heap
    and with the cyclic garbage collector paused, as ``timeit`` does: inside ``make bench``
    the heap holds every earlier figure's objects, and a full collection landing in one block
    would charge that heap's size to whichever row it interrupted."""
    quiet()
    gc.disable()
    try:
        start = time.thread_time()
        for _ in range(repeat):
            work()
        return (time.thread_time() - start) / repeat * 1e6
    finally:
        gc.enable()


@dataclass
class Measured:
    """One run's medians (``us``), every round's sample, and how many records the floor's
    "same telemetry" makes per call."""

    rounds: int
    calls: int
    chunks: int
    records: int
    us: dict[str, float]
    samples: dict[str, list[float]]

    @property
    def same(self) -> str:
        return f"floor: span + {self.records} records, ctx"

    def added(self, kind: str) -> float:
        """What the SDK adds to plain metallm per ``call`` or per ``chunk``."""
        return self.us[f"metallm + SDK {kind}"] - self.us[f"metallm {kind}"]

    def by_hand(self) -> float:
        """The fair per-call floor: the SDK's telemetry by hand around a plain call."""
        return self.us["metallm call, SDK by hand"] - self.us["metallm call"]

    def min_ratio(self) -> float:
        """Per call, what the SDK adds over the floor by hand, each row's fastest round: the
        least disturbed block of each, steadier than medians when the host's load moves."""
        fastest = {name: min(values) for name, values in self.samples.items()}
        plain = fastest["metallm call"]
        return (fastest["metallm + SDK call"] - plain) / (fastest["metallm call, SDK by hand"]
                                                           - plain)

    def paired(self, row: str) -> tuple[float, float, float]:
        """Quartiles of ``metallm + SDK call`` minus ``row``, round by round."""
        gaps = [sdk - other for sdk, other in
                zip(self.samples["metallm + SDK call"], self.samples[row], strict=True)]
        if len(gaps) < 2:
            return gaps[0], gaps[0], gaps[0]
        low, mid, high = statistics.quantiles(gaps, n=4)
        return low, mid, high


def measure(rounds: int, calls: int, chunks: int) -> Measured:
    """Every row, in ``rounds`` interleaved rounds of thread CPU time."""
    from metallm.otel import OTelHook

    handler = _handler(chunks)
    captured = _capture(False, handler), _capture(True, _handler(8))
    floor = _floor(*captured)
    # The floor by hand gets an SDK pair of its own, as metallm's row has, so both rows'
    # pipelines (span queue, aggregations, exemplar reservoirs) hold only their own calls'
    # telemetry, not the tight-loop floor rows' as well.
    by_hand_floor = _floor(*captured, row=BY_HAND)
    tracer_provider, meter_provider = sdk_providers(METALLM_SDK)
    hook = OTelHook(tracer_provider=tracer_provider, meter_provider=meter_provider)
    both = _Metallm(handler, hook)
    plain_call, plain_stream = both.rows(sdk=False)
    sdk_call, sdk_stream = both.rows(sdk=True)
    same_telemetry = floor["same telemetry"]

    def plain_then_floor() -> None:
        plain_call()
        same_telemetry()

    by_hand = by_hand_floor["around"](plain_call)
    per_chunk = 1 / chunks
    # name -> (work, repeat, divisor: how many units one work() is)
    rows: dict[str, tuple[Callable[[], Any], int, float]] = {
        "floor: span + 3 records": (floor["call"], calls, 1.0),
        f"floor: span + {floor['records']} records, ctx": (floor["same telemetry"], calls, 1.0),
        "floor: 1 record": (floor["record"], max(1, calls // 100), 1 / 1000),
        "floor: 1 record, context=": (floor["record with context"], max(1, calls // 100),
                                      1 / 1000),
        "metallm call": (plain_call, calls, 1.0),
        "metallm + SDK call": (sdk_call, calls, 1.0),
        "metallm call, then the floor": (plain_then_floor, calls, 1.0),
        "metallm call, SDK by hand": (by_hand, calls, 1.0),
        "metallm chunk": (plain_stream, 1, per_chunk),
        "metallm + SDK chunk": (sdk_stream, 1, per_chunk),
    }
    names = list(rows)
    for work, repeat, _ in rows.values():  # warm-up
        _cpu_us(work, max(1, repeat // 10))
    samples: dict[str, list[float]] = {name: [] for name in names}
    for round_index in range(rounds):
        for name in rotated(names, round_index):
            work, repeat, unit = rows[name]
            samples[name].append(_cpu_us(work, repeat) * unit)
    us = {name: median(values) for name, values in samples.items()}
    return Measured(rounds, calls, chunks, int(floor["records"]), us, samples)


def main(argv: Sequence[str] | None = None) -> int:
    """Measure and print the floor, metallm with and without the SDK, and the gaps."""
    parser = argparse.ArgumentParser(prog="benchmarks/telemetry_floor.py")
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--calls", type=int, default=1000, help="calls per round")
    parser.add_argument("--chunks", type=int, default=5000, help="chunks per stream")
    args = parser.parse_args(argv)
    m = measure(args.rounds, args.calls, args.chunks)
    us = m.us
    print(f"CPU time, median of {m.rounds} interleaved rounds, httpx.MockTransport,"
          f" {m.calls} calls and {m.chunks}-chunk streams per round")
    print(f"{'measured':30} {'us':>9}")
    for name, value in us.items():
        print(f"{name:30} {value:9.2f}")
    call_added, chunk_added = m.added("call"), m.added("chunk")
    in_a_call = us["metallm call, then the floor"] - us["metallm call"]
    for label, call_floor in (("3 records", us["floor: span + 3 records"]),
                              ("same telemetry", us[m.same]),
                              ("same telemetry in a call", in_a_call),
                              ("same telemetry by hand around a call", m.by_hand())):
        print(f"per call ({label} floor): metallm + SDK adds {call_added:.1f} us over plain"
              f" metallm; floor {call_floor:.1f} us; gap {call_added - call_floor:+.1f} us"
              f" (ratio {call_added / call_floor:.2f}, target <= 1.10)")
    for label, row, call_floor in (("then the floor", "metallm call, then the floor", in_a_call),
                                   ("SDK by hand", "metallm call, SDK by hand", m.by_hand())):
        low, mid, high = m.paired(row)
        print(f"per call, paired by round (metallm + SDK call minus metallm call, {label}, in"
              f" the same round): gap median {mid:+.1f} us, quartiles {low:+.1f} to"
              f" {high:+.1f} us (ratio {(call_floor + mid) / call_floor:.2f}, target <= 1.10)")
    print(f"per call, fastest round of each row: ratio {m.min_ratio():.2f} (target <= 1.10)")
    for label, chunk_floor in (("no context", us["floor: 1 record"]),
                               ("context=", us["floor: 1 record, context="])):
        print(f"per chunk ({label} floor): metallm + SDK adds {chunk_added:.2f} us over plain"
              f" metallm; floor {chunk_floor:.2f} us; gap {chunk_added - chunk_floor:+.2f} us"
              f" (target <= +2.00)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
