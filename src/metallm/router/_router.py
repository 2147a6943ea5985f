"""``Router`` and ``AsyncRouter``: one typed API over several targets.

Construction checks everything before any client exists (targets, names, weights, limits,
strategy, ``fallback_on``, ``state``, ``timeout``: a :class:`~metallm.ConfigurationError`
naming the target), then builds each target's client (or takes the caller's) and the routed
exchange (:mod:`metallm.router._flow`). The call methods are the clients' own
(:mod:`metallm._call_methods`, the memory and tool-loop mixins), driving the routed exchange
with the same pumps, so a router can stand wherever a client does.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from typing import Any, cast

from .._call_methods import AsyncCallMethods, CallMethods
from .._pump import arun, run
from .._spending import Spending
from ..client import AsyncClient, Client, default_hooks
from ..errors import ConfigurationError
from ..hooks import HookChain
from ..logs import default_logger
from ..memory import ConversationMemory, InMemoryStore, MemoryConfig
from ..memory.client_methods import AsyncMemoryMethods, MemoryMethods
from ..streams import AsyncChatCompletionStream, AsyncOnComplete, ChatCompletionStream, OnComplete
from ..tools.client_methods import AsyncToolMethods, ToolMethods
from ..types import ChatCompletionRequest
from ._config import STRATEGIES, CircuitBreaker, Target
from ._fallback import default_fallback_on
from ._flow import RoutedExchange
from ._members import Member, TargetStats
from ._state import LocalRouterState, RouterState
from ._strategy import orderer

__all__ = ["AsyncRouter", "Router"]


class _RouterCore:
    """What both routers share: checking the settings, building the members and exchange."""

    _is_async: bool
    _client_class: Any
    _routed: RoutedExchange
    _exchange: Any
    _default_model: str | None = ""  # no model: every target, each with its own

    def __init__(
        self,
        targets: Sequence[Target],
        *,
        strategy: str = "fallback",
        circuit_breaker: CircuitBreaker | None = None,
        fallback_on: Callable[[BaseException], bool] | None = None,
        state: RouterState | None = None,
        timeout: float | None = None,
        hooks: Sequence[object] | None = None,
        logger: logging.Logger | None = None,
        memory: object | None = None,
        memory_config: MemoryConfig | None = None,
        budget: object | None = None,
        seed: int | None = None,
    ) -> None:
        """See the README's "Routing": ``targets`` in order, ``strategy``, ``circuit_breaker``
        (the same thresholds for every target), ``fallback_on(error) -> bool`` (default
        :func:`~metallm.router.default_fallback_on`), ``state`` (None: this process;
        :class:`~metallm.RedisRouterState` to share), ``timeout`` (one deadline in seconds for
        the whole routed call), ``hooks`` (the routed call's own: its outer span; each target's
        client keeps its own for the attempts), ``memory``/``memory_config`` for the
        memory-aware calls, ``budget`` (a :class:`~metallm.Budget` or
        :class:`~metallm.budget_redis.RedisBudget` every routed call is checked against and
        charged to, whichever target answers; a target's own client may have its own), and
        ``seed`` for the random strategies."""
        checked = _check(targets, strategy, circuit_breaker, fallback_on, state, timeout)
        self.logger = logger or default_logger()
        breaker = circuit_breaker or CircuitBreaker()
        self.strategy = strategy
        self.circuit_breaker = breaker
        self.timeout = timeout
        self.state: RouterState = state if state is not None else LocalRouterState()
        members: list[Member] = []
        try:
            for index, target in enumerate(checked):
                members.append(self._member(index, target, breaker))
        except BaseException:
            for member in members:
                if member.owned:
                    _close_quietly(member.client)
            raise
        self._members = members
        self.memory = ConversationMemory(
            memory or InMemoryStore(), memory_config, is_async=self._is_async
        )
        chain = HookChain(default_hooks() if hooks is None else hooks, self.logger)
        self._routed = RoutedExchange(
            members,
            strategy=strategy,
            order=orderer(strategy, random.Random(seed)),
            fallback_on=fallback_on or default_fallback_on,
            state=self.state,
            timeout=timeout,
            hooks=chain,
            logger=self.logger,
            is_async=self._is_async,
            spending=None if budget is None else Spending(budget, self._is_async),
        )
        self._exchange = cast(Any, self._routed)  # the mixins' exchange: the routed one

    def _member(self, index: int, target: Target, breaker: CircuitBreaker) -> Member:
        kind = self._client_class
        if target.client is not None:
            if not isinstance(target.client, kind):
                raise ConfigurationError(
                    f"target {target.name!r}: {type(self).__name__} needs "
                    f"{kind.__name__} targets, got {type(target.client).__name__}"
                )
            return Member(index, target, target.client, False, breaker)
        try:
            client = kind(target.config)
        except ConfigurationError as exc:
            raise ConfigurationError(f"target {target.name!r}: {exc}") from None
        return Member(index, target, client, True, breaker)

    @property
    def targets(self) -> list[Target]:
        """The targets, in their order."""
        return [m.target for m in self._members]

    def stats(self) -> dict[str, TargetStats]:
        """Per target, this process's figures (:class:`~metallm.router.TargetStats`)."""
        return {m.name: m.stats() for m in self._members}

    def __repr__(self) -> str:
        names = ", ".join(repr(m.name) for m in self._members)
        return f"{type(self).__name__}(targets=[{names}], strategy={self.strategy!r})"


class Router(_RouterCore, CallMethods, MemoryMethods, ToolMethods):
    """A synchronous router over :class:`~metallm.Client` targets; a client's call methods."""

    _is_async = False
    _client_class = Client

    def _open_stream(
        self,
        request: ChatCompletionRequest,
        conversation_id: str | None,
        on_complete: OnComplete | None,
        started: tuple[float, float] | None = None,
    ) -> ChatCompletionStream:
        """A routed stream (falls back until its first chunk)."""
        stream: ChatCompletionStream = run(
            self._routed.stream(request, conversation_id, started, on_complete)
        )
        return stream

    def close(self) -> None:
        """Close the clients this router built (never the ones it was given)."""
        for member in self._members:
            if member.owned:
                member.client.close()

    def __enter__(self) -> Router:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncRouter(_RouterCore, AsyncCallMethods, AsyncMemoryMethods, AsyncToolMethods):
    """The asynchronous router over :class:`~metallm.AsyncClient` targets."""

    _is_async = True
    _client_class = AsyncClient

    async def _open_stream(
        self,
        request: ChatCompletionRequest,
        conversation_id: str | None,
        on_complete: AsyncOnComplete | None,
        started: tuple[float, float] | None = None,
    ) -> AsyncChatCompletionStream:
        """A routed stream (falls back until its first chunk)."""
        stream: AsyncChatCompletionStream = await arun(
            self._routed.stream(request, conversation_id, started, on_complete)
        )
        return stream

    async def aclose(self) -> None:
        """Close the clients this router built (never the ones it was given)."""
        for member in self._members:
            if member.owned:
                await member.client.aclose()

    close = aclose

    async def __aenter__(self) -> AsyncRouter:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def _check(
    targets: Sequence[Target],
    strategy: str,
    circuit_breaker: CircuitBreaker | None,
    fallback_on: Any,
    state: Any,
    timeout: Any,
) -> list[Target]:
    """Every router setting, checked before any client is built."""
    if isinstance(targets, Target) or not isinstance(targets, Sequence) or not targets:
        raise ConfigurationError("a router needs targets=[metallm.Target(...), ...] (none given)")
    seen: set[str] = set()
    for target in targets:
        if not isinstance(target, Target):
            raise ConfigurationError(
                f"targets must be metallm.Target values, got {type(target).__name__}"
            )
        if target.name in seen:
            raise ConfigurationError(f"two targets are named {target.name!r}; names must be unique")
        seen.add(target.name)
    if strategy not in STRATEGIES:
        raise ConfigurationError(
            f"unknown strategy {strategy!r}; use one of {', '.join(STRATEGIES)}"
        )
    if circuit_breaker is not None and not isinstance(circuit_breaker, CircuitBreaker):
        raise ConfigurationError("circuit_breaker must be a metallm.CircuitBreaker")
    if fallback_on is not None and not callable(fallback_on):
        raise ConfigurationError("fallback_on must be a callable(exception) -> bool, or None")
    if state is not None and not isinstance(state, RouterState):
        raise ConfigurationError(
            "state must be a router state (metallm.RedisRouterState, LocalRouterState) or None"
        )
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0
    ):
        raise ConfigurationError(f"timeout must be a number of seconds > 0, got {timeout!r}")
    return list(targets)


def _close_quietly(client: Any) -> None:
    close = getattr(client, "close", None)
    if close is None:
        return
    try:
        result = close()
        if hasattr(result, "close"):  # an AsyncClient's coroutine: never awaited here
            result.close()
    except Exception:  # pragma: no cover - best effort while failing construction
        pass
