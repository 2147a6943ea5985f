"""What only RedisRouterState does: one limit across processes, outages, keys, secrets.

Eight ``spawn``ed processes share one requests-per-minute limit through a real redis-server
under a scaled clock (a minute lasts 2 s); a dedicated redis-server is stopped by its PID
mid-run and started again on the same port; keys are read back from Redis to check their
names and expiries. The rules themselves are test_router_state.py's contract.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import multiprocessing
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis

import _router_worker
from _redis_server import RedisServer, free_port
from metallm import ConfigurationError
from metallm.router import Grant, Policy, RedisRouterState

WORKERS = 8


def _state(url: str, **kwargs: Any) -> RedisRouterState:
    return RedisRouterState(url, prefix=f"test:rs:{uuid.uuid4().hex}", **kwargs)


def _messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "router state" in r.getMessage()]


def _local(grant: Grant) -> bool:
    return (grant.lease or "").startswith("local:")


@pytest.mark.timeout(180)
def test_eight_processes_stay_under_one_requests_per_minute_limit(
    redis_server: RedisServer,
) -> None:
    prefix, key, span = f"test:rs:{uuid.uuid4().hex}", "shared", 130.0  # about two windows
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(WORKERS), ctx.Queue()
    procs = [
        ctx.Process(
            target=_router_worker.hammer,
            args=(redis_server.url, prefix, key, span, barrier, out),
        )
        for _ in range(WORKERS)
    ]
    for p in procs:
        p.start()
    reports = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
        if p.is_alive():
            p.kill()  # our own child, by its handle
    assert [p.exitcode for p in procs] == [0] * WORKERS
    assert sum(local for _, local in reports) == 0, "every grant must come from Redis"
    times = sorted(t for granted, _ in reports for t in granted)
    # the most grants any window of 60 clock-seconds holds (both ends included)
    busiest = max(bisect.bisect_right(times, t + 60.0) - i for i, t in enumerate(times))
    assert busiest <= 60, busiest
    assert busiest == 60  # the limit was reached, not just respected
    assert len(times) >= 2 * 60, len(times)  # and reached again once the first minute left
    assert sum(1 for granted, _ in reports if granted) >= 2  # shared by several processes


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    server = RedisServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_redis_stopped_mid_run_keeps_answering_then_goes_back_to_redis(
    own_redis: RedisServer, is_async: bool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="metallm")
    state = _state(own_redis.url, retry_interval=0.3, socket_timeout=0.5, connect_timeout=0.5)
    p = Policy(1000, None, 5, 1, 30.0)
    now = state.clock()

    async def acquire() -> Grant:
        if is_async:
            return await state.aacquire("t", p, 0, now)
        return state.acquire("t", p, 0, now)

    async def release(grant: Grant, outcome: Any) -> tuple[str, ...]:
        if is_async:
            return await state.arelease("t", p, grant, outcome, None, now)
        return state.release("t", p, grant, outcome, None, now)

    async def main() -> None:
        before = await acquire()
        assert before.ok and not _local(before)
        own_redis.stop()  # mid-run, by its PID
        started = time.monotonic()
        during = [await acquire() for _ in range(5)]
        assert all(g.ok and _local(g) for g in during)  # the in-process state answers
        assert not (await acquire()).ok  # ... and applies the limits (5 at once)
        assert await release(before, "failure") == ()  # a Redis grant: dropped, no error
        assert await release(during[0], "success") == ()
        assert time.monotonic() - started < 3.0
        assert len(_messages(caplog)) == 1
        warning = _messages(caplog)[0]
        assert f"127.0.0.1:{own_redis.port}" in warning and "kept in this process" in warning

        own_redis.start()  # the same port
        restarted = time.monotonic()
        back = await acquire()
        while not (back.ok and not _local(back)) and time.monotonic() - restarted < 10:
            if back.ok:
                await release(back, "neutral")
            await asyncio.sleep(0.05)
            back = await acquire()
        assert back.ok and not _local(back), "Redis was not tried again"
        assert time.monotonic() - restarted < 3.0  # within a few retry intervals (0.3 s)
        assert len(_messages(caplog)) == 2 and "answers again" in _messages(caplog)[1]
        # a fallback grant still goes back to the fallback: its failure opens the in-process
        # breaker (threshold 1), not the one in Redis
        assert await release(during[1], "failure") == ("open",)
        shared = await acquire()
        assert shared.ok and not _local(shared) and shared.breaker == "closed"
        if is_async:
            await state.aclose()

    asyncio.run(main())
    state.close()


def test_keys_live_under_the_prefix_and_expire(redis_server: RedisServer) -> None:
    state = _state(redis_server.url, lease_ttl=100.0)
    r = redis.Redis.from_url(redis_server.url)
    p = Policy(10, 1000, 4, 2, 90.0)
    grant = state.acquire("oai-east", p, 50, 1000.0)
    assert state.acquire("oai-east", p, 0, 1000.0).ok  # still in flight: its lease is kept
    assert state.release("oai-east", p, grant, "failure", 70, 1001.0) == ()
    keys = sorted(k.decode() for k in r.scan_iter(match=f"{state.prefix}:*"))
    base = f"{state.prefix}:oai-east:"
    assert keys == [base + name for name in ("breaker", "leases", "requests", "tokens")]
    window_ttl = {k: r.pttl(k) for k in keys}
    # a bit over the longest of a window and the recovery time (90 s here); leases: lease_ttl
    assert 90_000 < window_ttl[base + "breaker"] <= 96_000
    assert 90_000 < window_ttl[base + "requests"] <= 96_000
    assert 90_000 < window_ttl[base + "tokens"] <= 96_000
    assert 100_000 < r.pttl(base + "leases") <= 106_000
    assert r.hget(base + "tokens", "333") == b"70"  # the reservation, corrected
    assert r.hget(base + "breaker", "failures") == b"1"
    assert (
        state.release("oai-east", p, state.acquire("oai-east", p, 0, 1002.0), "success", 0, 1002.0)
        == ()
    )
    assert not r.exists(base + "breaker")  # closed with no failures: nothing kept
    r.close()
    state.close()


def test_a_crashed_callers_slot_frees_after_the_lease_ttl(redis_server: RedisServer) -> None:
    state = _state(redis_server.url, lease_ttl=100.0)
    p = Policy(None, None, 1, 5, 30.0)
    assert state.acquire("t", p, 0, 1000.0).ok  # never released: its process "crashed"
    assert state.acquire("t", p, 0, 1099.0).reason == "concurrency"
    assert state.acquire("t", p, 0, 1100.0).ok
    state.close()


def test_scripts_are_loaded_again_after_a_script_flush(redis_server: RedisServer) -> None:
    state = _state(redis_server.url)
    p = Policy(10, None, None, 5, 30.0)
    assert state.acquire("t", p, 0, 1000.0).remaining_requests == 9
    r = redis.Redis.from_url(redis_server.url)
    r.script_flush()
    r.close()
    again = state.acquire("t", p, 0, 1000.0)
    assert not _local(again) and again.remaining_requests == 8
    state.close()


def test_given_clients_with_decoded_replies_read_the_same(redis_server: RedisServer) -> None:
    sync = redis.Redis.from_url(redis_server.url, decode_responses=True)
    state = RedisRouterState(
        client=sync, prefix=f"test:rs:{uuid.uuid4().hex}", clock=lambda: 1000.0
    )
    p = Policy(2, None, None, 1, 30.0)
    assert (
        repr(state) == f"RedisRouterState('127.0.0.1:{redis_server.port}', prefix={state.prefix!r})"
    )
    assert state.acquire("t", p, 0, 1000.0).remaining_requests == 1
    assert state.acquire("t", p, 0, 1000.0).remaining_requests == 0
    refused = state.acquire("t", p, 0, 1000.5)
    assert (refused.ok, refused.wait, refused.reason) == (False, 62.0 - 0.5, "requests")
    state.close()  # the caller's client stays open
    assert sync.ping()
    sync.close()

    async def main() -> None:
        client = redis.asyncio.Redis.from_url(redis_server.url, decode_responses=True)
        shared = RedisRouterState(client=client, prefix=state.prefix)
        grant = await shared.aacquire("t", p, 0, 1062.0)  # bucket 333 left the window
        assert grant.ok and not _local(grant) and grant.remaining_requests == 1
        assert await shared.arelease("t", p, grant, "failure", None, 1062.0) == ("open",)
        with pytest.raises(ConfigurationError, match="only an asyncio client"):
            shared.acquire("t", p, 0, 1062.0)  # a misconfiguration, not an outage
        await client.aclose()

    asyncio.run(main())


def test_repr_and_the_outage_warning_hide_the_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="metallm")
    port = free_port()  # nothing listens there
    state = RedisRouterState(f"redis://:s3cret-pass@127.0.0.1:{port}/0?password=s3cret-pass")
    assert "s3cret" not in repr(state) and f"127.0.0.1:{port}" in repr(state)
    p = Policy(None, None, None, 5, 30.0)
    grant = state.acquire("t", p, 0, 1000.0)
    assert grant.ok and _local(grant)
    assert state.release("t", p, grant, "success", None, 1000.0) == ()
    [warning] = _messages(caplog)
    assert "s3cret" not in warning and f"redis://127.0.0.1:{port}/0" in warning
    state.close()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({}, "needs a URL or a client"),
        ({"url": "redis://x", "prefix": ""}, "prefix"),
        ({"url": "redis://x", "socket_timeout": 0}, "socket_timeout must be > 0"),
        ({"url": "redis://x", "connect_timeout": -1.0}, "connect_timeout"),
        ({"url": "redis://x", "retry_interval": "5"}, "retry_interval must be a number"),
        ({"url": "redis://x", "lease_ttl": float("nan")}, "lease_ttl"),
        ({"url": "redis://x", "clock": 3.0}, "clock"),
    ],
)
def test_bad_settings_are_configuration_errors(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        RedisRouterState(**kwargs)


def test_importing_the_router_does_not_import_redis() -> None:
    code = (
        "import sys, metallm, metallm.router as r; "
        "assert not [m for m in sys.modules if m.split('.')[0] == 'redis'], 'redis imported'; "
        "assert r.RedisRouterState.__module__ == 'metallm.router.redis_state'; "
        "assert 'redis' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
