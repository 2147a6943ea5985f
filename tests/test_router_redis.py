"""Routers sharing their limits and breakers through a real redis-server: eight worker
processes under one requests-per-minute limit, two routers seeing one breaker, and a router
that keeps answering while Redis is stopped (sync and async)."""

from __future__ import annotations

import bisect
import logging
import multiprocessing
import uuid
from collections.abc import Iterator

import pytest

import _router_worker
import metallm
from _helpers import MODES
from _redis_server import RedisServer
from _router_helpers import Harness, target
from metallm.testing import FakeLLMServer, ScriptedReply

R = ScriptedReply
WORKERS = 8


@pytest.mark.timeout(180)
def test_eight_router_processes_send_at_most_the_shared_limit(redis_server: RedisServer) -> None:
    prefix, span = f"test:router:{uuid.uuid4().hex}", 130.0  # about two minutes of the clock
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(WORKERS), ctx.Queue()
    with FakeLLMServer() as server:
        procs = [
            ctx.Process(
                target=_router_worker.route,
                args=(redis_server.url, prefix, server.base_url("openai"), span, barrier, out),
            )
            for _ in range(WORKERS)
        ]
        for p in procs:
            p.start()
        reports = [out.get(timeout=150) for _ in procs]
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()  # our own child, by its handle
        received = len(server.requests)
    assert [p.exitcode for p in procs] == [0] * WORKERS
    times = sorted(t for sent, _, _ in reports for t in sent)
    assert received == len(times) + WORKERS  # every send arrived (and each worker's warm-up)
    # A send follows its admission by at most `lag` (clock seconds, measured), so the sends
    # of any window of 60 - lag seconds were admitted within one window of 60 s: that is what
    # the limit bounds, whatever the load on this machine delays between the two.
    lag = max(lag for _, _, lag in reports)
    assert lag < 20.0, lag
    width = 60.0 - lag
    busiest = max(bisect.bisect_right(times, t + width) - i for i, t in enumerate(times))
    assert busiest <= 60, (busiest, lag)  # never more than allowed, all processes together
    assert busiest >= min(50, 0.8 * width)  # and the limit was used, not just respected
    assert sum(refused for _, refused, _ in reports) > 0  # the others were held back
    assert sum(1 for sent, _, _ in reports if sent) >= 2


@pytest.fixture
def a() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as server:
        yield server


@pytest.fixture
def b() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as server:
        yield server


@pytest.mark.parametrize("mode", MODES)
def test_two_routers_share_one_breaker(
    mode: str, redis_server: RedisServer, a: FakeLLMServer, b: FakeLLMServer
) -> None:
    prefix = f"test:router:{uuid.uuid4().hex}"
    breaker = metallm.CircuitBreaker(failure_threshold=2, recovery_time=60.0)

    def router() -> Harness:
        targets = [
            target(a, "openai", name="oai", retry=metallm.RetryPolicy.none()),
            target(b, "anthropic", name="claude"),
        ]
        state = metallm.RedisRouterState(redis_server.url, prefix=prefix)
        return Harness(mode, targets, state=state, circuit_breaker=breaker)

    with router() as first, router() as second:
        a.enqueue(R.error(503, "down"), R.error(503, "down"))
        assert first.chat().provider == "anthropic"
        assert second.chat().provider == "anthropic"  # the second failure, in another router
        sent = len(a.requests)
        assert first.chat().provider == "anthropic" and second.chat().provider == "anthropic"
        assert len(a.requests) == sent  # the shared circuit is open for both


@pytest.mark.parametrize("mode", MODES)
def test_a_router_keeps_answering_while_redis_is_stopped(
    mode: str, a: FakeLLMServer, caplog: pytest.LogCaptureFixture
) -> None:
    own = RedisServer().start()
    try:
        state = metallm.RedisRouterState(own.url, prefix="test:router:outage",
                                         socket_timeout=0.3, connect_timeout=0.3)  # fmt: skip
        limits = metallm.RateLimit(requests_per_minute=1000, max_concurrency=4)
        with (
            caplog.at_level(logging.WARNING, "metallm"),
            Harness(mode, [target(a, "openai", name="oai", limits=limits)], state=state) as h,
        ):
            assert h.chat().provider == "openai"
            own.stop()  # mid-run, by its PID
            answers = [h.chat().provider for _ in range(5)]
            stream_text, _, _ = h.stream()
        assert answers == ["openai"] * 5 and stream_text
        outage = [r for r in caplog.records if "redis" in r.getMessage().lower()]
        assert len(outage) == 1  # logged once
    finally:
        own.stop()
