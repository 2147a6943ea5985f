"""The router states hold one contract: LocalRouterState and RedisRouterState, sync and async.

Every case runs four ways (in-process and Redis, each through the sync and the async methods)
against a real redis-server, with a fake clock, and asserts the same grants, refusals, waits and
breaker transitions: the Lua scripts are held to the rules :class:`LocalRouterState` applies.
A Redis case also checks that Redis answered (no grant came from the in-process fallback, no
outage was logged), so a broken script cannot hide behind the fallback.

Times: buckets are 3 s wide, so 1000.0 falls in bucket 333 (999 to 1002), whose admissions
stay counted until 1062.0 ((333 + 21) * 3).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from _redis_server import RedisServer
from metallm.router import Grant, LocalRouterState, Outcome, Policy, RouterState

T0 = 1000.0
KINDS = ["local-sync", "local-async", "redis-sync", "redis-async"]


class Clock:
    """A fake clock: a mutable float the test sets."""

    def __init__(self, t: float = T0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def policy(
    rpm: int | None = None,
    tpm: int | None = None,
    concurrency: int | None = None,
    threshold: int = 3,
    recovery: float = 30.0,
) -> Policy:
    return Policy(rpm, tpm, concurrency, threshold, recovery)


class Driver:
    """One state under test, called through its sync or its async methods."""

    def __init__(self, state: Any, is_async: bool, clock: Clock) -> None:
        self.state = state
        self.is_async = is_async
        self.clock = clock
        self.key = f"target-{uuid.uuid4().hex[:8]}"
        self.leases: list[str] = []

    async def acquire(self, p: Policy, tokens: int = 0, *, key: str | None = None) -> Grant:
        k, now = key or self.key, self.clock()
        if self.is_async:
            grant = await self.state.aacquire(k, p, tokens, now)
        else:
            grant = self.state.acquire(k, p, tokens, now)
        if grant.ok:
            self.leases.append(grant.lease)
        return grant  # type: ignore[no-any-return]

    async def release(
        self,
        p: Policy,
        grant: Grant,
        outcome: Outcome = "success",
        tokens: int | None = None,
        *,
        key: str | None = None,
    ) -> tuple[str, ...]:
        k, now = key or self.key, self.clock()
        if self.is_async:
            return await self.state.arelease(k, p, grant, outcome, tokens, now)  # type: ignore[no-any-return]
        return self.state.release(k, p, grant, outcome, tokens, now)  # type: ignore[no-any-return]

    def run(self, body: Callable[[Driver], Awaitable[None]]) -> None:
        """Run a case in one event loop (the asyncio client is bound to it, and closed in it)."""

        async def main() -> None:
            try:
                await body(self)
            finally:
                if self.is_async and hasattr(self.state, "aclose"):
                    await self.state.aclose()

        asyncio.run(main())


@pytest.fixture(params=KINDS)
def d(request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture) -> Iterator[Driver]:
    kind: str = request.param
    clock = Clock()
    caplog.set_level(logging.WARNING, logger="metallm")
    if kind.startswith("local"):
        state: Any = LocalRouterState(clock)
    else:
        from metallm.router import RedisRouterState

        server: RedisServer = request.getfixturevalue("redis_server")
        state = RedisRouterState(server.url, prefix=f"test:rs:{uuid.uuid4().hex}", clock=clock)
        assert state.local is False
    assert isinstance(state, RouterState)
    driver = Driver(state, kind.endswith("async"), clock)
    yield driver
    if kind.startswith("redis"):
        state.close()
        assert not [r for r in caplog.records if "router state" in r.getMessage()]
        assert not [lease for lease in driver.leases if lease.startswith("local:")]


def test_requests_per_minute_admit_the_limit_then_wait_for_the_oldest_bucket(d: Driver) -> None:
    p = policy(rpm=5)

    async def body(d: Driver) -> None:
        left = [(await d.acquire(p)).remaining_requests for _ in range(5)]
        assert left == [4, 3, 2, 1, 0]
        refused = await d.acquire(p)
        assert (refused.ok, refused.reason, refused.wait) == (False, "requests", 62.0)
        assert refused.remaining_requests is None and refused.lease is None
        d.clock.t = 1061.5
        assert (await d.acquire(p)).wait == 0.5
        d.clock.t = 1062.0  # bucket 333 left the window: five more
        assert [(await d.acquire(p)).ok for _ in range(3)] == [True] * 3
        d.clock.t = 1080.0  # bucket 360
        assert [(await d.acquire(p)).remaining_requests for _ in range(2)] == [1, 0]
        refused = await d.acquire(p)  # the three of bucket 354 leave at (354 + 21) * 3
        assert (refused.reason, refused.wait) == ("requests", 45.0)
        d.clock.t = 1125.0
        assert (await d.acquire(p)).remaining_requests == 2  # bucket 360's two still count

    d.run(body)


def test_tokens_per_minute_reserve_the_estimate_and_correct_it_on_release(d: Driver) -> None:
    p = policy(tpm=100)

    async def body(d: Driver) -> None:
        first = await d.acquire(p, 60)
        assert (first.ok, first.remaining_tokens, first.tokens) == (True, 40, 60)
        refused = await d.acquire(p, 50)
        assert (refused.ok, refused.reason, refused.wait) == (False, "tokens", 62.0)
        assert await d.release(p, first, "success", 20) == ()  # used 20: corrected down
        d.clock.t = 1001.0
        second = await d.acquire(p, 50)
        assert (second.ok, second.remaining_tokens) == (True, 30)
        await d.release(p, second, "success", 80)  # used 80: corrected up, 100 in the window
        refused = await d.acquire(p, 1)
        assert (refused.reason, refused.wait) == ("tokens", 61.0)
        d.clock.t = 1062.0
        third = await d.acquire(p, 10)
        assert (third.ok, third.remaining_tokens) == (True, 90)
        await d.release(p, third, "success", None)  # no usage reported: the estimate stays
        assert (await d.acquire(p, 90)).remaining_tokens == 0

    d.run(body)


def test_a_request_larger_than_the_limit_goes_alone_into_an_empty_window(d: Driver) -> None:
    p = policy(tpm=100)

    async def body(d: Driver) -> None:
        small = await d.acquire(p, 20)
        refused = await d.acquire(p, 500)  # needs the whole limit: waits for the window to empty
        assert (refused.ok, refused.reason, refused.wait) == (False, "tokens", 62.0)
        await d.release(p, small, "success", 20)
        d.clock.t = 1062.0
        big = await d.acquire(p, 500)
        assert (big.ok, big.remaining_tokens, big.tokens) == (True, 0, 500)
        after = await d.acquire(p, 1)
        assert (after.ok, after.reason) == (False, "tokens")

    d.run(body)


def test_token_corrections_land_in_the_window_only(d: Driver) -> None:
    p = policy(tpm=100)

    async def body(d: Driver) -> None:
        unknown = await d.acquire(p, 0)  # nothing reserved, nothing stored for the bucket
        await d.release(p, unknown, "success", 70)  # ... the usage still counts
        refused = await d.acquire(p, 40)
        assert (refused.ok, refused.reason) == (False, "tokens")
        assert (await d.acquire(p, 30)).remaining_tokens == 0
        late = await d.acquire(p, 0, key=d.key + "-late")
        d.clock.t = 1062.0  # the reservation's bucket left the window: nothing to correct
        await d.release(p, late, "success", 90, key=d.key + "-late")
        assert (await d.acquire(p, 100, key=d.key + "-late")).remaining_tokens == 0

    d.run(body)


def test_max_concurrency_refuses_until_a_release(d: Driver) -> None:
    p = policy(concurrency=2)

    async def body(d: Driver) -> None:
        a, b = await d.acquire(p), await d.acquire(p)
        assert a.ok and b.ok and a.lease != b.lease
        refused = await d.acquire(p)
        assert (refused.ok, refused.reason, refused.wait) == (False, "concurrency", 0.0)
        await d.release(p, a, "neutral")
        c = await d.acquire(p)
        assert c.ok
        assert (await d.acquire(p)).reason == "concurrency"
        await d.release(p, b, "failure")
        await d.release(p, c, "success")
        assert [(await d.acquire(p)).ok for _ in range(3)] == [True, True, False]

    d.run(body)


def test_breaker_opens_after_consecutive_failures_neutral_ignored_success_resets(
    d: Driver,
) -> None:
    p = policy(threshold=3, recovery=30.0)

    async def call(outcome: Outcome) -> tuple[str, ...]:
        grant = await d.acquire(p)
        assert grant.ok and not grant.probe and grant.breaker == "closed"
        return await d.release(p, grant, outcome)

    async def body(d: Driver) -> None:
        assert [await call("failure"), await call("failure"), await call("neutral")] == [()] * 3
        assert (await d.acquire(p)).failures == 2  # the neutral one did not count
        assert await call("success") == ()
        assert (await d.acquire(p)).failures == 0  # a success resets the count
        in_flight = await d.acquire(p)
        assert [await call("failure"), await call("failure")] == [(), ()]
        assert await call("failure") == ("open",)
        # a call already in flight when the breaker opened does not close it
        assert await d.release(p, in_flight, "success") == ()
        d.clock.t = 1010.0
        refused = await d.acquire(p)
        assert (refused.ok, refused.reason, refused.wait) == (False, "circuit_open", 20.0)
        assert (refused.breaker, refused.failures, refused.transitions) == ("open", 3, ())

    d.run(body)


def test_breaker_half_open_admits_one_probe_and_its_outcome_decides(d: Driver) -> None:
    p = policy(threshold=1, recovery=30.0)

    async def body(d: Driver) -> None:
        assert await d.release(p, await d.acquire(p), "failure") == ("open",)  # opened at 1000
        d.clock.t = 1030.0
        probe = await d.acquire(p)
        assert (probe.ok, probe.probe, probe.breaker) == (True, True, "half_open")
        assert probe.transitions == ("half_open",)
        d.clock.t = 1031.0
        second = await d.acquire(p)  # the probe is out: refused until its lease ends
        assert (second.ok, second.reason, second.wait) == (False, "circuit_open", 59.0)
        assert second.breaker == "half_open" and second.transitions == ()
        d.clock.t = 1032.0
        assert await d.release(p, probe, "success") == ("closed",)
        closed = await d.acquire(p)
        assert (closed.ok, closed.probe, closed.breaker, closed.failures) == (
            True,
            False,
            "closed",
            0,
        )
        assert await d.release(p, closed, "failure") == ("open",)  # opened at 1032
        d.clock.t = 1062.0
        probe = await d.acquire(p)
        assert probe.probe and probe.transitions == ("half_open",)
        d.clock.t = 1063.0
        assert await d.release(p, probe, "failure") == ("open",)  # the probe failed: open again
        d.clock.t = 1064.0
        refused = await d.acquire(p)
        assert (refused.reason, refused.wait, refused.breaker) == ("circuit_open", 29.0, "open")
        assert refused.failures == 2

    d.run(body)


def test_a_probe_that_never_reports_frees_its_slot_after_its_lease(d: Driver) -> None:
    p = policy(threshold=1, recovery=30.0)

    async def body(d: Driver) -> None:
        await d.release(p, await d.acquire(p), "failure")
        d.clock.t = 1030.0
        neutral = await d.acquire(p)
        assert await d.release(p, neutral, "neutral") == ()  # says nothing: probe again
        lost = await d.acquire(p)
        assert lost.probe and lost.transitions == ()
        d.clock.t = 1089.0
        assert (await d.acquire(p)).reason == "circuit_open"
        d.clock.t = 1090.0  # 60 s (PROBE_LEASE) after the lost probe went out
        again = await d.acquire(p)
        assert (again.ok, again.probe, again.breaker) == (True, True, "half_open")
        assert await d.release(p, lost, "success") == ("closed",)  # the lost one came back
        assert await d.release(p, again, "success") == ()  # already closed: no transition

    d.run(body)


def test_half_open_is_kept_when_the_probe_is_refused_by_a_limit(d: Driver) -> None:
    p = policy(rpm=1, threshold=1, recovery=30.0)

    async def body(d: Driver) -> None:
        assert await d.release(p, await d.acquire(p), "failure") == ("open",)
        d.clock.t = 1030.0  # recovered, but the failed call still counts in the minute
        refused = await d.acquire(p)
        assert (refused.ok, refused.reason, refused.wait) == (False, "requests", 32.0)
        assert (refused.breaker, refused.transitions) == ("half_open", ("half_open",))
        d.clock.t = 1062.0
        probe = await d.acquire(p)
        assert (probe.ok, probe.probe, probe.breaker, probe.transitions) == (
            True,
            True,
            "half_open",
            (),
        )

    d.run(body)


def test_every_limit_at_once_and_the_budget_left(d: Driver) -> None:
    full = policy(rpm=3, tpm=100, concurrency=2)
    none = policy()

    async def body(d: Driver) -> None:
        g = await d.acquire(full, 30)
        assert (g.remaining_requests, g.remaining_tokens, g.bucket) == (2, 70, 333)
        g2 = await d.acquire(full, 30)
        assert (g2.remaining_requests, g2.remaining_tokens) == (1, 40)
        assert (await d.acquire(full, 30)).reason == "concurrency"  # checked before the rest
        await d.release(full, g, "success", 30)
        assert (await d.acquire(full, 50)).reason == "tokens"
        g3 = await d.acquire(full, 40)
        assert (g3.remaining_requests, g3.remaining_tokens) == (0, 0)
        await d.release(full, g3, "success", 40)
        assert (await d.acquire(full, 0)).reason == "requests"  # requests before tokens
        free = await d.acquire(none, 10**6, key=d.key + "-free")
        assert (free.ok, free.remaining_requests, free.remaining_tokens) == (True, None, None)

    d.run(body)
