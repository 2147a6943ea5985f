"""``RedisBudget``: one budget shared by every process and machine that points at one Redis.

The window's spend lives in two integer keys, ``{key}:{window}:money`` (in pico-dollars, so
sums stay exact: a Decimal cost is rounded to 10^-12 USD, far below any price's precision) and
``{key}:{window}:tokens``. A check reads both (``MGET``); a charge adds to both with ``INCRBY``
in one ``MULTI``/``EXEC`` and sets them to expire one window after the window ends. ``INCRBY``
is atomic, so concurrent processes never lose a charge; the limit's guarantee is the one of
:mod:`metallm.budget` (calls in flight when it is reached still finish). Windows are aligned to
the epoch, so every process agrees on the current one from its clock alone.

Redis failing never breaks a call: a check or a charge that cannot reach Redis lets the call
through, logs a warning once per outage (and a line when Redis answers again), and the spend of
the calls made meanwhile is not counted. This module imports ``redis`` (the ``redis`` extra);
``metallm.budget`` and ``import metallm`` do not.
"""

from __future__ import annotations

import logging
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from ._redis import RedisClients, RedisError
from .budget import BudgetLedger, Window, check_settings, refusal, window_at
from .errors import ConfigurationError

__all__ = ["RedisBudget"]

_log = logging.getLogger("metallm")
_PICO = Decimal("1e12")


def _pico(amount: Decimal) -> int:
    return int((amount * _PICO).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


class RedisBudget:
    """A :class:`~metallm.Budget` whose spend is shared through Redis under ``key``.

    ``RedisBudget("redis://host:6379/0", key="team-a", limit=Decimal("5"), window=3600)``;
    ``client=`` / ``async_client=`` take existing ``redis.Redis`` / ``redis.asyncio.Redis``
    clients instead of a URL. Every client given this budget charges the same spend.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        key: str,
        limit: Decimal | int | str | float | None = None,
        window: float = 3600.0,
        max_tokens_per_window: int | None = None,
        currency: str = "USD",
        client: Any = None,
        async_client: Any = None,
        socket_timeout: float = 1.0,
        connect_timeout: float = 1.0,
    ) -> None:
        if not isinstance(key, str) or not key:
            raise ConfigurationError("RedisBudget needs a key (the name its spend is kept under)")
        self.amount, self.window, self.max_tokens_per_window = check_settings(
            limit, window, max_tokens_per_window, currency
        )
        self.key = key
        self.currency = currency
        self.scope = f"redis:{key}"
        self._clients = RedisClients(
            "RedisBudget",
            url,
            client,
            async_client,
            socket_timeout=socket_timeout,
            connect_timeout=connect_timeout,
        )
        self._down = False

    def __repr__(self) -> str:
        return (
            f"RedisBudget(key={self.key!r}, limit={self.amount}, window={self.window:g}, "
            f"max_tokens_per_window={self.max_tokens_per_window})"
        )

    def ledger(self) -> BudgetLedger:
        """Itself: the spend is Redis's, whichever client charges it."""
        return self

    # -- the two operations, sync and async ---------------------------------------------------

    def _keys(self, window: Window) -> tuple[str, str]:
        base = f"{self.key}:{window.index}"
        return f"{base}:money", f"{base}:tokens"

    def _verdict(self, values: list[Any], window: Window) -> None:
        money = Decimal(int(values[0] or 0)) / _PICO
        tokens = int(values[1] or 0)
        error = refusal(money, tokens, self.amount, self.max_tokens_per_window, window, self.scope)
        if error is not None:
            raise error

    def check(self, now: float) -> None:
        """Raise BudgetExceededError if the current window's shared spend reached a limit."""
        window = window_at(now, self.window)
        try:
            values = self._clients.sync().mget(self._keys(window))
        except RedisError as exc:
            self._failed("check", exc)
            return
        self._up()
        self._verdict(values, window)

    async def acheck(self, now: float) -> None:
        """Async :meth:`check`."""
        window = window_at(now, self.window)
        try:
            values = await self._clients.asyncio().mget(self._keys(window))
        except RedisError as exc:
            self._failed("check", exc)
            return
        self._up()
        self._verdict(values, window)

    def _charge_on(self, pipe: Any, cost: Decimal | None, tokens: int, now: float) -> None:
        window = window_at(now, self.window)
        money_key, tokens_key = self._keys(window)
        expires = int((window.resets_at + self.window) * 1000)
        if cost is not None:
            pipe.incrby(money_key, _pico(cost))
            pipe.pexpireat(money_key, expires)
        pipe.incrby(tokens_key, tokens)
        pipe.pexpireat(tokens_key, expires)

    def charge(self, cost: Decimal | None, tokens: int, now: float) -> None:
        """Add a finished call's cost and tokens to the shared spend."""
        try:
            with self._clients.sync().pipeline(transaction=True) as pipe:
                self._charge_on(pipe, cost, tokens, now)
                pipe.execute()
        except (RedisError, ConfigurationError) as exc:  # (only an asyncio client: a GC'd stream)
            self._failed("charge", exc)
            return
        self._up()

    async def acharge(self, cost: Decimal | None, tokens: int, now: float) -> None:
        """Async :meth:`charge`."""
        try:
            async with self._clients.asyncio().pipeline(transaction=True) as pipe:
                self._charge_on(pipe, cost, tokens, now)
                await pipe.execute()
        except RedisError as exc:
            self._failed("charge", exc)
            return
        self._up()

    # -- outages --------------------------------------------------------------------------------

    def _failed(self, what: str, exc: BaseException) -> None:
        if not self._down:
            self._down = True
            _log.warning(
                "budget %s: Redis failed to %s (%s: %s); calls go through uncounted until it "
                "answers again",
                self.key,
                what,
                type(exc).__name__,
                exc,
            )

    def _up(self) -> None:
        if self._down:
            self._down = False
            _log.warning("budget %s: Redis answers again; spend is counted", self.key)

    def close(self) -> None:
        """Close the sync client made from the URL."""
        self._clients.close()

    async def aclose(self) -> None:
        """Close the asyncio client made from the URL."""
        await self._clients.aclose()
