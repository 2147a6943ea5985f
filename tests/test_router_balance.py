"""Strategies, circuit breakers, rate limits and the router's bad-input checks, sync and async.

Distributions use in-process providers (no sockets: 1,000 calls stay fast); breakers and limits
use real sockets and a fake clock driving the router's LocalRouterState.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Iterator
from typing import Any

import pytest

import metallm
from _helpers import MODES
from _router_helpers import FakeClock, Harness, target
from metallm.testing import FakeLLMServer, FakeProvider, ScriptedReply

R = ScriptedReply


@pytest.fixture
def a() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as server:
        yield server


@pytest.fixture
def b() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as server:
        yield server


class Slow(FakeProvider):
    """An in-process provider that takes ``delay`` seconds per call."""

    def __init__(self, name: str, delay: float) -> None:
        super().__init__(name=name)
        self.delay = delay

    def create_chat_completion(self, request: Any) -> Any:
        time.sleep(self.delay)
        return super().create_chat_completion(request)

    async def acreate_chat_completion(self, request: Any) -> Any:
        await asyncio.sleep(self.delay)
        return await super().acreate_chat_completion(request)


def _fakes(*weights: float, delays: tuple[float, ...] = ()) -> list[metallm.Target]:
    return [
        metallm.Target(
            custom_provider=Slow(f"p{i}", delays[i] if delays else 0.0),
            model=f"m{i}",
            name=f"t{i}",
            weight=w,
            hooks=[],
        )
        for i, w in enumerate(weights)
    ]


def _spread(mode: str, strategy: str, calls: int, targets: list[metallm.Target], **kw: Any) -> Any:
    with Harness(mode, targets, strategy=strategy, **kw) as h:
        counts = collections.Counter(h.chat().provider for _ in range(calls))
    return counts


@pytest.mark.parametrize("mode", MODES)
def test_round_robin_spreads_evenly(mode: str) -> None:
    counts = _spread(mode, "round_robin", 999, _fakes(1, 1, 1))
    assert counts == {"p0": 333, "p1": 333, "p2": 333}


@pytest.mark.parametrize("mode", MODES)
def test_weighted_follows_the_weights_and_the_seed(mode: str) -> None:
    counts = _spread(mode, "weighted", 1000, _fakes(3, 1), seed=7)
    assert 700 <= counts["p0"] <= 800, counts  # 750 expected
    again = _spread(mode, "weighted", 1000, _fakes(3, 1), seed=7)
    assert again == counts  # deterministic with a seed


@pytest.mark.parametrize("mode", MODES)
def test_fallback_strategy_always_tries_in_order(mode: str) -> None:
    assert _spread(mode, "fallback", 1000, _fakes(1, 5)) == {"p0": 1000}


@pytest.mark.parametrize("mode", MODES)
def test_lowest_latency_prefers_the_fast_target(mode: str) -> None:
    counts = _spread(mode, "lowest_latency", 1000, _fakes(1, 1, delays=(0.002, 0.0)), seed=3)
    assert counts["p1"] >= 900, counts  # explores the slow one now and then (5 %)
    assert counts["p0"] >= 10


def test_least_busy_sends_to_the_target_with_fewest_in_flight() -> None:
    targets = _fakes(1, 1, delays=(0.05, 0.05))

    async def go() -> Any:
        async with metallm.AsyncRouter(targets=targets, strategy="least_busy", hooks=[]) as r:
            ask = [{"role": "user", "content": "x"}]
            first = asyncio.create_task(r.create_chat_completion(messages=ask))
            await asyncio.sleep(0.01)  # the first call is in flight on t0
            second = await r.create_chat_completion(messages=ask)
            return (await first).provider, second.provider

    assert asyncio.run(go()) == ("p0", "p1")


def test_least_busy_balances_1000_concurrent_calls() -> None:
    targets = _fakes(1, 1, 1, delays=(0.003, 0.001, 0.001))

    async def go() -> collections.Counter[str]:
        async with metallm.AsyncRouter(targets=targets, strategy="least_busy", hooks=[]) as r:
            ask = [{"role": "user", "content": "x"}]
            counts: collections.Counter[str] = collections.Counter()
            pool = asyncio.Semaphore(12)  # 12 calls in flight, a new one as each ends

            async def one() -> None:
                async with pool:
                    counts[(await r.create_chat_completion(messages=ask)).provider] += 1

            await asyncio.gather(*(one() for _ in range(1000)))
            return counts

    counts = asyncio.run(go())
    assert sum(counts.values()) == 1000
    assert all(counts[name] >= 100 for name in ("p0", "p1", "p2")), counts  # spread out
    # the slow target holds its calls three times as long, so it is busy more and gets fewer
    assert counts["p0"] < 0.8 * min(counts["p1"], counts["p2"]), counts


@pytest.mark.parametrize("mode", MODES)
def test_breaker_opens_half_opens_and_closes(mode: str, a: FakeLLMServer, b: FakeLLMServer) -> None:
    clock = FakeClock()
    state = metallm.LocalRouterState(clock=clock)
    targets = [
        target(a, "openai", name="oai", retry=metallm.RetryPolicy.none()),
        target(b, "anthropic", name="claude"),
    ]
    breaker = metallm.CircuitBreaker(failure_threshold=2, recovery_time=30.0)
    with Harness(mode, targets, state=state, circuit_breaker=breaker) as h:
        a.enqueue(R.error(503, "down"), R.error(503, "down"))
        assert h.chat().provider == "anthropic"
        assert h.router.stats()["oai"].breaker == "closed"
        assert h.chat().provider == "anthropic"  # the second consecutive failure opens it
        assert h.router.stats()["oai"].breaker == "open"
        before = len(a.requests)
        for _ in range(3):
            assert h.chat().provider == "anthropic"
        assert len(a.requests) == before  # open: skipped, no request sent
        clock.advance(30.0)
        a.enqueue(R.error(503, "still down"))
        assert h.chat().provider == "anthropic"  # the half-open probe failed: open again
        assert len(a.requests) == before + 1
        assert h.router.stats()["oai"].breaker == "open"
        assert h.chat().provider == "anthropic" and len(a.requests) == before + 1
        clock.advance(30.0)
        assert h.chat().provider == "openai"  # the probe succeeds: closed
        assert h.router.stats()["oai"].breaker == "closed"


@pytest.mark.parametrize("mode", MODES)
def test_request_errors_do_not_open_the_breaker(mode: str, a: FakeLLMServer) -> None:
    breaker = metallm.CircuitBreaker(failure_threshold=1, recovery_time=30.0)
    with Harness(mode, [target(a, "openai", name="oai")], circuit_breaker=breaker) as h:
        a.enqueue(R.error(400, "bad field"))
        with pytest.raises(metallm.BadRequestError):
            h.chat()
        assert h.router.stats()["oai"].breaker == "closed"
        assert h.chat().provider == "openai"


@pytest.mark.parametrize("mode", MODES)
def test_every_circuit_open_fails_fast_saying_when_to_retry(mode: str, a: FakeLLMServer) -> None:
    clock = FakeClock()
    breaker = metallm.CircuitBreaker(failure_threshold=1, recovery_time=20.0)
    targets = [target(a, "openai", name="oai", retry=metallm.RetryPolicy.none())]
    state = metallm.LocalRouterState(clock=clock)
    with Harness(mode, targets, circuit_breaker=breaker, state=state) as h:
        a.enqueue(R.error(503, "down"))
        with pytest.raises(metallm.AllTargetsFailedError) as failed:
            h.chat()
        assert [x.target for x in failed.value.attempts] == ["oai"]
        clock.advance(5.0)
        with pytest.raises(metallm.RateLimitError) as caught:
            h.chat()  # nothing tried: the circuit is open for 15 s more
    assert not isinstance(caught.value, metallm.AllTargetsFailedError)
    assert caught.value.retry_after == pytest.approx(15.0)
    assert "oai: circuit_open" in str(caught.value)
    assert len(a.requests) == 1


@pytest.mark.parametrize("mode", MODES)
def test_a_deadline_lets_the_call_wait_for_a_circuit_to_half_open(
    mode: str, a: FakeLLMServer
) -> None:
    breaker = metallm.CircuitBreaker(failure_threshold=1, recovery_time=0.2)
    targets = [target(a, "openai", name="oai", retry=metallm.RetryPolicy.none())]
    with Harness(mode, targets, circuit_breaker=breaker, timeout=5.0) as h:
        a.enqueue(R.error(503, "down"))
        with pytest.raises(metallm.AllTargetsFailedError):
            h.chat()
        assert h.chat().provider == "openai"  # waited 0.2 s, then the probe answered
        assert h.router.stats()["oai"].breaker == "closed"


@pytest.mark.parametrize("mode", MODES)
def test_requests_per_minute_skips_to_the_next_target(
    mode: str, a: FakeLLMServer, b: FakeLLMServer
) -> None:
    clock = FakeClock()
    limits = metallm.RateLimit(requests_per_minute=3)
    targets = [target(a, "openai", name="oai", limits=limits), target(b, "anthropic")]
    with Harness(mode, targets, state=metallm.LocalRouterState(clock=clock)) as h:
        providers = [h.chat().provider for _ in range(5)]
        assert providers == ["openai"] * 3 + ["anthropic"] * 2
        assert h.router.stats()["oai"].remaining_requests == 0
        clock.advance(64.0)  # a whole window (and one bucket) later
        assert h.chat().provider == "openai"
    assert len(a.requests) == 4


@pytest.mark.parametrize("mode", MODES)
def test_an_empty_rate_budget_raises_rate_limit_within_the_deadline(
    mode: str, a: FakeLLMServer
) -> None:
    clock = FakeClock()
    limits = metallm.RateLimit(requests_per_minute=1)
    targets = [target(a, "openai", name="oai", limits=limits)]
    with Harness(mode, targets, state=metallm.LocalRouterState(clock=clock), timeout=1.0) as h:
        h.chat()
        with pytest.raises(metallm.RateLimitError) as caught:
            h.chat()
    assert 57.0 <= (caught.value.retry_after or 0) <= 63.0
    assert len(a.requests) == 1  # never sent what the provider would refuse


@pytest.mark.parametrize("mode", MODES)
def test_tokens_per_minute_reserve_the_estimate_and_keep_the_usage(
    mode: str, a: FakeLLMServer
) -> None:
    clock = FakeClock()
    limits = metallm.RateLimit(tokens_per_minute=1000)
    targets = [target(a, "openai", name="oai", limits=limits)]
    a.enqueue(R(text="ok", usage=metallm.testing.ScriptedUsage(100, 50)))
    with Harness(mode, targets, state=metallm.LocalRouterState(clock=clock), timeout=1.0) as h:
        h.chat(max_tokens=600)  # reserves the estimate plus max_tokens, keeps 150
        a.enqueue(R(text="ok", usage=metallm.testing.ScriptedUsage(100, 50)))
        h.chat(max_tokens=600)  # fits only because the first was corrected to its usage
        assert h.router.stats()["oai"].remaining_tokens is not None
        with pytest.raises(metallm.RateLimitError):
            h.chat(max_tokens=900)  # 150 + 150 kept, 900+ more does not fit
    assert len(a.requests) == 2


def test_max_concurrency_makes_a_call_wait_for_a_slot(a: FakeLLMServer) -> None:
    limits = metallm.RateLimit(max_concurrency=1)
    a.enqueue(R(text="one", first_chunk_delay=0.2), R(text="two"))
    targets = [target(a, "openai", name="oai", limits=limits)]

    async def go() -> list[str]:
        async with metallm.AsyncRouter(targets=targets, hooks=[]) as r:
            calls = [
                r.create_chat_completion(messages=[{"role": "user", "content": "x"}]) for _ in "ab"
            ]
            started = time.perf_counter()
            done = await asyncio.gather(*calls)
            assert time.perf_counter() - started >= 0.2
            return [d.choices[0].message.content or "" for d in done]

    assert sorted(asyncio.run(go())) == ["one", "two"]


def test_stats_report_calls_failures_and_latency(a: FakeLLMServer, b: FakeLLMServer) -> None:
    a.enqueue(R.error(503, "x"), R.error(503, "x"))
    with Harness("sync", [target(a, name="oai"), target(b, "anthropic", name="c")]) as h:
        for _ in range(3):
            h.chat()
        stats = h.router.stats()
    assert (stats["oai"].calls, stats["oai"].failures, stats["oai"].in_flight) == (3, 1, 0)
    assert stats["c"].calls == 1 and stats["c"].failures == 0
    assert stats["oai"].latency is not None and stats["oai"].latency.count == 2
    assert stats["oai"].latency_p50 is not None and stats["oai"].latency_p90 is not None
    assert stats["oai"].provider == "openai" and stats["oai"].model == "gpt-4o-mini"


# -- bad input ----------------------------------------------------------------------------------


def _bad(**router: Any) -> str:
    with pytest.raises(metallm.ConfigurationError) as caught:
        metallm.Router(**router)
    return str(caught.value)


def test_bad_router_settings_are_refused_at_construction(a: FakeLLMServer) -> None:
    ok = target(a, name="one")
    assert "targets" in _bad(targets=[])
    assert "'one'" in _bad(targets=[ok, target(a, name="one")])
    assert "unknown strategy 'fastest'" in _bad(targets=[ok], strategy="fastest")
    assert "timeout" in _bad(targets=[ok], timeout=0)
    assert "fallback_on" in _bad(targets=[ok], fallback_on="yes")
    with pytest.raises(metallm.ConfigurationError, match=r"'w'.*weight"):
        metallm.Target(provider="openai", model="m", name="w", weight=0)
    with pytest.raises(metallm.ConfigurationError, match="requests_per_minute"):
        metallm.RateLimit(requests_per_minute=-1)
    with pytest.raises(metallm.ConfigurationError, match=r"'lonely'.*provider"):
        metallm.Target(model="m", name="lonely")
    with pytest.raises(metallm.ConfigurationError, match=r"'typo'.*unknown field.*api_kee"):
        metallm.Target(provider="openai", model="m", name="typo", api_kee="x")
    with pytest.raises(metallm.ConfigurationError, match="'nokey'"):
        metallm.Router(targets=[metallm.Target(provider="gemini", model="m", name="nokey")])
    with pytest.raises(metallm.ConfigurationError, match="AsyncRouter needs AsyncClient"):
        sync_client = metallm.Client(
            provider="openai", api_key="sk-x", base_url=a.base_url("openai")
        )
        metallm.AsyncRouter(targets=[metallm.Target(client=sync_client, model="m")])


def test_target_repr_and_errors_hold_no_key(a: FakeLLMServer) -> None:
    t = target(a, name="oai", api_key="sk-very-secret-value")
    router = metallm.Router(targets=[t], hooks=[])
    assert "sk-very-secret" not in repr(t) + repr(router) + repr(router.stats())
    router.close()
