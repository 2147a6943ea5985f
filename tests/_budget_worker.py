"""A process spending one shared RedisBudget until it refuses (for test_budget.py)."""

from __future__ import annotations

from typing import Any

import metallm
from metallm.budget_redis import RedisBudget

PRICES = {"gpt-4o-mini": metallm.ModelPrice(input=10, output=20)}


def spend_until_refused(
    url: str, redis_url: str, key: str, caps: dict[str, Any], barrier: Any, out: Any
) -> None:
    """Make calls until the shared budget refuses (``caps``: its limit or token cap); report
    how many succeeded."""
    budget = RedisBudget(redis_url, key=key, window=3600, **caps)
    client = metallm.Client(
        provider="openai",
        api_key="sk-budget-0123456789",
        base_url=url,
        budget=budget,
        prices=PRICES,
    )
    barrier.wait(timeout=60)
    done = 0
    try:
        while True:
            client.create_chat_completion(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "spend"}]
            )
            done += 1
    except metallm.BudgetExceededError:
        out.put(done)
    finally:
        client.close()
        budget.close()
