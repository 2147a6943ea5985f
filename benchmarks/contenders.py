"""The contenders a benchmark run compares: a small registry of pluggable client stacks.

A :class:`Contender` knows how to import its stack (``import_statement``, timed in a fresh
interpreter), whether it is available here, how to open a synchronous session (one plain call,
one drained stream, time to first chunk) and an asynchronous one (one drained stream), and what
to install around its measurements (:attr:`Contender.activate`, e.g. an instrumentor, undone
afterwards so other rows stay clean).

Built in, in the order they are printed: ``raw httpx`` (the floor every ratio divides by),
``openai SDK``, ``openai + GenAI instrumentation``, ``metallm`` and ``metallm + OTel SDK``.
Every contender sends the same request to the same server (the sessions are in
:mod:`sessions`). A later row is one more :func:`register` call, e.g.::

    register(Contender(
        name="metallm, no hooks", module="metallm", import_statement="import metallm",
        sync_session=partial(MetallmSync, hooks=[]),
        async_session=partial(MetallmAsync, hooks=[]),
        targets=frozenset({"call", "stream"}),      # or True: every figure's target
        activate=contextlib.nullcontext))           # a context manager: installs, then restores

``activate`` is entered around each session's creation and each timed block, so rows that
patch global state (an instrumentor) stay out of each other's figures.

The two instrumented rows get their SDK set-up from :mod:`telemetry` (real SDK tracer and
meter providers, one pair per row, spans batched then dropped, histograms aggregated in
memory): ``metallm + OTel SDK`` passes them explicitly to ``OTelHook`` (no global state; the
call and stream targets apply), ``openai + GenAI instrumentation`` runs the openai SDK under
the official ``opentelemetry-instrumentation-openai-v2`` instrumentor, instrumented only inside
its own ``activate`` (and shown "not available: <why>" when the instrumentation does not import
or work with the installed openai). The plain ``metallm`` row keeps the default hooks with no
SDK anywhere: the cost of telemetry nobody collects.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from sessions import (
    HttpxAsync,
    HttpxSync,
    MetallmAsync,
    MetallmOTelAsync,
    MetallmOTelSync,
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
    "setup_notes",
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
    ``check``, if given, runs after that import and returns why the row cannot run here
    (printed as "not available: ..."), or ``None``. ``targets`` says which of DESIGN.md section
    9's targets apply to the row: ``True`` for all, or the figures' keys (``"call"``,
    ``"stream"``, ...). ``fails_soft`` turns an error while the row runs into "not available:
    <error>" (for third-party stacks that may not work with what is installed), so it does not
    fail the run. ``note`` (a text, or a function returning one) is printed under the
    concurrency table: the client settings worth knowing when reading the figures; ``setup``
    (the same kind) under the call, stream and concurrency tables: how an instrumented row
    differs from its plain twin.
    """

    name: str
    module: str
    import_statement: str
    sync_session: Callable[[str], SyncSession]
    async_session: Callable[[str], AsyncSession]
    targets: bool | frozenset[str] = False
    activate: Callable[[], AbstractContextManager[object]] = contextlib.nullcontext
    note: str | Callable[[], str] = ""
    setup: str | Callable[[], str] = ""
    check: Callable[[], str | None] | None = None
    fails_soft: bool = False

    def describe(self) -> str:
        """The note, computed now (it may depend on what is installed)."""
        return self.note() if callable(self.note) else self.note

    def described_setup(self) -> str:
        """The set-up text, computed now."""
        return self.setup() if callable(self.setup) else self.setup

    def has_target(self, figure: str) -> bool:
        """Whether DESIGN.md section 9's target for ``figure`` applies to this row."""
        return self.targets if isinstance(self.targets, bool) else figure in self.targets

    def unavailable(self) -> str | None:
        """``None`` when the row can run here, else why not (``"not installed"``, ...)."""
        try:
            importlib.import_module(self.module)
        except ImportError:
            return "not installed"
        if self.check is not None and (problem := self.check()) is not None:
            return f"not available: {problem}"
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


def setup_notes(contenders: list[Contender]) -> list[str]:
    """``"<row>: <setup>"`` for every row that has a set-up text, for the notes under a table."""
    return [f"{c.name}: {text}" for c in contenders if (text := c.described_setup())]


# -- the instrumented rows' pieces (telemetry.py imports the SDK: only when they run) ----------


def _sdk_setup(row: str) -> str:
    from telemetry import SETUP, produced

    return f"{SETUP}; {produced(row)}"


@functools.cache
def _instrumentation_problem() -> str | None:
    from telemetry import instrumentation_problem

    return instrumentation_problem()


@contextlib.contextmanager
def _openai_instrumented() -> Iterator[None]:
    from telemetry import openai_instrumented

    with openai_instrumented():
        yield


# -- the rows, in printed order ------------------------------------------------------------------

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
        name="openai + GenAI instrumentation",
        module="openai",
        import_statement="import openai, opentelemetry.instrumentation.openai_v2,"
        " opentelemetry.sdk.trace",
        sync_session=OpenAISync,
        async_session=OpenAIAsync,
        activate=_openai_instrumented,
        check=_instrumentation_problem,
        fails_soft=True,
        setup=lambda: "the openai SDK row's clients, created and run while"
        " OpenAIInstrumentor().instrument(tracer_provider=tp, meter_provider=mp) is in effect"
        " (uninstrument() after each block, so the plain row stays uninstrumented); tp, mp: "
        + _sdk_setup("openai + GenAI instrumentation"),
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
register(
    Contender(
        name="metallm + OTel SDK",
        module="opentelemetry.sdk.trace",
        import_statement="import metallm, opentelemetry.sdk.trace, opentelemetry.sdk.metrics",
        sync_session=MetallmOTelSync,
        async_session=MetallmOTelAsync,
        targets=frozenset({"call", "stream"}),
        setup=lambda: "the metallm row's clients with hooks=[OTelHook(tracer_provider=tp,"
        " meter_provider=mp)] instead of the default hook; tp, mp: "
        + _sdk_setup("metallm + OTel SDK"),
    )
)
