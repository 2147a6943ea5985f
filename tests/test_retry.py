"""RetryPolicy decisions and the standalone RetryTransport over real sockets."""

from __future__ import annotations

import asyncio
import time
from email.utils import formatdate

import httpx
import pytest

import metallm
from metallm.provider import parse_retry_after
from metallm.retry import DEFAULT_RETRY_STATUSES, AsyncRetryTransport, RetryPolicy, RetryTransport
from metallm.testing.fake_server import FakeLLMServer
from metallm.testing.script import ScriptedReply


def test_default_policy_matches_design() -> None:
    p = RetryPolicy()
    assert p.max_retries == 2
    assert (p.initial_backoff, p.max_backoff, p.multiplier, p.jitter) == (0.5, 8.0, 2.0, 0.1)
    assert frozenset({408, 409, 429, 500, 502, 503, 504, 529}) == DEFAULT_RETRY_STATUSES


def test_backoff_grows_exponentially_with_bounded_jitter() -> None:
    p = RetryPolicy(max_retries=10)
    for attempt, base in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 8.0), (6, 8.0)]:
        for _ in range(50):
            d = p.backoff(attempt)
            assert base * 0.9 - 1e-9 <= d <= min(8.0, base * 1.1) + 1e-9


def test_decide_statuses_errors_and_limits() -> None:
    p = RetryPolicy()
    assert p.decide(1, status_code=429) is not None
    assert p.decide(1, status_code=400) is None
    assert p.decide(3, status_code=503) is None  # only 2 retries
    assert p.decide(1, error=metallm.APIConnectionError("reset")) is not None
    assert p.decide(1, error=metallm.APITimeoutError("slow")) is not None
    assert p.decide(1, error=metallm.StreamError("cut")) is None
    assert p.decide(1, error=ValueError("bug")) is None


def test_retry_after_is_honoured_and_too_long_gives_up() -> None:
    p = RetryPolicy()
    event = p.decide(1, status_code=429, retry_after=1.5)
    assert event is not None and event.delay == 1.5 and event.retry_after == 1.5
    assert p.decide(1, status_code=429, retry_after=60) is None


def test_should_retry_overrides_and_on_retry_is_told() -> None:
    p = RetryPolicy(should_retry=lambda e: e.status_code == 418)
    assert p.decide(1, status_code=418) is not None
    assert p.decide(1, status_code=503) is None
    assert RetryPolicy(should_retry=lambda e: None).decide(1, status_code=503) is not None


def test_parse_retry_after_forms() -> None:
    assert parse_retry_after({"retry-after-ms": "250"}) == 0.25
    assert parse_retry_after({"retry-after": "3"}) == 3.0
    assert parse_retry_after({"retry-after": "soon"}) is None
    future = formatdate(time.time() + 30, usegmt=True)
    assert 28 <= (parse_retry_after({"retry-after": future}) or 0) <= 31
    assert parse_retry_after({"retry-after": formatdate(time.time() - 30, usegmt=True)}) == 0.0
    assert parse_retry_after({}) is None


def test_invalid_policies_rejected() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_retries=-1)
    with pytest.raises(ValueError):
        RetryPolicy(jitter=2)


def _body() -> dict[str, object]:
    return {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


def test_retry_transport_retries_status_then_succeeds() -> None:
    events: list[metallm.RetryEvent] = []
    policy = RetryPolicy(initial_backoff=0.01, on_retry=events.append)
    with FakeLLMServer() as server:
        server.enqueue(
            ScriptedReply.error(503, "busy"),
            ScriptedReply.error(429, "slow down", headers={"retry-after-ms": "20"}),
            ScriptedReply(text="ok"),
        )
        with httpx.Client(transport=RetryTransport(policy=policy)) as client:
            r = client.post(server.base_url("openai") + "/chat/completions", json=_body())
        assert r.status_code == 200
        assert len(server.requests) == 3
    assert [e.status_code for e in events] == [503, 429]
    assert events[1].delay == pytest.approx(0.02)


def test_retry_transport_gives_back_last_response_when_exhausted() -> None:
    with FakeLLMServer() as server:
        server.enqueue(*[ScriptedReply.error(500, "boom") for _ in range(3)])
        transport = RetryTransport(policy=RetryPolicy(max_retries=1, initial_backoff=0.01))
        with httpx.Client(transport=transport) as client:
            r = client.post(server.base_url("openai") + "/chat/completions", json=_body())
        assert r.status_code == 500
        assert len(server.requests) == 2


def test_retry_transport_retries_connection_reset() -> None:
    with FakeLLMServer() as server:
        server.enqueue(ScriptedReply(disconnect=True), ScriptedReply(text="ok"))
        transport = RetryTransport(policy=RetryPolicy(initial_backoff=0.01))
        with httpx.Client(transport=transport) as client:
            r = client.post(server.base_url("openai") + "/chat/completions", json=_body())
        assert r.status_code == 200


def test_async_retry_transport() -> None:
    async def go() -> int:
        with FakeLLMServer() as server:
            server.enqueue(ScriptedReply.error(502, "bad gateway"), ScriptedReply(text="ok"))
            transport = AsyncRetryTransport(policy=RetryPolicy(initial_backoff=0.01))
            async with httpx.AsyncClient(transport=transport) as client:
                r = await client.post(server.base_url("openai") + "/chat/completions", json=_body())
            return r.status_code

    assert asyncio.run(go()) == 200
