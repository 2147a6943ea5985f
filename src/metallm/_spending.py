"""A client's budget as the exchange runs it: the check before a call, the charge after.

Checking and charging a budget is I/O when the budget lives in Redis, so both are
:class:`~metallm._actions.Attempt` actions the pumps carry out (the sync pump calls the
ledger's ``check``/``charge``, the async pump awaits ``acheck``/``acharge``), and the exchange
stays free of I/O. A check's refusal, a :class:`~metallm.BudgetExceededError`, comes back as
the action's outcome and is raised before the call begins (no span, no hook, no request: like
bad input). A charge never fails a call: the ledgers keep their own failures to themselves.
Streams are charged by their tracker when they end (:mod:`metallm._call`).
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from decimal import Decimal
from typing import Any

from ._actions import Attempt, Flow
from .budget import BudgetLedger
from .errors import ConfigurationError

__all__ = ["Spending", "spend_of"]

Spend = tuple[Decimal | None, int, float]
"""What a finished call charges: its cost total (None when unknown), its tokens, when."""


def spend_of(result: Any) -> Spend:
    """The cost total and total tokens of a response (chat or embeddings), now."""
    usage = getattr(result, "usage", None)
    tokens = int(getattr(usage, "total_tokens", 0) or 0)
    cost = getattr(result, "cost", None)
    total = getattr(cost, "total", None)
    return (total if isinstance(total, Decimal) else None), tokens, time.time()


class Spending:
    """One client's budget ledger, with the functions its pump runs."""

    __slots__ = ("_charge", "_check", "is_async", "ledger")

    def __init__(self, budget: Any, is_async: bool) -> None:
        ledger = getattr(budget, "ledger", None)
        if not callable(ledger):
            raise ConfigurationError(
                f"budget must be a metallm.Budget or metallm.budget_redis.RedisBudget, "
                f"not {type(budget).__name__}"
            )
        self.ledger: BudgetLedger = ledger()
        self.is_async = is_async
        self._check = self.ledger.acheck if is_async else self.ledger.check
        self._charge = self._acharged if is_async else self._charged

    def check(self) -> Flow[None]:
        """Raise BudgetExceededError, before any I/O, when the window's budget is spent."""
        outcome = yield Attempt(self._check, time.time(), nullcontext)
        if isinstance(outcome, BaseException):
            raise outcome

    def charge(self, result: Any) -> Flow[None]:
        """Add a finished call's spend (its outcome is never an error the call sees)."""
        yield Attempt(self._charge, spend_of(result), nullcontext)

    def _charged(self, spend: Spend) -> None:
        self.ledger.charge(*spend)

    async def _acharged(self, spend: Spend) -> None:
        await self.ledger.acharge(*spend)
