"""The two pumps: the only code that carries out an exchange's actions (sync and async).

:func:`run` and :func:`arun` differ only in ``await``: each sends the exchange the outcome of its
last action and carries out the next one, until the exchange returns the call's result. An I/O
failure (a :class:`~metallm.MetaLLMError`) is sent back as a value, so the exchange decides
whether to retry, fall back or fail; anything else (``KeyboardInterrupt``, task cancellation,
a third-party exception) is thrown into the exchange at the ``yield`` that asked for the action,
so it still ends the call (hooks, spans) before it propagates, and a flow that knows the
exception may handle it and go on (the standalone retry transports catch httpx's errors so).
"""

from __future__ import annotations

import time
from typing import Any, TypeVar

from ._actions import Action, Attempt, Flow, Parallel, Sleep
from .errors import MetaLLMError

__all__ = ["arun", "run"]

T = TypeVar("T")


def run(flow: Flow[T]) -> T:
    """Drive ``flow`` to its result, blocking."""
    outcome: Any = None
    thrown: BaseException | None = None
    while True:
        try:
            action = flow.send(outcome) if thrown is None else flow.throw(thrown)
        except StopIteration as stop:
            result: T = stop.value
            return result
        thrown = None
        try:
            if type(action) is Attempt:
                with action.context():
                    outcome = action.fn(action.arg)
            else:
                outcome = _other(action)
        except MetaLLMError as exc:
            outcome = exc
        except BaseException as exc:
            thrown = exc


async def arun(flow: Flow[T]) -> T:
    """Drive ``flow`` to its result, awaiting its I/O."""
    outcome: Any = None
    thrown: BaseException | None = None
    while True:
        try:
            action = flow.send(outcome) if thrown is None else flow.throw(thrown)
        except StopIteration as stop:
            result: T = stop.value
            return result
        thrown = None
        try:
            if type(action) is Attempt:
                with action.context():
                    outcome = await action.fn(action.arg)
            else:
                outcome = await _aother(action)
        except MetaLLMError as exc:
            outcome = exc
        except BaseException as exc:
            thrown = exc


def _other(action: Action) -> Any:
    if type(action) is Sleep:
        time.sleep(action.seconds)
        return None
    assert type(action) is Parallel
    results = []
    for sub in action.flows:  # one after the other: a sync client has one thread of I/O
        try:
            results.append(run(sub))
        except MetaLLMError as exc:
            return exc
    return results


async def _aother(action: Action) -> Any:
    import anyio  # first retry or split call only: works under asyncio and trio alike

    if type(action) is Sleep:
        await anyio.sleep(action.seconds)
        return None
    assert type(action) is Parallel
    results: list[Any] = [None] * len(action.flows)
    failure: list[MetaLLMError] = []
    limiter = anyio.CapacityLimiter(max(1, action.limit))

    async def one(index: int, sub: Flow[Any]) -> None:
        async with limiter:
            if failure:
                sub.close()
                return
            try:
                results[index] = await arun(sub)
            except MetaLLMError as exc:
                failure.append(exc)
                group.cancel_scope.cancel()  # the call has failed: stop the others

    async with anyio.create_task_group() as group:
        for index, sub in enumerate(action.flows):
            group.start_soon(one, index, sub)
    return failure[0] if failure else results
