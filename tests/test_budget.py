"""Budgets that stop spending: checked before a call, charged after, per window.

Real HTTP against FakeLLMServer (its usage is deterministic), a real redis-server for the
shared budget, and four spawned processes spending one RedisBudget at once: the total never
exceeds the limit by more than the calls in flight (one per process).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

import _budget_worker
import metallm
from _redis_server import RedisServer
from metallm import Budget, BudgetExceededError
from metallm.budget_redis import RedisBudget
from metallm.testing import FakeLLMServer, ScriptedReply, ScriptedUsage

KEY = "sk-budget-0123456789"
USAGE = ScriptedUsage(prompt_tokens=10, completion_tokens=5)  # 15 tokens a call


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as s:
        yield s


PRICES = {"gpt-4o-mini": metallm.ModelPrice(input=10, output=20)}  # USD per million tokens
PER_CALL = Decimal(10 * 10 + 5 * 20) / 1_000_000  # USAGE at PRICES: 0.0002 USD


def client(server: FakeLLMServer, budget: Any, *, is_async: bool = False) -> Any:
    cls = metallm.AsyncClient if is_async else metallm.Client
    return cls(
        provider="openai",
        api_key=KEY,
        base_url=server.base_url("openai"),
        budget=budget,
        prices=PRICES,
    )


def ask(c: metallm.Client, server: FakeLLMServer, *, stream: bool = False) -> None:
    server.enqueue(ScriptedReply(text="ok", usage=USAGE))
    request = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    if stream:
        with c.create_chat_completion_stream(**request) as s:
            for _ in s:
                pass
    else:
        c.create_chat_completion(**request)


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"limit": 0}, "more than 0"),
        ({"limit": Decimal("-1")}, "more than 0"),
        ({"limit": "five"}, "must be a number"),
        ({"limit": True}, "must be a number"),
        ({"limit": 5, "currency": "EUR"}, "currency 'EUR' is unknown"),
        ({"limit": 5, "window": 0}, "window must be a positive"),
        ({}, "needs a limit"),
        ({"max_tokens_per_window": 0}, "positive int"),
        ({"limit": 5, "scope": "galaxy"}, "scope must be"),
    ],
)
def test_bad_budgets_are_configuration_errors(kwargs: dict[str, Any], needle: str) -> None:
    with pytest.raises(metallm.ConfigurationError, match=needle):
        Budget(**kwargs)
    if "scope" not in kwargs:
        with pytest.raises(metallm.ConfigurationError, match=needle):
            RedisBudget("redis://127.0.0.1:1/0", key="k", **kwargs)


def test_a_budget_limit_is_a_decimal_whatever_it_was_given_as() -> None:
    assert Budget(limit="5.00").amount == Decimal("5.00")
    assert Budget(limit=0.1).amount == Decimal("0.1")  # the float's text, not its binary value
    with pytest.raises(metallm.ConfigurationError):
        metallm.Client(provider="openai", api_key=KEY, budget=object())


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
def test_a_token_cap_refuses_the_call_after_it_is_reached_before_any_io(
    server: FakeLLMServer, stream: bool
) -> None:
    server.clear()
    with client(server, Budget(max_tokens_per_window=40)) as c:
        for _ in range(3):  # 15, 30, 45 tokens: the third starts below the cap and is charged
            ask(c, server, stream=stream)
        sent = len(server.requests)
        with pytest.raises(BudgetExceededError) as info:
            ask(c, server, stream=stream)
    assert len(server.requests) == sent == 3  # refused before any I/O
    error = info.value
    assert (error.tokens, error.max_tokens, error.limit, error.scope) == (45, 40, None, "client")
    assert error.resets_at == (int(time.time() // 3600) + 1) * 3600
    assert "used 45 of 40 tokens" in str(error) and "resets at" in str(error)
    server.clear()


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
def test_a_money_limit_counts_each_calls_cost_exactly(server: FakeLLMServer, stream: bool) -> None:
    server.clear()
    with client(server, Budget(limit=Decimal("0.0003"))) as c:
        ask(c, server, stream=stream)  # 0.0002 spent: below the limit
        ask(c, server, stream=stream)  # starts below, ends at 0.0004: in flight, so charged
        with pytest.raises(BudgetExceededError) as info:
            ask(c, server, stream=stream)
    assert len(server.requests) == 2
    assert info.value.spent == 2 * PER_CALL == Decimal("0.0004")
    assert info.value.limit == Decimal("0.0003") and info.value.tokens == 30
    assert "spent 0.0004 USD of a 0.0003 USD budget" in str(info.value)
    server.clear()


def test_a_model_without_prices_costs_nothing_but_its_tokens_count(server: FakeLLMServer) -> None:
    server.clear()
    budget = Budget(limit=Decimal("0.0001"), max_tokens_per_window=20)
    with metallm.Client(
        provider="openai", api_key=KEY, base_url=server.base_url("openai"), budget=budget
    ) as c:
        server.enqueue(ScriptedReply(text="ok", usage=USAGE), ScriptedReply(text="ok", usage=USAGE))
        request = {"model": "unpriced-model-x", "messages": [{"role": "user", "content": "hi"}]}
        assert c.create_chat_completion(**request).cost is None
        c.create_chat_completion(**request)
        with pytest.raises(BudgetExceededError, match="used 30 of 20 tokens") as info:
            c.create_chat_completion(**request)
    assert info.value.spent == 0  # no money was counted for a model nobody prices
    server.clear()


def test_async_clients_check_and_charge_the_same_way(server: FakeLLMServer) -> None:
    server.clear()

    async def main() -> None:
        async with client(server, Budget(max_tokens_per_window=20), is_async=True) as c:
            server.enqueue(
                ScriptedReply(text="ok", usage=USAGE), ScriptedReply(text="ok", usage=USAGE)
            )
            request = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
            await c.create_chat_completion(**request)
            async with await c.create_chat_completion_stream(**request) as s:
                async for _ in s:
                    pass
            with pytest.raises(BudgetExceededError, match="used 30 of 20 tokens"):
                await c.create_chat_completion(**request)

    asyncio.run(main())
    assert len(server.requests) == 2
    server.clear()


def test_scope_client_keeps_apart_and_scope_process_shares(server: FakeLLMServer) -> None:
    server.clear()
    apart = Budget(max_tokens_per_window=20, scope="client")
    shared = Budget(max_tokens_per_window=20, scope="process")
    with client(server, apart) as a, client(server, apart) as b:
        ask(a, server), ask(a, server)
        ask(b, server)  # b's own spend: 0 before this call
        with pytest.raises(BudgetExceededError):
            ask(a, server)
    with client(server, shared) as a, client(server, shared) as b:
        ask(a, server), ask(b, server)  # 30 tokens between them
        for c in (a, b):
            with pytest.raises(BudgetExceededError, match=r"budget \(process\)"):
                ask(c, server)
    server.clear()


def test_a_new_window_starts_with_nothing_spent(server: FakeLLMServer) -> None:
    server.clear()
    with client(server, Budget(max_tokens_per_window=10, window=0.5)) as c:
        time.sleep(0.5 - time.time() % 0.5 + 0.01)  # just after a window starts
        ask(c, server)
        with pytest.raises(BudgetExceededError):
            ask(c, server)
        time.sleep(0.5 - time.time() % 0.5 + 0.01)
        ask(c, server)  # the next window
    server.clear()


def test_embeddings_are_charged_too(server: FakeLLMServer) -> None:
    server.clear()
    with client(server, Budget(max_tokens_per_window=3)) as c:
        c.create_embeddings(model="text-embedding-3-small", input=["one two three four"])
        with pytest.raises(BudgetExceededError):
            c.create_embeddings(model="text-embedding-3-small", input=["again"])
    server.clear()


def test_a_redis_budget_counts_money_exactly(
    server: FakeLLMServer, redis_server: RedisServer
) -> None:
    server.clear()
    key = f"test:budget:{uuid.uuid4().hex}"
    budget = RedisBudget(redis_server.url, key=key, limit=Decimal("0.0005"))
    with client(server, budget) as a, client(server, budget) as b:
        ask(a, server), ask(b, server), ask(a, server)  # 0.0006 USD
        with pytest.raises(BudgetExceededError) as info:
            ask(b, server)
    assert info.value.spent == 3 * PER_CALL and info.value.scope == f"redis:{key}"
    budget.close()
    server.clear()


def test_a_redis_budget_is_shared_by_clients_and_survives_them(
    server: FakeLLMServer, redis_server: RedisServer
) -> None:
    server.clear()
    key = f"test:budget:{uuid.uuid4().hex}"
    budget = RedisBudget(redis_server.url, key=key, max_tokens_per_window=40)
    with client(server, budget) as a, client(server, budget) as b:
        ask(a, server), ask(b, server), ask(a, server)  # 45 tokens
    again = RedisBudget(redis_server.url, key=key, max_tokens_per_window=40)  # a new process
    with client(server, again) as c, pytest.raises(BudgetExceededError, match=r"redis:test:budget"):
        ask(c, server)

    async def main() -> None:
        async with client(server, again, is_async=True) as ac:
            with pytest.raises(BudgetExceededError):
                await ac.create_chat_completion(
                    model="m", messages=[{"role": "user", "content": "x"}]
                )
        await again.aclose()

    asyncio.run(main())
    budget.close(), again.close()
    server.clear()


def test_redis_down_lets_calls_through_and_warns_once(
    server: FakeLLMServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.clear()
    caplog.set_level(logging.WARNING, logger="metallm")
    dead = RedisBudget("redis://127.0.0.1:9/0", key="down", max_tokens_per_window=1)
    with client(server, dead) as c:
        for _ in range(3):
            ask(c, server)  # never refused: the budget cannot count while Redis is away
    warnings = [r.getMessage() for r in caplog.records if "budget down" in r.getMessage()]
    assert len(warnings) == 1 and "calls go through uncounted" in warnings[0]
    assert len(server.requests) == 3
    server.clear()


@pytest.mark.timeout(180)
@pytest.mark.parametrize("kind", ["money", "tokens"])
def test_four_processes_never_overspend_by_more_than_the_calls_in_flight(
    server: FakeLLMServer, redis_server: RedisServer, kind: str
) -> None:
    server.clear()
    with client(server, Budget(limit=1)) as c:  # one call, to learn what a call spends
        reply = c.create_chat_completion(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "spend"}]
        )
    assert reply.usage is not None and reply.cost is not None
    per_call: Any = reply.cost.total if kind == "money" else reply.usage.total_tokens
    limit, workers = 60 * per_call, 4
    caps = {"limit": limit} if kind == "money" else {"max_tokens_per_window": limit}
    key = f"test:budget:{uuid.uuid4().hex}"
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(workers), ctx.Queue()
    procs = [
        ctx.Process(
            target=_budget_worker.spend_until_refused,
            args=(server.base_url("openai"), redis_server.url, key, caps, barrier, out),
        )
        for _ in range(workers)
    ]
    for p in procs:
        p.start()
    counts = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
        if p.is_alive():
            p.kill()  # our own child, by its handle
    spent = sum(counts) * per_call
    # at least the limit was spent, and at most one call per process more (each process has
    # one call in flight at a time)
    assert limit <= spent <= limit + workers * per_call, (counts, spent, limit)
    server.clear()
