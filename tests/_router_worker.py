"""A process hammering one shared RedisRouterState (for test_router_state_redis.py)."""

from __future__ import annotations

import time
from typing import Any

from metallm.router import Policy, RedisRouterState

SCALE = 30.0
"""Clock seconds per real second: a minute lasts 2 s."""


def scaled_clock() -> float:
    """Every process reads the same scaled time (the real clock, sped up)."""
    return time.time() * SCALE


def hammer(redis_url: str, prefix: str, key: str, span: float, barrier: Any, out: Any) -> None:
    """Acquire as fast as allowed for ``span`` clock seconds after all workers are ready;
    report the clock time of every grant and how many came from the in-process fallback."""
    state = RedisRouterState(redis_url, prefix=prefix, clock=scaled_clock)
    policy = Policy(60, None, None, 5, 30.0)
    barrier.wait(timeout=60)
    end = state.clock() + span
    granted: list[float] = []
    local = 0
    while (now := state.clock()) < end:
        grant = state.acquire(key, policy, 0, now)
        if grant.ok:
            granted.append(now)
            local += (grant.lease or "").startswith("local:")
            state.release(key, policy, grant, "success", None, state.clock())
        else:
            time.sleep(min(0.005, grant.wait / SCALE))
    state.close()
    out.put((granted, local))


class _Sent:
    """A hook noting the (scaled) time each attempt is sent, right after its admission."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def before_request(self, info: Any, request: Any) -> None:
        self.times.append(scaled_clock())


def route(redis_url: str, prefix: str, base_url: str, span: float, barrier: Any, out: Any) -> None:
    """Call a Router whose one target allows 60 requests a minute, its limit kept in Redis,
    as fast as it lets this process for ``span`` clock seconds; report each send's time, the
    refusals, and the most clock time a call took from its start to its send (the admission
    happened in between)."""
    import metallm

    sent = _Sent()
    state = RedisRouterState(redis_url, prefix=prefix, clock=scaled_clock)
    limits = metallm.RateLimit(requests_per_minute=60)
    router = metallm.Router(
        targets=[
            metallm.Target(
                provider="openai",
                model="gpt-4o-mini",
                name="shared",
                api_key="sk-router-worker-key",
                base_url=base_url,
                limits=limits,
                hooks=[sent],
            )
        ],
        state=state,
        hooks=[],
        timeout=0.5,  # a refusal raises RateLimitError at once (the wait is past it)
    )
    # one call outside the router first: the first call's one-time work (validators, the
    # price data) must not sit between an admission and its send in the measured run
    with metallm.Client(provider="openai", api_key="sk-router-worker-key", base_url=base_url,
                        hooks=[]) as warm:  # fmt: skip
        warm.create_chat_completion(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
    barrier.wait(timeout=60)
    end = state.clock() + span
    refused = 0
    lag = 0.0  # the most clock time between a call's start and its send
    while (started := state.clock()) < end:
        before = len(sent.times)
        try:
            router.create_chat_completion(messages=[{"role": "user", "content": "hi"}])
        except metallm.RateLimitError as exc:
            refused += 1
            time.sleep(min(0.005, (exc.retry_after or 0.0) / SCALE))
        if len(sent.times) > before:
            lag = max(lag, sent.times[-1] - started)
    router.close()
    state.close()
    out.put((sent.times, refused, lag))
