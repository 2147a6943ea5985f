"""The contenders a benchmark run compares: a small registry of pluggable client stacks.

A :class:`Contender` knows how to import its stack (``import_statement``, timed in a fresh
interpreter), whether it is available here, how to open a synchronous session (one plain call,
one drained stream, time to first chunk) and an asynchronous one (one drained stream), and what
to install around its measurements (:attr:`Contender.activate`, e.g. an OpenTelemetry SDK
provider or an instrumentor, undone afterwards so other rows stay clean).

Built in, in the order they are printed: ``raw httpx`` (the floor every ratio divides by),
``openai SDK`` and ``metallm``. Every contender sends the same request to the same server (the
sessions are in :mod:`sessions`). A later row is one more :func:`register` call, e.g.::

    register(Contender(
        name="metallm + OTel SDK", module="opentelemetry.sdk",
        import_statement="import metallm, opentelemetry.sdk.trace, opentelemetry.sdk.metrics",
        sync_session=MetallmSync, async_session=MetallmAsync, targets=True,
        activate=sdk_providers_installed))   # a context manager that installs, then restores

``activate`` is entered around each session's creation and each timed block, so rows that
patch global state (an instrumentor) stay out of each other's figures.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from sessions import (
    HttpxAsync,
    HttpxSync,
    MetallmAsync,
    MetallmSync,
    OpenAIAsync,
    OpenAISync,
    metallm_limits,
    openai_limits,
)

__all__ = [
    "BASELINE",
    "AsyncSession",
    "Contender",
    "SyncSession",
    "all_contenders",
    "register",
]

BASELINE = "raw httpx"
"""The contender every ratio is taken against."""


class SyncSession(Protocol):
    """A synchronous client of one contender, bound to one server."""

    def call(self) -> None:
        """One non-stream chat completion, response parsed."""

    def stream(self) -> int:
        """One stream, drained; returns how many chunks the library yielded."""

    def first_chunk(self) -> float:
        """Open a stream, return the seconds until its first chunk, then drain it untimed."""

    def close(self) -> None:
        """Release the client's connections."""


class AsyncSession(Protocol):
    """An asynchronous client of one contender, bound to one server."""

    async def stream(self) -> int:
        """One stream, drained; returns how many chunks the library yielded."""

    async def aclose(self) -> None:
        """Release the client's connections."""


@dataclass(frozen=True)
class Contender:
    """One row of every table: a client stack and how to drive it.

    ``module`` is what must be importable for the row to run (else it prints "not installed");
    ``targets`` says whether DESIGN.md section 9's targets apply to the row; ``note`` (a text,
    or a function returning one) is printed under the tables: the client settings worth
    knowing when reading the figures.
    """

    name: str
    module: str
    import_statement: str
    sync_session: Callable[[str], SyncSession]
    async_session: Callable[[str], AsyncSession]
    targets: bool = False
    activate: Callable[[], AbstractContextManager[object]] = contextlib.nullcontext
    note: str | Callable[[], str] = ""

    def describe(self) -> str:
        """The note, computed now (it may depend on what is installed)."""
        return self.note() if callable(self.note) else self.note

    def unavailable(self) -> str | None:
        """``None`` when the row can run here, else why not (``"not installed"``)."""
        try:
            importlib.import_module(self.module)
        except ImportError:
            return "not installed"
        return None


# -- the registry --------------------------------------------------------------------------------

_REGISTRY: list[Contender] = []


def register(contender: Contender) -> Contender:
    """Add a row (printed in registration order); a name registered twice replaces the first."""
    for index, existing in enumerate(_REGISTRY):
        if existing.name == contender.name:
            _REGISTRY[index] = contender
            return contender
    _REGISTRY.append(contender)
    return contender


def all_contenders() -> list[Contender]:
    """Every registered contender, the baseline first."""
    return sorted(_REGISTRY, key=lambda c: c.name != BASELINE)


register(
    Contender(
        name=BASELINE,
        module="httpx",
        import_statement="import httpx",
        sync_session=HttpxSync,
        async_session=HttpxAsync,
        note="httpx.Client(timeout=120); async: httpx.AsyncClient(limits="
        "httpx.Limits(max_connections=1000)): keep-alive connections unlimited, expiring after"
        " 5 s idle (the httpx default)",
    )
)
register(
    Contender(
        name="openai SDK",
        module="openai",
        import_statement="import openai",
        sync_session=OpenAISync,
        async_session=OpenAIAsync,
        note=lambda: "openai.OpenAI/AsyncOpenAI(max_retries=0); async pool: the SDK defaults ("
        + openai_limits()
        + ")",
    )
)
register(
    Contender(
        name="metallm",
        module="metallm",
        import_statement="import metallm",
        sync_session=MetallmSync,
        async_session=MetallmAsync,
        targets=True,
        note=lambda: "metallm.Client/AsyncClient(provider='openai'), default hooks and retry"
        " policy; its own pool: " + metallm_limits(),
    )
)

