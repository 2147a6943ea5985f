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
