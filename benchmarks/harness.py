"""Running contenders side by side: availability, activation and per-contender failures.

A :class:`Lineup` is the set of contenders one figure measures. It runs every step of a
contender inside that contender's ``activate()`` context, and turns an exception into a
recorded failure for that row only (printed instead of its figures) so the other rows still
complete; a failure of the baseline has no meaningful ratios left and is raised. A row marked
``fails_soft`` (a third-party stack that may not work with what is installed) records its
error as "not available: ...", which does not fail the run.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from contenders import BASELINE, Contender
from report import failure

__all__ = ["Lineup"]

_T = TypeVar("_T")


class Lineup:
    """The contenders of one figure, with the reasons some of them produced no figures."""

    def __init__(self, contenders: list[Contender]) -> None:
        self.contenders = contenders
        self._why: dict[str, str] = {}
        for contender in contenders:
            reason = contender.unavailable()
            if reason is not None:
                if contender.name == BASELINE:
                    raise RuntimeError(f"the baseline ({BASELINE}) cannot run: {reason}")
                self._why[contender.name] = reason

    @property
    def live(self) -> list[Contender]:
        """The contenders still running (available, no failure so far), in order."""
        return [c for c in self.contenders if c.name not in self._why]

    def why_not(self, contender: Contender) -> str | None:
        """Why ``contender`` has no figures (``not installed``, its error), or ``None``."""
        return self._why.get(contender.name)

    def _failed(self, contender: Contender, exc: Exception) -> None:
        if contender.name == BASELINE:
            raise exc
        prefix = "not available" if contender.fails_soft else "error"
        self._why[contender.name] = failure(exc, prefix)

    def run(self, contender: Contender, step: Callable[[], _T]) -> _T | None:
        """``step()`` inside the contender's activation; ``None`` (and recorded) if it raised."""
        if contender.name in self._why:
            return None
        try:
            with contender.activate():
                return step()
        except Exception as exc:
            self._failed(contender, exc)
            return None

    async def arun(self, contender: Contender, step: Callable[[], Awaitable[_T]]) -> _T | None:
        """The async twin of :meth:`run`."""
        if contender.name in self._why:
            return None
        try:
            with contender.activate():
                return await step()
        except Exception as exc:
            self._failed(contender, exc)
            return None
