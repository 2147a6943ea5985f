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
from typing import Any, TypeVar

__all__ = ["Action", "Attempt", "Flow", "Parallel", "Sleep"]

T = TypeVar("T")


class Attempt:
    """Call ``fn(arg)`` (awaiting it in the async pump) inside ``context()``.

    Plain slotted classes, not frozen dataclasses: one is built per call, and a frozen
    dataclass's ``__init__`` costs several times more.
    """

    __slots__ = ("arg", "context", "fn")

    def __init__(
        self,
        fn: Callable[[Any], Any],
        arg: Any,
        context: Callable[[], AbstractContextManager[Any]],
    ) -> None:
        self.fn = fn
        self.arg = arg
        self.context = context

    def __repr__(self) -> str:
        return f"Attempt({getattr(self.fn, '__qualname__', self.fn)!s})"


class Sleep:
    """Wait ``seconds`` (a retry's backoff)."""

    __slots__ = ("seconds",)

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __eq__(self, other: object) -> bool:
        return type(other) is Sleep and other.seconds == self.seconds

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Sleep({self.seconds!r})"


class Parallel:
    """Run ``flows`` (at most ``limit`` at once); the outcome is their results, in order."""

    __slots__ = ("flows", "limit")

    def __init__(self, flows: Sequence[Generator[Action, Any, Any]], limit: int) -> None:
        self.flows = flows
        self.limit = limit


Action = Attempt | Sleep | Parallel

Flow = Generator[Action, Any, T]
"""An exchange: yields actions, is sent their outcomes, returns the call's result."""
