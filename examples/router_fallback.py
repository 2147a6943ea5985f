"""Routing across providers: fallback, a circuit breaker, rate limits, weights, one deadline.

A ``metallm.Router`` has a client's call methods; each call goes to one of its targets and
moves on when a target fails in a way another may not. This example runs offline on two
FakeLLMServer instances on 127.0.0.1: its "OpenAI" answers every call with 503 and its
"Anthropic" answers. Against the real APIs, drop ``base_url``/``api_key`` (keys then come from
OPENAI_API_KEY and ANTHROPIC_API_KEY). ``state=metallm.RedisRouterState(url)`` would share
the limits and breakers with every worker process pointing at the same Redis.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import metallm
from metallm.hooks import LLMCallInfo
from metallm.otel import OTelHook
from metallm.testing import FakeLLMServer, ScriptedReply

ASK = [{"role": "user", "content": "Say hello from whichever model answers."}]


class ShowAttempts:
    """On each target's client: a hook sees every attempt (its target name and number)."""

    def before_request(self, info: LLMCallInfo, request: object) -> None:
        print(f"   attempt {info.attempt} -> {info.target} ({info.provider_name}/{info.model})")


class ShowRoute:
    """On the router: the routed call as a whole, its ``info.route`` a ``metallm.RouteInfo``."""

    def after_outer(self, info: LLMCallInfo, *rest: object) -> None:
        route: metallm.RouteInfo | None = info.route
        if route is not None:
            who = route.target or "no one"
            print(f"   route: {route.strategy}, tried {route.tried}, answered by {who}")


def main() -> None:
    down = FakeLLMServer(default_reply=ScriptedReply.error(503, "overloaded, try later"))
    with down, FakeLLMServer() as up:
        hooks = [OTelHook(), ShowAttempts()]  # a target takes every ClientConfig field

        def claude(model: str, **fields: Any) -> metallm.Target:
            url = up.base_url("anthropic")
            return metallm.Target(
                provider="anthropic", model=model, base_url=url, api_key="sk-ant-x", max_retries=0,
                **fields,
            )

        primary = metallm.Target(
            provider="openai",
            model="gpt-4o-mini",
            name="oai-primary",
            base_url=down.base_url("openai"),
            api_key="sk-example-openai",
            max_retries=0,  # by default a target retries first (Retry-After honoured)
            hooks=hooks,
        )
        limits = metallm.RateLimit(
            requests_per_minute=100, tokens_per_minute=20_000, max_concurrency=4
        )
        backup = claude("claude-sonnet-4-5", name="claude-backup", hooks=hooks, limits=limits)
        router = metallm.Router(
            [primary, backup],
            strategy="fallback",  # in order; or round_robin, weighted, least_busy, lowest_latency
            circuit_breaker=metallm.CircuitBreaker(failure_threshold=3, recovery_time=30.0),
            state=metallm.LocalRouterState(),  # the default: limits and breakers in this process
            timeout=10.0,  # one deadline for the whole routed call, every attempt included
            hooks=[OTelHook(), ShowRoute()],
        )
        with router:
            print("1) OpenAI answers 503, the router falls back to Anthropic")
            resp = router.create_chat_completion(messages=ASK, max_tokens=50)  # model optional
            print(f"   answered by {resp.provider} {resp.model}: {resp.content}")

            print("2) a stream falls back too, until its first chunk reached you")
            with router.create_chat_completion_stream(messages=ASK) as stream:
                text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
            print(f"   streamed by {stream.target}: {text}")

            print("3) every target fails: AllTargetsFailedError lists each attempt")
            up.enqueue(ScriptedReply.error(529, "overloaded", type="overloaded_error"))
            try:
                router.create_chat_completion(messages=ASK)
            except metallm.AllTargetsFailedError as exc:
                for attempt in exc.attempts:
                    status = getattr(attempt.error, "status_code", None)
                    print(f"   {attempt.target}: {type(attempt.error).__name__} {status}")

            print("4) three failures in a row opened oai-primary's breaker: it is skipped")
            router.create_chat_completion(messages=ASK)
            stats: dict[str, metallm.TargetStats] = router.stats()
            for s in stats.values():
                p50 = "-" if s.latency_p50 is None else f"{s.latency_p50 * 1000:.1f} ms"
                left = "no limit" if s.remaining_requests is None else s.remaining_requests
                print(
                    f"   {s.name}: {s.calls} calls, {s.failures} failed, breaker {s.breaker}, "
                    f"p50 {p50}, requests left this minute: {left}"
                )

            try:
                router.create_chat_completion(model="gpt-5", messages=ASK)
            except metallm.InvalidRequestError as exc:  # before any I/O
                print(f"   model=gpt-5: {exc}")

        print("5) a rate limit: the call the provider would refuse is never sent")
        one_a_minute = claude("claude-haiku-4-5", limits=metallm.RateLimit(requests_per_minute=1))
        with metallm.Router([one_a_minute], timeout=2.0) as limited:
            limited.create_chat_completion(messages=ASK)
            try:
                limited.create_chat_completion(messages=ASK)
            except metallm.RateLimitError as exc:  # the budget frees after the deadline
                print(f"   second call refused before any I/O: retry after {exc.retry_after:.0f} s")

        print("6) the deadline cuts a stalled attempt; no attempt starts after it")
        up.enqueue(ScriptedReply(text="too late", stall=5.0))
        pair = [claude("claude-sonnet-4-5"), claude("claude-haiku-4-5")]
        with metallm.Router(pair, timeout=0.5) as hurried:
            start = time.perf_counter()
            try:
                hurried.create_chat_completion(messages=ASK)
            except metallm.APITimeoutError as exc:
                print(f"   after {time.perf_counter() - start:.1f} s: {exc}")

        print("7) strategy='weighted', weights 3:1, seeded: the same shares every run")
        shares = [claude("claude-sonnet-4-5", weight=3.0), claude("claude-haiku-4-5", weight=1.0)]
        with metallm.Router(shares, strategy="weighted", seed=7) as weighted:
            models = Counter(weighted.create_chat_completion(messages=ASK).model for _ in range(40))
            print(f"   40 calls answered by: {dict(models)}")

        async def routed_async() -> str:
            async with metallm.AsyncRouter([primary, backup]) as arouter:
                answer = await arouter.create_chat_completion(messages=ASK)
                return f"{answer.provider} {answer.model}"

        print("8) AsyncRouter: the same targets and calls, awaited")
        print(f"   answered by {asyncio.run(routed_async())}")


if __name__ == "__main__":
    main()
