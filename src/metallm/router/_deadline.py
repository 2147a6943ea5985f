"""One deadline for a whole routed call, applied to the attempts' own flows.

:func:`bounded` drives a target's exchange flow and rewrites its actions on the way to the
pump: an HTTP attempt carries what is left of the deadline as its own timeout
(:attr:`~metallm.provider.HTTPRequest.timeout`), an async attempt is also cancelled there
(``anyio.fail_after``), and a retry wait that would end past the deadline ends the attempt
with :class:`~metallm.APITimeoutError` instead (thrown into the flow, so the attempt's call
still ends through its hooks). A sync custom provider's call cannot be cut from outside.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

from .._actions import Attempt, Flow, Sleep
from ..errors import APITimeoutError
from ..provider import HTTPRequest

__all__ = ["bounded"]


def bounded(flow: Flow[Any], deadline: float, is_async: bool) -> Flow[Any]:
    """Drive ``flow`` within ``deadline`` (a ``perf_counter`` reading): an attempt gets what
    is left as its timeout (and, async, is cancelled there); a wait that would end past the
    deadline ends the attempt with :class:`~metallm.APITimeoutError` instead."""
    outcome: Any = None
    thrown: BaseException | None = None
    while True:
        try:
            action = flow.send(outcome) if thrown is None else flow.throw(thrown)
        except StopIteration as stop:
            return stop.value
        thrown = None
        left = deadline - time.perf_counter()
        if left <= 0 or (type(action) is Sleep and action.seconds >= left):
            what = f"a retry wait of {action.seconds:.2f}s" if type(action) is Sleep else "a retry"
            thrown = APITimeoutError(
                f"{what} would end past the routed call's deadline ({max(left, 0):.2f}s left)",
                provider="router",
            )
            continue
        if type(action) is Attempt:
            arg = action.arg
            if isinstance(arg, HTTPRequest):
                arg = dataclasses.replace(arg, timeout=left)
            fn = _cut_at(action.fn, left) if is_async else action.fn
            action = Attempt(fn, arg, action.context)
        try:
            outcome = yield action
        except BaseException as exc:  # thrown in by the pump: hand it to the attempt's flow
            thrown = exc


def _cut_at(fn: Callable[[Any], Any], seconds: float) -> Callable[[Any], Any]:
    """An async attempt cancelled after ``seconds`` (as an APITimeoutError)."""

    async def bounded(arg: Any) -> Any:
        import anyio

        try:
            with anyio.fail_after(seconds):
                return await fn(arg)
        except TimeoutError:
            raise APITimeoutError(
                f"the routed call's deadline passed during this attempt ({seconds:.2f}s left)",
                provider="router",
            ) from None

    return bounded
