"""Budgets that stop spending: a limit in money (and/or tokens) per time window.

A :class:`Budget` given to a client (``Client(budget=...)``) is checked before every call: once
the current window's spend has reached the limit, the call raises
:class:`~metallm.BudgetExceededError` before any I/O, saying what was spent, the limit and
when the window resets. The spend of each finished call (a stream's when it ends) is added:
its :class:`~metallm.Cost` total, and its total tokens for ``max_tokens_per_window`` (the cap
for models the price data does not know).

Windows are fixed and aligned to the epoch (a 3,600 s window resets on the hour), so every
process computes the same window from the clock alone, which is what lets
:class:`~metallm.budget_redis.RedisBudget` share one budget across processes and machines
with two atomic ``INCRBY`` per call and no coordination.

What the limit guarantees. The check happens when a call starts and the charge when it ends,
so calls already in flight when the limit is reached still finish and are charged: the spend
of a window never exceeds the limit by more than the calls in flight at that moment (at most
one per thread or task making calls; for a client used by N concurrent tasks, N calls' cost).
Reserving an estimate up front would bound it tighter but refuse calls that would have fit;
metallm does not guess costs.

``scope``: ``"client"`` (default) gives every client the budget is passed to its own spend;
``"process"`` shares one spend between all the clients of this process holding this
:class:`Budget` object. A shared-state store that fails (Redis down) never breaks a call: the
budget then lets calls through and logs a warning once per outage.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Awaitable
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, Protocol, runtime_checkable

from .errors import BudgetExceededError, ConfigurationError

__all__ = ["Budget", "BudgetLedger", "Window", "check_settings", "refusal", "window_at"]

CURRENCIES = frozenset({"USD"})
"""The currencies a budget may count in: the price data's (``genai-prices`` is in USD)."""


class Window:
    """One fixed budget window: its index since the epoch and when it ends (epoch seconds).

    A plain slotted class (not a dataclass): ``import metallm`` builds no dataclass for it.
    """

    __slots__ = ("index", "resets_at")

    def __init__(self, index: int, resets_at: float) -> None:
        self.index = index
        self.resets_at = resets_at


def window_at(now: float, seconds: float) -> Window:
    """The window of ``seconds`` that ``now`` (epoch seconds) falls in."""
    index = math.floor(now / seconds)
    return Window(index, (index + 1) * seconds)


def checked_limit(value: Any, what: str) -> Decimal | None:
    """``value`` as a positive :class:`~decimal.Decimal` (``None`` stays ``None``)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (Decimal, int, float, str)):
        raise ConfigurationError(f"{what} must be a number (a Decimal), not {value!r}")
    try:
        amount = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation:
        raise ConfigurationError(f"{what} must be a number (a Decimal), not {value!r}") from None
    if not amount.is_finite() or amount <= 0:
        raise ConfigurationError(f"{what} must be more than 0, not {value!r}")
    return amount


def _checked_window(window: Any) -> float:
    if isinstance(window, bool) or not isinstance(window, (int, float)) or not window > 0:
        raise ConfigurationError(
            f"budget window must be a positive number of seconds, not {window!r}"
        )
    if not math.isfinite(window):
        raise ConfigurationError(f"budget window must be finite, not {window!r}")
    return float(window)


def _checked_tokens(tokens: Any) -> int | None:
    if tokens is None:
        return None
    if isinstance(tokens, bool) or not isinstance(tokens, int) or tokens <= 0:
        raise ConfigurationError(f"max_tokens_per_window must be a positive int, not {tokens!r}")
    return tokens


def check_settings(
    limit: Any, window: Any, max_tokens: Any, currency: Any
) -> tuple[Decimal | None, float, int | None]:
    """The validated settings every budget shares; ConfigurationError naming the bad one."""
    amount = checked_limit(limit, "budget limit")
    seconds = _checked_window(window)
    tokens = _checked_tokens(max_tokens)
    if currency not in CURRENCIES:
        raise ConfigurationError(
            f"budget currency {currency!r} is unknown; costs are counted in "
            + ", ".join(sorted(CURRENCIES))
        )
    if amount is None and tokens is None:
        raise ConfigurationError("a budget needs a limit, a max_tokens_per_window, or both")
    return amount, seconds, tokens


@runtime_checkable
class BudgetLedger(Protocol):
    """Where a client's budget keeps its window's spend (what a client calls; sync and async)."""

    def check(self, now: float) -> None: ...

    def charge(self, cost: Decimal | None, tokens: int, now: float) -> None: ...

    def acheck(self, now: float) -> Awaitable[None]: ...

    def acharge(self, cost: Decimal | None, tokens: int, now: float) -> Awaitable[None]: ...


class _Spend:
    """One process's spend in the current window, behind a lock (threads share a client)."""

    __slots__ = ("_lock", "money", "tokens", "window")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.window = -1
        self.money = Decimal(0)
        self.tokens = 0

    def read(self, window: Window) -> tuple[Decimal, int]:
        with self._lock:
            if self.window != window.index:
                return Decimal(0), 0
            return self.money, self.tokens

    def add(self, window: Window, money: Decimal | None, tokens: int) -> None:
        with self._lock:
            if self.window != window.index:
                self.window, self.money, self.tokens = window.index, Decimal(0), 0
            if money is not None:
                self.money += money
            self.tokens += tokens


def refusal(
    spent: Decimal,
    tokens: int,
    limit: Decimal | None,
    max_tokens: int | None,
    window: Window,
    scope: str,
) -> BudgetExceededError | None:
    """The error for a window whose spend has reached a limit, or None while it has not."""
    if limit is not None and spent >= limit:
        what = f"spent {spent} USD of a {limit} USD budget"
    elif max_tokens is not None and tokens >= max_tokens:
        what = f"used {tokens:,} of {max_tokens:,} tokens"
    else:
        return None
    resets = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(window.resets_at))
    return BudgetExceededError(
        f"budget ({scope}) exhausted: {what} in this window; it resets at {resets}",
        spent=spent,
        limit=limit,
        tokens=tokens,
        max_tokens=max_tokens,
        resets_at=window.resets_at,
        scope=scope,
    )


class _LocalLedger:
    """A budget's spend kept in this process."""

    __slots__ = ("budget", "spend")

    def __init__(self, budget: Budget, spend: _Spend) -> None:
        self.budget = budget
        self.spend = spend

    def check(self, now: float) -> None:
        budget = self.budget
        window = window_at(now, budget.window)
        money, tokens = self.spend.read(window)
        error = refusal(
            money, tokens, budget.amount, budget.max_tokens_per_window, window, budget.scope
        )
        if error is not None:
            raise error

    def charge(self, cost: Decimal | None, tokens: int, now: float) -> None:
        self.spend.add(window_at(now, self.budget.window), cost, tokens)

    async def acheck(self, now: float) -> None:
        self.check(now)

    async def acharge(self, cost: Decimal | None, tokens: int, now: float) -> None:
        self.charge(cost, tokens, now)


class Budget:
    """A spending limit per window, kept in this process (see the module docstring).

    ``limit`` is in ``currency`` (USD, the price data's) as a :class:`~decimal.Decimal` (an
    int, str or float is converted; a float by its text); ``max_tokens_per_window`` caps total
    tokens too (or alone, for models without prices). Bad values are a
    :class:`~metallm.ConfigurationError`. The settings are read-only once built.
    """

    __slots__ = ("_shared", "amount", "currency", "max_tokens_per_window", "scope", "window")

    def __init__(
        self,
        limit: Decimal | int | str | float | None = None,
        window: float = 3600.0,
        scope: Literal["client", "process"] = "client",
        max_tokens_per_window: int | None = None,
        currency: str = "USD",
    ) -> None:
        amount, seconds, tokens = check_settings(limit, window, max_tokens_per_window, currency)
        if scope not in ("client", "process"):
            raise ConfigurationError(f"budget scope must be 'client' or 'process', not {scope!r}")
        self.amount: Decimal | None = amount
        """The money limit as the validated Decimal (None: tokens only)."""
        self.window = seconds
        self.scope = scope
        self.max_tokens_per_window = tokens
        self.currency = currency
        self._shared = _Spend()

    @property
    def limit(self) -> Decimal | None:
        """The money limit (the same as :attr:`amount`)."""
        return self.amount

    def __repr__(self) -> str:
        return (
            f"Budget(limit={self.amount!r}, window={self.window:g}, scope={self.scope!r}, "
            f"max_tokens_per_window={self.max_tokens_per_window!r})"
        )

    def ledger(self) -> BudgetLedger:
        """The spend a new client charges: its own (scope ``client``) or this budget's."""
        return _LocalLedger(self, self._shared if self.scope == "process" else _Spend())
