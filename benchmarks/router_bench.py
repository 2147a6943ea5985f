"""What routing adds to a call: ``.venv/bin/python benchmarks/router_bench.py [--redis-url URL]``.

Issue 9's target: a routed call with one healthy target costs at most 15 us more than the same
call on a plain ``Client``, and with ``RedisRouterState`` at most one Redis round trip more.
Every row makes the same chat call over ``httpx.MockTransport`` (the bytes the fake server's
OpenAI wire sends), with the default hooks and no OpenTelemetry SDK installed (so the default
``OTelHook`` reports to the API's no-op providers), so no socket is involved but Redis's:

- ``plain Client``: ``client.create_chat_completion(model=..., messages=...)``;
- ``Router, 1 target``: that very client as the router's only target (``Target(client=...)``),
  called without a model (``router.create_chat_completion(messages=...)``, as users call it):
  the difference is the routing alone (two clients built alike differ by several
  microseconds when calls alternate between them, each keeping its own caches warm);
- ``Router, 2 targets``: ``strategy="fallback"`` over that client and a second one, the first
  healthy: the routed call also opens and ends its outer call (the INTERNAL span);
- with ``--redis-url`` (skipped without): ``... + one PING`` (the in-process router and one
  redis-py PING per call: the issue's budget, "one Redis round trip more", measured in the
  same place), ``... Redis state`` (an unlimited target: its admission is one round trip),
  ``... limited target, Redis`` (a ``RateLimit``: an admission and a release), the state's
  ``acquire`` called alone, and a PING alone. Redis's own ``INFO commandstats`` says how many
  scripts (round trips) each routed call ran and how long each took inside Redis.

CPU time (``process_time``) is the figure for the in-process rows, as in ``offline_ab.py``; a
Redis round trip is mostly waiting, which is not this process's CPU time, so every row also
shows wall time, and the Redis rows are judged by it. Medians of interleaved rounds.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx
from timing import median, quiet, rotated

import metallm
from metallm.testing.script import ScriptedReply
from metallm.testing.wire_openai import render_openai

__all__ = ["main"]

MODEL = "gpt-4o-mini"
MESSAGES = [{"role": "user", "content": "Say hello."}]
TARGET_US = 15.0
"""The issue's budget: what one healthy target's routing may add per call."""
LOCAL, PINGED, SHARED, LIMITED = (
    "Router, 1 target",
    "Router, 1 target + one PING",
    "Router, 1 target, Redis state",
    "Router, 1 limited target, Redis",
)
Work = Callable[[], Any]


def _config() -> dict[str, Any]:
    """A client configuration answering every call in-process with the OpenAI wire's bytes."""
    wire = render_openai(ScriptedReply(text="Hello from FakeLLMServer!"), {"model": MODEL}, "")
    body = b"".join(wire.pieces)

    def handle(_: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers=wire.headers, content=body)

    return {
        "provider": "openai",
        "api_key": "sk-bench-0123456789",
        "base_url": "http://bench.invalid/v1",
        "http_client": httpx.Client(transport=httpx.MockTransport(handle)),
    }


class _Redis:
    """The Redis rows (empty, with ``why_not`` said, when they cannot run)."""

    def __init__(self, url: str | None, local: Work) -> None:
        self.rows: dict[str, Work] = {}
        self.why_not = "no --redis-url given"
        if url is None:
            return
        try:
            import redis

            from metallm import RedisRouterState
            from metallm.router import Policy
        except ImportError as exc:
            self.why_not = f"RedisRouterState is not available here ({exc})"
            return
        self.ping = ping = redis.Redis.from_url(url, socket_timeout=1.0)
        try:
            ping.ping()
        except redis.RedisError as exc:
            self.why_not = f"Redis at {url} does not answer ({type(exc).__name__})"
            return
        self.why_not = ""
        prefix = f"metallm:bench:{os.getpid()}"

        def routed(limits: metallm.RateLimit | None) -> Work:
            state = RedisRouterState(url, prefix=prefix)
            target = metallm.Target(model=MODEL, limits=limits, **_config())
            router = metallm.Router([target], state=state)
            return lambda: router.create_chat_completion(messages=MESSAGES)

        alone = RedisRouterState(url, prefix=prefix)
        unlimited = Policy(None, None, None, 5, 30.0)

        def acquire() -> Any:
            return alone.acquire("alone", unlimited, 0, alone.clock())

        limited = metallm.RateLimit(requests_per_minute=10**9, tokens_per_minute=10**12)
        self.rows = {
            PINGED: lambda: (ping.ping(), local()),
            SHARED: routed(None),
            LIMITED: routed(limited),
            "RedisRouterState.acquire alone": acquire,
            "Redis PING alone": ping.ping,
        }

    def scripts_per_call(self, work: Work, calls: int = 200) -> tuple[float, float]:
        """The Redis scripts ``work`` runs per call (each one round trip: a state sends no
        other command), and the microseconds each took inside Redis."""

        def scripts() -> tuple[int, int]:
            stats = self.ping.info("commandstats")
            ran = [stats.get(f"cmdstat_{name}", {}) for name in ("evalsha", "eval")]
            return sum(int(s.get("calls", 0)) for s in ran), sum(int(s.get("usec", 0)) for s in ran)

        before = scripts()
        for _ in range(calls):
            work()
        after = scripts()
        ran = after[0] - before[0]
        return ran / calls, (after[1] - before[1]) / max(ran, 1)


def _measure(work: Work, calls: int) -> tuple[float, float]:
    """Microseconds per call: (CPU, wall)."""
    quiet()
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(calls):
        work()
    return (
        (time.process_time() - cpu) / calls * 1e6,
        (time.perf_counter() - wall) / calls * 1e6,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Measure and print what a router adds per call."""
    parser = argparse.ArgumentParser(prog="benchmarks/router_bench.py")
    parser.add_argument("--calls", type=int, default=2000, help="calls per row and round")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--redis-url", default=None, help="a Redis for the RedisRouterState rows")
    args = parser.parse_args(argv)
    if "opentelemetry.sdk" in sys.modules:  # pragma: no cover - a guard for later edits
        raise SystemExit("router_bench measures without an OTel SDK; none may be imported")
    plain = metallm.Client(**_config())
    # The routers go through the plain row's own client: two clients built alike still differ
    # by several microseconds per call when calls alternate between them (each has its own
    # caches and pool to keep warm), which would be charged to routing.
    one = metallm.Router([metallm.Target(client=plain, model=MODEL)])
    two = metallm.Router(
        [
            metallm.Target(client=plain, model=MODEL, name="first"),
            metallm.Target(model=MODEL, name="second", **_config()),
        ]
    )
    rows: dict[str, Work] = {
        "plain Client": lambda: plain.create_chat_completion(model=MODEL, messages=MESSAGES),
        LOCAL: lambda: one.create_chat_completion(messages=MESSAGES),
        "Router, 2 targets": lambda: two.create_chat_completion(messages=MESSAGES),
    }
    shared = _Redis(args.redis_url, rows[LOCAL])
    rows.update(shared.rows)
    names = list(rows)
    for work in rows.values():  # warm: validators, schemas, the price lookup, script loading
        _measure(work, max(10, args.calls // 20))
    cpu: dict[str, list[float]] = {name: [] for name in names}
    wall: dict[str, list[float]] = {name: [] for name in names}
    for round_index in range(args.rounds):
        for name in rotated(names, round_index):
            c, w = _measure(rows[name], args.calls)
            cpu[name].append(c)
            wall[name].append(w)
    cpu_us = {name: median(values) for name, values in cpu.items()}
    wall_us = {name: median(values) for name, values in wall.items()}
    base = names[0]
    print(
        f"per call, median of {args.rounds} interleaved rounds of {args.calls} calls, "
        "httpx.MockTransport, default hooks, no OTel SDK"
    )
    print(f"{'row':34} {'CPU us':>8} {'+plain':>8} {'wall us':>8} {'+plain':>8}")
    for name in names:
        c, w = cpu_us[name], wall_us[name]
        print(f"{name:34} {c:8.1f} {c - cpu_us[base]:+8.1f} {w:8.1f} {w - wall_us[base]:+8.1f}")
    added = cpu_us[LOCAL] - cpu_us[base]
    verdict = "within" if added <= TARGET_US else "OVER"
    print(
        f"routing adds {added:.1f} us CPU per call with one healthy target "
        f"({verdict} the {TARGET_US:.0f} us target)"
    )
    if shared.why_not:
        print(f"Redis rows skipped: {shared.why_not}")
        return 0
    budget = wall_us[PINGED] - wall_us[LOCAL]
    print(f"one PING round trip added to the routed call: +{budget:.1f} us wall (the budget)")
    for name in (SHARED, LIMITED):
        extra = wall_us[name] - wall_us[LOCAL]
        trips, inside = shared.scripts_per_call(rows[name])
        print(
            f"{name}: +{extra:.1f} us wall over the in-process state ({extra / budget:.1f}x "
            f"the budget); {trips:.2f} round trips per call, {inside:.1f} us each inside Redis"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
