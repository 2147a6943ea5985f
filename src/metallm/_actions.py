"""The I/O actions an exchange yields, and that only the two pumps carry out.

An exchange (:mod:`metallm._exchange`) never performs I/O itself; it yields one of these values
and is sent the outcome back. Each action names everything the pump needs, so one pump drives
any exchange, whichever client (or, for a router, whichever of several clients) it came from:

- :class:`Attempt`: call ``fn(arg)`` inside ``context()`` (the hooks' attempt context, which
  makes the call's span current for the HTTP client's own instrumentation). ``fn`` is a
  transport method (send a request; open a stream) or a custom provider's method; the sync pump
  calls it, the async pump awaits it. The outcome is its return value, or the
  :class:`~metallm.MetaLLMError` it raised (sent back as a value, so the exchange decides what
  a failure means).
- :class:`Sleep`: wait before a retry.
- :class:`Parallel`: run several sub-exchanges (each a generator of these same actions) and
  send back their results in order, or the first error. The sync pump runs them one after the
  other; the async pump runs at most ``limit`` at a time and cancels the rest on a failure.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = ["Action", "Attempt", "Flow", "Parallel", "Sleep"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Attempt:
    """Call ``fn(arg)`` (awaiting it in the async pump) inside ``context()``."""

    fn: Callable[[Any], Any]
    arg: Any
    context: Callable[[], AbstractContextManager[Any]]


@dataclass(frozen=True, slots=True)
class Sleep:
    """Wait ``seconds`` (a retry's backoff)."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Parallel:
    """Run ``flows`` (at most ``limit`` at once); the outcome is their results, in order."""

    flows: Sequence[Generator[Action, Any, Any]]
    limit: int


Action = Attempt | Sleep | Parallel

Flow = Generator[Action, Any, T]
"""An exchange: yields actions, is sent their outcomes, returns the call's result."""
