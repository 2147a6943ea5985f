"""MetricsCollector: exact counts and percentiles, thread and task safety, beside other hooks."""

from __future__ import annotations

import asyncio
import gc
import logging
import random
import threading
import types
from typing import Any

import pytest

import metallm
import metallm.hooks
from _helpers import MODES, complete, stream, user
from metallm.logging_hook import LoggingHook
from metallm.metrics_collector import LatencyStats, MetricsCollector, ModelStats
from metallm.testing import FakeLLMServer, ScriptedReply, ScriptedUsage
from metallm.testing.fake_provider import FakeProvider

NOW = 1000.0


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """``info.elapsed`` reads a perf_counter stuck at NOW (only where LLMCallInfo lives)."""
    import time

    fake = types.SimpleNamespace(perf_counter=lambda: NOW, time=time.time)
    monkeypatch.setattr(metallm.hooks._info, "time", fake)


def _req(model: str = "m") -> metallm.ChatCompletionRequest:
    return metallm.ChatCompletionRequest(model=model, messages=[user("hi")])


def _usage(i: int, o: int) -> metallm.ChatCompletionResponse:
    usage = metallm.Usage(prompt_tokens=i, completion_tokens=o, total_tokens=i + o)
    return metallm.ChatCompletionResponse(model="m", usage=usage)


def _record(
    collector: MetricsCollector,
    duration: float,
    *,
    provider: str = "p",
    model: str = "m",
    ttfc: float | None = None,
    error: BaseException | None = None,
    response: metallm.ChatCompletionResponse | None = None,
    retries: int = 0,
) -> None:
    """One finished call lasting ``duration`` seconds (under the frozen clock)."""
    info = metallm.LLMCallInfo("call-x", provider, model, start_time=0.0, start_perf=NOW - duration)
    info.streaming = ttfc is not None
    info.time_to_first_chunk = ttfc
    info.retries = retries
    collector.after_response(info, _req(model), response, error)


def test_is_an_observability_hook_and_validates_window() -> None:
    assert isinstance(MetricsCollector(), metallm.ObservabilityHook)
    with pytest.raises(ValueError, match="window"):
        MetricsCollector(window=0)


@pytest.mark.usefixtures("frozen_clock")
def test_percentiles_are_nearest_rank_over_known_values() -> None:
    collector = MetricsCollector()
    durations = [k / 128 for k in range(1, 101)]  # exact binary fractions: 1/128 ... 100/128
    random.Random(7).shuffle(durations)
    for i, d in enumerate(durations):
        _record(collector, d, ttfc=d / 2 if i % 2 else None)
    st = collector.stats("p", "m")
    assert st is not None and st.duration is not None
    assert st.duration == LatencyStats(
        count=100, min=1 / 128, max=100 / 128, mean=50.5 / 128,
        p50=50 / 128, p90=90 / 128, p99=99 / 128,
    )  # fmt: skip
    assert st.streams == 50
    ttfc = st.time_to_first_chunk
    assert ttfc is not None and ttfc.count == 50
    expected = sorted(d / 2 for i, d in enumerate(durations) if i % 2)
    assert (ttfc.min, ttfc.max) == (expected[0], expected[-1])
    assert (ttfc.p50, ttfc.p90, ttfc.p99) == (expected[24], expected[44], expected[49])


def test_latency_stats_small_samples() -> None:
    assert LatencyStats.of([]) is None
    one = LatencyStats.of([0.25])
    assert one == LatencyStats(1, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25)
    three = LatencyStats.of([0.75, 0.25, 0.5])
    assert three is not None
    assert (three.p50, three.p90, three.p99, three.mean) == (0.5, 0.75, 0.75, 0.5)


@pytest.mark.usefixtures("frozen_clock")
def test_window_keeps_only_the_most_recent_values_but_counts_all() -> None:
    collector = MetricsCollector(window=5)
    for k in range(1, 13):
        _record(collector, k / 4, ttfc=k / 8)
    st = collector.stats("p", "m")
    assert st is not None and st.duration is not None and st.time_to_first_chunk is not None
    assert st.calls == st.streams == 12
    assert st.duration.count == 5
    assert (st.duration.min, st.duration.max, st.duration.p50) == (8 / 4, 12 / 4, 10 / 4)
    assert st.time_to_first_chunk.count == 5 and st.time_to_first_chunk.min == 8 / 8


@pytest.mark.usefixtures("frozen_clock")
def test_counts_tokens_errors_keys_totals_and_reset() -> None:
    collector = MetricsCollector()
    _record(collector, 0.5, response=_usage(10, 5), retries=2)
    _record(collector, 0.25, error=metallm.RateLimitError("x", status_code=429), retries=1)
    _record(collector, 0.125, error=metallm.RateLimitError("y", status_code=429))
    _record(collector, 1.0, provider="q", model="big", error=TimeoutError())
    _record(collector, 0.75, provider="q", model="big", response=_usage(3, 4), ttfc=0.5)
    snap = collector.snapshot()
    assert list(snap) == [("p", "m"), ("q", "big")]
    pm = snap["p", "m"]
    assert (pm.calls, pm.errors, pm.retries, pm.streams) == (3, 2, 3, 0)
    assert dict(pm.errors_by_type) == {"RateLimitError": 2}
    assert (pm.input_tokens, pm.output_tokens, pm.total_tokens) == (10, 5, 15)
    assert pm.error_rate == pytest.approx(2 / 3)
    assert pm.time_to_first_chunk is None
    assert collector.stats("q", "big") == snap["q", "big"]
    assert collector.stats("q", "m") is None
    total = collector.totals()
    assert (total.provider, total.model, total.calls, total.errors) == ("*", "*", 5, 3)
    assert dict(total.errors_by_type) == {"RateLimitError": 2, "TimeoutError": 1}
    assert (total.input_tokens, total.output_tokens, total.total_tokens) == (13, 9, 22)
    assert total.duration is not None
    assert (total.duration.count, total.duration.p50, total.duration.max) == (5, 0.5, 1.0)
    collector.reset()
    assert collector.snapshot() == {}
    assert collector.totals() == ModelStats("*", "*")
    assert collector.totals().error_rate == 0.0
    assert collector.render() == "(no calls recorded)"


@pytest.mark.usefixtures("frozen_clock")
def test_render_is_an_aligned_table_with_a_total_row() -> None:
    collector = MetricsCollector()
    _record(collector, 0.5, provider="openai", model="gpt-4o", response=_usage(12, 34))
    _record(collector, 0.25, provider="openai", model="gpt-4o", ttfc=0.125)
    assert collector.render().splitlines() == [
        "provider/model  calls  errors  streams  retries  in tok  out tok  p50 ms  p90 ms"
        "  p99 ms  max ms  ttfc p50 ms",
        "openai/gpt-4o       2       0        1        0      12       34   250.0   500.0"
        "   500.0   500.0        125.0",
    ]
    _record(collector, 1.0, provider="xai", model="grok-4", error=RuntimeError())
    lines = collector.render().splitlines()
    assert [line.split()[0] for line in lines] == [
        "provider/model",
        "openai/gpt-4o",
        "xai/grok-4",
        "total",
    ]
    assert lines[2].split()[1:] == ["1", "1", "0", "0", "0", "0", *["1000.0"] * 4, "-"]
    assert lines[3].split()[1:4] == ["3", "1", "1"]
    assert len({len(line) for line in lines}) == 1  # every column right-aligned to one width


def test_threads_recording_at_once_lose_nothing() -> None:
    collector = MetricsCollector(window=100)
    threads_n, per_thread = 8, 2000
    barrier = threading.Barrier(threads_n + 1)
    stop = threading.Event()

    def work(i: int) -> None:
        info = metallm.LLMCallInfo.start(f"p{i % 2}", "m", streaming=False, is_async=False)
        response, error = _usage(2, 3), metallm.RateLimitError("x", status_code=429)
        barrier.wait()
        for n in range(per_thread):
            collector.after_response(info, _req(), response, error if n % 4 == 0 else None)

    def read() -> None:
        barrier.wait()
        while not stop.is_set():
            collector.snapshot()
            collector.render()

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads_n)]
    reader = threading.Thread(target=read)
    for t in [*workers, reader]:
        t.start()
    for t in workers:
        t.join()
    stop.set()
    reader.join()
    total = collector.totals()
    calls = threads_n * per_thread
    assert total.calls == calls and total.errors == calls // 4
    assert (total.input_tokens, total.output_tokens, total.total_tokens) == (
        2 * calls,
        3 * calls,
        5 * calls,
    )
    assert {k: s.calls for k, s in collector.snapshot().items()} == {
        ("p0", "m"): calls // 2,
        ("p1", "m"): calls // 2,
    }
    assert total.duration is not None and total.duration.count == 200  # two keys x window


def test_concurrent_asyncio_calls_are_all_counted() -> None:
    collector = MetricsCollector()
    provider = FakeProvider(["answer number " + str(i) for i in range(40)])

    async def go() -> None:
        async with metallm.AsyncClient(custom_provider=provider, hooks=[collector]) as client:
            await asyncio.gather(*(client.create_chat_completion(_req()) for _ in range(40)))

    asyncio.run(go())
    st = collector.stats("fake", "m")
    assert st is not None and st.calls == 40 and st.errors == 0
    assert (st.input_tokens, st.output_tokens) == (40, 120)


@pytest.mark.parametrize("mode", MODES)
def test_through_the_client_plain_streams_retries_and_failures(mode: str) -> None:
    collector = MetricsCollector()
    provider = FakeProvider(
        [
            "one two",
            metallm.RateLimitError("busy", status_code=429),
            "three four five",
            "a streamed reply",
            "a long streamed reply that is closed early",
            metallm.InternalServerError("boom", status_code=500),
        ]
    )
    policy = metallm.RetryPolicy(max_retries=1, initial_backoff=0, jitter=0)
    kwargs = {"custom_provider": provider, "hooks": [collector], "retry": policy}
    complete(mode, kwargs, _req())
    complete(mode, kwargs, _req())  # one retry, then success
    stream(mode, kwargs, _req())
    stream(mode, kwargs, _req(), take=2)
    kwargs["retry"] = metallm.RetryPolicy.none()
    with pytest.raises(metallm.InternalServerError):
        complete(mode, kwargs, _req())
    st = collector.stats("fake", "m")
    assert st is not None
    assert (st.calls, st.errors, st.streams, st.retries) == (5, 1, 2, 1)
    assert dict(st.errors_by_type) == {"InternalServerError": 1}
    assert (st.input_tokens, st.output_tokens, st.total_tokens) == (2, 5, 7)
    assert st.duration is not None and st.duration.count == 5
    assert st.time_to_first_chunk is not None and st.time_to_first_chunk.count == 2
    assert st.time_to_first_chunk.max <= st.duration.max


def test_garbage_collected_stream_counts_as_a_stream_error() -> None:
    collector = MetricsCollector()
    client = metallm.Client(custom_provider=FakeProvider(["abandoned reply"]), hooks=[collector])
    s = client.create_chat_completion_stream(_req())
    next(s)
    del s
    gc.collect()
    st = collector.totals()
    assert (st.calls, st.streams, st.errors) == (1, 1, 1)
    assert dict(st.errors_by_type) == {"StreamError": 1}


class BrokenHook:
    """A hook whose every method raises."""

    def before_request(self, info: Any, request: Any) -> None:
        raise RuntimeError("broken before")

    def after_response(self, info: Any, request: Any, response: Any, error: Any) -> None:
        raise RuntimeError("broken after")

    def wrap_stream(self, info: Any, request: Any, stream: Any) -> Any:
        raise RuntimeError("broken wrap")


@pytest.mark.parametrize("mode", MODES)
def test_beside_other_hooks_and_a_failing_one_over_http(mode: str) -> None:
    logger = logging.getLogger("test.metrics.side_by_side")
    logger.setLevel(logging.INFO)
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger.addHandler(handler)
    collector = MetricsCollector()
    try:
        with FakeLLMServer() as server:
            server.enqueue(
                ScriptedReply(text="first", usage=ScriptedUsage(4, 1)),
                ScriptedReply(text="second reply", chunk_size=3, usage=ScriptedUsage(6, 2)),
            )
            kwargs = {
                "provider": "openai",
                "base_url": server.base_url("openai"),
                "api_key": "sk-test-SECRET-123456",
                "hooks": [BrokenHook(), LoggingHook(logger), collector, BrokenHook()],
            }
            assert complete(mode, kwargs, _req("gpt-4o")).content == "first"
            _, final = stream(mode, kwargs, _req("gpt-4o"))
            assert final.content == "second reply"
    finally:
        logger.removeHandler(handler)
    st = collector.stats("openai", "gpt-4o")
    assert st is not None and (st.calls, st.streams, st.errors) == (2, 1, 0)
    assert (st.input_tokens, st.output_tokens, st.total_tokens) == (10, 3, 13)
    assert [r.llm_end_reason for r in records] == ["complete", "complete"]
    assert [r.llm_total_tokens for r in records] == [5, 8]
